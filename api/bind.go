package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/labstack/echo/v4"
)

// readJSON returns the request body after checking that it is JSON: 415 for
// another content type, 413 past the route's limit, 400 when malformed.
func readJSON(c echo.Context) ([]byte, error) {
	ct := c.Request().Header.Get(echo.HeaderContentType)
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || mt != echo.MIMEApplicationJSON {
		return nil, newError(http.StatusUnsupportedMediaType, "unsupported_media_type",
			"Send a JSON body with Content-Type: application/json.")
	}
	body, err := io.ReadAll(c.Request().Body)
	if err != nil {
		var he *echo.HTTPError
		if errors.As(err, &he) {
			return nil, he
		}
		return nil, fmt.Errorf("api: read body: %w", err)
	}
	if !utf8.Valid(body) {
		return nil, fieldError("body", "must be UTF-8 text")
	}
	if !json.Valid(body) {
		return nil, syntaxError(body)
	}
	if t := bytes.TrimLeft(body, " \t\r\n"); len(t) == 0 || t[0] != '{' {
		return nil, fieldError("body", "must be a JSON object")
	}
	return body, nil
}

// syntaxError says where a JSON body stops being JSON.
func syntaxError(body []byte) *Error {
	var v any
	err := json.Unmarshal(body, &v)
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fieldError("body", fmt.Sprintf("is malformed JSON at byte %d", se.Offset))
	}
	return fieldError("body", "is not valid JSON")
}

// bindJSON decodes a JSON body strictly into v: unknown fields and wrong
// types are 400s that name the field.
func bindJSON(c echo.Context, v any) error {
	body, err := readJSON(c)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return fieldError(te.Field, "has the wrong type (expected "+te.Type.String()+")")
		}
		if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			return fieldError(strings.Trim(name, `"`), "is not a known field")
		}
		return fieldError("body", "is not valid: "+err.Error())
	}
	return nil
}

// readUpload returns the bytes of a multipart file field; an empty file is
// a 400.
func readUpload(c echo.Context, field string) ([]byte, error) {
	data, _, err := readUploadFile(c, field)
	if err != nil {
		return nil, err
	}
	if len(data) == 0 {
		return nil, fieldError(field, "is empty")
	}
	return data, nil
}

// readUploadFile returns the bytes of a multipart file field, which may be
// empty, with the part's header (file name, declared content type).
func readUploadFile(c echo.Context, field string) ([]byte, *multipart.FileHeader, error) {
	ct := c.Request().Header.Get(echo.HeaderContentType)
	mt, _, _ := mime.ParseMediaType(ct)
	if mt != echo.MIMEMultipartForm {
		return nil, nil, newError(http.StatusUnsupportedMediaType, "unsupported_media_type",
			"Send the file as multipart/form-data in the field '"+field+"'.")
	}
	fh, err := c.FormFile(field)
	if err != nil {
		var he *echo.HTTPError
		if errors.As(err, &he) {
			return nil, nil, he
		}
		if strings.Contains(err.Error(), "request body too large") {
			return nil, nil, echo.ErrStatusRequestEntityTooLarge
		}
		return nil, nil, fieldError(field, "is missing: send the file in the multipart field '"+field+"'")
	}
	f, err := fh.Open()
	if err != nil {
		return nil, nil, fmt.Errorf("api: open upload: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, nil, fmt.Errorf("api: read upload: %w", err)
	}
	return data, fh, nil
}
