package api

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strconv"
	"strings"
)

// echoParam matches an Echo path parameter such as :id.
var echoParam = regexp.MustCompile(`:([a-z_]+)`)

// openAPIPath converts /api/agents/:id to /api/agents/{id}.
func openAPIPath(p string) string { return echoParam.ReplaceAllString(p, "{$1}") }

type obj = map[string]any

func ref(name string) obj { return obj{"$ref": "#/components/schemas/" + name} }

func str(desc string) obj { return obj{"type": "string", "description": desc} }

func arr(items obj) obj { return obj{"type": "array", "items": items} }

// openAPIDocument renders the OpenAPI 3.1 document for the route table.
func openAPIDocument(routes []route, version string) []byte {
	paths := obj{}
	for _, r := range routes {
		p := openAPIPath(r.path)
		item, _ := paths[p].(obj)
		if item == nil {
			item = obj{}
			paths[p] = item
		}
		item[strings.ToLower(r.method)] = operation(r)
	}
	doc := obj{
		"openapi": "3.1.0",
		"info": obj{
			"title":       "Timbre API",
			"version":     version,
			"description": "Agents that talk. Authenticate with the session cookie from /api/auth/* (mutations need X-CSRF-Token from GET /api/me) or with 'Authorization: Bearer <api key>'. Errors are {\"error\":{\"code\",\"message\",\"field\"}}.",
		},
		"paths": paths,
		"components": obj{
			"securitySchemes": obj{
				"session": obj{"type": "apiKey", "in": "cookie", "name": sessionCookie},
				"apiKey":  obj{"type": "http", "scheme": "bearer"},
			},
			"schemas": schemas(),
		},
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		panic("api: openapi document does not encode: " + err.Error()) // static data; a test covers it
	}
	return b
}

func operation(r route) obj {
	op := obj{
		"summary":     r.doc.summary,
		"tags":        []string{r.doc.tag},
		"operationId": strings.ToLower(r.method) + strings.NewReplacer("/", "_", ":", "", ".", "_", "-", "_").Replace(r.path),
	}
	var params []obj
	for _, m := range echoParam.FindAllStringSubmatch(r.path, -1) {
		params = append(params, obj{"name": m[1], "in": "path", "required": true, "schema": obj{"type": "string"}})
	}
	for _, q := range r.doc.query {
		params = append(params, obj{"name": q.name, "in": "query", "description": q.description, "schema": obj{"type": "string"}})
	}
	if params != nil {
		op["parameters"] = params
	}
	switch r.doc.request {
	case "":
	case "multipart":
		op["requestBody"] = obj{"required": true, "content": obj{"multipart/form-data": obj{"schema": obj{
			"type": "object", "required": []string{"file"},
			"properties": obj{"file": obj{"type": "string", "format": "binary"}},
		}}}}
	case "multipart|DocumentURL":
		op["requestBody"] = obj{"required": true, "content": obj{
			"multipart/form-data": obj{"schema": obj{
				"type": "object", "required": []string{"file"},
				"properties": obj{"file": obj{"type": "string", "format": "binary"}},
			}},
			"application/json": obj{"schema": ref("DocumentURL")},
		}}
	default:
		op["requestBody"] = obj{"required": true, "content": obj{"application/json": obj{"schema": ref(r.doc.request)}}}
	}
	switch r.auth {
	case authUser:
		op["security"] = []obj{{"session": []string{}}, {"apiKey": []string{}}}
	case authOptional:
		op["security"] = []obj{{}, {"session": []string{}}, {"apiKey": []string{}}}
	case authKey:
		op["security"] = []obj{{"apiKey": []string{}}}
	}
	success := obj{"description": http.StatusText(r.doc.status)}
	switch {
	case r.doc.response != "" && r.doc.produces != "":
		success["content"] = obj{"application/json": obj{"schema": ref(r.doc.response)},
			r.doc.produces: obj{"schema": obj{"type": "string"}}}
	case r.doc.response != "":
		success["content"] = obj{"application/json": obj{"schema": ref(r.doc.response)}}
	case r.doc.produces != "":
		success["content"] = obj{r.doc.produces: obj{"schema": obj{"type": "string", "format": "binary"}}}
	}
	responses := obj{strconv.Itoa(r.doc.status): success}
	for _, code := range append(r.doc.errors, http.StatusInternalServerError) {
		responses[strconv.Itoa(code)] = obj{
			"description": http.StatusText(code),
			"content":     obj{"application/json": obj{"schema": ref("Error")}},
		}
	}
	op["responses"] = responses
	return op
}

func schemas() obj {
	card := obj{
		"name": str("required, 1–200 characters"), "description": str(""), "personality": str(""),
		"scenario": str(""), "first_mes": str("greeting"), "alternate_greetings": arr(obj{"type": "string"}),
		"mes_example": str(""), "system_prompt": str(""), "post_history_instructions": str(""),
		"creator_notes": str(""), "tags": arr(obj{"type": "string"}), "creator": str(""),
		"character_version": str(""), "character_book": obj{"type": "object", "description": "lorebook (Character Card V2 character_book)"},
		"extensions": obj{"type": "object", "additionalProperties": true},
		"nickname":   str("V3"), "creator_notes_multilingual": obj{"type": "object", "additionalProperties": obj{"type": "string"}},
		"group_only_greetings": arr(obj{"type": "string"}), "source": arr(obj{"type": "string"}),
		"assets":        arr(obj{"type": "object", "properties": obj{"type": str(""), "uri": str(""), "name": str(""), "ext": str("")}}),
		"creation_date": obj{"type": "integer"}, "modification_date": obj{"type": "integer"},
	}
	settings := obj{
		"visibility": obj{"type": "string", "enum": []string{"private", "unlisted", "public"}},
		"voice_id":   str("voice catalog id"),
		"llm": obj{"type": "object", "properties": obj{
			"provider": obj{"type": "string", "enum": []string{"", "openai", "ollama", "anthropic"}},
			"model":    str(""), "temperature": obj{"type": "number"}, "max_tokens": obj{"type": "integer"},
		}},
	}
	input := obj{}
	agent := obj{
		"id": str(""), "owner_id": str(""), "avatar_url": obj{"type": []string{"string", "null"}},
		"created_at": obj{"type": "string", "format": "date-time"}, "updated_at": obj{"type": "string", "format": "date-time"},
		"latest_version": obj{"type": "integer", "description": "0 when never published"},
	}
	for k, v := range card {
		input[k], agent[k] = v, v
	}
	for k, v := range settings {
		input[k], agent[k] = v, v
	}
	user := obj{"type": "object", "properties": obj{
		"id": str(""), "email": str(""), "display_name": str(""), "created_at": obj{"type": "string", "format": "date-time"},
	}}
	version := obj{"type": "object", "properties": obj{
		"number": obj{"type": "integer"}, "content_hash": str("sha256:<hex> of the canonical card JSON"),
		"created_at": obj{"type": "string", "format": "date-time"},
	}}
	key := obj{"type": "object", "properties": obj{
		"id": str(""), "name": str(""), "prefix": str(""), "created_at": obj{"type": "string", "format": "date-time"},
		"last_used_at": obj{"type": []string{"string", "null"}, "format": "date-time"},
	}}
	out := obj{
		"Error": obj{"type": "object", "required": []string{"error"}, "properties": obj{"error": obj{
			"type": "object", "required": []string{"code", "message"},
			"properties": obj{"code": str("stable snake_case code"), "message": str("human sentence"), "field": str("input at fault, when one is")},
		}}},
		"Health":          obj{"type": "object", "properties": obj{"status": str(""), "version": str("")}},
		"Readiness":       obj{"type": "object", "properties": obj{"status": str("ready or not_ready"), "checks": obj{"type": "object", "additionalProperties": obj{"type": "string"}}}},
		"SignupRequest":   obj{"type": "object", "required": []string{"email", "password", "display_name"}, "properties": obj{"email": str(""), "password": str("8–256 characters"), "display_name": str("1–80 characters")}},
		"LoginRequest":    obj{"type": "object", "required": []string{"email", "password"}, "properties": obj{"email": str(""), "password": str("")}},
		"User":            user,
		"UserResponse":    obj{"type": "object", "properties": obj{"user": ref("User")}},
		"Me":              obj{"type": "object", "properties": obj{"user": ref("User"), "csrf_token": str("send as X-CSRF-Token on cookie-authenticated mutations")}},
		"RevokedSessions": obj{"type": "object", "properties": obj{"revoked_sessions": obj{"type": "integer"}}},
		"KeyRequest":      obj{"type": "object", "required": []string{"name"}, "properties": obj{"name": str("")}},
		"APIKey":          key,
		"NewKey":          obj{"type": "object", "properties": obj{"id": str(""), "name": str(""), "prefix": str(""), "created_at": obj{"type": "string", "format": "date-time"}, "key": str("the secret; shown only once")}},
		"KeyList":         obj{"type": "object", "properties": obj{"items": arr(ref("APIKey"))}},
		"AgentInput":      obj{"type": "object", "properties": input},
		"Agent":           obj{"type": "object", "properties": agent},
		"AgentResponse":   obj{"type": "object", "properties": obj{"agent": ref("Agent")}},
		"AgentSummary": obj{"type": "object", "description": "an agent as lists show it; GET /api/agents/{id} has the whole card", "properties": obj{
			"id": str(""), "owner_id": str(""), "name": str(""), "description": str("the first 300 characters"), "creator": str(""),
			"tags": arr(obj{"type": "string"}), "visibility": obj{"type": "string", "enum": []string{"private", "unlisted", "public"}},
			"voice_id": str(""), "avatar_url": obj{"type": []string{"string", "null"}}, "latest_version": obj{"type": "integer"},
			"created_at": obj{"type": "string", "format": "date-time"}, "updated_at": obj{"type": "string", "format": "date-time"},
		}},
		"AgentPage":       obj{"type": "object", "properties": obj{"items": arr(ref("AgentSummary")), "next_cursor": str("empty on the last page")}},
		"Version":         version,
		"VersionResponse": obj{"type": "object", "properties": obj{"version": ref("Version")}},
		"VersionList":     obj{"type": "object", "properties": obj{"items": arr(ref("Version"))}},
		"VersionCard":     obj{"type": "object", "properties": obj{"number": obj{"type": "integer"}, "card": obj{"type": "object", "properties": card}}},
	}
	for k, v := range knowledgeSchemas() {
		out[k] = v
	}
	for k, v := range chatSchemas() {
		out[k] = v
	}
	return out
}

func knowledgeSchemas() obj {
	date := obj{"type": "string", "format": "date-time"}
	integer := obj{"type": "integer"}
	base := obj{"type": "object", "properties": obj{
		"id": str(""), "owner_id": str(""), "name": str(""), "description": str(""),
		"embedder": str("the model whose vectors search uses"), "embed_dim": integer,
		"next_embedder": str("set while re-embedding"), "documents": integer, "chunks": integer,
		"created_at": date, "updated_at": date,
	}}
	document := obj{"type": "object", "properties": obj{
		"id": str(""), "knowledge_base_id": str(""), "title": str(""), "filename": str(""), "url": str(""),
		"media_type":   str("detected: text/plain, text/markdown, text/html or application/pdf"),
		"content_hash": str("SHA-256 of the original bytes"), "size_bytes": integer,
		"status": obj{"type": "string", "enum": []string{"queued", "processing", "ready", "failed"}},
		"error":  str("why it failed, or why the last attempt failed"), "chunks": integer, "attempts": integer,
		"duplicate_of": str("a fetched page whose content was already stored"), "created_at": date, "updated_at": date,
	}}
	citation := obj{"type": "object", "properties": obj{
		"document_id": str(""), "title": str(""), "heading_path": arr(obj{"type": "string"}),
		"start": obj{"type": "integer", "description": "offset in characters of the document's extracted text"},
		"end":   integer, "page": obj{"type": "integer", "description": "PDF page, 1-based"}, "url": str(""),
	}}
	return obj{
		"KnowledgeBaseInput": obj{"type": "object", "properties": obj{
			"name": str("required on create, 1–200 characters"), "description": str("at most 2000 characters"),
			"embedder": str("one of GET /api/embedders; changing it re-embeds"),
		}},
		"KnowledgeBase":         base,
		"KnowledgeBaseResponse": obj{"type": "object", "properties": obj{"knowledge_base": ref("KnowledgeBase")}},
		"KnowledgeBaseList":     obj{"type": "object", "properties": obj{"items": arr(ref("KnowledgeBase"))}},
		"EmbedderList":          obj{"type": "object", "properties": obj{"items": arr(obj{"type": "string"}), "default": str("")}},
		"DocumentURL":           obj{"type": "object", "required": []string{"url"}, "properties": obj{"url": str("http or https; private addresses are refused")}},
		"Document":              document,
		"DocumentResponse":      obj{"type": "object", "properties": obj{"document": ref("Document"), "duplicate": obj{"type": "boolean"}}},
		"DocumentList":          obj{"type": "object", "properties": obj{"items": arr(ref("Document"))}},
		"Citation":              citation,
		"SearchResults": obj{"type": "object", "properties": obj{
			"results": arr(obj{"type": "object", "properties": obj{
				"chunk_id": str(""), "document_id": str(""), "knowledge_base_id": str(""), "text": str(""),
				"score": obj{"type": "number"}, "citation": ref("Citation"),
			}}),
			"degraded": str("why vector search was left out, when it was"),
		}},
	}
}
