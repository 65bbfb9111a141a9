package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/timbre-ai/timbre/db/dbtest"
)

// TestBrowserKnowledge drives the knowledge pages in a real browser: create a
// knowledge base, upload a Markdown file and watch its row go from the live
// progress events to ready, search it, upload it again (a duplicate), be
// refused a link-local URL, rename the base, and attach it to an agent.
func TestBrowserKnowledge(t *testing.T) {
	t.Parallel()
	requireChromium(t)
	_, dbURL := dbtest.NewWithURL(t)
	srv := serve(t, dbURL, t.TempDir())
	p := openBrowser(t, srv)

	const sentence = "Polish the Fresnel lens with walnut oil every Thursday before the midnight watch."
	manual := filepath.Join(t.TempDir(), "keepers-handbook.md")
	if err := os.WriteFile(manual, []byte("# Keeper's handbook\n\n"+
		"## The lamp room\n\n"+sentence+"\n\nTrim the wick at dusk and again at two in the morning.\n\n"+
		"## Fog signals\n\nSound the horn twice a minute while the fog lasts; log the hours in the red book.\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	p.signUp("Ida Lewis", "ida@example.com", "lime rock light")

	// The Knowledge page explains what knowledge is for while it is empty.
	p.click("#site-header", "Knowledge")
	p.waitPath("/knowledge")
	p.waitText("main h1", "Knowledge")
	p.waitText("main .empty", "No knowledge bases yet")
	p.waitText("main .empty", "attach it to an agent")
	if cur := p.text(`#site-header a[aria-current="page"]`); cur != "Knowledge" {
		p.fatalf("the header marks %q as the current page, want Knowledge", cur)
	}

	// Count the event streams the app opens, to check they are closed when
	// the page is left. The app navigates without reloading, so this stays.
	p.waitJS("EventSource to be wrapped", `(() => {
		const Native = window.EventSource;
		window.__sources = [];
		window.EventSource = class extends Native {
			constructor(...args) { super(...args); window.__sources.push(this); }
		};
		return true;
	})()`)

	p.click("main .page-head", "New knowledge base")
	p.fill("main .kb-create", "Name", "Lighthouse notes")
	p.fill("main .kb-create", "Description", "How the light on Lime Rock is kept.")
	p.click("main .kb-create", "Create knowledge base")
	p.waitJS("the new knowledge base's page", `/^\/knowledge\/[^/]+$/.test(location.pathname)`)
	p.waitText("main h1", "Lighthouse notes")
	p.waitText("main .kb-description", "How the light on Lime Rock is kept.")
	p.waitText("main .kb-stats", "0 documents")
	p.waitText("main .empty-inline", "No documents yet")
	p.waitText("main .live-state", "Live updates on")
	kbPath := p.path()

	// Record every status a document row shows, and whether a progress bar
	// appeared: the row must pass through "processing", which only the live
	// events report, before it reads "ready".
	p.waitJS("the row recorder", `(() => {
		window.__seen = [];
		window.__sawBar = false;
		const record = () => {
			for (const tr of document.querySelectorAll('main tr[data-doc]')) {
				if (window.__seen[window.__seen.length - 1] !== tr.dataset.status) window.__seen.push(tr.dataset.status);
				if (tr.querySelector('progress')) window.__sawBar = true;
			}
		};
		new MutationObserver(record).observe(document.querySelector('main'), { subtree: true, childList: true, attributes: true, characterData: true });
		return true;
	})()`)
	p.upload("main input[type=file]", manual)
	p.waitText(`main tr[data-status="ready"] .doc-status`, "Ready")
	seen := evalJS[[]string](p, "the statuses the row showed", `window.__seen`)
	sawBar := evalJS[bool](p, "whether a progress bar appeared", `window.__sawBar`)
	if !slices.Contains(seen, "processing") || !sawBar || seen[len(seen)-1] != "ready" {
		p.fatalf("the document row showed statuses %v (progress bar seen: %v); want processing with a progress bar, then ready", seen, sawBar)
	}
	row := p.text(`main tr[data-status="ready"]`)
	if !strings.Contains(row, "keepers-handbook.md") {
		p.fatalf("the ready row reads %q, want the document's file name", row)
	}
	// The row is read again once the event says ready: its passage count
	// arrives with it.
	p.waitJS("a passage count in the ready row", `Number(document.querySelector('main tr[data-status="ready"] td:nth-child(3)').innerText) > 0`)
	p.waitText("main .kb-stats", "1 document")

	// Search finds the sentence with the headings above it.
	p.fill("main form[role=search]", "Search this knowledge base", "when is the lens polished with walnut oil")
	p.click("main form[role=search]", "Search")
	p.waitText("main .kb-result .kb-passage", sentence)
	first := evalJS[map[string]string](p, "the first search result", `(() => {
		const r = document.querySelector('main .kb-result');
		const t = (css) => (r.querySelector(css) || { innerText: '' }).innerText.trim();
		return { passage: t('.kb-passage'), path: t('.kb-cite-path'), title: t('.kb-cite-title'), score: t('.kb-score') };
	})()`)
	if !strings.Contains(first["passage"], sentence) || first["path"] != "Keeper's handbook › The lamp room" ||
		first["title"] == "" || !strings.HasPrefix(first["score"], "score ") {
		p.fatalf("the first search result is %v, want the sentence, heading path \"Keeper's handbook › The lamp room\", a title and a score", first)
	}

	// The same file again: a notice, and still one row.
	p.upload("main input[type=file]", manual)
	p.waitText("#toasts", "Already in this knowledge base")
	if n := evalJS[int](p, "the number of document rows", `document.querySelectorAll('main tr[data-doc]').length`); n != 1 {
		p.fatalf("after a duplicate upload the table has %d rows, want 1", n)
	}

	// A link-local address is refused with the server's reason, next to the field.
	p.fill("main .kb-url-form", "Add a web page", "http://169.254.169.254/latest/meta-data/")
	p.click("main .kb-url-form", "Add page")
	p.waitText("main .kb-url-form .field-error", "169.254.169.254")
	if msg := p.text("main .kb-url-form .field-error"); !strings.Contains(msg, "not allowed") {
		p.fatalf("the URL field's error reads %q, want the server's refusal", msg)
	}
	if n := evalJS[int](p, "the number of document rows", `document.querySelectorAll('main tr[data-doc]').length`); n != 1 {
		p.fatalf("after a refused URL the table has %d rows, want 1", n)
	}

	// Rename it.
	p.fill("main .detail-side", "Name", "Lime Rock handbook")
	p.click("main .detail-side", "Save")
	p.waitText("main h1", "Lime Rock handbook")

	// Leaving the page closes its event stream.
	if states := evalJS[[]int](p, "the event streams' states", `window.__sources.map((s) => s.readyState)`); !slices.Equal(states, []int{1}) {
		p.fatalf("on the knowledge base's page the event streams are in states %v, want one open stream [1]", states)
	}
	p.click("#site-header", "My agents")
	p.waitPath("/agents")
	if states := evalJS[[]int](p, "the event streams' states", `window.__sources.map((s) => s.readyState)`); !slices.Equal(states, []int{2}) {
		p.fatalf("after leaving the knowledge base's page the event streams are in states %v, want it closed [2]", states)
	}

	// Attach it to a new agent, on the agent's page; it stays attached
	// after a reload, then detach it.
	p.click("main .page-head", "New agent")
	p.fill("main", "Name", "Ida")
	p.click("main .editor-head", "Create draft")
	p.waitJS("the editor of the new agent", `/^\/agents\/[^/]+$/.test(location.pathname) && location.pathname !== '/agents/new'`)
	p.waitText("main .kb-panel", "No knowledge bases attached.")
	p.choose("main .kb-panel", "Attach a knowledge base", "Lime Rock handbook")
	p.click("main .kb-panel", "Attach")
	p.waitText("main .kb-attached", "Lime Rock handbook")
	p.reload()
	p.waitText("main .kb-attached", "Lime Rock handbook")
	if href := evalJS[string](p, "the attached base's link", `document.querySelector('main .kb-attached a').getAttribute('href')`); href != kbPath {
		p.fatalf("the attached knowledge base links to %q, want %q", href, kbPath)
	}
	p.click("main .kb-panel", "Detach")
	p.waitText("main .kb-panel", "No knowledge bases attached.")
	p.reload()
	p.waitText("main .kb-panel", "No knowledge bases attached.")

	p.noPageErrors()
	srv.stop(t)
}

// choose selects the option whose text is option in the select labelled
// label inside the first element matching scope, as a person picking it
// would: the select's value changes and it fires input and change.
func (p *page) choose(scope, label, option string) {
	p.t.Helper()
	p.waitJS(fmt.Sprintf("option %q of %q in %s", option, label, scope), fmt.Sprintf(`(() => {
		const root = document.querySelector(%s);
		if (!root) return false;
		const l = [...root.querySelectorAll('label')].find((l) => l.firstChild && l.firstChild.textContent.trim() === %s);
		const select = l && l.htmlFor ? document.getElementById(l.htmlFor) : null;
		const o = select ? [...select.options].find((o) => o.text.trim() === %s) : null;
		if (!o) return false;
		select.value = o.value;
		select.dispatchEvent(new Event('input', { bubbles: true }));
		select.dispatchEvent(new Event('change', { bubbles: true }));
		return true;
	})()`, jsString(scope), jsString(label), jsString(option)))
}
