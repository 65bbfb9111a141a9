package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/timbre-ai/timbre/agents/llm/llmtest"
	"github.com/timbre-ai/timbre/db/dbtest"
)

// openAIClientVersion is the version of the npm package openai that
// scripts/setup-node-clients pins and unpacks into
// $TIMBRE_DATA_DIR/node_modules/openai.
const openAIClientVersion = "5.23.2"

// nodeMinMajor is the oldest Node.js the client library supports.
const nodeMinMajor = 20

// clientRunTimeout bounds one run of the client script; each of its
// requests has a 20 s timeout of its own.
const clientRunTimeout = 2 * time.Minute

// The agent the tests talk to, and what its card makes of the prompt.
const (
	agentJSON = `{"name":"Mira","description":"Keeps the lighthouse on the northern cape.",` +
		`"personality":"Patient, with a dry humour.",` +
		`"system_prompt":"You are {{char}}, keeper of the northern light. Stay in character.",` +
		`"first_mes":"The lamp is lit.","visibility":"private"}`
	agentSystemPrompt  = "You are Mira, keeper of the northern light. Stay in character."
	agentDescription   = "Keeps the lighthouse on the northern cape."
	agentPersonality   = "Mira's personality: Patient, with a dry humour."
	clientSystemPrompt = "Answer in one sentence." // the script's system message
)

// TestOpenAIClient drives /v1 with the official OpenAI client library for
// Node (e2e/testdata/openai_client.mjs), unmodified, against the real
// binary: once with a language model (the llmtest fake, speaking OpenAI's
// wire format) and once in offline mode.
func TestOpenAIClient(t *testing.T) {
	t.Parallel()
	node, pkgDir := requireOpenAIClient(t)

	t.Run("model", func(t *testing.T) {
		t.Parallel()
		// Each reply names the question it answers, so a reply cannot be
		// mistaken for another request's; the dash, the ø and the CJK
		// characters cross the SSE chunking as multi-byte UTF-8.
		fake := llmtest.NewServer(t, llmtest.Config{APIKey: "fake-upstream-key", Reply: replyTo})
		_, dbURL := dbtest.NewWithURL(t)
		p := serve(t, dbURL, t.TempDir(),
			"TIMBRE_LLM_PROVIDER=openai", "TIMBRE_LLM_BASE_URL="+fake.OpenAIURL(),
			"TIMBRE_LLM_MODEL=fake-model", "TIMBRE_LLM_API_KEY=fake-upstream-key")
		key, slug := ownerWithAgent(t, p)
		// Three answers, then the failures the script provokes when
		// TIMBRE_UPSTREAM_FAULTS is set: two refusals and a broken stream.
		// The refusals are 400s, which Timbre does not retry, so that each
		// fault meets one request of the script.
		fake.Push(llmtest.Fault{}, llmtest.Fault{}, llmtest.Fault{},
			llmtest.Status(http.StatusBadRequest, 0), llmtest.Status(http.StatusBadRequest, 0),
			llmtest.Fault{Break: llmtest.ErrorEvent, After: brokenAfter, Message: "the upstream model fell over"})
		got := runOpenAIClient(t, node, pkgDir, p, key, slug, "TIMBRE_UPSTREAM_FAULTS=1")

		checkModels(t, got, slug)
		reqs := fake.Requests()
		if len(reqs) != 6 {
			t.Fatalf("the fake model received %d requests, want 6 (completion, stream, stream helper, two refused, one broken): %+v", len(reqs), reqs)
		}
		completionReq, streamReq, helperReq, brokenReq := reqs[0], reqs[1], reqs[2], reqs[5]

		// The completion: the fake's reply, word for word, and its usage.
		wantCompletion := completionResult{
			Object: "chat.completion", Model: slug, Choices: 1, Role: "assistant",
			Content: replyTo(completionReq), FinishReason: "stop", Usage: usageOf(completionReq), Offline: ptr(false),
		}
		if diff := cmp.Diff(wantCompletion, got.Completion, cmpopts.IgnoreFields(completionResult{}, "ID")); diff != "" {
			t.Errorf("chat.completions.create (-want +got):\n%s", diff)
		}
		if !strings.HasPrefix(got.Completion.ID, "chatcmpl-") {
			t.Errorf("completion id %q, want chatcmpl-…", got.Completion.ID)
		}

		// The raw stream: a role, the text in pieces, one finish reason,
		// then exactly one usage chunk, all under one id.
		wantStream := streamResult{
			Content: replyTo(streamReq), Roles: []string{"assistant"}, FinishReason: "stop",
			Usage: usageOf(streamReq), UsageChunks: 1, Offline: []bool{false},
		}
		if diff := cmp.Diff(wantStream, got.Stream, cmpopts.IgnoreFields(streamResult{}, "Chunks", "ContentChunks", "IDs")); diff != "" {
			t.Errorf("stream: true, iterated (-want +got):\n%s", diff)
		}
		if len(got.Stream.IDs) != 1 || !strings.HasPrefix(got.Stream.IDs[0], "chatcmpl-") {
			t.Errorf("stream chunk ids %q, want one chatcmpl-… id", got.Stream.IDs)
		}
		// Each piece the model streamed is passed on as it comes, between
		// the role chunk and the finish and usage chunks.
		if got.Stream.ContentChunks != streamReq.Chunks || got.Stream.Chunks != streamReq.Chunks+3 || streamReq.Chunks < 2 {
			t.Errorf("the client got %d chunks, %d of them with text; the model streamed %d pieces of text, want them passed on one by one with 3 more",
				got.Stream.Chunks, got.Stream.ContentChunks, streamReq.Chunks)
		}

		// The library's stream helper assembles the same chunks.
		wantHelper := helperResult{Content: replyTo(helperReq), ContentEvents: replyTo(helperReq), Role: "assistant",
			FinishReason: "stop", Usage: usageOf(helperReq)}
		if diff := cmp.Diff(wantHelper, got.Helper); diff != "" {
			t.Errorf("chat.completions.stream(…).finalChatCompletion() (-want +got):\n%s", diff)
		}

		checkClientErrors(t, got)
		checkUpstreamErrors(t, got, brokenReq)

		// What the model received: the agent's system prompt first, with
		// the client's system message after what the creator wrote, then
		// the user's message; the client's parameters passed through.
		for i, r := range reqs[:3] {
			if r.Model != "fake-model" || !r.Stream {
				t.Errorf("request %d to the model: model %q, stream %v; want fake-model, streamed", i, r.Model, r.Stream)
			}
			if len(r.Messages) == 0 || r.Messages[0].Role != "system" || !strings.HasPrefix(r.Messages[0].Content, agentSystemPrompt) {
				t.Fatalf("request %d to the model does not open with the agent's system prompt %q: %+v", i, agentSystemPrompt, r.Messages)
			}
		}
		sys := completionReq.Messages[0].Content
		iDesc, iPers, iClient := strings.Index(sys, agentDescription), strings.Index(sys, agentPersonality), strings.Index(sys, clientSystemPrompt)
		if iDesc < 0 || iPers < iDesc || iClient < iPers {
			t.Errorf("system prompt of the completion, want the card's description, then its personality, then the client's %q:\n%s", clientSystemPrompt, sys)
		}
		if strings.Contains(streamReq.Messages[0].Content, clientSystemPrompt) {
			t.Errorf("the stream's system prompt has the completion's client system message: requests leak into each other:\n%s", streamReq.Messages[0].Content)
		}
		wantTurns := [][]llmtest.Message{
			{{Role: "user", Content: "What do you keep?"}},
			{{Role: "user", Content: "Tell me about the lamp."}},
			{{Role: "user", Content: "And the stairs?"}},
		}
		for i, r := range reqs[:3] {
			if diff := cmp.Diff(wantTurns[i], r.Messages[1:]); diff != "" {
				t.Errorf("request %d to the model, messages after the system prompt (-want +got):\n%s", i, diff)
			}
		}
		if completionReq.Temperature == nil || *completionReq.Temperature != 0.25 ||
			completionReq.MaxTokens != 200 || !cmp.Equal(completionReq.Stop, []string{"\nUser:"}) {
			t.Errorf("the completion's parameters reached the model as temperature %v, max tokens %d, stop %q; want 0.25, 200, [\"\\nUser:\"]",
				deref(completionReq.Temperature), completionReq.MaxTokens, completionReq.Stop)
		}
		p.stop(t)
	})

	t.Run("offline", func(t *testing.T) {
		t.Parallel()
		_, dbURL := dbtest.NewWithURL(t)
		// No language model: none turns the Ollama probe off, and the empty
		// values override any the test's own environment has.
		p := serve(t, dbURL, t.TempDir(),
			"TIMBRE_LLM_PROVIDER=none", "TIMBRE_LLM_BASE_URL=", "TIMBRE_LLM_MODEL=", "TIMBRE_LLM_API_KEY=")
		key, slug := ownerWithAgent(t, p)
		got := runOpenAIClient(t, node, pkgDir, p, key, slug)

		checkModels(t, got, slug)
		c := got.Completion
		if c.Offline == nil || !*c.Offline || c.Object != "chat.completion" || c.Role != "assistant" || c.FinishReason != "stop" {
			t.Errorf("offline completion = %+v, want offline: true, an assistant message, finish_reason stop", c)
		}
		// With no knowledge, an offline agent introduces itself from its card.
		if !strings.HasPrefix(c.Content, "Mira here.") || !strings.Contains(c.Content, agentDescription) {
			t.Errorf("offline reply %q, want Mira introducing itself with its description", c.Content)
		}
		if got.Stream.Content != c.Content || got.Helper.Content != c.Content {
			t.Errorf("offline replies differ: completion %q, stream %q, stream helper %q", c.Content, got.Stream.Content, got.Helper.Content)
		}
		if !cmp.Equal(got.Stream.Offline, []bool{true}) || got.Stream.FinishReason != "stop" || got.Stream.UsageChunks != 1 {
			t.Errorf("offline stream: offline flags %v, finish_reason %q, %d usage chunks; want [true], stop, 1",
				got.Stream.Offline, got.Stream.FinishReason, got.Stream.UsageChunks)
		}
		checkClientErrors(t, got)
		p.stop(t)
	})
}

// replyTo is the fake model's reply to a request: it quotes the request's
// last message.
func replyTo(r llmtest.Received) string {
	last := ""
	if n := len(r.Messages); n > 0 {
		last = r.Messages[n-1].Content
	}
	return fmt.Sprintf("You asked “%s” — the lamp of Nørdkapp is lit, 灯台 and all.", last)
}

// clientResult is what openai_client.mjs prints.
type clientResult struct {
	LibraryVersion string `json:"library_version"`
	Models         struct {
		Listed    []string `json:"listed"`
		Iterated  []string `json:"iterated"`
		Retrieved struct {
			ID      string `json:"id"`
			Object  string `json:"object"`
			OwnedBy string `json:"owned_by"`
			Created int64  `json:"created"`
		} `json:"retrieved"`
	} `json:"models"`
	Completion completionResult       `json:"completion"`
	Stream     streamResult           `json:"stream"`
	Helper     helperResult           `json:"helper"`
	Errors     map[string]clientError `json:"errors"`
	Upstream   *upstreamResult        `json:"upstream"`
}

// upstreamResult is what the client saw of the model's failures.
type upstreamResult struct {
	Rejected         clientError `json:"rejected"`
	RejectedStream   clientError `json:"rejected_stream"`
	BrokenStream     clientError `json:"broken_stream"`
	BrokenStreamText string      `json:"broken_stream_text"`
}

type completionResult struct {
	ID           string       `json:"id"`
	Object       string       `json:"object"`
	Model        string       `json:"model"`
	Choices      int          `json:"choices"`
	Role         string       `json:"role"`
	Content      string       `json:"content"`
	FinishReason string       `json:"finish_reason"`
	Usage        *clientUsage `json:"usage"`
	Offline      *bool        `json:"offline"`
}

type streamResult struct {
	Content       string       `json:"content"`
	Chunks        int          `json:"chunks"`
	ContentChunks int          `json:"content_chunks"`
	IDs           []string     `json:"ids"`
	Roles         []string     `json:"roles"`
	FinishReason  string       `json:"finish_reason"`
	Usage         *clientUsage `json:"usage"`
	UsageChunks   int          `json:"usage_chunks"`
	Offline       []bool       `json:"offline"`
}

type helperResult struct {
	Content       string       `json:"content"`
	ContentEvents string       `json:"content_events"`
	Role          string       `json:"role"`
	FinishReason  string       `json:"finish_reason"`
	Usage         *clientUsage `json:"usage"`
}

type clientUsage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

// clientError is an error the library threw, by its class and fields.
type clientError struct {
	Class     string  `json:"class"`
	Status    int     `json:"status"`
	Code      string  `json:"code"`
	Type      string  `json:"type"`
	Param     *string `json:"param"`
	Message   string  `json:"message"`
	RequestID string  `json:"request_id"`
}

// usageOf is the usage the fake model reported for a request, as the
// client should see it.
func usageOf(r llmtest.Received) *clientUsage {
	return &clientUsage{PromptTokens: r.PromptTokens, CompletionTokens: r.CompletionTokens,
		TotalTokens: r.PromptTokens + r.CompletionTokens}
}

// checkModels checks the model list and the retrieved model: the agent,
// by its slug, on the first page and through the library's iterator.
func checkModels(t *testing.T, got clientResult, slug string) {
	t.Helper()
	if got.LibraryVersion != openAIClientVersion {
		t.Errorf("the script ran openai %s, want %s", got.LibraryVersion, openAIClientVersion)
	}
	if !cmp.Equal(got.Models.Listed, []string{slug}) || !cmp.Equal(got.Models.Iterated, []string{slug}) {
		t.Errorf("models.list() = %q, iterated %q; want [%q]", got.Models.Listed, got.Models.Iterated, slug)
	}
	r := got.Models.Retrieved
	if r.ID != slug || r.Object != "model" || r.OwnedBy == "" || r.Created <= 0 {
		t.Errorf("models.retrieve(%q) = %+v, want the model %q with an owner and a creation time", slug, r, slug)
	}
}

// checkClientErrors checks that each error is the library's class for its
// status, with OpenAI's type and Timbre's code, a message and a request id.
func checkClientErrors(t *testing.T, got clientResult) {
	t.Helper()
	model, messages := "model", "messages"
	notFound := clientError{Class: "NotFoundError", Status: 404, Code: "model_not_found", Type: "invalid_request_error", Param: &model}
	unauthorized := clientError{Class: "AuthenticationError", Status: 401, Code: "invalid_api_key", Type: "authentication_error"}
	want := map[string]clientError{
		"unknown_model":          notFound,
		"unknown_model_retrieve": notFound,
		"unknown_model_stream":   notFound,
		"wrong_key":              unauthorized,
		"wrong_key_completion":   unauthorized,
		"empty_message":          {Class: "BadRequestError", Status: 400, Code: "empty_message", Type: "invalid_request_error"},
		"no_messages":            {Class: "BadRequestError", Status: 400, Code: "invalid_request", Type: "invalid_request_error", Param: &messages},
	}
	// empty_message's param is Timbre's "content" where OpenAI would name
	// "messages[0].content"; the library only passes it on, so it is not
	// held against the API here.
	errs := maps.Clone(got.Errors)
	if e, ok := errs["empty_message"]; ok {
		e.Param = nil
		errs["empty_message"] = e
	}
	if diff := cmp.Diff(want, errs, cmpopts.IgnoreFields(clientError{}, "Message", "RequestID")); diff != "" {
		t.Errorf("errors thrown by the library (-want +got):\n%s", diff)
	}
	for name, e := range got.Errors {
		if !strings.HasPrefix(e.Message, strconv.Itoa(e.Status)+" ") || len(e.Message) < 10 || e.RequestID == "" {
			t.Errorf("%s: message %q, request id %q; want the status and a message, and the X-Request-Id", name, e.Message, e.RequestID)
		}
	}
}

// brokenAfter is how many chunks of text the fake model streams before it
// breaks the stream it was told to break.
const brokenAfter = 3

// checkUpstreamErrors checks what the library makes of the model failing
// behind Timbre: a 502 before any text is the library's InternalServerError,
// a stream broken off is the text that came, then an APIError thrown by
// the iterator with Timbre's code.
func checkUpstreamErrors(t *testing.T, got clientResult, broken llmtest.Received) {
	t.Helper()
	if got.Upstream == nil {
		t.Fatal("openai_client.mjs reported no upstream failures though TIMBRE_UPSTREAM_FAULTS was set")
	}
	u := got.Upstream
	rejected := clientError{Class: "InternalServerError", Status: 502, Code: "llm_rejected", Type: "server_error"}
	ignore := cmpopts.IgnoreFields(clientError{}, "Message", "RequestID")
	if diff := cmp.Diff(rejected, u.Rejected, ignore); diff != "" {
		t.Errorf("a completion while the model fails (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(rejected, u.RejectedStream, ignore); diff != "" {
		t.Errorf("a stream while the model fails (-want +got):\n%s", diff)
	}
	// A mid-stream error event carries no status: the library throws its
	// base APIError with the event's fields.
	wantBroken := clientError{Class: "APIError", Code: "llm_interrupted", Type: "server_error"}
	if diff := cmp.Diff(wantBroken, u.BrokenStream, ignore); diff != "" {
		t.Errorf("a stream the model breaks off (-want +got):\n%s", diff)
	}
	if !strings.Contains(u.BrokenStream.Message, "broke off") {
		t.Errorf("the broken stream's error says %q, want it to say the reply broke off", u.BrokenStream.Message)
	}
	if u.BrokenStreamText == "" || !strings.HasPrefix(replyTo(broken), u.BrokenStreamText) || u.BrokenStreamText == replyTo(broken) {
		t.Errorf("the broken stream delivered %q, want a proper beginning of %q", u.BrokenStreamText, replyTo(broken))
	}
}

// ownerWithAgent signs a user up on p and returns an API key of theirs and
// the slug of a private agent they created.
func ownerWithAgent(t *testing.T, p *process) (key, slug string) {
	t.Helper()
	u := newUser(t, p.url)
	u.call("POST", "/api/auth/signup", `{"email":"dev@example.com","password":"a long passphrase","display_name":"Dev"}`, 201)
	u.csrf = u.call("GET", "/api/me", "", 200)["csrf_token"].(string)
	key = u.call("POST", "/api/keys", `{"name":"openai-client"}`, 201)["key"].(string)
	agent := u.call("POST", "/api/agents", agentJSON, 201)["agent"].(map[string]any)
	slug, _ = agent["slug"].(string)
	if slug == "" {
		t.Fatalf("the new agent has no slug: %v", agent)
	}
	return key, slug
}

// runOpenAIClient runs openai_client.mjs against p and decodes what it
// prints; the script failing fails the test with its message and Timbre's
// log.
func runOpenAIClient(t *testing.T, node, pkgDir string, p *process, key, slug string, env ...string) clientResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), clientRunTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Join("testdata", "openai_client.mjs"))
	cmd.Env = append(os.Environ(), "TIMBRE_URL="+p.url, "TIMBRE_API_KEY="+key, "TIMBRE_MODEL="+slug,
		"OPENAI_CLIENT_DIR="+pkgDir)
	cmd.Env = append(cmd.Env, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node testdata/openai_client.mjs: %v\n%s%s\ntimbre's log:\n%s", err, stderr.String(), stdout.String(), p.output())
	}
	var got clientResult
	if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
		t.Fatalf("openai_client.mjs printed no result (%v):\n%s%s", err, stdout.String(), stderr.String())
	}
	t.Logf("openai_client.mjs: %s", bytes.TrimSpace(stdout.Bytes()))
	return got
}

// requireOpenAIClient returns node and the directory of the unpacked npm
// package openai, and fails the test, saying how to get them, when either
// is missing.
func requireOpenAIClient(t *testing.T) (node, pkgDir string) {
	t.Helper()
	dataDir := os.Getenv("TIMBRE_DATA_DIR")
	switch {
	case dataDir == "":
		dataDir = filepath.Join("..", ".data")
	case !filepath.IsAbs(dataDir):
		dataDir = filepath.Join("..", dataDir) // relative to the repository, as scripts/setup-node-clients reads it
	}
	pkgDir, err := filepath.Abs(filepath.Join(dataDir, "node_modules", "openai"))
	if err == nil {
		node, err = nodeAtLeast(nodeMinMajor)
	}
	if err == nil {
		err = packageVersion(pkgDir, openAIClientVersion)
	}
	if err != nil {
		t.Fatalf("the OpenAI client test needs node %d or later and the npm package openai@%s in %s: %v.\n"+
			"Run `make setup` (it runs scripts/setup-node-clients), or `make test`, which runs it first.",
			nodeMinMajor, openAIClientVersion, pkgDir, err)
	}
	return node, pkgDir
}

// nodeAtLeast finds node on PATH and checks its major version.
func nodeAtLeast(major int) (string, error) {
	node, err := exec.LookPath("node")
	if err != nil {
		return "", err
	}
	out, err := exec.Command(node, "--version").Output()
	if err != nil {
		return "", fmt.Errorf("%s --version: %w", node, err)
	}
	v := strings.TrimPrefix(strings.TrimSpace(string(out)), "v")
	got, err := strconv.Atoi(strings.SplitN(v, ".", 2)[0])
	if err != nil || got < major {
		return "", fmt.Errorf("%s is version %q", node, v)
	}
	return node, nil
}

// packageVersion checks the name and version in dir/package.json.
func packageVersion(dir, version string) error {
	b, err := os.ReadFile(filepath.Join(dir, "package.json"))
	if err != nil {
		return err
	}
	var pkg struct {
		Name    string `json:"name"`
		Version string `json:"version"`
	}
	if err := json.Unmarshal(b, &pkg); err != nil {
		return fmt.Errorf("%s/package.json: %w", dir, err)
	}
	if pkg.Name != "openai" || pkg.Version != version {
		return errors.New(dir + " holds " + pkg.Name + "@" + pkg.Version)
	}
	return nil
}

func ptr[T any](v T) *T { return &v }

func deref(f *float64) any {
	if f == nil {
		return nil
	}
	return *f
}
