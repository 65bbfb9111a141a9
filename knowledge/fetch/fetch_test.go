package fetch

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// allowLoopback permits the address httptest servers listen on.
func allowLoopback() []netip.Prefix {
	return []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
}

// countingServer starts an httptest server whose handler calls are counted.
func countingServer(t *testing.T, h http.HandlerFunc) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		h(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

func TestFetchHappyPath(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var got *http.Request
	srv, _ := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = r.Clone(context.Background())
		mu.Unlock()
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, "<h1>Guide</h1>")
	})
	f, _ := newTestFetcher(t, Config{Allow: allowLoopback()}, nil)

	page, err := f.Fetch(context.Background(), srv.URL+"/docs/guide.html?x=1#top")
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	want := Page{
		URL:         srv.URL + "/docs/guide.html?x=1",
		ContentType: "text/html; charset=utf-8",
		Filename:    "guide.html",
		Body:        []byte("<h1>Guide</h1>"),
	}
	if diff := cmp.Diff(want, page); diff != "" {
		t.Errorf("page mismatch (-want +got):\n%s", diff)
	}

	mu.Lock()
	defer mu.Unlock()
	if got.Method != http.MethodGet {
		t.Errorf("method %s, want GET", got.Method)
	}
	if ua := got.Header.Get("User-Agent"); ua != DefaultUserAgent {
		t.Errorf("User-Agent %q, want %q", ua, DefaultUserAgent)
	}
	accept := got.Header.Get("Accept")
	for _, typ := range []string{"text/html", "text/plain", "application/pdf"} {
		if !strings.Contains(accept, typ) {
			t.Errorf("Accept %q lacks %s", accept, typ)
		}
	}
}

func TestFetchCustomUserAgent(t *testing.T) {
	t.Parallel()
	var ua atomic.Value
	srv, _ := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		ua.Store(r.Header.Get("User-Agent"))
	})
	f, _ := newTestFetcher(t, Config{Allow: allowLoopback(), UserAgent: "test-agent/2"}, nil)
	if _, err := f.Fetch(context.Background(), srv.URL); err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	if got := ua.Load(); got != "test-agent/2" {
		t.Errorf("User-Agent %q, want test-agent/2", got)
	}
}

// TestFetchRefusedWithoutAllow shows that the server the happy path fetches
// is refused when Allow does not list it, before any request is made.
func TestFetchRefusedWithoutAllow(t *testing.T) {
	t.Parallel()
	srv, hits := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "secret")
	})
	for _, allow := range [][]netip.Prefix{nil, {netip.MustParsePrefix("10.0.0.0/8")}} {
		t.Run(fmt.Sprint(allow), func(t *testing.T) {
			t.Parallel()
			f, _ := newTestFetcher(t, Config{Allow: allow}, nil)
			page, err := f.Fetch(context.Background(), srv.URL+"/docs/guide.html")
			if !errors.Is(err, ErrForbiddenAddress) {
				t.Fatalf("Fetch = %+v, %v; want ErrForbiddenAddress", page, err)
			}
			for _, s := range []string{"127.0.0.1", "loopback", "TIMBRE_FETCH_ALLOW"} {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("message %q lacks %q", err, s)
				}
			}
		})
	}
	t.Cleanup(func() {
		if n := hits.Load(); n != 0 {
			t.Errorf("server saw %d requests, want 0", n)
		}
	})
}

func TestFetchRedirectIntoRefusedAddress(t *testing.T) {
	t.Parallel()
	tests := []struct {
		location string
		addr     string
	}{
		{"http://169.254.169.254/latest/meta-data/", "169.254.169.254"},
		{"http://10.0.0.1/", "10.0.0.1"},
		{"http://[::ffff:169.254.169.254]/", "169.254.169.254"},
		{"http://2852039166/", "169.254.169.254"},
		{"http://127.0.0.2/", "127.0.0.2"},
		{"http://[::1]/", "::1"},
		{"https://metadata.test/", "169.254.169.254"},
		{"http://internal.test:8080/", "10.0.0.5"},
	}
	for _, tt := range tests {
		t.Run(tt.location, func(t *testing.T) {
			t.Parallel()
			srv, hits := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, tt.location, http.StatusFound)
			})
			f, _ := newTestFetcher(t, Config{Allow: allowLoopback()}, testResolverTable())
			page, err := f.Fetch(context.Background(), srv.URL+"/start")
			var ae *AddressError
			if !errors.As(err, &ae) {
				t.Fatalf("Fetch = %+v, %v; want *AddressError", page, err)
			}
			if ae.Addr != netip.MustParseAddr(tt.addr) {
				t.Errorf("refused %v, want %s", ae.Addr, tt.addr)
			}
			if n := hits.Load(); n != 1 {
				t.Errorf("first hop saw %d requests, want 1", n)
			}
		})
	}
}

// TestFetchRedirectOddForm shows a redirect written in an odd IPv4 form is
// read as the address it means, and followed when that address is allowed.
func TestFetchRedirectOddForm(t *testing.T) {
	t.Parallel()
	var srvURL *url.URL
	srv, _ := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/final" {
			fmt.Fprint(w, "done")
			return
		}
		http.Redirect(w, r, "http://0x7f.1:"+srvURL.Port()+"/final", http.StatusMovedPermanently)
	})
	srvURL, _ = url.Parse(srv.URL)
	f, _ := newTestFetcher(t, Config{Allow: allowLoopback()}, nil)
	page, err := f.Fetch(context.Background(), srv.URL+"/start")
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	if want := "http://127.0.0.1:" + srvURL.Port() + "/final"; page.URL != want {
		t.Errorf("final URL %q, want %q", page.URL, want)
	}
}

// TestFetchDNSRebinding has a name answer with an allowed address when Fetch
// checks the URL and a refused one when the connection is made; the
// dial-time check must catch the second answer.
func TestFetchDNSRebinding(t *testing.T) {
	t.Parallel()
	srv, hits := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "secret")
	})
	port := srv.Listener.Addr().(*net.TCPAddr).Port
	f, r := newTestFetcher(t, Config{Allow: allowLoopback()}, map[string][]string{
		"rebind.test": {"127.0.0.1", "127.0.0.2"},
	})
	page, err := f.Fetch(context.Background(), "http://rebind.test:"+strconv.Itoa(port)+"/")
	var ae *AddressError
	if !errors.As(err, &ae) || ae.Addr != netip.MustParseAddr("127.0.0.2") {
		t.Fatalf("Fetch = %+v, %v; want refusal of 127.0.0.2", page, err)
	}
	if n := r.count("rebind.test"); n != 2 {
		t.Errorf("resolver asked %d times, want 2 (check, then dial)", n)
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("server saw %d requests, want 0", n)
	}
}

// TestCheckRedirect calls the redirect hook directly, so the refusal seen is
// its own and not the dial-time one behind it.
func TestCheckRedirect(t *testing.T) {
	t.Parallel()
	f, _ := newTestFetcher(t, Config{Allow: allowLoopback(), MaxRedirects: 3}, testResolverTable())
	via := func(urls ...string) []*http.Request {
		var out []*http.Request
		for _, u := range urls {
			out = append(out, httptest.NewRequest(http.MethodGet, u, nil))
		}
		return out
	}
	tests := []struct {
		name    string
		target  string
		via     []*http.Request
		wantErr error
		wantURL string
	}{
		{"private target", "http://10.0.0.1/", via("http://127.0.0.1/"), ErrForbiddenAddress, ""},
		{"name to metadata", "http://metadata.test/", via("http://127.0.0.1/"), ErrForbiddenAddress, ""},
		{"odd form canonicalised", "http://0x7f.1:8080/x", via("http://127.0.0.1/"), nil, "http://127.0.0.1:8080/x"},
		{"name kept", "https://Public.test/a", via("http://127.0.0.1/"), nil, "https://public.test/a"},
		{"downgrade", "http://public.test/", via("http://127.0.0.1/", "https://public.test/"), ErrInsecureRedirect, ""},
		{"third of three", "http://public.test/", via("http://a.test/", "http://b.test/", "http://c.test/"), nil, "http://public.test/"},
		{"fourth of three", "http://public.test/", via("http://a.test/", "http://b.test/", "http://c.test/", "http://d.test/"), ErrTooManyRedirects, ""},
		{"bad scheme", "gopher://public.test/", via("http://127.0.0.1/"), ErrInvalidURL, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := httptest.NewRequest(http.MethodGet, tt.target, nil)
			err := f.checkRedirect(req, tt.via)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("checkRedirect = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("checkRedirect: %v", err)
			}
			if req.URL.String() != tt.wantURL {
				t.Errorf("request URL %q, want %q", req.URL, tt.wantURL)
			}
		})
	}
}

// TestDialerControl checks the socket-level guard on its own, without the
// checks that come before it: the dialer every connection goes through
// refuses a refused address even when handed it directly.
func TestDialerControl(t *testing.T) {
	t.Parallel()
	srv, _ := countingServer(t, func(http.ResponseWriter, *http.Request) {})
	addr := srv.Listener.Addr().String()

	refusing, _ := newTestFetcher(t, Config{}, nil)
	conn, err := refusing.dialer.DialContext(context.Background(), "tcp", addr)
	if err == nil {
		conn.Close()
		t.Fatalf("dial %s succeeded, want refusal", addr)
	}
	var ae *AddressError
	if !errors.As(err, &ae) || ae.Class != "loopback" {
		t.Errorf("dial error %v, want loopback *AddressError", err)
	}

	allowing, _ := newTestFetcher(t, Config{Allow: allowLoopback()}, nil)
	conn, err = allowing.dialer.DialContext(context.Background(), "tcp", addr)
	if err != nil {
		t.Fatalf("dial %s with Allow: %v", addr, err)
	}
	conn.Close()

	for _, tt := range []struct{ network, address string }{
		{"udp4", "8.8.8.8:53"},
		{"tcp4", "not-an-address"},
		{"tcp4", "169.254.169.254:80"},
		{"tcp6", "[::ffff:10.0.0.1]:80"},
	} {
		if err := allowing.control(context.Background(), tt.network, tt.address, nil); !errors.Is(err, ErrForbiddenAddress) {
			t.Errorf("control(%s, %s) = %v, want ErrForbiddenAddress", tt.network, tt.address, err)
		}
	}
	if err := allowing.control(context.Background(), "tcp4", "93.184.216.34:443", nil); err != nil {
		t.Errorf("control of a public address: %v", err)
	}
}

func TestFetchNeverUsesProxy(t *testing.T) {
	t.Parallel()
	f := New(Config{})
	if f.transport.Proxy != nil {
		t.Error("transport has a Proxy function; it must be nil")
	}
}

func TestFetchRedirects(t *testing.T) {
	t.Parallel()
	// /r/N redirects to /r/N-1; /r/0 answers. /loop redirects to itself.
	srv, _ := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/loop" {
			http.Redirect(w, r, "/loop", http.StatusTemporaryRedirect)
			return
		}
		n, err := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/r/"))
		if err != nil {
			http.NotFound(w, r)
			return
		}
		if n == 0 {
			fmt.Fprint(w, "arrived")
			return
		}
		http.Redirect(w, r, "/r/"+strconv.Itoa(n-1), http.StatusFound)
	})
	tests := []struct {
		name         string
		maxRedirects int
		path         string
		wantErr      error
	}{
		{"default allows five", 0, "/r/5", nil},
		{"default refuses six", 0, "/r/6", ErrTooManyRedirects},
		{"two of two", 2, "/r/2", nil},
		{"three of two", 2, "/r/3", ErrTooManyRedirects},
		{"none allowed, none made", -1, "/r/0", nil},
		{"none allowed, one made", -1, "/r/1", ErrTooManyRedirects},
		{"loop", 0, "/loop", ErrTooManyRedirects},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f, _ := newTestFetcher(t, Config{Allow: allowLoopback(), MaxRedirects: tt.maxRedirects}, nil)
			page, err := f.Fetch(context.Background(), srv.URL+tt.path)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Fetch = %+v, %v; want %v", page, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Fetch: %v", err)
			}
			if page.URL != srv.URL+"/r/0" || string(page.Body) != "arrived" {
				t.Errorf("page URL %q body %q, want /r/0 and arrived", page.URL, page.Body)
			}
		})
	}
}

func TestFetchHTTPSDowngrade(t *testing.T) {
	t.Parallel()
	plain, plainHits := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/to-tls" {
			http.Redirect(w, r, r.URL.Query().Get("u"), http.StatusFound)
			return
		}
		fmt.Fprint(w, "plain")
	})
	secure := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/to-plain" {
			http.Redirect(w, r, plain.URL+"/doc", http.StatusFound)
			return
		}
		fmt.Fprint(w, "secure")
	}))
	t.Cleanup(secure.Close)

	f, _ := newTestFetcher(t, Config{Allow: allowLoopback()}, nil)
	pool := x509.NewCertPool()
	pool.AddCert(secure.Certificate())
	f.transport.TLSClientConfig.RootCAs = pool

	t.Run("https to http refused", func(t *testing.T) {
		page, err := f.Fetch(context.Background(), secure.URL+"/to-plain")
		if !errors.Is(err, ErrInsecureRedirect) {
			t.Fatalf("Fetch = %+v, %v; want ErrInsecureRedirect", page, err)
		}
		if n := plainHits.Load(); n != 0 {
			t.Errorf("plain server saw %d requests, want 0", n)
		}
	})
	t.Run("http to https followed", func(t *testing.T) {
		page, err := f.Fetch(context.Background(), plain.URL+"/to-tls?u="+url.QueryEscape(secure.URL+"/doc"))
		if err != nil {
			t.Fatalf("Fetch: %v", err)
		}
		if page.URL != secure.URL+"/doc" || string(page.Body) != "secure" {
			t.Errorf("page URL %q body %q", page.URL, page.Body)
		}
	})
}

// stallingServer answers "/headers" by stalling before the status line and
// "/body" by stalling halfway through the body, until the client gives up.
func stallingServer(t *testing.T) *httptest.Server {
	t.Helper()
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/body" {
			w.Header().Set("Content-Length", "1000")
			w.Write(bytes.Repeat([]byte("a"), 500))
			w.(http.Flusher).Flush()
		}
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) }) // runs first, so Close does not wait
	return srv
}

func TestFetchTimeout(t *testing.T) {
	t.Parallel()
	srv := stallingServer(t)
	for _, path := range []string{"/headers", "/body"} {
		t.Run(path, func(t *testing.T) {
			t.Parallel()
			f, _ := newTestFetcher(t, Config{Allow: allowLoopback(), Timeout: 150 * time.Millisecond}, nil)
			page, err := f.Fetch(context.Background(), srv.URL+path)
			if !errors.Is(err, ErrTimeout) {
				t.Fatalf("Fetch = %d bytes, %v; want ErrTimeout", len(page.Body), err)
			}
			if !strings.Contains(err.Error(), "150ms") {
				t.Errorf("message %q does not give the limit", err)
			}
		})
	}
}

func TestFetchCallerCancel(t *testing.T) {
	t.Parallel()
	srv := stallingServer(t)
	f, _ := newTestFetcher(t, Config{Allow: allowLoopback()}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	_, err := f.Fetch(ctx, srv.URL+"/headers")
	if !errors.Is(err, context.Canceled) || errors.Is(err, ErrTimeout) {
		t.Errorf("Fetch = %v, want context.Canceled and not ErrTimeout", err)
	}
}

func TestFetchTooLarge(t *testing.T) {
	t.Parallel()
	const limit = 1024
	gzipped := func(n int) []byte {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write(make([]byte, n))
		zw.Close()
		return buf.Bytes()
	}
	srv, _ := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/declared": // Content-Length says too much up front
			w.Header().Set("Content-Length", strconv.Itoa(limit+1))
			w.Write(make([]byte, limit+1))
		case "/chunked": // no length: one byte over, sent in pieces
			for i := 0; i < limit+1; i += 100 {
				w.Write(make([]byte, min(100, limit+1-i)))
				w.(http.Flusher).Flush()
			}
		case "/exact":
			w.Write(make([]byte, limit))
		case "/gzip": // small on the wire, over the limit once decoded
			if !strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
				http.Error(w, "client did not offer gzip", http.StatusNotAcceptable)
				return
			}
			w.Header().Set("Content-Encoding", "gzip")
			w.Write(gzipped(1 << 20))
		}
	})
	tests := []struct {
		path    string
		wantErr error
	}{
		{"/declared", ErrTooLarge},
		{"/chunked", ErrTooLarge},
		{"/gzip", ErrTooLarge},
		{"/exact", nil},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			t.Parallel()
			f, _ := newTestFetcher(t, Config{Allow: allowLoopback(), MaxBytes: limit}, nil)
			page, err := f.Fetch(context.Background(), srv.URL+tt.path)
			if tt.wantErr == nil {
				if err != nil || len(page.Body) != limit {
					t.Fatalf("Fetch = %d bytes, %v; want %d bytes", len(page.Body), err, limit)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Fetch = %d bytes, %v; want %v", len(page.Body), err, tt.wantErr)
			}
			if page.Body != nil {
				t.Errorf("got %d bytes with the error; want none", len(page.Body))
			}
			if !strings.Contains(err.Error(), "1 KiB") {
				t.Errorf("message %q does not give the limit", err)
			}
		})
	}
}

func TestFetchStatus(t *testing.T) {
	t.Parallel()
	srv, _ := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		code, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/"))
		if code == http.StatusMultipleChoices {
			w.WriteHeader(code) // a 3xx without Location is not followed
			return
		}
		w.WriteHeader(code)
		fmt.Fprint(w, "body")
	})
	tests := []struct {
		code    int
		message string
	}{
		{404, "404 Not Found"},
		{403, "403 Forbidden"},
		{500, "500 Internal Server Error"},
		{503, "503 Service Unavailable"},
		{300, "300 Multiple Choices"},
		{599, "599"},
	}
	f, _ := newTestFetcher(t, Config{Allow: allowLoopback()}, nil)
	for _, tt := range tests {
		t.Run(tt.message, func(t *testing.T) {
			t.Parallel()
			_, err := f.Fetch(context.Background(), srv.URL+"/"+strconv.Itoa(tt.code))
			var se *StatusError
			if !errors.As(err, &se) || !errors.Is(err, ErrStatus) {
				t.Fatalf("Fetch = %v, want *StatusError", err)
			}
			if se.Code != tt.code || !strings.Contains(err.Error(), tt.message) {
				t.Errorf("status %d, message %q; want %d and %q", se.Code, err, tt.code, tt.message)
			}
		})
	}
	t.Run("204 is success", func(t *testing.T) {
		t.Parallel()
		page, err := f.Fetch(context.Background(), srv.URL+"/204")
		if err != nil || len(page.Body) != 0 {
			t.Errorf("Fetch = %q, %v; want empty body", page.Body, err)
		}
	})
}

func TestFetchUnreachable(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	raw := srv.URL
	srv.Close() // nothing listens there now
	f, _ := newTestFetcher(t, Config{Allow: allowLoopback()}, nil)
	_, err := f.Fetch(context.Background(), raw)
	if !errors.Is(err, ErrUnreachable) {
		t.Errorf("Fetch = %v, want ErrUnreachable", err)
	}
}

func TestFetchInvalidURL(t *testing.T) {
	t.Parallel()
	f, _ := newTestFetcher(t, Config{}, nil)
	_, err := f.Fetch(context.Background(), "ftp://example.test/")
	if !errors.Is(err, ErrInvalidURL) {
		t.Errorf("Fetch = %v, want ErrInvalidURL", err)
	}
}

func TestFetchSniffsMissingContentType(t *testing.T) {
	t.Parallel()
	srv, _ := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Content-Type"] = nil // stop net/http sniffing on the server side
		fmt.Fprint(w, "%PDF-1.7\n")
	})
	f, _ := newTestFetcher(t, Config{Allow: allowLoopback()}, nil)
	page, err := f.Fetch(context.Background(), srv.URL)
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	if page.ContentType != "application/pdf" {
		t.Errorf("ContentType %q, want application/pdf", page.ContentType)
	}
}

func TestFetchFilename(t *testing.T) {
	t.Parallel()
	srv, _ := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		if cd := r.URL.Query().Get("cd"); cd != "" {
			w.Header().Set("Content-Disposition", cd)
		}
		fmt.Fprint(w, "x")
	})
	tests := []struct {
		path string
		cd   string
		want string
	}{
		{"/a/report.pdf", "", "report.pdf"},
		{"/a/b/", "", ""},
		{"/", "", ""},
		{"/files/My%20Notes.txt", "", "My Notes.txt"},
		{"/x", `attachment; filename="handbook.pdf"`, "handbook.pdf"},
		{"/x", `attachment; filename="../../etc/passwd"`, "passwd"},
		{"/x", `attachment; filename="..\\..\\Windows\\win.ini"`, "win.ini"},
		{"/x", `attachment; filename="C:\\evil\\a.pdf"`, "a.pdf"},
		{"/x", `attachment; filename="quo\"ted\".pdf"`, "quo_ted_.pdf"},
		{"/x", `attachment; filename="a<b>|c?.pdf"`, "a_b__c_.pdf"},
		{"/x", `attachment; filename=".."`, "x"},
		{"/x", `attachment; filename=".hidden"`, "hidden"},
		{"/x", `attachment; filename*=UTF-8''%E2%82%AC%20rates.pdf`, "€ rates.pdf"},
		{"/x", `attachment; filename*=UTF-8''..%2F..%2Fsecret.txt`, "secret.txt"},
		{"/x", "attachment; filename=\"evil\u202egpj.exe\"", "evilgpj.exe"},
		{"/fallback.html", `attachment; filename=`, "fallback.html"},
		{"/fallback.html", `not a valid; ; header`, "fallback.html"},
	}
	f, _ := newTestFetcher(t, Config{Allow: allowLoopback()}, nil)
	for _, tt := range tests {
		t.Run(tt.path+" "+tt.cd, func(t *testing.T) {
			t.Parallel()
			page, err := f.Fetch(context.Background(), srv.URL+tt.path+"?cd="+url.QueryEscape(tt.cd))
			if err != nil {
				t.Fatalf("Fetch: %v", err)
			}
			if page.Filename != tt.want {
				t.Errorf("Filename %q, want %q", page.Filename, tt.want)
			}
		})
	}
}
