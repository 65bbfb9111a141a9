package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/timbre-ai/timbre/knowledge/fetch"
	"github.com/timbre-ai/timbre/voice/talk"
)

// config is everything the binary reads from TIMBRE_* variables (and flags).
type config struct {
	Addr              string
	DatabaseURL       string
	DBMaxConns        int
	DataDir           string
	NATSURL           string
	NATSListen        string
	LogLevel          slog.Level
	LogFormat         string
	MaxBodyBytes      int64
	MaxUploadBytes    int64
	AuthRatePerMinute int
	SecureCookies     bool
	SessionTTL        time.Duration
	CacheTTL          time.Duration
	ShutdownTimeout   time.Duration
	EmbedProvider     string
	EmbedModel        string
	EmbedBaseURL      string
	EmbedAPIKey       string
	FetchAllow        []netip.Prefix
	MaxDocumentBytes  int64
	IngestWorkers     int
	IngestLease       time.Duration
	LLMProvider       string
	LLMBaseURL        string
	LLMAPIKey         string
	LLMModel          string
	LLMTimeout        time.Duration
	LLMRetries        int
	LLMContextTokens  int
	LLMReplyTokens    int
	MaxMessageBytes   int
	TTSProvider       string
	TTSThreads        int
	TTSSlots          int
	VoiceWorker       bool
	MetricsAddr       string
	ASRProvider       string
	ASRModelDir       string
	ASRBaseURL        string
	ASRAPIKey         string
	ASRModel          string
	ASRDecoders       int
	ICEServers        string
	RTCPorts          [2]uint16
	RTCPublicIPs      []string
	TurnSilence       time.Duration
	TurnMinSpeech     time.Duration
	Backchannels      []string
	RTCIdleTimeout    time.Duration
	RTCMaxPerUser     int
	RTCMaxSessions    int
}

// setting is one TIMBRE_* variable: its flag, default, meaning and parser.
type setting struct {
	env   string
	flag  string
	def   string
	help  string
	parse func(c *config, v string) error
}

// settings lists every variable, in the order --help prints them.
func settings() []setting {
	return []setting{
		{"TIMBRE_ADDR", "addr", "127.0.0.1:8080", "HTTP listen address (host:port)", func(c *config, v string) error {
			if _, port, err := net.SplitHostPort(v); err != nil || port == "" {
				return errors.New("must be host:port, e.g. 127.0.0.1:8080 or :8080")
			}
			c.Addr = v
			return nil
		}},
		{"TIMBRE_DATABASE_URL", "database-url", "postgres://timbre:timbre@127.0.0.1:5432/timbre?sslmode=disable",
			"PostgreSQL (15+, with pgvector) connection URL", func(c *config, v string) error {
				u, err := url.Parse(v)
				if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
					return errors.New("must be a postgres:// URL, e.g. postgres://user:pass@127.0.0.1:5432/timbre")
				}
				c.DatabaseURL = v
				return nil
			}},
		{"TIMBRE_DB_MAX_CONNS", "db-max-conns", "16", "maximum database connections", intIn(1, 1000, func(c *config, n int) { c.DBMaxConns = n })},
		{"TIMBRE_DATA_DIR", "data-dir", ".data", "directory for local state (embedded NATS store, model files)", func(c *config, v string) error {
			if strings.TrimSpace(v) == "" {
				return errors.New("must not be empty")
			}
			c.DataDir = v
			return nil
		}},
		{"TIMBRE_NATS_URL", "nats-url", "", "external NATS URL with JetStream; empty runs NATS embedded in serve", func(c *config, v string) error {
			if v != "" {
				u, err := url.Parse(v)
				if err != nil || (u.Scheme != "nats" && u.Scheme != "tls" && u.Scheme != "ws" && u.Scheme != "wss") || u.Host == "" {
					return errors.New("must be a nats:// URL, e.g. nats://127.0.0.1:4222, or empty for the embedded server")
				}
			}
			c.NATSURL = v
			return nil
		}},
		{"TIMBRE_NATS_LISTEN", "nats-listen", "", "host:port on which serve's embedded NATS also accepts `timbre worker` processes (e.g. 0.0.0.0:4222); empty listens on no port", func(c *config, v string) error {
			if v != "" {
				if _, port, err := net.SplitHostPort(v); err != nil || port == "" {
					return errors.New("must be host:port, e.g. 0.0.0.0:4222, or empty")
				}
			}
			c.NATSListen = v
			return nil
		}},
		{"TIMBRE_LOG_LEVEL", "log-level", "info", "debug, info, warn or error", func(c *config, v string) error {
			if err := c.LogLevel.UnmarshalText([]byte(v)); err != nil {
				return errors.New("must be debug, info, warn or error")
			}
			return nil
		}},
		{"TIMBRE_LOG_FORMAT", "log-format", "text", "text (for people) or json (for log collectors)", func(c *config, v string) error {
			if v != "text" && v != "json" {
				return errors.New("must be text or json")
			}
			c.LogFormat = v
			return nil
		}},
		{"TIMBRE_MAX_BODY_BYTES", "max-body-bytes", "1048576", "largest JSON request body", int64In(1024, 1<<30, func(c *config, n int64) { c.MaxBodyBytes = n })},
		{"TIMBRE_MAX_UPLOAD_BYTES", "max-upload-bytes", "67108864", "largest file upload (card import, avatar)", int64In(1024, 1<<32, func(c *config, n int64) { c.MaxUploadBytes = n })},
		{"TIMBRE_AUTH_RATE_PER_MINUTE", "auth-rate-per-minute", "20", "signup and login attempts allowed per client IP per minute", intIn(1, 100000, func(c *config, n int) { c.AuthRatePerMinute = n })},
		{"TIMBRE_SECURE_COOKIES", "secure-cookies", "false", "mark session cookies Secure (set true behind HTTPS)", func(c *config, v string) error {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return errors.New("must be true or false")
			}
			c.SecureCookies = b
			return nil
		}},
		{"TIMBRE_SESSION_TTL", "session-ttl", "720h", "how long a sign-in lasts", durationIn(time.Minute, 24*365*time.Hour, func(c *config, d time.Duration) { c.SessionTTL = d })},
		{"TIMBRE_CACHE_TTL", "cache-ttl", "30s", "how long agents, public catalogue pages and checked API keys may be served from memory (0 disables); changes and revocations invalidate at once across processes", func(c *config, v string) error {
			d, err := time.ParseDuration(v)
			if err != nil || d < 0 || d > time.Hour {
				return errors.New("must be a duration from 0 to 1h, e.g. 30s, or 0 to disable")
			}
			c.CacheTTL = d
			return nil
		}},
		{"TIMBRE_EMBED_PROVIDER", "embed-provider", "local", "embedder for knowledge search: local (no network), openai (any OpenAI-compatible /v1/embeddings) or ollama", func(c *config, v string) error {
			if v != "local" && v != "openai" && v != "ollama" {
				return errors.New("must be local, openai or ollama")
			}
			c.EmbedProvider = v
			return nil
		}},
		{"TIMBRE_EMBED_MODEL", "embed-model", "", "embedding model; empty picks the provider's default (local: ngram; openai: text-embedding-3-small; ollama: nomic-embed-text)", func(c *config, v string) error {
			c.EmbedModel = strings.TrimSpace(v)
			return nil
		}},
		{"TIMBRE_EMBED_BASE_URL", "embed-base-url", "", "embedding server URL; empty picks https://api.openai.com/v1 or http://127.0.0.1:11434", func(c *config, v string) error {
			if v != "" {
				u, err := url.Parse(v)
				if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
					return errors.New("must be an http:// or https:// URL, e.g. http://127.0.0.1:8000/v1")
				}
			}
			c.EmbedBaseURL = v
			return nil
		}},
		{"TIMBRE_EMBED_API_KEY", "embed-api-key", "", "API key sent to the embedding server as a Bearer token", func(c *config, v string) error {
			c.EmbedAPIKey = v
			return nil
		}},
		{"TIMBRE_FETCH_ALLOW", "fetch-allow", "", "addresses the URL fetcher may reach although they are private, loopback or link-local (comma-separated IPs or CIDRs)", func(c *config, v string) error {
			p, err := fetch.ParseAllow(v)
			if err != nil {
				return err
			}
			c.FetchAllow = p
			return nil
		}},
		{"TIMBRE_MAX_DOCUMENT_BYTES", "max-document-bytes", "20971520", "largest knowledge document (upload or fetched page)", int64In(1024, 1<<30, func(c *config, n int64) { c.MaxDocumentBytes = n })},
		{"TIMBRE_INGEST_WORKERS", "ingest-workers", "1", "documents this process ingests at once", intIn(1, 64, func(c *config, n int) { c.IngestWorkers = n })},
		{"TIMBRE_INGEST_LEASE", "ingest-lease", "30s", "how long a crashed ingestion worker's document waits before another worker takes it over", durationIn(time.Second, time.Hour, func(c *config, d time.Duration) { c.IngestLease = d })},
		{"TIMBRE_LLM_PROVIDER", "llm-provider", "", "language model provider: openai (any OpenAI-compatible server: OpenAI, vLLM, llama.cpp, LM Studio), ollama or anthropic; none for offline mode (agents quote their knowledge); empty uses Ollama on 127.0.0.1:11434 if it answers at start, else offline mode", func(c *config, v string) error {
			if v != "" && v != "none" && v != "openai" && v != "ollama" && v != "anthropic" {
				return errors.New("must be openai, ollama, anthropic, none (offline mode), or empty to detect Ollama")
			}
			c.LLMProvider = v
			return nil
		}},
		{"TIMBRE_LLM_BASE_URL", "llm-base-url", "", "language model server URL; empty picks https://api.openai.com/v1, http://127.0.0.1:11434 or https://api.anthropic.com/v1", func(c *config, v string) error {
			if v != "" {
				u, err := url.Parse(v)
				if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
					return errors.New("must be an http:// or https:// URL, e.g. http://127.0.0.1:8000/v1")
				}
			}
			c.LLMBaseURL = v
			return nil
		}},
		{"TIMBRE_LLM_API_KEY", "llm-api-key", "", "API key for the language model server", func(c *config, v string) error {
			c.LLMAPIKey = v
			return nil
		}},
		{"TIMBRE_LLM_MODEL", "llm-model", "", "default model (agents may name their own); required for openai and anthropic; for ollama empty picks the first installed model", func(c *config, v string) error {
			c.LLMModel = strings.TrimSpace(v)
			return nil
		}},
		{"TIMBRE_LLM_TIMEOUT", "llm-timeout", "30s", "longest wait for a reply's first token, and between two tokens, before the reply fails", durationIn(100*time.Millisecond, 10*time.Minute, func(c *config, d time.Duration) { c.LLMTimeout = d })},
		{"TIMBRE_LLM_RETRIES", "llm-retries", "3", "retries (with backoff) on 429, 5xx or a refused connection before the first token", intIn(0, 10, func(c *config, n int) { c.LLMRetries = n })},
		{"TIMBRE_LLM_CONTEXT_TOKENS", "llm-context-tokens", "8192", "the model's context window: prompts (card, lore, knowledge, memory, history) are fitted to it", intIn(512, 2_000_000, func(c *config, n int) { c.LLMContextTokens = n })},
		{"TIMBRE_LLM_REPLY_TOKENS", "llm-reply-tokens", "512", "reply length reserved in the window when an agent sets no max_tokens", intIn(16, 100_000, func(c *config, n int) { c.LLMReplyTokens = n })},
		{"TIMBRE_MAX_MESSAGE_BYTES", "max-message-bytes", "32768", "longest chat message a user may send", intIn(256, 1<<20, func(c *config, n int) { c.MaxMessageBytes = n })},
		{"TIMBRE_TTS_PROVIDER", "tts-provider", "cpu", "ONNX Runtime execution provider for the voices: cpu, or cuda (needs a CUDA build of ONNX Runtime; the bundled one is CPU-only)", func(c *config, v string) error {
			if v != "cpu" && v != "cuda" {
				return errors.New("must be cpu or cuda")
			}
			c.TTSProvider = v
			return nil
		}},
		{"TIMBRE_TTS_THREADS", "tts-threads", "2", "ONNX Runtime threads per synthesis: 2 halves a sentence's latency on 2 cores; 1 makes ~20% more speech per CPU second under heavy load", intIn(1, 64, func(c *config, n int) { c.TTSThreads = n })},
		{"TIMBRE_TTS_SLOTS", "tts-slots", "2", "syntheses a voice worker runs at once; a full worker turns requests away to other workers", intIn(1, 256, func(c *config, n int) { c.TTSSlots = n })},
		{"TIMBRE_VOICE_WORKER", "voice-worker", "true", "run a voice worker inside serve; false leaves synthesis to `timbre worker` processes", func(c *config, v string) error {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return errors.New("must be true or false")
			}
			c.VoiceWorker = b
			return nil
		}},
		{"TIMBRE_METRICS_ADDR", "metrics-addr", "", "worker only: host:port serving the worker's Prometheus /metrics (serve has /metrics on its HTTP address); empty serves none", func(c *config, v string) error {
			if v != "" {
				if _, port, err := net.SplitHostPort(v); err != nil || port == "" {
					return errors.New("must be host:port, e.g. 127.0.0.1:9101, or empty")
				}
			}
			c.MetricsAddr = v
			return nil
		}},
		{"TIMBRE_ASR_PROVIDER", "asr-provider", "pocketsphinx", "speech recognition for voice calls and /v1/audio/transcriptions: pocketsphinx (Debian's, English), sherpa-onnx (a model folder, TIMBRE_ASR_MODEL_DIR), openai (an OpenAI-compatible transcription server, TIMBRE_ASR_BASE_URL), or none", func(c *config, v string) error {
			switch v {
			case "pocketsphinx", "sherpa-onnx", "openai", "none":
				c.ASRProvider = v
				return nil
			}
			return errors.New("must be pocketsphinx, sherpa-onnx, openai or none")
		}},
		{"TIMBRE_ASR_MODEL_DIR", "asr-model-dir", "", "sherpa-onnx: folder holding manifest.json and the model files (Whisper, transducer/Zipformer, Paraformer…); pocketsphinx: another model folder than Debian's", func(c *config, v string) error {
			c.ASRModelDir = v
			return nil
		}},
		{"TIMBRE_ASR_BASE_URL", "asr-base-url", "", "openai: the transcription server's base URL, e.g. http://127.0.0.1:8000/v1", func(c *config, v string) error {
			c.ASRBaseURL = strings.TrimRight(strings.TrimSpace(v), "/")
			return nil
		}},
		{"TIMBRE_ASR_API_KEY", "asr-api-key", "", "openai: API key for the transcription server", func(c *config, v string) error {
			c.ASRAPIKey = v
			return nil
		}},
		{"TIMBRE_ASR_MODEL", "asr-model", "whisper-1", "openai: the model name sent to the transcription server", func(c *config, v string) error {
			c.ASRModel = strings.TrimSpace(v)
			return nil
		}},
		{"TIMBRE_ASR_DECODERS", "asr-decoders", "2", "pocketsphinx/sherpa-onnx: recognisers held at once (each streams one utterance while the user speaks; more wait)", intIn(1, 256, func(c *config, n int) { c.ASRDecoders = n })},
		{"TIMBRE_ICE_SERVERS", "ice-servers", "", "STUN/TURN servers for voice calls: comma-separated URLs (turn:user:pass@host:3478) or a JSON array of {urls, username, credential}; empty works on loopback and LANs", func(c *config, v string) error {
			c.ICEServers = strings.TrimSpace(v)
			return nil
		}},
		{"TIMBRE_RTC_UDP_PORTS", "rtc-udp-ports", "", "UDP port range for voice calls, e.g. 50000-50200 (to open in a firewall); empty uses any", func(c *config, v string) error {
			c.RTCPorts = [2]uint16{}
			if v = strings.TrimSpace(v); v == "" {
				return nil
			}
			lo, hi, ok := strings.Cut(v, "-")
			a, err1 := strconv.ParseUint(strings.TrimSpace(lo), 10, 16)
			b, err2 := strconv.ParseUint(strings.TrimSpace(hi), 10, 16)
			if !ok || err1 != nil || err2 != nil || a == 0 || b < a {
				return errors.New("must be LOW-HIGH, e.g. 50000-50200")
			}
			c.RTCPorts = [2]uint16{uint16(a), uint16(b)}
			return nil
		}},
		{"TIMBRE_RTC_PUBLIC_IPS", "rtc-public-ips", "", "comma-separated public IPs to announce for voice calls when the server is behind 1:1 NAT", func(c *config, v string) error {
			c.RTCPublicIPs = nil
			for _, ip := range strings.Split(v, ",") {
				if ip = strings.TrimSpace(ip); ip == "" {
					continue
				}
				if _, err := netip.ParseAddr(ip); err != nil {
					return fmt.Errorf("%q is not an IP address", ip)
				}
				c.RTCPublicIPs = append(c.RTCPublicIPs, ip)
			}
			return nil
		}},
		{"TIMBRE_VOICE_END_SILENCE", "voice-end-silence", "500ms", "voice calls: silence that ends the user's turn", durationIn(100*time.Millisecond, 5*time.Second, func(c *config, d time.Duration) { c.TurnSilence = d })},
		{"TIMBRE_VOICE_MIN_SPEECH", "voice-min-speech", "200ms", "voice calls: shorter sounds are not speech (coughs, clicks)", durationIn(0, 2*time.Second, func(c *config, d time.Duration) { c.TurnMinSpeech = d })},
		{"TIMBRE_VOICE_BACKCHANNELS", "voice-backchannels", strings.Join(talk.DefaultBackchannels, ","), "voice calls: comma-separated short replies that do not interrupt the agent", func(c *config, v string) error {
			c.Backchannels = talk.ParseBackchannels(v)
			return nil
		}},
		{"TIMBRE_RTC_IDLE_TIMEOUT", "rtc-idle-timeout", "5m", "voice calls: hang up after this long without anyone speaking", durationIn(10*time.Second, 24*time.Hour, func(c *config, d time.Duration) { c.RTCIdleTimeout = d })},
		{"TIMBRE_RTC_MAX_PER_USER", "rtc-max-per-user", "3", "voice calls a user may have open at once", intIn(1, 1000, func(c *config, n int) { c.RTCMaxPerUser = n })},
		{"TIMBRE_RTC_MAX_SESSIONS", "rtc-max-sessions", "200", "voice calls this server holds at once", intIn(1, 100000, func(c *config, n int) { c.RTCMaxSessions = n })},
		{"TIMBRE_SHUTDOWN_TIMEOUT", "shutdown-timeout", "15s", "how long shutdown waits for requests in flight", durationIn(time.Second, time.Hour, func(c *config, d time.Duration) { c.ShutdownTimeout = d })},
	}
}

func intIn(lo, hi int, set func(*config, int)) func(*config, string) error {
	return func(c *config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < lo || n > hi {
			return fmt.Errorf("must be a whole number from %d to %d", lo, hi)
		}
		set(c, n)
		return nil
	}
}

func int64In(lo, hi int64, set func(*config, int64)) func(*config, string) error {
	return func(c *config, v string) error {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < lo || n > hi {
			return fmt.Errorf("must be a whole number of bytes from %d to %d", lo, hi)
		}
		set(c, n)
		return nil
	}
}

func durationIn(lo, hi time.Duration, set func(*config, time.Duration)) func(*config, string) error {
	return func(c *config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d < lo || d > hi {
			return fmt.Errorf("must be a duration from %s to %s, e.g. 30s, 15m, 720h", lo, hi)
		}
		set(c, d)
		return nil
	}
}

// loadConfig reads defaults, then the environment, then flags, and reports
// every invalid value at once.
func loadConfig(name string, args []string, getenv func(string) (string, bool), usage io.Writer) (config, error) {
	all := settings()
	values := map[string]string{}
	source := map[string]string{}
	for _, s := range all {
		values[s.env], source[s.env] = s.def, "default"
		if v, ok := getenv(s.env); ok {
			values[s.env], source[s.env] = v, s.env
		}
	}
	fs := flag.NewFlagSet("timbre "+name, flag.ContinueOnError)
	fs.SetOutput(usage)
	fs.Usage = func() { printUsage(usage, name, all) }
	flagValues := map[string]*string{}
	for _, s := range all {
		flagValues[s.env] = fs.String(s.flag, "", s.help)
	}
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("unexpected argument %q (see timbre %s --help)", fs.Arg(0), name)
	}
	fs.Visit(func(f *flag.Flag) {
		for _, s := range all {
			if s.flag == f.Name {
				values[s.env], source[s.env] = *flagValues[s.env], "--"+s.flag
			}
		}
	})
	var c config
	var problems []string
	for _, s := range all {
		if err := s.parse(&c, values[s.env]); err != nil {
			problems = append(problems, fmt.Sprintf("  %s (%s=%q): %v", s.env, source[s.env], values[s.env], err))
		}
	}
	if problems != nil {
		return config{}, fmt.Errorf("invalid configuration:\n%s", strings.Join(problems, "\n"))
	}
	return c, nil
}

func printUsage(w io.Writer, name string, all []setting) {
	fmt.Fprintf(w, "Usage: timbre %s [flags]\n\n", name)
	fmt.Fprintf(w, "%s\n\n", commandHelp(name))
	fmt.Fprintln(w, "Configuration comes from environment variables; a flag overrides its variable.")
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "VARIABLE\tFLAG\tDEFAULT\tMEANING")
	for _, s := range all {
		def := s.def
		if def == "" {
			def = `""`
		}
		fmt.Fprintf(tw, "%s\t--%s\t%s\t%s\n", s.env, s.flag, def, s.help)
	}
	tw.Flush()
}
