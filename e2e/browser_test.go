package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/timbre-ai/timbre/db/dbtest"
)

// chromiumPath is Debian's chromium, which scripts/setup installs (make test
// runs it first).
const chromiumPath = "/usr/bin/chromium"

const (
	// browserTestTimeout bounds one browser test from its first page to its
	// last check.
	browserTestTimeout = 60 * time.Second
	// stepTimeout bounds one action or wait, so a failure names the step.
	stepTimeout = 15 * time.Second
)

// TestBrowserCreatorJourney drives the web app in a real browser the way a
// creator uses it: sign up, write an agent with a lorebook entry, publish it,
// import a PNG card, create an API key that is shown only once, and log out.
func TestBrowserCreatorJourney(t *testing.T) {
	t.Parallel()
	requireChromium(t)
	_, dbURL := dbtest.NewWithURL(t)
	srv := serve(t, dbURL, t.TempDir())
	p := openBrowser(t, srv)

	// Sign up: the app lands on My agents, with the name in the header.
	p.signUp("Ada Lovelace", "ada@example.com", "analytical engine")
	p.waitText("main h1", "My agents")
	p.waitText("#site-header .user-name", "Ada Lovelace")
	p.waitText("main .empty", "No agents yet")

	// Write an agent with one lorebook entry and create the draft.
	p.click("main .page-head", "New agent")
	p.waitPath("/agents/new")
	p.waitText("main h1", "New agent")
	p.fill("main", "Name", "Mira")
	p.fill("main", "Description", "Keeps the lighthouse on the northern cape.")
	p.fill("main", "First message", "The lamp is lit. Who climbs my stairs tonight?")
	p.click("main", "+ Add entry")
	p.fill("main details.entry", "Keys", "storm, lamp")
	p.fill("main details.entry", "Content", "The lamp has not gone dark in forty years.")
	p.click("main .editor-head", "Create draft")
	p.waitJS("the editor of the new agent", `/^\/agents\/[^/]+$/.test(location.pathname) && location.pathname !== '/agents/new'`)
	p.waitText("main h1", "Mira")
	p.waitText("main .editor-sub", "Never published")
	p.waitText("main .editor-sub", "All changes saved")
	miraPath := p.path()

	// My agents lists it as a private draft.
	p.click("#site-header", "My agents")
	p.waitPath("/agents")
	p.waitText("main .list-status", "1 agent shown.")
	card := p.text(fmt.Sprintf(`main a.agent-card[href="%s"]`, miraPath))
	for _, want := range []string{"Mira", "Keeps the lighthouse on the northern cape.", "Private", "Draft"} {
		if !strings.Contains(card, want) {
			p.fatalf("the card of Mira on My agents reads %q, want it to mention %q", card, want)
		}
	}

	// Open it again: the lorebook entry was saved. Publish: version 1 and
	// its content hash.
	p.clickCSS(fmt.Sprintf(`main a.agent-card[href="%s"]`, miraPath))
	p.waitPath(miraPath)
	p.waitText("main .section-title", "Lorebook (1)")
	p.waitText("main details.entry summary", "storm, lamp")
	p.waitText("main [aria-labelledby=versions-title]", "Not published yet")
	p.click("main .editor-head", "Publish")
	p.waitText("main .publish-result", "Published version 1")
	hash := p.text("main .publish-result code")
	if !regexp.MustCompile(`^sha256:[0-9a-f]{64}$`).MatchString(hash) {
		p.fatalf("the published content hash reads %q, want sha256: and 64 hex digits", hash)
	}
	p.waitText("main .editor-sub", "Latest version: v1")
	p.waitText("main .versions .version-head", "v1")
	p.waitText("main .versions .version-hash code", "sha256:"+hash[len("sha256:"):len("sha256:")+12])

	// Import the PNG card: its agent opens in the editor.
	cardFile, err := filepath.Abs("../agents/testdata/card_v2.png")
	if err != nil {
		t.Fatal(err)
	}
	p.click("#site-header", "Import")
	p.waitPath("/import")
	p.waitText("main h1", "Import a character card")
	p.upload("#import-file", cardFile)
	p.waitText("main .file-chosen", "Selected: card_v2.png")
	p.click("main form", "Import")
	p.waitJS("the editor of the imported agent", fmt.Sprintf(`/^\/agents\/[^/]+$/.test(location.pathname) && location.pathname !== %s`, jsString(miraPath)))
	p.waitText("main h1", "Seraphina")
	p.waitText("main .editor-sub", "Never published")
	p.click("#site-header", "My agents")
	p.waitText("main .list-status", "2 agents shown.")
	p.waitText("main .agent-grid", "Seraphina")
	p.waitText("main .agent-grid", "Mira")

	// Create an API key: the whole key is shown once; after a reload only
	// its prefix is listed.
	p.click("#site-header", "API keys")
	p.waitPath("/keys")
	p.waitText("main .keys-list", "You have no active API keys.")
	p.fill("main", "Key name", "Laptop scripts")
	p.click("main form", "Create key")
	p.waitText("main .secret-box", "It is shown only this once")
	key := evalJS[string](p, "the new key", `document.getElementById('new-key-value').value`)
	if !regexp.MustCompile(`^tmb_\S{16,}$`).MatchString(key) {
		p.fatalf("the new key reads %q, want tmb_ and a secret", key)
	}
	p.waitText("main .keys-list td", "Laptop scripts")
	listed := p.text("main .keys-list td code")
	if shown := strings.TrimSuffix(listed, "…"); shown == listed || !strings.HasPrefix(key, shown) || len(shown) >= len(key) {
		p.fatalf("the key list shows %q, want a prefix of the new key followed by …", listed)
	}
	p.reload()
	p.waitText("main .keys-list td code", listed)
	p.waitText("main .keys-list td", "Laptop scripts")
	if evalJS[bool](p, "whether the new key is still on the page", fmt.Sprintf(
		`!!document.getElementById('new-key-value') || document.documentElement.outerHTML.includes(%s)`, jsString(key))) {
		p.fatalf("after a reload the page still holds the whole key %q", key)
	}

	// Log out: the header offers to log in, and My agents asks to log in.
	p.click("#site-header", "Log out")
	p.waitText("#site-header .account", "Log in")
	p.waitPath("/explore")
	p.open("/agents")
	p.waitPath("/login")
	p.waitText("main h1", "Log in to Timbre")
	if next := evalJS[string](p, "the login page's next", `new URLSearchParams(location.search).get('next')`); next != "/agents" {
		p.fatalf("the login page's next is %q, want /agents", next)
	}
	p.noPageErrors()
	srv.stop(t)
}

// TestBrowserSignupShowsFieldError checks that the server's field error for a
// short password appears next to the password field, and that fixing it
// signs the user up.
func TestBrowserSignupShowsFieldError(t *testing.T) {
	t.Parallel()
	requireChromium(t)
	_, dbURL := dbtest.NewWithURL(t)
	srv := serve(t, dbURL, t.TempDir())
	p := openBrowser(t, srv)

	p.open("/signup")
	p.waitText("main h1", "Create your Timbre account")
	p.fill("main", "Display name", "Grace")
	p.fill("main", "Email", "grace@example.com")
	p.fill("main", "Password", "short")
	p.click("main form", "Create account")

	// The server's message sits in the error slot of the password's own
	// field, which the password input points to. The app may put the
	// field's label in place of the API's field name.
	apiErr := newUser(t, srv.url).call("POST", "/api/auth/signup",
		`{"email":"other@example.com","password":"short","display_name":"Other"}`, 400)["error"].(map[string]any)
	message, _ := apiErr["message"].(string)
	if apiErr["field"] != "password" || !strings.Contains(message, "at least 8 characters") {
		t.Fatalf("the API refuses a short password with %v, want a password field error", apiErr)
	}
	const passwordError = `main .field:has(input[name=password]) .field-error`
	p.waitText(passwordError, "at least 8 characters")
	if shown := p.text(passwordError); shown != message && shown != "Password "+strings.TrimPrefix(message, "password ") {
		p.fatalf("the password field shows %q, want the server's message %q", shown, message)
	}
	got := evalJS[map[string]string](p, "the password field's state", `(() => {
		const input = document.querySelector('main input[name=password]');
		return {
			invalid: input.getAttribute('aria-invalid') || '',
			describedby: input.getAttribute('aria-describedby') || '',
			errorId: document.querySelector('main .field:has(input[name=password]) .field-error').id,
			otherErrors: [...document.querySelectorAll('main .field-error')]
				.filter((e) => !e.hidden && !e.closest('.field').contains(input)).map((e) => e.innerText).join(' | '),
			alert: [...document.querySelectorAll('main [role=alert]')].filter((e) => !e.hidden).map((e) => e.innerText).join(' | '),
			path: location.pathname,
			user: document.querySelector('#site-header .user-name') ? 'signed in' : '',
		};
	})()`)
	if got["invalid"] != "true" || !strings.Contains(" "+got["describedby"]+" ", " "+got["errorId"]+" ") {
		p.fatalf("the password input is not marked invalid and described by its error: %v", got)
	}
	if got["otherErrors"] != "" || got["alert"] != "" || got["path"] != "/signup" || got["user"] != "" {
		p.fatalf("after a refused sign-up the page shows %v, want only the password's error, still on /signup, signed out", got)
	}

	// Typing a longer password clears the message; submitting signs up.
	p.fill("main", "Password", "a long enough passphrase")
	p.waitJS("the password error to go away", fmt.Sprintf(`document.querySelector(%s).hidden`, jsString(passwordError)))
	p.click("main form", "Create account")
	p.waitPath("/agents")
	p.waitText("#site-header .user-name", "Grace")
	p.noPageErrors()
	srv.stop(t)
}

// page is one browser tab on a running timbre server.
type page struct {
	t      *testing.T
	srv    *process
	tab    context.Context // the tab; no deadline, so it outlives a failed step
	ctx    context.Context // the tab within the test's deadline
	events *pageEvents
}

// pageEvents collects what the page reports on its own: uncaught
// exceptions, and console errors and warnings.
type pageEvents struct {
	mu         sync.Mutex
	exceptions []string
	console    []string
}

func (e *pageEvents) add(list *[]string, s string) {
	e.mu.Lock()
	*list = append(*list, s)
	e.mu.Unlock()
}

func (e *pageEvents) snapshot() (exceptions, console []string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.exceptions...), append([]string(nil), e.console...)
}

// requireChromium fails the test (never skips it) when Debian's chromium is
// missing, and says how to install it.
func requireChromium(t *testing.T) {
	t.Helper()
	fi, err := os.Stat(chromiumPath)
	if err == nil && (fi.IsDir() || fi.Mode()&0o111 == 0) {
		err = errors.New("not an executable file")
	}
	if err != nil {
		t.Fatalf("the browser tests need Debian's chromium at %s: %v.\n"+
			"Run `make test` (as root): it runs scripts/setup, which installs chromium, then the tests.", chromiumPath, err)
	}
}

// fakeMicrophone makes the browser's microphone play wav in a loop, with
// permission granted without asking.
func fakeMicrophone(wav string) []chromedp.ExecAllocatorOption {
	return []chromedp.ExecAllocatorOption{
		chromedp.Flag("use-fake-ui-for-media-stream", true),
		chromedp.Flag("use-fake-device-for-media-stream", true),
		chromedp.Flag("use-file-for-fake-audio-capture", wav),
	}
}

// openBrowser starts headless Chromium on a profile of its own and opens a
// tab. The browser is closed, and its processes checked gone, when the test
// ends.
func openBrowser(t *testing.T, srv *process, opts ...chromedp.ExecAllocatorOption) *page {
	t.Helper()
	requireChromium(t)
	profile := t.TempDir()
	var output lockedBuffer
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), append([]chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(profile),
		chromedp.CombinedOutput(&output),
	}, opts...)...)
	tab, cancelTab := chromedp.NewContext(allocCtx)
	p := &page{t: t, srv: srv, tab: tab, events: &pageEvents{}}

	// Subscribing starts the browser and opens the tab.
	exceptions := chromedp.Events(tab, runtime.ExceptionThrown)
	console := chromedp.Events(tab, runtime.ConsoleAPICalled)
	var readers sync.WaitGroup
	readers.Go(func() {
		for ev, err := range exceptions {
			if err != nil {
				return
			}
			p.events.add(&p.events.exceptions, (&chromedp.ExceptionError{ExceptionDetails: ev.ExceptionDetails}).Error())
		}
	})
	readers.Go(func() {
		for ev, err := range console {
			if err != nil {
				return
			}
			if ev.Type != runtime.ConsoleAPICalledTypeError && ev.Type != runtime.ConsoleAPICalledTypeWarning {
				continue
			}
			var parts []string
			for _, a := range ev.Args {
				if a.Description != "" {
					parts = append(parts, a.Description)
				} else {
					parts = append(parts, string(a.Value))
				}
			}
			p.events.add(&p.events.console, fmt.Sprintf("console.%s: %s", ev.Type, strings.Join(parts, " ")))
		}
	})

	t.Cleanup(func() {
		// Close the browser gracefully, then make sure none of its
		// processes (found by the profile directory, which is this test's
		// own) outlives it.
		closeCtx, cancel := context.WithTimeout(tab, 10*time.Second)
		if err := chromedp.Cancel(closeCtx); err != nil && !errors.Is(err, context.Canceled) {
			t.Logf("closing chromium: %v", err)
		}
		cancel()
		cancelTab()
		cancelAlloc()
		readers.Wait()
		if left := waitProcessesGone(profile, 10*time.Second); len(left) > 0 {
			t.Errorf("chromium processes %v outlived the browser; killed them", left)
		}
	})

	if err := chromedp.Do(tab, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("starting chromium: %v\nchromium's output:\n%s", err, output.String())
	}
	// The test's deadline applies to the tab from here on; the browser
	// itself must not carry it (chromedp stops a browser whose first
	// context ends).
	var cancelDeadline context.CancelFunc
	p.ctx, cancelDeadline = context.WithTimeout(tab, browserTestTimeout)
	t.Cleanup(cancelDeadline)
	return p
}

// run runs steps within the step timeout; on failure the test fails with
// what it was doing.
func (p *page) run(what string, steps ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		p.fatalf("%s: %v", what, err)
	}
}

// open loads path of the server as a new page.
// signUp creates an account through the sign-up form and waits for the
// app to land on My agents.
func (p *page) signUp(name, email, password string) {
	p.open("/signup")
	p.waitText("main h1", "Create your Timbre account")
	p.fill("main", "Display name", name)
	p.fill("main", "Email", email)
	p.fill("main", "Password", password)
	p.click("main form", "Create account")
	p.waitPath("/agents")
}

func (p *page) open(path string) {
	p.t.Helper()
	p.run("opening "+path, chromedp.Navigate(p.srv.url+path))
}

// reload reloads the page.
func (p *page) reload() {
	p.t.Helper()
	p.run("reloading the page", chromedp.Reload())
}

// fill types text into the control labelled label (the label's own text,
// without hints such as "(optional)") inside the first element matching
// scope, replacing what it held.
func (p *page) fill(scope, label, text string) {
	p.t.Helper()
	control := chromedp.JSPath(fmt.Sprintf(`(() => {
		const root = document.querySelector(%s);
		if (!root) return null;
		for (const l of root.querySelectorAll('label')) {
			const own = l.firstChild ? l.firstChild.textContent.trim() : '';
			if (own === %s && l.htmlFor) return document.getElementById(l.htmlFor);
		}
		return null;
	})()`, jsString(scope), jsString(label)))
	p.run(fmt.Sprintf("typing %q into the field labelled %q in %s", text, label, scope),
		chromedp.WaitVisible(control),
		chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(c => { c.focus(); c.select(); })(%s)`, string(control)))(ctx, t)
			return err
		}),
		chromedp.SendKeys(control, text),
	)
}

// click clicks the visible button or link inside scope whose text is text.
func (p *page) click(scope, text string) {
	p.t.Helper()
	target := chromedp.JSPath(fmt.Sprintf(`(() => {
		const root = document.querySelector(%s);
		if (!root) return null;
		return [...root.querySelectorAll('button, a')]
			.find((e) => e.innerText.trim() === %s && e.checkVisibility() && !e.disabled) || null;
	})()`, jsString(scope), jsString(text)))
	what := fmt.Sprintf("%q in %s", text, scope)
	p.run("waiting for "+what, chromedp.WaitVisible(target))
	p.reachable(what, string(target))
	p.run("clicking "+what, chromedp.Click(target))
}

// clickCSS clicks the first element matching css.
func (p *page) clickCSS(css string) {
	p.t.Helper()
	p.run("waiting for "+css, chromedp.WaitVisible(chromedp.CSS(css)))
	p.reachable(css, fmt.Sprintf("document.querySelector(%s)", jsString(css)))
	p.run("clicking "+css, chromedp.Click(chromedp.CSS(css)))
}

// reachable scrolls the element that the JavaScript expression gives into
// view and fails the test if something else (a dialog, a toast) covers its
// middle: chromedp clicks at a point, so the click would silently land on
// the cover, as a person's would.
func (p *page) reachable(what, element string) {
	p.t.Helper()
	cover := evalJS[string](p, "what covers "+what, fmt.Sprintf(`(e => {
		e.scrollIntoView({block: 'center', inline: 'center'});
		const r = e.getBoundingClientRect();
		const hit = document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2);
		return hit === e || e.contains(hit) ? '' : hit ? hit.outerHTML.slice(0, 300) : 'nothing';
	})(%s)`, element))
	if cover != "" {
		p.fatalf("%s is covered by %s, so a click on it would not reach it", what, cover)
	}
}

// upload chooses file in the file input matching css.
func (p *page) upload(css, file string) {
	p.t.Helper()
	p.run(fmt.Sprintf("choosing %s in %s", file, css), chromedp.SetUploadFiles(chromedp.CSS(css), []string{file}))
}

// waitJS waits until the JavaScript expression is true.
func (p *page) waitJS(what, expr string) {
	p.t.Helper()
	p.run("waiting for "+what,
		chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := chromedp.Poll[bool](expr,
				chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(stepTimeout))(ctx, t)
			return err
		}))
}

// waitText waits until a visible element matching css shows text.
func (p *page) waitText(css, text string) {
	p.t.Helper()
	p.waitJS(fmt.Sprintf("%q in %s", text, css), fmt.Sprintf(
		`[...document.querySelectorAll(%s)].some((e) => e.checkVisibility() && e.innerText.includes(%s))`,
		jsString(css), jsString(text)))
}

// waitPath waits until the address bar's path is path.
func (p *page) waitPath(path string) {
	p.t.Helper()
	p.waitJS("the address "+path, fmt.Sprintf(`location.pathname === %s`, jsString(path)))
}

// path returns the page's path.
func (p *page) path() string {
	p.t.Helper()
	return evalJS[string](p, "the page's path", `location.pathname`)
}

// text returns the visible text of the first element matching css.
func (p *page) text(css string) string {
	p.t.Helper()
	return strings.TrimSpace(evalJS[string](p, "the text of "+css,
		fmt.Sprintf(`(document.querySelector(%s) || {innerText: ''}).innerText`, jsString(css))))
}

// noPageErrors fails the test if the page threw an uncaught exception.
func (p *page) noPageErrors() {
	p.t.Helper()
	if exceptions, _ := p.events.snapshot(); len(exceptions) > 0 {
		p.fatalf("the page threw uncaught exceptions:\n%s", strings.Join(exceptions, "\n"))
	}
}

// evalJS evaluates expr in the page and decodes its value into T.
func evalJS[T any](p *page, what, expr string) T {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		p.fatalf("reading %s: %v", what, err)
	}
	return v
}

// fatalf fails the test after saving what the browser shows: a screenshot
// and the page's HTML, whose paths it logs, and the page's visible text,
// console, exceptions and the server's log.
func (p *page) fatalf(format string, args ...any) {
	p.t.Helper()
	msg := fmt.Sprintf(format, args...)
	// The tab has no deadline, so this works after the test's deadline too.
	ctx, cancel := context.WithTimeout(p.tab, 10*time.Second)
	defer cancel()
	var report strings.Builder
	dir := failureDir(p.t)
	if shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err != nil {
		fmt.Fprintf(&report, "screenshot: %v\n", err)
	} else if err := os.WriteFile(filepath.Join(dir, "screenshot.png"), shot, 0o644); err != nil {
		fmt.Fprintf(&report, "screenshot: %v\n", err)
	} else {
		fmt.Fprintf(&report, "screenshot: %s\n", filepath.Join(dir, "screenshot.png"))
	}
	if html, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.documentElement.outerHTML`)); err == nil {
		if err := os.WriteFile(filepath.Join(dir, "page.html"), []byte(html), 0o644); err == nil {
			fmt.Fprintf(&report, "page HTML: %s\n", filepath.Join(dir, "page.html"))
		}
	}
	if loc, err := chromedp.Run(ctx, chromedp.Location()); err == nil {
		fmt.Fprintf(&report, "address: %s\n", loc)
	}
	if text, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`)); err != nil {
		fmt.Fprintf(&report, "visible text: %v\n", err)
	} else {
		fmt.Fprintf(&report, "visible text:\n%s\n", indent(text))
	}
	exceptions, console := p.events.snapshot()
	if len(exceptions)+len(console) > 0 {
		fmt.Fprintf(&report, "page errors:\n%s\n", indent(strings.Join(append(exceptions, console...), "\n")))
	}
	fmt.Fprintf(&report, "server log (last lines):\n%s", indent(lastLines(p.srv.output(), 30)))
	p.t.Fatalf("%s\n%s", msg, report.String())
}

// failureDir is where fatalf saves its files: the test's artifact directory
// with `go test -artifacts`, else a new directory under the system's
// temporary directory that is kept (a t.TempDir would be removed before
// anyone could look).
func failureDir(t *testing.T) string {
	if f := flag.Lookup("test.artifacts"); f != nil && f.Value.String() == "true" {
		return t.ArtifactDir()
	}
	dir, err := os.MkdirTemp("", "timbre-e2e-"+strings.ReplaceAll(t.Name(), "/", "_")+"-")
	if err != nil {
		return os.TempDir()
	}
	return dir
}

// waitProcessesGone waits up to limit for the processes started with the
// profile directory to exit, kills (by pid) any that remain and returns
// their pids.
func waitProcessesGone(profile string, limit time.Duration) []int {
	deadline := time.Now().Add(limit)
	for {
		pids := processesUsing(profile)
		if len(pids) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			for _, pid := range pids {
				if proc, err := os.FindProcess(pid); err == nil {
					_ = proc.Kill()
				}
			}
			return pids
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// processesUsing returns the live processes whose command line holds
// --user-data-dir=profile; zombies waiting to be reaped do not count.
func processesUsing(profile string) []int {
	want := "--user-data-dir=" + profile
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || len(cmdline) == 0 {
			continue
		}
		for _, arg := range strings.Split(string(cmdline), "\x00") {
			if arg == want {
				pids = append(pids, pid)
				break
			}
		}
	}
	return pids
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	b, _ := json.Marshal(s) // a string always marshals
	return string(b)
}

func indent(s string) string {
	return "    " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n    ")
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// lockedBuffer collects chromium's output from its reader goroutine.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
