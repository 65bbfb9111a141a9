package extract

import (
	"context"
	"fmt"
	"runtime"
	"strings"
)

// The media types Detect returns.
const (
	// MediaPlain is plain text in any encoding decodeText reads.
	MediaPlain = "text/plain"
	// MediaMarkdown is Markdown, kept as written.
	MediaMarkdown = "text/markdown"
	// MediaHTML is an HTML document or fragment.
	MediaHTML = "text/html"
	// MediaPDF is a PDF file.
	MediaPDF = "application/pdf"
)

// MaxTextBytes bounds the extracted text of one document. A PDF whose
// compressed streams expand past it, or any other document that would, is
// refused with ErrTooLarge rather than held in memory.
const MaxTextBytes = 256 << 20

// Hint is what the client declared about an upload; untrusted.
type Hint struct {
	// Filename is the name the file was uploaded under; only its extension
	// is used.
	Filename string
	// ContentType is the declared media type, with an optional charset
	// parameter that text and HTML honour.
	ContentType string
}

// Result is the extracted text of one document.
type Result struct {
	// Title is the document's own title: HTML <title> or its first <h1>,
	// Markdown front-matter title or first "# " heading, PDF Info Title; "" if
	// it has none.
	Title string
	// Text is the normalized text in the format described in the package
	// comment; valid UTF-8 and never empty on success.
	Text string
	// MediaType is the detected type, one of the Media* constants.
	MediaType string
	// PageStarts is set for PDFs only: PageStarts[i] is the offset in runes
	// into Text where page i+1 begins. A page without text starts where the
	// next text begins (len(Text) in runes after the last one), so the slice
	// has one entry per page and never decreases.
	PageStarts []int
}

// Extract detects the type of data (see Detect) and returns its text.
// Errors wrap ErrUnsupported, ErrEmpty, ErrEncrypted, ErrCorrupt or
// ErrTooLarge with a reason meant for the user, or the context's error.
func Extract(ctx context.Context, data []byte, h Hint) (res Result, err error) {
	if err := ctx.Err(); err != nil {
		return Result{}, fmt.Errorf("extract: %w", err)
	}
	mt, err := Detect(data, h)
	if err != nil {
		return Result{}, err
	}
	// A bug here must cost one document, not the process that ingests it.
	defer func() {
		if r := recover(); r != nil {
			res, err = Result{}, fmt.Errorf("extract: internal error reading the %s: %v: %w", kindName(mt), r, ErrCorrupt)
		}
	}()
	switch mt {
	case MediaPDF:
		res, err = extractPDF(ctx, data)
	case MediaHTML:
		res, err = extractHTML(ctx, data, h)
	case MediaMarkdown:
		res, err = extractMarkdown(ctx, data, h)
	default:
		res, err = extractPlain(ctx, data, h)
	}
	if err != nil {
		return Result{}, err
	}
	if err := ctx.Err(); err != nil {
		return Result{}, fmt.Errorf("extract: %w", err)
	}
	if len(res.Text) > MaxTextBytes {
		return Result{}, fmt.Errorf("extract: the %s holds more than %d MiB of text: %w", kindName(mt), MaxTextBytes>>20, ErrTooLarge)
	}
	if strings.TrimSpace(res.Text) == "" {
		return Result{}, fmt.Errorf("extract: the %s contains no text: %w", kindName(mt), ErrEmpty)
	}
	res.MediaType = mt
	res.Title = cleanTitle(res.Title)
	return res, nil
}

// kindName is how error messages name a document of media type mt.
func kindName(mt string) string {
	switch mt {
	case MediaPDF:
		return "PDF"
	case MediaHTML:
		return "HTML document"
	case MediaMarkdown:
		return "Markdown document"
	default:
		return "text file"
	}
}

// cleanTitle makes a title one normalized line of at most 300 characters.
func cleanTitle(s string) string {
	const maxRunes = 300
	s = collapseSpaces(s)
	n := 0
	for i := range s {
		if n == maxRunes {
			return strings.TrimSpace(s[:i])
		}
		n++
	}
	return s
}

// panicInLibrary reports whether the panic being recovered was raised inside
// github.com/ledongthuc/pdf (expected on malformed input) rather than in this
// package (a bug). It must be called from the deferred function itself.
func panicInLibrary() bool {
	pcs := make([]uintptr, 64)
	n := runtime.Callers(3, pcs)
	frames := runtime.CallersFrames(pcs[:n])
	afterPanic := false
	for {
		f, more := frames.Next()
		switch {
		case f.Function == "runtime.gopanic":
			afterPanic = true
		case afterPanic && !strings.HasPrefix(f.Function, "runtime."):
			return strings.HasPrefix(f.Function, "github.com/ledongthuc/pdf.")
		}
		if !more {
			return false
		}
	}
}
