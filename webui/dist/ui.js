// ui.js — small DOM helpers shared by the views. Text is always inserted as
// text (never as HTML), so user content cannot inject markup.

let idCounter = 0;

/** Returns an id unique within the page. */
export function uid(prefix = 'f') {
  idCounter += 1;
  return `${prefix}-${idCounter}`;
}

/**
 * Creates an element. props: class, text, dataset, on<Event> handlers,
 * value/checked (set as properties) and any other attribute; null, undefined
 * and false are skipped. Children may be nodes, strings, arrays or null.
 */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  let value;
  for (const [k, v] of Object.entries(props || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'value') value = v;
    else if (k === 'checked') el.checked = Boolean(v);
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2).toLowerCase(), v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  if (value !== undefined) el.value = value; // after the options of a <select> exist
  return el;
}

/** Appends children (nodes, strings, nested arrays; null skipped) to el. */
export function append(el, children) {
  for (const c of [children].flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

/**
 * A labelled form control with a hint and a slot for its error. `field` is
 * the API's name for it (error.field), stored as data-field on the control.
 */
export function field(label, control, { hint, field: name, optional = false } = {}) {
  if (!control.id) control.id = uid();
  if (name) control.dataset.field = name;
  // Typing in a field clears its error: the message was about the old value.
  control.addEventListener('input', () => clearFieldError(control));
  const hintId = hint ? `${control.id}-hint` : null;
  const errorId = `${control.id}-error`;
  if (hintId) control.setAttribute('aria-describedby', hintId);
  return h('div', { class: 'field' },
    h('label', { for: control.id }, label, optional ? h('span', { class: 'optional' }, ' (optional)') : null),
    control,
    hint ? h('p', { class: 'hint', id: hintId }, hint) : null,
    h('p', { class: 'field-error', id: errorId, hidden: true }),
  );
}

/** Removes every field error shown inside root. */
export function clearFieldErrors(root) {
  for (const el of root.querySelectorAll('[aria-invalid="true"]')) clearFieldError(el);
}

function clearFieldError(el) {
  if (el.getAttribute('aria-invalid') !== 'true') return;
  el.removeAttribute('aria-invalid');
  const err = document.getElementById(`${el.id}-error`);
  if (err) {
    err.hidden = true;
    err.textContent = '';
  }
  const hintId = `${el.id}-hint`;
  if (document.getElementById(hintId)) el.setAttribute('aria-describedby', hintId);
  else el.removeAttribute('aria-describedby');
}

/**
 * Shows message next to the control whose data-field is `name`, or the
 * nearest parent field ("tags[3]" → "tags", "llm.model" → "llm"). Returns the
 * control, or null when no control matches.
 */
export function showFieldError(root, name, message) {
  const control = findField(root, name);
  if (!control) return null;
  const err = document.getElementById(`${control.id}-error`);
  control.setAttribute('aria-invalid', 'true');
  if (err) {
    err.textContent = readableFieldMessage(control, name, message);
    err.hidden = false;
    const hintId = `${control.id}-hint`;
    const ids = [document.getElementById(hintId) ? hintId : '', err.id].filter(Boolean);
    control.setAttribute('aria-describedby', ids.join(' '));
  }
  for (let d = control.closest('details'); d; d = d.parentElement && d.parentElement.closest('details')) d.open = true;
  return control;
}

// The API writes "llm.temperature must be between 0 and 2"; next to the
// control, "Temperature must be between 0 and 2" reads better.
function readableFieldMessage(control, name, message) {
  if (!message.startsWith(`${name} `)) return message;
  const label = document.querySelector(`label[for="${CSS.escape(control.id)}"]`);
  const text = label && label.firstChild ? label.firstChild.textContent.trim() : '';
  return text ? `${text} ${message.slice(name.length + 1)}` : message;
}

function findField(root, name) {
  let n = name;
  while (n) {
    const el = root.querySelector(`[data-field="${CSS.escape(n)}"]`);
    if (el) return el;
    const cut = Math.max(n.lastIndexOf('.'), n.lastIndexOf('['));
    if (cut <= 0) break;
    n = n.slice(0, cut);
  }
  return null;
}

/** A human sentence for any error, with the wait time of a 429. */
export function errorText(err) {
  if (!err) return 'Something went wrong.';
  let msg = err.message || String(err);
  if (err.status === 429 && err.retryAfter) msg += ` Try again in ${err.retryAfter} s.`;
  return msg;
}

/**
 * Shows a failed form submission: next to the field the server named (and
 * focuses it), else in the form's alert box.
 */
export function showFormError(form, alert, err) {
  const control = err.field ? showFieldError(form, err.field, err.message) : null;
  if (control) {
    control.focus();
  } else {
    alert.textContent = errorText(err);
    alert.hidden = false;
  }
}

/** An alert box for an error, with an optional Retry button. */
export function errorBox(err, retry) {
  return h('div', { class: 'alert alert-error', role: 'alert' },
    h('p', null, errorText(err)),
    retry ? h('button', { type: 'button', class: 'btn btn-small', onClick: retry }, 'Try again') : null,
  );
}

/** A loading indicator announced to screen readers. */
export function loading(text = 'Loading…') {
  return h('div', { class: 'loading', role: 'status' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }), text);
}

/** Marks a button busy (disabled, with a label) until the promise settles. */
export async function busy(button, label, fn) {
  const old = button.textContent;
  button.disabled = true;
  button.setAttribute('aria-busy', 'true');
  if (label) button.textContent = label;
  try {
    return await fn();
  } finally {
    button.disabled = false;
    button.removeAttribute('aria-busy');
    if (label) button.textContent = old;
  }
}

/** Shows a short message in the live region at the bottom of the page. */
export function toast(message, kind = 'info') {
  const region = document.getElementById('toasts');
  if (!region) return;
  const t = h('div', { class: `toast toast-${kind}` }, message);
  region.append(t);
  setTimeout(() => t.classList.add('toast-out'), 4000);
  setTimeout(() => t.remove(), 4500);
}

/**
 * Asks for confirmation in a modal dialog; resolves to true when the user
 * confirms.
 */
export function confirmDialog({ title, message, confirm = 'Confirm', danger = false }) {
  return new Promise((resolve) => {
    const titleId = uid('dlg');
    const dlg = h('dialog', { class: 'dialog', 'aria-labelledby': titleId },
      h('form', { method: 'dialog' },
        h('h2', { id: titleId }, title),
        message ? h('p', null, message) : null,
        h('div', { class: 'dialog-actions' },
          h('button', { type: 'submit', value: 'cancel', class: 'btn' }, 'Cancel'),
          h('button', { type: 'submit', value: 'ok', class: danger ? 'btn btn-danger' : 'btn btn-primary' }, confirm),
        ),
      ),
    );
    dlg.addEventListener('close', () => {
      resolve(dlg.returnValue === 'ok');
      dlg.remove();
    });
    document.body.append(dlg);
    dlg.showModal();
    dlg.querySelector('button[value="cancel"]').focus();
  });
}

/** Copies text to the clipboard; resolves to whether it worked. */
export async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    const ta = h('textarea', { class: 'visually-hidden', 'aria-hidden': 'true' });
    ta.value = text;
    document.body.append(ta);
    ta.select();
    let ok = false;
    try {
      ok = document.execCommand('copy');
    } catch {
      ok = false;
    }
    ta.remove();
    return ok;
  }
}

/** A button that copies text and says so. */
export function copyButton(text, label = 'Copy') {
  const btn = h('button', { type: 'button', class: 'btn btn-small' }, label);
  btn.addEventListener('click', async () => {
    const ok = await copyText(typeof text === 'function' ? text() : text);
    toast(ok ? 'Copied to the clipboard.' : 'Could not copy; select the text and copy it by hand.', ok ? 'success' : 'error');
  });
  return btn;
}

/** Saves a blob as a file download. */
export function download(blob, filename) {
  const url = URL.createObjectURL(blob);
  const a = h('a', { href: url, download: filename, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

const dateFmt = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

/** Formats an ISO time for people; empty input gives ''. */
export function formatDate(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '' : dateFmt.format(d);
}

/** A <time> element for an ISO time. */
export function timeEl(iso) {
  return h('time', { datetime: iso }, formatDate(iso));
}

/** Formats a byte count. */
export function formatBytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

/** Initials of a name, for avatar placeholders. */
export function initials(name) {
  const words = String(name || '?').trim().split(/\s+/).filter(Boolean);
  const s = words.slice(0, 2).map((w) => [...w][0]).join('');
  return (s || '?').toUpperCase();
}

/** An avatar image, or a placeholder with the agent's initials. */
export function avatar(agent, size = 'md') {
  if (agent.avatar_url) {
    return h('img', { class: `avatar avatar-${size}`, src: agent.avatar_url, alt: '', loading: 'lazy' });
  }
  return h('span', { class: `avatar avatar-${size} avatar-placeholder`, 'aria-hidden': 'true' }, initials(agent.name));
}

/** The text of a description shortened to about n characters. */
export function truncate(s, n) {
  const t = String(s || '').replace(/\s+/g, ' ').trim();
  return t.length > n ? t.slice(0, n - 1).trimEnd() + '…' : t;
}

/** Asks whether to discard unsaved changes; views use it as their leave guard. */
export function confirmDiscard() {
  return confirmDialog({
    title: 'Discard unsaved changes?',
    message: 'You have changes that are not saved. Leave this page and lose them?',
    confirm: 'Discard changes',
    danger: true,
  });
}

/** Where to go after signing in: a path on this site, never another origin. */
export function safeNext(next) {
  if (next && next.startsWith('/') && !next.startsWith('//') && !next.startsWith('/api/') && !next.includes('\\')) return next;
  return '/agents';
}
