package api

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// authLevel says who may call a route.
type authLevel int

const (
	authNone     authLevel = iota // anyone; no CSRF check
	authOptional                  // anyone; the caller is known when signed in
	authUser                      // a session (with CSRF token on mutations) or an API key
	authKey                       // an API key only (the OpenAI-compatible surface)
)

// route is one line of the route table. The OpenAPI document is generated
// from the same lines, so a route cannot be served without being documented.
type route struct {
	method  string
	path    string // Echo syntax: /api/agents/:id
	handler echo.HandlerFunc
	auth    authLevel
	upload  bool // multipart file upload: the larger body limit applies
	doc     opDoc
}

// opDoc describes a route in the OpenAPI document.
type opDoc struct {
	summary  string
	tag      string
	request  string       // schema name of a JSON body; "multipart" for a file upload
	status   int          // success status
	response string       // schema name of the success body; "" for none
	produces string       // content type of a non-JSON success body
	query    []queryParam // query parameters
	errors   []int        // error statuses besides 500
}

type queryParam struct {
	name, description string
}

// routeTable is the one list of Timbre's HTTP routes.
func (h *handlers) routeTable() []route {
	return []route{
		// Operations
		{method: http.MethodGet, path: "/healthz", handler: h.healthz, auth: authNone,
			doc: opDoc{summary: "Process is up", tag: "operations", status: 200, response: "Health"}},
		{method: http.MethodGet, path: "/readyz", handler: h.readyz, auth: authNone,
			doc: opDoc{summary: "Database and bus are reachable", tag: "operations", status: 200, response: "Readiness", errors: []int{503}}},
		{method: http.MethodGet, path: "/metrics", handler: h.metrics, auth: authNone,
			doc: opDoc{summary: "Prometheus metrics", tag: "operations", status: 200, produces: "text/plain"}},
		{method: http.MethodGet, path: "/api/openapi.json", handler: h.openAPI, auth: authNone,
			doc: opDoc{summary: "This document", tag: "operations", status: 200, produces: "application/json"}},

		// Accounts and keys
		{method: http.MethodPost, path: "/api/auth/signup", handler: h.signup, auth: authNone,
			doc: opDoc{summary: "Create an account and sign in (sets the session cookie)", tag: "accounts", request: "SignupRequest", status: 201, response: "UserResponse", errors: []int{400, 409, 413, 415, 429}}},
		{method: http.MethodPost, path: "/api/auth/login", handler: h.login, auth: authNone,
			doc: opDoc{summary: "Sign in (sets the session cookie)", tag: "accounts", request: "LoginRequest", status: 200, response: "UserResponse", errors: []int{400, 401, 415, 429}}},
		{method: http.MethodPost, path: "/api/auth/logout", handler: h.logout, auth: authNone,
			doc: opDoc{summary: "Sign out and revoke the session", tag: "accounts", status: 204}},
		{method: http.MethodPost, path: "/api/auth/logout-everywhere", handler: h.logoutEverywhere, auth: authUser,
			doc: opDoc{summary: "Revoke every session of the signed-in user, in every browser (API keys stay valid)", tag: "accounts", status: 200, response: "RevokedSessions", errors: []int{401, 403}}},
		{method: http.MethodGet, path: "/api/me", handler: h.me, auth: authUser,
			doc: opDoc{summary: "The signed-in user and the CSRF token for cookie-authenticated mutations", tag: "accounts", status: 200, response: "Me", errors: []int{401}}},
		{method: http.MethodPost, path: "/api/keys", handler: h.createKey, auth: authUser,
			doc: opDoc{summary: "Create an API key (the key is shown only in this response)", tag: "accounts", request: "KeyRequest", status: 201, response: "NewKey", errors: []int{400, 401, 403, 415}}},
		{method: http.MethodGet, path: "/api/keys", handler: h.listKeys, auth: authUser,
			doc: opDoc{summary: "List your active API keys", tag: "accounts", status: 200, response: "KeyList", errors: []int{401}}},
		{method: http.MethodDelete, path: "/api/keys/:id", handler: h.deleteKey, auth: authUser,
			doc: opDoc{summary: "Revoke an API key", tag: "accounts", status: 204, errors: []int{401, 403, 404}}},

		// Agents
		{method: http.MethodPost, path: "/api/agents", handler: h.createAgent, auth: authUser,
			doc: opDoc{summary: "Create a draft agent", tag: "agents", request: "AgentInput", status: 201, response: "AgentResponse", errors: []int{400, 401, 403, 413, 415}}},
		{method: http.MethodGet, path: "/api/agents", handler: h.listAgents, auth: authOptional,
			doc: opDoc{summary: "List your agents or the public catalogue, newest first", tag: "agents", status: 200, response: "AgentPage", errors: []int{400, 401},
				query: []queryParam{{"scope", "mine (default when signed in) or public"}, {"q", "search words (prefix match on name, description, tags, creator notes)"}, {"cursor", "next_cursor of the previous page"}, {"limit", "1–100, default 20"}}}},
		{method: http.MethodPost, path: "/api/agents/import", handler: h.importAgent, auth: authUser, upload: true,
			doc: opDoc{summary: "Import a character card: V1/V2/V3 JSON, PNG with a chara or ccv3 chunk, or CHARX", tag: "agents", request: "multipart", status: 201, response: "AgentResponse", errors: []int{400, 401, 403, 413, 415, 422}}},
		{method: http.MethodGet, path: "/api/agents/:id", handler: h.getAgent, auth: authOptional,
			doc: opDoc{summary: "Read an agent", tag: "agents", status: 200, response: "AgentResponse", errors: []int{401, 404}}},
		{method: http.MethodPatch, path: "/api/agents/:id", handler: h.updateAgent, auth: authUser,
			doc: opDoc{summary: "Change a draft (JSON merge patch: present keys replace, null resets)", tag: "agents", request: "AgentInput", status: 200, response: "AgentResponse", errors: []int{400, 401, 403, 404, 413, 415}}},
		{method: http.MethodDelete, path: "/api/agents/:id", handler: h.deleteAgent, auth: authUser,
			doc: opDoc{summary: "Delete an agent, its versions and assets", tag: "agents", status: 204, errors: []int{401, 403, 404}}},
		{method: http.MethodPost, path: "/api/agents/:id/publish", handler: h.publishAgent, auth: authUser,
			doc: opDoc{summary: "Freeze the draft as the next immutable version", tag: "agents", status: 201, response: "VersionResponse", errors: []int{401, 403, 404}}},
		{method: http.MethodGet, path: "/api/agents/:id/versions", handler: h.listVersions, auth: authOptional,
			doc: opDoc{summary: "List published versions, newest first", tag: "agents", status: 200, response: "VersionList", errors: []int{401, 404}}},
		{method: http.MethodGet, path: "/api/agents/:id/versions/:number", handler: h.getVersion, auth: authOptional,
			doc: opDoc{summary: "Read the card frozen in a version", tag: "agents", status: 200, response: "VersionCard", errors: []int{400, 401, 404}}},
		{method: http.MethodGet, path: "/api/agents/:id/export", handler: h.exportAgent, auth: authOptional,
			doc: opDoc{summary: "Download the card", tag: "agents", status: 200, produces: "application/octet-stream", errors: []int{400, 401, 404},
				query: []queryParam{{"format", "v2 (default), v3, png or charx"}}}},
		{method: http.MethodPut, path: "/api/agents/:id/avatar", handler: h.putAvatar, auth: authUser, upload: true,
			doc: opDoc{summary: "Upload an avatar (PNG, JPEG or WebP; re-encoded as PNG, longest side 1024)", tag: "agents", request: "multipart", status: 200, response: "AgentResponse", errors: []int{400, 401, 403, 404, 413, 415, 422}}},
		{method: http.MethodGet, path: "/api/agents/:id/avatar", handler: h.getAvatar, auth: authOptional,
			doc: opDoc{summary: "The agent's avatar", tag: "agents", status: 200, produces: "image/png", errors: []int{401, 404}}},
		{method: http.MethodGet, path: "/api/agents/:id/knowledge-bases", handler: h.agentBases, auth: authUser,
			doc: opDoc{summary: "List the knowledge bases attached to an agent you own", tag: "knowledge", status: 200, response: "KnowledgeBaseList", errors: []int{401, 403, 404}}},
		{method: http.MethodPut, path: "/api/agents/:id/knowledge-bases/:kb_id", handler: h.attachBase, auth: authUser,
			doc: opDoc{summary: "Attach one of your knowledge bases to an agent you own (idempotent); returns the attached list", tag: "knowledge", status: 200, response: "KnowledgeBaseList", errors: []int{401, 403, 404}}},
		{method: http.MethodDelete, path: "/api/agents/:id/knowledge-bases/:kb_id", handler: h.detachBase, auth: authUser,
			doc: opDoc{summary: "Detach a knowledge base from an agent", tag: "knowledge", status: 204, errors: []int{401, 403, 404}}},

		// Knowledge
		{method: http.MethodGet, path: "/api/embedders", handler: h.listEmbedders, auth: authUser,
			doc: opDoc{summary: "Embedders this server runs (the default first)", tag: "knowledge", status: 200, response: "EmbedderList", errors: []int{401}}},
		{method: http.MethodPost, path: "/api/knowledge-bases", handler: h.createBase, auth: authUser,
			doc: opDoc{summary: "Create a knowledge base", tag: "knowledge", request: "KnowledgeBaseInput", status: 201, response: "KnowledgeBaseResponse", errors: []int{400, 401, 403, 413, 415, 503}}},
		{method: http.MethodGet, path: "/api/knowledge-bases", handler: h.listBases, auth: authUser,
			doc: opDoc{summary: "List your knowledge bases, newest first", tag: "knowledge", status: 200, response: "KnowledgeBaseList", errors: []int{401}}},
		{method: http.MethodGet, path: "/api/knowledge-bases/:id", handler: h.getBase, auth: authUser,
			doc: opDoc{summary: "Read a knowledge base", tag: "knowledge", status: 200, response: "KnowledgeBaseResponse", errors: []int{401, 404}}},
		{method: http.MethodPatch, path: "/api/knowledge-bases/:id", handler: h.updateBase, auth: authUser,
			doc: opDoc{summary: "Rename, describe, or switch the embedder (re-embeds in the background; search keeps the old vectors until done)", tag: "knowledge", request: "KnowledgeBaseInput", status: 200, response: "KnowledgeBaseResponse", errors: []int{400, 401, 403, 404, 415, 503}}},
		{method: http.MethodDelete, path: "/api/knowledge-bases/:id", handler: h.deleteBase, auth: authUser,
			doc: opDoc{summary: "Delete a knowledge base with its documents", tag: "knowledge", status: 204, errors: []int{401, 403, 404}}},
		{method: http.MethodPost, path: "/api/knowledge-bases/:id/documents", handler: h.addDocument, auth: authUser, upload: true,
			doc: opDoc{summary: "Add a document: multipart field 'file' (text, Markdown, HTML, PDF) or JSON {url}; ingested in the background. The same content again returns 200 with the existing document", tag: "knowledge", request: "multipart|DocumentURL", status: 202, response: "DocumentResponse", errors: []int{400, 401, 403, 404, 413, 415, 422}}},
		{method: http.MethodGet, path: "/api/knowledge-bases/:id/documents", handler: h.listDocuments, auth: authUser,
			doc: opDoc{summary: "List a knowledge base's documents, newest first", tag: "knowledge", status: 200, response: "DocumentList", errors: []int{401, 404}}},
		{method: http.MethodGet, path: "/api/knowledge-bases/:id/documents/:doc_id", handler: h.getDocument, auth: authUser,
			doc: opDoc{summary: "Read a document's status (queued, processing, ready, failed with error)", tag: "knowledge", status: 200, response: "DocumentResponse", errors: []int{401, 404}}},
		{method: http.MethodDelete, path: "/api/knowledge-bases/:id/documents/:doc_id", handler: h.deleteDocument, auth: authUser,
			doc: opDoc{summary: "Delete a document with its passages", tag: "knowledge", status: 204, errors: []int{401, 403, 404}}},
		{method: http.MethodGet, path: "/api/knowledge-bases/:id/events", handler: h.baseEvents, auth: authUser,
			doc: opDoc{summary: "Server-sent events: 'document' (current state of each unfinished document), then 'progress' (status, stage, chunks_done/chunks_total)", tag: "knowledge", status: 200, produces: "text/event-stream", errors: []int{401, 404}}},
		{method: http.MethodGet, path: "/api/knowledge-bases/:id/search", handler: h.searchBase, auth: authUser,
			doc: opDoc{summary: "Hybrid search (vector + full text, fused by reciprocal rank) with citations", tag: "knowledge", status: 200, response: "SearchResults", errors: []int{400, 401, 404},
				query: []queryParam{{"q", "the question (required)"}, {"k", "results, 1–50 (default 5)"}, {"mode", "hybrid (default), vector or text"}, {"ef_search", "HNSW candidate list size, 1–1000"}}}},

		// Chat
		{method: http.MethodPost, path: "/api/agents/:id/conversations", handler: h.startConversation, auth: authUser,
			doc: opDoc{summary: "Start a conversation; the greeting is first_mes, or alternate greeting n for {greeting: n}", tag: "chat", request: "ConversationInput", status: 201, response: "ConversationResponse", errors: []int{400, 401, 403, 404, 415}}},
		{method: http.MethodGet, path: "/api/conversations", handler: h.listConversations, auth: authUser,
			doc: opDoc{summary: "List your conversations, most recently active first", tag: "chat", status: 200, response: "ConversationPage", errors: []int{400, 401},
				query: []queryParam{{"agent_id", "only conversations with this agent"}, {"cursor", "next_cursor of the previous page"}, {"limit", "1–100, default 20"}}}},
		{method: http.MethodGet, path: "/api/conversations/:id", handler: h.getConversation, auth: authUser,
			doc: opDoc{summary: "Read a conversation with its messages (the active alternative of each) and the model that answers it", tag: "chat", status: 200, response: "ConversationResponse", errors: []int{401, 404}}},
		{method: http.MethodDelete, path: "/api/conversations/:id", handler: h.deleteConversation, auth: authUser,
			doc: opDoc{summary: "Delete a conversation and its messages (its usage records stay)", tag: "chat", status: 204, errors: []int{401, 403, 404}}},
		{method: http.MethodPost, path: "/api/conversations/:id/messages", handler: h.sendMessage, auth: authUser,
			doc: opDoc{summary: "Send a message and get the agent's reply: with Accept: text/event-stream, events start, delta {text}, citation, then done {message, usage, timings, offline} or error; otherwise JSON when the reply is complete", tag: "chat", request: "MessageInput", status: 200, response: "Turn", produces: "text/event-stream", errors: []int{400, 401, 403, 404, 409, 413, 415, 429, 502, 503, 504}}},
		{method: http.MethodPost, path: "/api/conversations/:id/messages/:message_id/regenerate", handler: h.regenerate, auth: authUser,
			doc: opDoc{summary: "Make another reply in place of the last one; earlier replies stay as alternatives (swipes). Answers like sending a message", tag: "chat", status: 200, response: "Turn", produces: "text/event-stream", errors: []int{400, 401, 403, 404, 409, 429, 502, 503, 504}}},
		{method: http.MethodPost, path: "/api/conversations/:id/messages/:message_id/swipe", handler: h.swipe, auth: authUser,
			doc: opDoc{summary: "Make one of the last reply's alternatives the active one", tag: "chat", request: "SwipeInput", status: 200, response: "MessageResponse", errors: []int{400, 401, 403, 404, 409, 415}}},

		{method: http.MethodGet, path: "/api/conversations/:id/messages/:message_id/speech", handler: h.messageSpeech, auth: authUser,
			doc: opDoc{summary: "A message read aloud in the agent's voice: WAV (24 kHz, 16-bit mono) streamed as each sentence is synthesised", tag: "chat", status: 200, produces: "audio/wav", errors: []int{400, 401, 404, 422, 503}}},

		// Voice
		{method: http.MethodGet, path: "/api/voices", handler: h.listVoices, auth: authOptional,
			doc: opDoc{summary: "The voice catalog: the built-in voices, and your cloned voices when signed in", tag: "voice", status: 200, response: "VoiceList"}},
		{method: http.MethodPost, path: "/api/voices", handler: h.cloneVoice, auth: authUser, upload: true,
			doc: opDoc{summary: "Clone a voice from a recording: multipart audio (WAV, Ogg-Opus or WebM-Opus; 3–30 s of speech), name, consent=true, language; silence is trimmed, loudness normalised, and an unusable clip is refused with its reason (too_short, too_long, clipping, too_noisy, not_speech)", tag: "voice", request: "multipart", status: 201, response: "VoiceCreated", errors: []int{400, 401, 413, 415, 422, 503}}},
		{method: http.MethodDelete, path: "/api/voices/:id", handler: h.deleteVoice, auth: authUser,
			doc: opDoc{summary: "Delete your cloned voice and its recording", tag: "voice", status: 204, errors: []int{401, 404}}},
		{method: http.MethodGet, path: "/api/voices/:id/clip", handler: h.voiceClip, auth: authUser,
			doc: opDoc{summary: "Your cloned voice's recording, trimmed and normalised (WAV)", tag: "voice", status: 200, produces: "audio/wav", errors: []int{401, 404}}},
		{method: http.MethodGet, path: "/api/voices/:id/similar", handler: h.similarVoices, auth: authUser,
			doc: opDoc{summary: "The voices nearest to this one by voice profile (built-in and your cloned voices; cosine distance, nearest first)", tag: "voice", status: 200, response: "SimilarVoices", errors: []int{401, 404, 503}}},
		{method: http.MethodGet, path: "/api/voices/:id/preview", handler: h.previewVoice, auth: authUser,
			doc: opDoc{summary: "A short WAV of the voice (cached)", tag: "voice", status: 200, produces: "audio/wav", errors: []int{400, 401, 404, 503},
				query: []queryParam{{"text", "what to say, at most 300 characters (default: the voice introduces itself)"}}}},

		// Real-time voice
		{method: http.MethodPost, path: "/api/rtc/sessions", handler: h.createRTCSession, auth: authOptional,
			doc: opDoc{summary: "Start a voice call with an agent: send the browser's WebRTC offer (one Opus audio track and a data channel labelled \"events\"), get the answer. Signed in, or with an embed token in the body. A new conversation starts unless conversation_id continues one", tag: "realtime", request: "RTCSessionRequest", status: 201, response: "RTCSession", errors: []int{400, 401, 403, 404, 413, 415, 422, 429, 503}}},
		{method: http.MethodDelete, path: "/api/rtc/sessions/:id", handler: h.deleteRTCSession, auth: authOptional,
			doc: opDoc{summary: "Hang up a voice call: signed in, or with the call's embed token as {\"embed_token\"} in a JSON body", tag: "realtime", status: 204, errors: []int{401, 404}}},
		{method: http.MethodPost, path: "/api/agents/:id/embed-tokens", handler: h.createEmbedToken, auth: authUser,
			doc: opDoc{summary: "A short-lived token (default 10 minutes, at most 24 hours) that lets a page embedding this agent start voice calls with it on your behalf; end_user labels the visitor in usage", tag: "realtime", request: "EmbedTokenRequest", status: 201, response: "EmbedTokenCreated", errors: []int{400, 401, 404, 415}}},

		// OpenAI-compatible surface
		{method: http.MethodGet, path: "/v1/models", handler: h.listModels, auth: authKey,
			doc: opDoc{summary: "OpenAI-compatible: the agents this key may use (yours and the public ones); id is the agent's slug", tag: "openai", status: 200, response: "OpenAIModelList", errors: []int{401}}},
		{method: http.MethodGet, path: "/v1/models/:model", handler: h.getModel, auth: authKey,
			doc: opDoc{summary: "OpenAI-compatible: one agent as a model, by id or slug", tag: "openai", status: 200, response: "OpenAIModel", errors: []int{401, 404}}},
		{method: http.MethodPost, path: "/v1/audio/speech", handler: h.speech, auth: authKey,
			doc: opDoc{summary: "OpenAI-compatible speech: audio streams as each sentence is synthesised, as WAV, raw 16-bit PCM or Ogg-Opus (response_format), 24 kHz unless sample_rate says otherwise; voice is a catalog id (or name an agent with a voice as the model)", tag: "openai", request: "SpeechRequest", status: 200, produces: "audio/wav", errors: []int{400, 401, 415, 503}}},
		{method: http.MethodPost, path: "/v1/audio/transcriptions", handler: h.transcriptions, auth: authKey, upload: true,
			doc: opDoc{summary: "OpenAI-compatible transcription: multipart file (WAV, Ogg-Opus or WebM-Opus, at most 5 minutes) and model (any name: the server's configured recogniser transcribes); response_format json (default), text or verbose_json", tag: "openai", request: "multipart", status: 200, response: "Transcription", errors: []int{400, 401, 413, 415, 422, 503}}},
		{method: http.MethodPost, path: "/v1/chat/completions", handler: h.chatCompletions, auth: authKey,
			doc: opDoc{summary: "OpenAI-compatible chat completion with an agent as the model (its id or slug); stream: true answers chat.completion.chunk events ending with data: [DONE]. The client's system messages come after the agent's own", tag: "openai", request: "ChatCompletionRequest", status: 200, response: "ChatCompletion", produces: "text/event-stream", errors: []int{400, 401, 404, 413, 415, 429, 502, 503, 504}}},
	}
}
