// views/keys.js — API keys: create (the secret is shown once), list, revoke.

import {
  h, field, clearFieldErrors, showFieldError, errorText, errorBox, loading, busy, toast, confirmDialog,
  copyButton, timeEl,
} from '../ui.js';

/** The API keys page. */
export function keysView(ctx) {
  ctx.app.setTitle('API keys');
  const name = h('input', { type: 'text', name: 'name', maxlength: '100', autocomplete: 'off', placeholder: 'e.g. Laptop scripts', required: true });
  const createBtn = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Create key');
  const formAlert = h('div', { class: 'alert alert-error', role: 'alert', hidden: true });
  const form = h('form', { class: 'key-form', novalidate: true },
    field('Key name', name, { field: 'name', hint: 'A label to recognise the key by; up to 100 characters.' }),
    createBtn,
  );
  const secretSlot = h('div');
  const listBody = h('div');

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearFieldErrors(form);
    formAlert.hidden = true;
    if (!name.value.trim()) {
      showFieldError(form, 'name', 'name is required');
      name.focus();
      return;
    }
    let key;
    try {
      key = await busy(createBtn, 'Creating…', () => ctx.api.createKey(name.value.trim()));
    } catch (err) {
      if (err.field && showFieldError(form, err.field, err.message)) {
        name.focus();
      } else {
        formAlert.textContent = errorText(err);
        formAlert.hidden = false;
      }
      return;
    }
    name.value = '';
    showSecret(key);
    loadKeys();
  });

  function showSecret(key) {
    const value = h('input', { type: 'text', readonly: true, value: key.key, class: 'mono secret', id: 'new-key-value', spellcheck: 'false' });
    value.addEventListener('focus', () => value.select());
    const done = h('button', { type: 'button', class: 'btn' }, 'I have stored it');
    const box = h('div', { class: 'alert alert-warning secret-box', role: 'alert' },
      h('h2', null, `New key “${key.name}”`),
      h('p', null, h('strong', null, 'Copy this key now. '), 'It is shown only this once; Timbre keeps only a hash of it. If you lose it, revoke it and create another.'),
      h('div', { class: 'secret-row' },
        h('label', { for: value.id, class: 'visually-hidden' }, 'Your new API key'),
        value,
        copyButton(() => key.key, 'Copy key'),
      ),
      h('p', { class: 'hint' }, 'Use it as ', h('code', null, 'Authorization: Bearer <key>'), ', for example:'),
      h('pre', { class: 'code' }, `curl -H "Authorization: Bearer ${key.key}" \\\n  ${location.origin}/api/agents`),
      done,
    );
    done.addEventListener('click', () => {
      secretSlot.replaceChildren();
      name.focus();
    });
    secretSlot.replaceChildren(box);
    value.focus();
  }

  async function loadKeys() {
    if (!listBody.firstChild) listBody.replaceChildren(loading('Loading keys…'));
    let items;
    try {
      items = (await ctx.api.listKeys()).items || [];
    } catch (err) {
      listBody.replaceChildren(errorBox(err, loadKeys));
      return;
    }
    if (items.length === 0) {
      listBody.replaceChildren(h('p', { class: 'muted empty-inline' }, 'You have no active API keys.'));
      return;
    }
    listBody.replaceChildren(
      h('div', { class: 'table-wrap' },
        h('table', { class: 'table' },
          h('caption', { class: 'visually-hidden' }, 'Your active API keys'),
          h('thead', null, h('tr', null,
            h('th', { scope: 'col' }, 'Name'),
            h('th', { scope: 'col' }, 'Key'),
            h('th', { scope: 'col' }, 'Created'),
            h('th', { scope: 'col' }, 'Last used'),
            h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, 'Actions')),
          )),
          h('tbody', null, items.map(keyRow)),
        ),
      ),
    );
  }

  function keyRow(k) {
    const revoke = h('button', { type: 'button', class: 'btn btn-small btn-danger-ghost', 'aria-label': `Revoke key ${k.name}` }, 'Revoke');
    revoke.addEventListener('click', async () => {
      const ok = await confirmDialog({
        title: `Revoke “${k.name}”?`,
        message: 'Programs using this key stop working at once. This cannot be undone.',
        confirm: 'Revoke key',
        danger: true,
      });
      if (!ok) return;
      try {
        await busy(revoke, 'Revoking…', () => ctx.api.revokeKey(k.id));
      } catch (err) {
        toast(`Could not revoke: ${errorText(err)}`, 'error');
        return;
      }
      toast(`Revoked “${k.name}”.`, 'success');
      loadKeys();
    });
    return h('tr', null,
      h('td', null, k.name),
      h('td', null, h('code', null, `tmb_${k.prefix}_…`)),
      h('td', null, timeEl(k.created_at)),
      h('td', null, k.last_used_at ? timeEl(k.last_used_at) : h('span', { class: 'muted' }, 'Never')),
      h('td', { class: 'actions' }, revoke),
    );
  }

  loadKeys();
  return h('section', { class: 'page narrow-wide' },
    h('h1', null, 'API keys'),
    h('p', { class: 'lead' }, 'Keys let programs use the Timbre API as you — including the OpenAI-compatible endpoints under /v1. Treat them like passwords.'),
    secretSlot,
    h('section', { class: 'card', 'aria-labelledby': 'create-key-title' },
      h('h2', { id: 'create-key-title' }, 'Create a key'),
      formAlert,
      form,
    ),
    h('section', { class: 'keys-list', 'aria-labelledby': 'keys-title' },
      h('h2', { id: 'keys-title' }, 'Active keys'),
      listBody,
    ),
  );
}
