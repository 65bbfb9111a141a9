// views/knowledge.js — knowledge bases: the list, one base's page (documents
// with live ingestion progress, search, name and description, deletion) and
// the panel on an agent's page that attaches bases to the agent.
//
// A base's page follows GET /api/knowledge-bases/{id}/events: "document"
// events carry a whole document (the unfinished ones, when the stream
// opens), "progress" events a document's status, stage and passage counts.
// A document that becomes ready or failed is read again, so its row shows
// what the server stored.

import {
  h, append, uid, field, clearFieldErrors, showFieldError, showFormError, errorText, errorBox, loading, busy, toast, confirmDialog,
  timeEl, formatBytes, truncate,
} from '../ui.js';

// What the upload control offers; the server decides by content, not name.
const ACCEPT = '.txt,.md,.markdown,.html,.htm,.pdf,text/plain,text/markdown,text/html,application/pdf';

const STATUS_LABELS = { queued: 'Queued', processing: 'Processing', ready: 'Ready', failed: 'Failed' };

const STAGE_LABELS = {
  fetching: 'Fetching the page',
  extracting: 'Extracting text',
  chunking: 'Splitting into passages',
  embedding: 'Embedding passages',
  writing: 'Saving passages',
  're-embedding': 'Re-embedding',
};

const isFinished = (status) => status === 'ready' || status === 'failed';

function plural(n, one, many) {
  return `${n} ${n === 1 ? one : many}`;
}

/** /knowledge: the signed-in user's knowledge bases. */
export function knowledgeListView(ctx) {
  ctx.app.setTitle('Knowledge');
  const body = h('div', null, loading('Loading knowledge bases…'));
  const create = createBaseForm(ctx);
  const newBtn = h('button', { type: 'button', class: 'btn btn-primary', 'aria-controls': create.element.id }, 'New knowledge base');
  newBtn.addEventListener('click', () => create.show(newBtn));

  async function load() {
    body.replaceChildren(loading('Loading knowledge bases…'));
    let items;
    try {
      items = await ctx.api.listKnowledgeBases();
    } catch (err) {
      body.replaceChildren(errorBox(err, load));
      return;
    }
    if (items.length === 0) {
      const start = h('button', { type: 'button', class: 'btn btn-primary' }, 'New knowledge base');
      start.addEventListener('click', () => create.show(start));
      body.replaceChildren(h('div', { class: 'empty' },
        h('h2', null, 'No knowledge bases yet'),
        h('p', null, 'A knowledge base holds documents — notes, manuals, web pages — that your agents search while they talk, ' +
          'so they can answer from your sources and say where an answer comes from.'),
        h('p', null, 'Create one, add files or web pages, then attach it to an agent on the agent’s page.'),
        h('div', { class: 'button-row center' }, start),
      ));
      return;
    }
    body.replaceChildren(
      h('div', { class: 'table-wrap' },
        h('table', { class: 'table kb-table' },
          h('caption', { class: 'visually-hidden' }, 'Your knowledge bases'),
          h('thead', null, h('tr', null,
            h('th', { scope: 'col' }, 'Name'),
            h('th', { scope: 'col', class: 'num' }, 'Documents'),
            h('th', { scope: 'col', class: 'num' }, 'Passages'),
            h('th', { scope: 'col' }, 'Embedder'),
            h('th', { scope: 'col' }, 'Updated'),
          )),
          h('tbody', null, items.map(baseRow)),
        ),
      ),
    );
  }

  function baseRow(b) {
    return h('tr', null,
      h('td', null,
        h('a', { href: `/knowledge/${encodeURIComponent(b.id)}` }, b.name),
        b.description ? h('p', { class: 'kb-desc' }, truncate(b.description, 120)) : null,
      ),
      h('td', { class: 'num' }, String(b.documents)),
      h('td', { class: 'num' }, String(b.chunks)),
      h('td', null, h('code', null, b.embedder), b.next_embedder ? h('span', { class: 'muted small' }, ` → ${b.next_embedder}`) : null),
      h('td', null, timeEl(b.updated_at)),
    );
  }

  load();
  return h('section', { class: 'page narrow-wide' },
    h('div', { class: 'page-head' },
      h('div', null,
        h('h1', null, 'Knowledge'),
        h('p', { class: 'lead' }, 'Documents your agents can look things up in.'),
      ),
      h('div', { class: 'button-row' }, newBtn),
    ),
    create.element,
    body,
  );
}

/** The "New knowledge base" form, hidden until show() is called. */
function createBaseForm(ctx) {
  const name = h('input', { type: 'text', name: 'name', maxlength: '200', autocomplete: 'off', required: true });
  const description = h('textarea', { name: 'description', rows: '3', maxlength: '2000' });
  const alert = h('div', { class: 'alert alert-error', role: 'alert', hidden: true });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Create knowledge base');
  const cancel = h('button', { type: 'button', class: 'btn btn-ghost' }, 'Cancel');
  const form = h('form', { class: 'stack', novalidate: true },
    alert,
    field('Name', name, { field: 'name', hint: 'For example “Product manual” or “Lighthouse history”.' }),
    field('Description', description, { field: 'description', optional: true, hint: 'What the documents are about. Only you see it.' }),
    h('div', { class: 'button-row' }, submit, cancel),
  );
  const titleId = uid('sec');
  const element = h('section', { class: 'card kb-create', id: uid('kbnew'), 'aria-labelledby': titleId, hidden: true },
    h('h2', { id: titleId }, 'New knowledge base'),
    form,
  );
  let opener = null;

  cancel.addEventListener('click', () => {
    element.hidden = true;
    clearFieldErrors(form);
    alert.hidden = true;
    if (opener && opener.isConnected) opener.focus();
  });
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearFieldErrors(form);
    alert.hidden = true;
    if (!name.value.trim()) {
      showFieldError(form, 'name', 'name is required');
      name.focus();
      return;
    }
    let kb;
    try {
      kb = await busy(submit, 'Creating…', () =>
        ctx.api.createKnowledgeBase({ name: name.value.trim(), description: description.value.trim() }));
    } catch (err) {
      showFormError(form, alert, err);
      return;
    }
    toast(`Created “${kb.name}”.`, 'success');
    ctx.navigate(`/knowledge/${encodeURIComponent(kb.id)}`);
  });
  return {
    element,
    show(from) {
      opener = from;
      element.hidden = false;
      name.focus();
    },
  };
}

/** /knowledge/{id}: one knowledge base. */
export function knowledgeBaseView(ctx) {
  const id = ctx.params[0];
  ctx.app.setTitle('Knowledge base');
  const root = h('section', { class: 'page' }, loading('Loading the knowledge base…'));
  let left = false;
  ctx.onLeave(() => {
    left = true;
  });
  (async function load() {
    root.replaceChildren(loading('Loading the knowledge base…'));
    let base;
    let docs;
    try {
      [base, docs] = await Promise.all([ctx.api.getKnowledgeBase(id), ctx.api.listDocuments(id)]);
    } catch (err) {
      if (left) return;
      if (err.status === 404) {
        ctx.app.setTitle('Knowledge base not found');
        root.replaceChildren(
          h('h1', { tabindex: '-1' }, 'Knowledge base not found'),
          h('p', null, 'No knowledge base with this id exists, or it belongs to someone else.'),
          h('div', { class: 'button-row' }, h('a', { href: '/knowledge', class: 'btn' }, 'Your knowledge bases')),
        );
        return;
      }
      root.replaceChildren(h('h1', null, 'Could not load the knowledge base'), errorBox(err, load));
      return;
    }
    if (left) return;
    root.replaceChildren(basePage(ctx, base, docs));
  })();
  return root;
}

function basePage(ctx, initialBase, initialDocs) {
  let base = initialBase;
  const kbId = base.id;
  let left = false;
  ctx.onLeave(() => {
    left = true;
  });

  // Header: name, description, counts.
  const title = h('h1', null);
  const description = h('p', { class: 'lead kb-description' });
  const stats = h('p', { class: 'kb-stats' });
  const reembedNote = h('span');
  function showBase() {
    ctx.app.setTitle(base.name);
    title.textContent = base.name;
    description.textContent = base.description || '';
    description.hidden = !base.description;
    refill(stats,
      plural(base.documents, 'document', 'documents'), ' · ', plural(base.chunks, 'passage', 'passages'),
      ' · embedder ', h('code', null, base.embedder),
      base.next_embedder ? [' · re-embedding with ', h('code', null, base.next_embedder), ' ', reembedNote] : null,
    );
  }

  let refreshing = null;
  let refreshAgain = false;
  // Reads the base again (its counts change as documents finish); calls
  // made while one is under way are folded into one more read.
  async function refreshBase() {
    if (refreshing) {
      refreshAgain = true;
      return;
    }
    refreshing = (async () => {
      do {
        refreshAgain = false;
        try {
          base = await ctx.api.getKnowledgeBase(kbId);
        } catch {
          return; // the counts stay as they were; the documents table is what matters
        }
        if (left) return;
        showBase();
      } while (refreshAgain);
    })();
    await refreshing;
    refreshing = null;
  }

  // Documents.
  const rows = new Map(); // document id → row
  const tbody = h('tbody');
  const table = h('div', { class: 'table-wrap' },
    h('table', { class: 'table doc-table' },
      h('caption', { class: 'visually-hidden' }, 'Documents in this knowledge base'),
      h('thead', null, h('tr', null,
        h('th', { scope: 'col' }, 'Document'),
        h('th', { scope: 'col' }, 'Status'),
        h('th', { scope: 'col', class: 'num' }, 'Passages'),
        h('th', { scope: 'col', class: 'num' }, 'Size'),
        h('th', { scope: 'col' }, 'Added'),
        h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, 'Actions')),
      )),
      tbody,
    ),
  );
  const noDocs = h('p', { class: 'muted empty-inline' }, 'No documents yet. Upload files or add a web page above.');
  // Announces documents starting, finishing and failing; the progress bars
  // themselves stay quiet.
  const announcer = h('p', { class: 'visually-hidden', role: 'status', 'aria-live': 'polite' });
  const liveState = h('span', { class: 'live-state', dataset: { state: 'connecting' } }, 'Connecting to live updates…');

  function showDocsOrEmpty() {
    table.hidden = rows.size === 0;
    noDocs.hidden = rows.size > 0;
  }

  function makeRow(doc) {
    const titleCell = h('td', { class: 'doc-title' });
    const statusCell = h('td', { class: 'doc-status' });
    const chunksCell = h('td', { class: 'num' });
    const sizeCell = h('td', { class: 'num' });
    const addedCell = h('td');
    const del = h('button', { type: 'button', class: 'btn btn-small btn-danger-ghost' }, 'Delete');
    const tr = h('tr', { dataset: { doc: doc.id } }, titleCell, statusCell, chunksCell, sizeCell, addedCell, h('td', { class: 'actions' }, del));
    const row = {
      tr,
      doc,
      live: null, // the last progress event while the document is unfinished
      update() {
        const d = row.doc;
        const name = docName(d);
        const status = row.live ? row.live.status : d.status;
        tr.dataset.status = status;
        refill(titleCell,
          h('span', { class: 'doc-name' }, name),
          d.url
            ? h('a', { class: 'doc-sub', href: d.url, target: '_blank', rel: 'noopener noreferrer' }, truncate(d.url, 70))
            : d.filename && d.filename !== name ? h('span', { class: 'doc-sub' }, d.filename) : null,
        );
        statusCell.replaceChildren(statusView(d, row.live, name));
        chunksCell.textContent = d.status === 'ready' || d.chunks ? String(d.chunks || 0) : '—';
        sizeCell.textContent = d.size_bytes ? formatBytes(d.size_bytes) : '—';
        addedCell.replaceChildren(d.created_at ? timeEl(d.created_at) : '');
        del.setAttribute('aria-label', `Delete ${name}`);
      },
    };
    del.addEventListener('click', async () => {
      const name = docName(row.doc);
      const ok = await confirmDialog({
        title: `Delete “${name}”?`,
        message: 'Its passages are removed from search at once. This cannot be undone.',
        confirm: 'Delete document',
        danger: true,
      });
      if (!ok) return;
      try {
        await busy(del, 'Deleting…', () => ctx.api.deleteDocument(kbId, row.doc.id));
      } catch (err) {
        if (err.status !== 404) {
          toast(`Could not delete: ${errorText(err)}`, 'error');
          return;
        }
      }
      const next = tr.nextElementSibling || tr.previousElementSibling;
      removeRow(row.doc.id);
      toast(`Deleted “${name}”.`, 'success');
      (next ? next.querySelector('button') : fileInput).focus();
      refreshBase();
    });
    return row;
  }

  function removeRow(docId) {
    const row = rows.get(docId);
    if (!row) return;
    row.tr.remove();
    rows.delete(docId);
    showDocsOrEmpty();
  }

  /**
   * Shows doc in the table: a new row at the top, or the existing row
   * updated. A copy older than the one shown (a slow response overtaken by
   * a newer one) is ignored.
   */
  function upsert(doc, { atEnd = false } = {}) {
    let row = rows.get(doc.id);
    if (!row) {
      row = makeRow(doc);
      rows.set(doc.id, row);
      if (atEnd) tbody.append(row.tr);
      else tbody.prepend(row.tr);
    } else {
      if (Date.parse(doc.updated_at) < Date.parse(row.doc.updated_at)) return row;
      row.doc = doc;
      if (isFinished(doc.status)) row.live = null;
    }
    row.update();
    showDocsOrEmpty();
    return row;
  }

  // Reads documents again after a progress event said they finished (or
  // named one this page has not seen); one read at a time per document, and
  // one more if asked again meanwhile, so the last read is the newest.
  const fetching = new Map(); // document id → whether to read again
  async function fetchDoc(docId) {
    if (fetching.has(docId)) {
      fetching.set(docId, true);
      return;
    }
    fetching.set(docId, false);
    try {
      do {
        fetching.set(docId, false);
        let doc;
        try {
          doc = await ctx.api.getDocument(kbId, docId);
        } catch (err) {
          if (!left && err.status === 404) removeRow(docId); // deleted meanwhile
          return;
        }
        if (left) return;
        upsert(doc);
      } while (fetching.get(docId));
    } finally {
      fetching.delete(docId);
    }
  }

  function onProgress(e) {
    if (!e.document_id) {
      // The whole base is being re-embedded with another embedder.
      if (isFinished(e.status)) refreshBase();
      else reembedNote.textContent = e.chunks_total ? `(${e.chunks_done} of ${e.chunks_total})` : '';
      return;
    }
    let row = rows.get(e.document_id);
    if (!row) {
      // Added elsewhere, or the worker got there before our upload's answer.
      row = upsert({ id: e.document_id, status: e.status, title: '', chunks: 0, size_bytes: 0 });
      fetchDoc(e.document_id);
    }
    const wasProcessing = (row.live ? row.live.status : row.doc.status) === 'processing';
    row.live = e;
    row.update();
    const name = docName(row.doc);
    if (isFinished(e.status)) {
      announcer.textContent = e.status === 'ready' ? `${name} is ready.` : `${name} failed: ${e.error || 'ingestion failed'}.`;
      fetchDoc(e.document_id);
      refreshBase();
    } else if (e.status === 'processing' && !wasProcessing) {
      announcer.textContent = `Processing ${name}…`;
    }
  }

  // Reads the whole list again, after the live stream was interrupted:
  // documents that finished meanwhile get no event.
  async function reloadDocs() {
    let docs;
    try {
      docs = await ctx.api.listDocuments(kbId);
    } catch {
      return;
    }
    if (left) return;
    const seen = new Set(docs.map((d) => d.id));
    for (const docId of [...rows.keys()]) if (!seen.has(docId)) removeRow(docId);
    for (const d of [...docs].reverse()) upsert(d);
    refreshBase();
  }

  // The live stream.
  let source = null;
  const reconnect = h('button', { type: 'button', class: 'btn btn-small', hidden: true }, 'Reconnect');
  function setLive(state, text) {
    liveState.dataset.state = state;
    liveState.textContent = text;
    reconnect.hidden = state !== 'closed';
  }
  function connect() {
    if (source) source.close();
    const es = new EventSource(ctx.api.knowledgeEventsURL(kbId));
    source = es;
    let opened = false;
    es.addEventListener('open', () => {
      setLive('live', 'Live updates on');
      // A document that finished before the stream started, or while it
      // was down, gets no event: read the list again then.
      if (opened || [...rows.values()].some((r) => !isFinished(r.doc.status))) reloadDocs();
      opened = true;
    });
    es.addEventListener('document', (ev) => {
      const doc = parseEvent(ev);
      if (doc && doc.id) upsert(doc);
    });
    es.addEventListener('progress', (ev) => {
      const e = parseEvent(ev);
      if (e) onProgress(e);
    });
    es.addEventListener('error', () => {
      if (source !== es) return;
      if (es.readyState === EventSource.CLOSED) setLive('closed', 'Live updates stopped.');
      else setLive('connecting', 'Reconnecting…');
    });
  }
  reconnect.addEventListener('click', () => {
    setLive('connecting', 'Connecting to live updates…');
    connect();
    reloadDocs();
  });

  // Uploads.
  const fileInput = h('input', { type: 'file', multiple: true, accept: ACCEPT, id: uid('kbfile'), class: 'file-input' });
  const drop = h('label', { class: 'dropzone dropzone-compact', for: fileInput.id },
    h('span', { class: 'dropzone-title' }, 'Choose files to upload'),
    h('span', { class: 'muted' }, 'or drop them here · text, Markdown, HTML or PDF; several at once are added one after another'),
  );
  const uploadStatus = h('p', { class: 'file-chosen', role: 'status' });
  const uploadAlert = h('div', { class: 'alert alert-error', role: 'alert', hidden: true });
  let uploading = false;

  async function uploadFiles(files) {
    const list = [...files];
    if (list.length === 0 || uploading) return;
    uploading = true;
    fileInput.disabled = true;
    drop.setAttribute('aria-disabled', 'true');
    uploadAlert.hidden = true;
    const failures = [];
    let added = 0;
    let duplicates = 0;
    for (const [i, f] of list.entries()) {
      uploadStatus.textContent = list.length > 1 ? `Uploading ${i + 1} of ${list.length}: ${f.name}…` : `Uploading ${f.name}…`;
      let res;
      try {
        res = await ctx.api.uploadDocument(kbId, f);
      } catch (err) {
        failures.push([f.name, err]);
        if (err.status === 401) break; // signed out: the app is leaving this page
        continue;
      }
      if (left) return;
      upsert(res.document);
      if (res.duplicate) {
        duplicates += 1;
        const same = docName(res.document);
        toast(same === f.name ? `Already in this knowledge base: ${f.name}` : `Already in this knowledge base: ${f.name} (as “${same}”)`);
      } else {
        added += 1;
      }
    }
    if (left) return;
    uploading = false;
    fileInput.value = '';
    fileInput.disabled = false;
    drop.removeAttribute('aria-disabled');
    const parts = [];
    if (added) parts.push(`Added ${plural(added, 'file', 'files')}; processing starts shortly.`);
    if (duplicates) parts.push(`${plural(duplicates, 'file was', 'files were')} already here.`);
    if (failures.length) parts.push(`${plural(failures.length, 'file', 'files')} could not be added.`);
    uploadStatus.textContent = parts.join(' ');
    if (failures.length) {
      uploadAlert.replaceChildren(
        h('strong', null, failures.length === 1 ? `Could not add ${failures[0][0]}.` : `Could not add ${failures.length} files.`),
        failures.length === 1
          ? h('p', null, errorText(failures[0][1]))
          : h('ul', null, failures.map(([name, err]) => h('li', null, `${name}: ${errorText(err)}`))),
      );
      uploadAlert.hidden = false;
    }
    refreshBase();
  }
  fileInput.addEventListener('change', () => uploadFiles(fileInput.files));
  drop.addEventListener('dragover', (e) => {
    e.preventDefault();
    if (!uploading) drop.classList.add('dragging');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('dragging'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('dragging');
    if (e.dataTransfer && e.dataTransfer.files.length) uploadFiles(e.dataTransfer.files);
  });

  // A web page.
  const urlInput = h('input', { type: 'url', name: 'url', inputmode: 'url', autocomplete: 'off', spellcheck: 'false', placeholder: 'https://example.com/guide' });
  const addPage = h('button', { type: 'submit', class: 'btn' }, 'Add page');
  const urlAlert = h('div', { class: 'alert alert-error', role: 'alert', hidden: true });
  const urlForm = h('form', { class: 'inline-form kb-url-form', novalidate: true },
    field('Add a web page', urlInput, { field: 'url', hint: 'Its address; Timbre fetches the page in the background. Private and internal addresses are refused.' }),
    addPage,
  );
  urlForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearFieldErrors(urlForm);
    urlAlert.hidden = true;
    const url = urlInput.value.trim();
    if (!url) {
      showFieldError(urlForm, 'url', 'url is required');
      urlInput.focus();
      return;
    }
    let res;
    try {
      res = await busy(addPage, 'Adding…', () => ctx.api.addDocumentURL(kbId, url));
    } catch (err) {
      if (!(err.field && showFieldError(urlForm, err.field, err.message))) {
        urlAlert.replaceChildren(h('strong', null, 'Could not add the page. '), errorText(err));
        urlAlert.hidden = false;
      }
      urlInput.focus();
      return;
    }
    if (left) return;
    upsert(res.document);
    urlInput.value = '';
    toast('Added the page; it is fetched in the background.', 'success');
    refreshBase();
  });

  showBase();
  for (const d of initialDocs) upsert(d, { atEnd: true });
  showDocsOrEmpty();
  connect();
  ctx.onLeave(() => {
    if (source) source.close();
    source = null;
  });

  const ids = { add: uid('sec'), docs: uid('sec') };
  return h('div', { class: 'kb-page' },
    h('div', { class: 'kb-head' },
      h('p', { class: 'crumbs' }, h('a', { href: '/knowledge' }, 'Knowledge'), ' / '),
      title,
      description,
      stats,
    ),
    h('div', { class: 'detail-grid' },
      h('div', { class: 'detail-main' },
        h('section', { class: 'section', 'aria-labelledby': ids.add },
          h('h2', { class: 'section-title', id: ids.add }, 'Add documents'),
          uploadAlert,
          fileInput, drop, uploadStatus,
          urlAlert,
          urlForm,
        ),
        h('section', { class: 'section', 'aria-labelledby': ids.docs },
          h('div', { class: 'section-head' },
            h('h2', { class: 'section-title', id: ids.docs }, 'Documents'),
            h('div', { class: 'button-row' }, liveState, reconnect),
          ),
          announcer,
          table,
          noDocs,
        ),
        searchSection(ctx, kbId, () => rows.size > 0),
      ),
      h('aside', { class: 'detail-side' },
        detailsPanel(ctx, () => base, (updated) => {
          base = updated;
          showBase();
        }),
        deletePanel(ctx, () => base),
      ),
    ),
  );
}

/** The search box of a knowledge base and its results. */
function searchSection(ctx, kbId, hasDocuments) {
  const q = h('input', { type: 'search', name: 'q', autocomplete: 'off', placeholder: 'A question, or some words from the documents' });
  const searchBtn = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Search');
  const searchForm = h('form', { role: 'search', class: 'inline-form', novalidate: true },
    field('Search this knowledge base', q, { field: 'q' }),
    searchBtn,
  );
  const searchStatus = h('p', { class: 'muted list-status', role: 'status' });
  const results = h('div', { class: 'kb-results' });
  let searchToken = 0;
  searchForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearFieldErrors(searchForm);
    const text = q.value.trim();
    if (!text) {
      showFieldError(searchForm, 'q', 'q is required');
      q.focus();
      return;
    }
    const my = ++searchToken;
    searchStatus.textContent = `Searching for “${text}”…`;
    let res;
    try {
      res = await busy(searchBtn, 'Searching…', () => ctx.api.searchKnowledgeBase(kbId, text, 5));
    } catch (err) {
      if (my !== searchToken) return;
      searchStatus.textContent = '';
      if (err.field && showFieldError(searchForm, err.field, err.message)) results.replaceChildren();
      else results.replaceChildren(errorBox(err));
      return;
    }
    if (my !== searchToken) return; // a newer search was sent meanwhile
    const found = res.results || [];
    searchStatus.textContent = found.length ? `${plural(found.length, 'passage', 'passages')} found.` : 'Nothing found.';
    refill(results,
      res.degraded
        ? h('div', { class: 'alert alert-warning kb-degraded' }, h('p', null, h('strong', null, 'Only full-text search was used. '), res.degraded))
        : null,
      found.length
        ? h('ol', { class: 'kb-result-list' }, found.map(resultItem))
        : h('p', { class: 'muted empty-inline' }, hasDocuments() ? 'No passage matches. Try other words.' : 'This knowledge base has no documents to search yet.'),
    );
  });
  const titleId = uid('sec');
  return h('section', { class: 'section', 'aria-labelledby': titleId },
    h('h2', { class: 'section-title', id: titleId }, 'Search'),
    h('p', { class: 'section-lead' }, 'Try what an agent would find: the passages that best match a question, with where they come from.'),
    searchForm,
    searchStatus,
    results,
  );
}

/** The form that renames a knowledge base and changes its description. */
function detailsPanel(ctx, current, saved) {
  const base = current();
  const nameIn = h('input', { type: 'text', name: 'name', maxlength: '200', autocomplete: 'off', value: base.name });
  const descIn = h('textarea', { name: 'description', rows: '4', maxlength: '2000', value: base.description || '' });
  const saveBtn = h('button', { type: 'submit', class: 'btn btn-small' }, 'Save');
  const alert = h('div', { class: 'alert alert-error', role: 'alert', hidden: true });
  const form = h('form', { class: 'stack', novalidate: true },
    alert,
    field('Name', nameIn, { field: 'name' }),
    field('Description', descIn, { field: 'description', optional: true }),
    h('div', { class: 'button-row' }, saveBtn),
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearFieldErrors(form);
    alert.hidden = true;
    const now = current();
    const patch = {};
    if (nameIn.value.trim() !== now.name) patch.name = nameIn.value.trim();
    if (descIn.value.trim() !== (now.description || '')) patch.description = descIn.value.trim();
    if (Object.keys(patch).length === 0) {
      toast('Nothing to save: no changes.');
      return;
    }
    if ('name' in patch && !patch.name) {
      showFieldError(form, 'name', 'name must not be empty');
      nameIn.focus();
      return;
    }
    let updated;
    try {
      updated = await busy(saveBtn, 'Saving…', () => ctx.api.updateKnowledgeBase(now.id, patch));
    } catch (err) {
      showFormError(form, alert, err);
      return;
    }
    nameIn.value = updated.name;
    descIn.value = updated.description || '';
    saved(updated);
    toast('Saved.', 'success');
  });
  const titleId = uid('sec');
  return h('section', { class: 'panel', 'aria-labelledby': titleId },
    h('h2', { id: titleId }, 'Name and description'),
    form,
  );
}

/** Deletes the knowledge base, after asking. */
function deletePanel(ctx, current) {
  const btn = h('button', { type: 'button', class: 'btn btn-danger' }, 'Delete knowledge base');
  btn.addEventListener('click', async () => {
    const base = current();
    const ok = await confirmDialog({
      title: `Delete “${base.name}”?`,
      message: `This deletes ${plural(base.documents, 'document', 'documents')} and their passages, and detaches the knowledge base from every agent. It cannot be undone.`,
      confirm: 'Delete forever',
      danger: true,
    });
    if (!ok) return;
    try {
      await busy(btn, 'Deleting…', () => ctx.api.deleteKnowledgeBase(base.id));
    } catch (err) {
      toast(`Could not delete: ${errorText(err)}`, 'error');
      return;
    }
    toast(`Deleted “${base.name}”.`, 'success');
    ctx.navigate('/knowledge', { force: true });
  });
  const titleId = uid('sec');
  return h('section', { class: 'panel panel-danger', 'aria-labelledby': titleId },
    h('h2', { id: titleId }, 'Delete'),
    h('p', { class: 'hint' }, 'Removes the knowledge base, its documents and passages.'),
    btn,
  );
}

/** Replaces el's children; like h(), it skips null children. */
function refill(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

function parseEvent(ev) {
  try {
    return JSON.parse(ev.data);
  } catch {
    return null; // a malformed event is skipped; the next one carries the state anyway
  }
}

function docName(d) {
  return d.title || d.filename || d.url || 'New document';
}

/** The status cell of a document: a badge, and progress, a note or the failure. */
function statusView(doc, live, name) {
  const status = live ? live.status : doc.status;
  const badge = h('span', { class: `badge badge-doc badge-doc-${status}` }, STATUS_LABELS[status] || status);
  if (status === 'processing') {
    const total = live ? live.chunks_total || 0 : 0;
    const done = Math.min(live ? live.chunks_done || 0 : 0, total);
    const stage = live ? live.stage : '';
    // Without a total the bar is indeterminate: extracting and saving take
    // as long as they take.
    const bar = h('progress', { class: 'doc-progress', max: total ? String(total) : null, value: total ? done : null, 'aria-label': `Progress of ${name}` });
    let text = STAGE_LABELS[stage] ? `${STAGE_LABELS[stage]}…` : 'Working…';
    if (stage === 'embedding' && total) text = `Embedding ${done} of ${total} passages`;
    return h('div', { class: 'doc-state' },
      badge,
      h('div', { class: 'doc-progress-row' }, bar, h('span', { class: 'doc-stage' }, text)),
      live && live.error ? h('p', { class: 'doc-note' }, `Retrying: ${live.error}`) : null,
    );
  }
  if (status === 'failed') {
    return h('div', { class: 'doc-state' }, badge, h('p', { class: 'doc-error' }, (live && live.error) || doc.error || 'Ingestion failed.'));
  }
  if (status === 'queued') {
    return h('div', { class: 'doc-state' }, badge, h('p', { class: 'doc-note' }, 'Waiting to be processed'));
  }
  if (status === 'ready' && doc.duplicate_of) {
    return h('div', { class: 'doc-state' }, badge, h('p', { class: 'doc-note' }, 'Same content as another document; adds no passages.'));
  }
  return h('div', { class: 'doc-state' }, badge);
}

/** One search result: the passage, then where it comes from. */
function resultItem(r) {
  const c = r.citation || {};
  const where = [];
  if (c.title) where.push(h('strong', { class: 'kb-cite-title' }, c.title));
  if (c.heading_path && c.heading_path.length) where.push(h('span', { class: 'kb-cite-path' }, c.heading_path.join(' › ')));
  if (c.page) where.push(h('span', null, `page ${c.page}`));
  if (c.url) where.push(h('a', { href: c.url, target: '_blank', rel: 'noopener noreferrer', class: 'break' }, c.url));
  const cite = [];
  where.forEach((part, i) => cite.push(i ? ' · ' : '', part));
  return h('li', { class: 'kb-result' },
    h('blockquote', { class: 'kb-passage prose' }, r.text),
    h('p', { class: 'kb-cite' },
      cite,
      h('span', { class: 'kb-score', title: 'Relevance score: higher is a better match' }, `score ${Number(r.score).toFixed(3)}`),
    ),
  );
}

/**
 * The "Knowledge" panel on an agent's page (owner only): the bases attached
 * to the agent, with detach, and a select of the owner's other bases to
 * attach.
 */
export function agentKnowledgePanel(ctx, agentId) {
  const titleId = uid('kbp');
  const body = h('div', null, loading('Loading knowledge…'));
  const status = h('p', { class: 'hint kb-panel-status', role: 'status' });
  const element = h('section', { class: 'panel kb-panel', 'aria-labelledby': titleId },
    h('h2', { id: titleId }, 'Knowledge'),
    h('p', { class: 'hint' }, 'The agent looks up answers in the knowledge bases attached here.'),
    body,
    status,
  );
  let all = [];

  async function reload() {
    body.replaceChildren(loading('Loading knowledge…'));
    let attached;
    try {
      [attached, all] = await Promise.all([ctx.api.agentKnowledgeBases(agentId), ctx.api.listKnowledgeBases()]);
    } catch (err) {
      body.replaceChildren(errorBox(err, reload));
      return;
    }
    show(attached);
  }

  function show(attached, focus) {
    const list = attached.length
      ? h('ul', { class: 'kb-attached' }, attached.map((b) => {
        const detach = h('button', { type: 'button', class: 'btn btn-small btn-ghost remove', 'aria-label': `Detach ${b.name}` }, 'Detach');
        detach.addEventListener('click', async () => {
          try {
            await busy(detach, 'Detaching…', () => ctx.api.detachKnowledgeBase(agentId, b.id));
          } catch (err) {
            status.textContent = `Could not detach: ${errorText(err)}`;
            return;
          }
          status.textContent = `Detached “${b.name}”.`;
          show(attached.filter((x) => x.id !== b.id), 'select');
        });
        return h('li', null,
          h('span', { class: 'kb-attached-name' },
            h('a', { href: `/knowledge/${encodeURIComponent(b.id)}` }, b.name),
            h('span', { class: 'muted small' }, ` · ${plural(b.documents, 'document', 'documents')}`),
          ),
          detach,
        );
      }))
      : h('p', { class: 'muted kb-none' }, 'No knowledge bases attached.');

    const others = all.filter((b) => !attached.some((a) => a.id === b.id));
    let attach = null;
    if (all.length === 0) {
      attach = h('p', { class: 'hint' }, 'You have no knowledge bases yet. ', h('a', { href: '/knowledge' }, 'Create one'), ' to give this agent documents to draw on.');
    } else if (others.length > 0) {
      const select = h('select', { name: 'knowledge_base' }, others.map((b) => h('option', { value: b.id }, b.name)));
      const btn = h('button', { type: 'submit', class: 'btn btn-small' }, 'Attach');
      attach = h('form', { class: 'kb-attach stack-tight' }, field('Attach a knowledge base', select), btn);
      attach.addEventListener('submit', async (e) => {
        e.preventDefault();
        const chosen = others.find((b) => b.id === select.value);
        if (!chosen) return;
        let now;
        try {
          now = await busy(btn, 'Attaching…', () => ctx.api.attachKnowledgeBase(agentId, chosen.id));
        } catch (err) {
          status.textContent = `Could not attach: ${errorText(err)}`;
          return;
        }
        status.textContent = `Attached “${chosen.name}”.`;
        show(now, 'list');
      });
    }
    refill(body, list, attach);
    // Keep the keyboard where it was: the control just used is gone.
    const target = focus === 'select' ? body.querySelector('select') || body.querySelector('.kb-attached button')
      : focus === 'list' ? body.querySelector('.kb-attached button') : null;
    if (target) target.focus();
  }

  reload();
  return element;
}
