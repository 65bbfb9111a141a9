// views/shared.js — pieces used by both the editor and the read-only agent
// page: export buttons and the list of published versions.

import { h, busy, download, toast, errorText, errorBox, loading, timeEl, copyButton } from '../ui.js';

const formats = [
  ['v2', 'Card V2', '.json'],
  ['v3', 'Card V3', '.json'],
  ['png', 'PNG card', '.png'],
  ['charx', 'CHARX', '.charx'],
];

/** Buttons that download the agent's card in each export format. */
export function exportPanel(ctx, agentId, note) {
  const status = h('p', { class: 'hint', role: 'status' });
  const buttons = formats.map(([format, label, ext]) => {
    const btn = h('button', { type: 'button', class: 'btn btn-small' }, label, h('span', { class: 'ext' }, ext));
    btn.setAttribute('aria-label', `Export as ${label} (${ext})`);
    btn.addEventListener('click', async () => {
      status.textContent = `Preparing ${label}…`;
      try {
        const { blob, filename } = await busy(btn, null, () => ctx.api.exportCard(agentId(), format));
        download(blob, filename);
        status.textContent = `Downloaded ${filename}.`;
      } catch (err) {
        status.textContent = `${label} export failed: ${errorText(err)}`;
        toast(`Export failed: ${errorText(err)}`, 'error');
      }
    });
    return btn;
  });
  return h('section', { class: 'panel', 'aria-labelledby': 'export-title' },
    h('h2', { id: 'export-title' }, 'Export'),
    note ? h('p', { class: 'hint' }, note) : null,
    h('div', { class: 'button-row' }, buttons),
    status,
  );
}

/**
 * The published versions of an agent, newest first. Returns {element,
 * reload}; reload() fetches the list again (after a publish).
 */
export function versionsPanel(ctx, agentId) {
  const body = h('div');
  const element = h('section', { class: 'panel', 'aria-labelledby': 'versions-title' },
    h('h2', { id: 'versions-title' }, 'Versions'),
    body,
  );
  async function reload() {
    body.replaceChildren(loading('Loading versions…'));
    let items;
    try {
      items = await ctx.api.listVersions(agentId());
    } catch (err) {
      body.replaceChildren(errorBox(err, reload));
      return;
    }
    if (items.length === 0) {
      body.replaceChildren(h('p', { class: 'muted' }, 'Not published yet. Publishing freezes the current draft as version 1.'));
      return;
    }
    body.replaceChildren(h('ol', { class: 'versions' }, items.map((v) => versionItem(ctx, agentId, v))));
  }
  reload();
  return { element, reload };
}

function versionItem(ctx, agentId, v) {
  const viewer = h('div', { class: 'version-card', hidden: true });
  const toggle = h('button', { type: 'button', class: 'btn btn-small btn-ghost', 'aria-expanded': 'false' }, 'View card');
  toggle.addEventListener('click', async () => {
    const open = toggle.getAttribute('aria-expanded') === 'true';
    toggle.setAttribute('aria-expanded', String(!open));
    toggle.textContent = open ? 'View card' : 'Hide card';
    viewer.hidden = open;
    if (open || viewer.dataset.loaded) return;
    viewer.replaceChildren(loading('Loading the card…'));
    try {
      const res = await ctx.api.getVersion(agentId(), v.number);
      viewer.replaceChildren(h('pre', { class: 'code', tabindex: '0' }, JSON.stringify(res.card, null, 2)));
      viewer.dataset.loaded = '1';
    } catch (err) {
      viewer.replaceChildren(errorBox(err));
    }
  });
  const hash = String(v.content_hash || '');
  const short = hash.replace(/^sha256:/, '').slice(0, 12);
  return h('li', { class: 'version' },
    h('div', { class: 'version-head' },
      h('strong', null, `v${v.number}`),
      timeEl(v.created_at),
    ),
    h('div', { class: 'version-hash' },
      h('code', { title: hash }, `sha256:${short}…`),
      copyButton(hash, 'Copy hash'),
      toggle,
    ),
    viewer,
  );
}
