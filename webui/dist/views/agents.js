// views/agents.js — the agent lists (mine, the public catalogue), the
// read-only agent page and card import.

import { h, field, avatar, truncate, errorBox, errorText, loading, busy, toast, formatBytes } from '../ui.js';
import { editorView } from './editor.js';
import { exportPanel, versionsPanel } from './shared.js';
import { chatButton } from './chat.js';
import { talkLink } from './talk.js';

/** The signed-in user's agents. */
export function myAgentsView(ctx) {
  ctx.app.setTitle('My agents');
  return listPage(ctx, {
    scope: 'mine',
    title: 'My agents',
    lead: 'Drafts and published agents you own.',
    actions: [
      h('a', { href: '/import', class: 'btn' }, 'Import a card'),
      h('a', { href: '/agents/new', class: 'btn btn-primary' }, 'New agent'),
    ],
    empty: () => h('div', { class: 'empty' },
      h('h2', null, 'No agents yet'),
      h('p', null, 'Create an agent from scratch, or import a character card (.json, .png or .charx).'),
      h('div', { class: 'button-row center' },
        h('a', { href: '/agents/new', class: 'btn btn-primary' }, 'New agent'),
        h('a', { href: '/import', class: 'btn' }, 'Import a card'),
      ),
    ),
  });
}

/** The public catalogue; works signed out. */
export function exploreView(ctx) {
  ctx.app.setTitle('Explore');
  return listPage(ctx, {
    scope: 'public',
    title: 'Explore',
    lead: 'Public agents shared by Timbre creators.',
    actions: [],
    empty: () => h('div', { class: 'empty' },
      h('h2', null, 'Nothing public yet'),
      h('p', null, 'When creators set an agent’s visibility to public, it appears here.'),
    ),
  });
}

function listPage(ctx, { scope, title, lead, actions, empty }) {
  const q0 = ctx.query.get('q') || '';
  const search = h('input', { type: 'search', name: 'q', value: q0, placeholder: 'Name, description, tag…', autocomplete: 'off' });
  const searchForm = h('form', { role: 'search', class: 'search' },
    field(scope === 'mine' ? 'Search your agents' : 'Search public agents', search),
  );
  const status = h('p', { class: 'muted list-status', role: 'status', 'aria-live': 'polite' });
  const grid = h('ul', { class: 'agent-grid' });
  const body = h('div');
  const more = h('button', { type: 'button', class: 'btn', hidden: true }, 'Load more');
  const moreError = h('div');

  let cursor = '';
  let token = 0;
  let count = 0;

  async function load(reset) {
    const my = ++token;
    const q = search.value.trim();
    if (reset) {
      cursor = '';
      count = 0;
      grid.replaceChildren();
      more.hidden = true;
      body.replaceChildren(loading(q ? `Searching for “${q}”…` : 'Loading agents…'));
      status.textContent = '';
    }
    moreError.replaceChildren();
    let page;
    try {
      page = await (reset
        ? ctx.api.listAgents({ scope, q, cursor: '' })
        : busy(more, 'Loading…', () => ctx.api.listAgents({ scope, q, cursor })));
    } catch (err) {
      if (my !== token) return;
      if (reset) body.replaceChildren(errorBox(err, () => load(true)));
      else moreError.replaceChildren(errorBox(err, () => load(false)));
      return;
    }
    if (my !== token) return; // a newer search started meanwhile
    const items = page.items || [];
    count += items.length;
    cursor = page.next_cursor || '';
    if (reset) {
      if (items.length === 0) {
        body.replaceChildren(q
          ? h('div', { class: 'empty' }, h('h2', null, 'No matches'), h('p', null, `No agents match “${q}”. Try other words.`))
          : empty());
        status.textContent = q ? 'No matches.' : '';
        return;
      }
      body.replaceChildren(grid);
    }
    const firstNew = grid.children.length;
    for (const a of items) grid.append(agentCard(ctx, a, scope === 'mine'));
    more.hidden = !cursor;
    status.textContent = `${count} agent${count === 1 ? '' : 's'} shown${cursor ? '; more available' : ''}.`;
    if (!reset && grid.children[firstNew]) grid.children[firstNew].querySelector('a').focus();
  }

  let timer = 0;
  search.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(apply, 300);
  });
  searchForm.addEventListener('submit', (e) => {
    e.preventDefault();
    clearTimeout(timer);
    apply();
  });
  function apply() {
    const q = search.value.trim();
    const url = new URL(location.href);
    if (q) url.searchParams.set('q', q);
    else url.searchParams.delete('q');
    history.replaceState(null, '', url.pathname + url.search);
    load(true);
  }
  more.addEventListener('click', () => load(false));

  load(true);
  return h('section', { class: 'page' },
    h('div', { class: 'page-head' },
      h('div', null, h('h1', null, title), h('p', { class: 'lead' }, lead)),
      actions.length ? h('div', { class: 'button-row' }, actions) : null,
    ),
    searchForm,
    status,
    body,
    h('div', { class: 'load-more' }, more, moreError),
  );
}

function agentCard(ctx, a, mine) {
  const meta = [];
  if (mine) {
    meta.push(h('span', { class: `badge badge-${a.visibility}` }, a.visibility));
    meta.push(h('span', { class: 'badge' }, a.latest_version ? `v${a.latest_version}` : 'Draft'));
  } else if (a.latest_version) {
    meta.push(h('span', { class: 'badge' }, `v${a.latest_version}`));
  }
  const tags = (a.tags || []).slice(0, 4);
  // The Chat button sits on the card but outside its link: a button inside
  // a link is neither valid nor usable with a keyboard.
  const chat = ctx.app.user ? chatButton(ctx, a, { small: true, primary: false }) : null;
  if (chat) chat.classList.add('agent-chat');
  return h('li', { class: chat ? 'agent-item has-chat' : 'agent-item' },
    h('a', { href: `/agents/${encodeURIComponent(a.id)}`, class: 'agent-card' },
      avatar(a),
      h('div', { class: 'agent-card-body' },
        h('h2', { class: 'agent-name' }, a.name || 'Untitled'),
        h('p', { class: 'agent-desc' }, truncate(a.description, 140) || h('span', { class: 'muted' }, 'No description.')),
        h('div', { class: 'agent-meta' }, meta,
          tags.map((t) => h('span', { class: 'tag' }, t)),
          (a.tags || []).length > 4 ? h('span', { class: 'muted small' }, `+${a.tags.length - 4}`) : null,
        ),
      ),
    ),
    chat,
  );
}

/** /agents/{id}: the editor for the owner, a read-only page for others. */
export function agentView(ctx) {
  const id = ctx.params[0];
  const root = h('section', { class: 'page' }, loading('Loading the agent…'));
  ctx.app.setTitle('Agent');
  (async function load() {
    root.replaceChildren(loading('Loading the agent…'));
    let agent;
    try {
      agent = await ctx.api.getAgent(id);
    } catch (err) {
      if (err.status === 404) {
        ctx.app.setTitle('Agent not found');
        root.replaceChildren(
          h('h1', { tabindex: '-1' }, 'Agent not found'),
          h('p', null, ctx.app.user
            ? 'No agent with this id exists, or it is private to someone else.'
            : 'No agent with this id exists, or it is private. If it is yours, log in to see it.'),
          h('div', { class: 'button-row' },
            ctx.app.user ? h('a', { href: '/agents', class: 'btn' }, 'My agents') : h('a', { href: `/login?next=${encodeURIComponent(location.pathname)}`, class: 'btn btn-primary' }, 'Log in'),
            h('a', { href: '/explore', class: 'btn' }, 'Explore'),
          ),
        );
        return;
      }
      root.replaceChildren(h('h1', null, 'Could not load the agent'), errorBox(err, load));
      return;
    }
    ctx.app.setTitle(agent.name);
    const mine = ctx.app.user && agent.owner_id === ctx.app.user.id;
    root.replaceChildren(mine ? editorView(ctx, agent) : agentDetail(ctx, agent));
  })();
  return root;
}

function agentDetail(ctx, a) {
  const text = (label, value) => (value ? h('section', { class: 'detail-block' }, h('h2', null, label), h('p', { class: 'prose' }, value)) : null);
  const greetings = a.alternate_greetings || [];
  const entries = (a.character_book && a.character_book.entries) || [];
  return h('div', { class: 'detail' },
    h('div', { class: 'detail-head' },
      avatar(a, 'lg'),
      h('div', null,
        h('h1', null, a.name),
        h('div', { class: 'agent-meta' },
          h('span', { class: 'badge' }, a.latest_version ? `v${a.latest_version}` : 'Draft'),
          (a.tags || []).map((t) => h('span', { class: 'tag' }, t)),
        ),
        a.creator ? h('p', { class: 'muted' }, `By ${a.creator}`) : null,
        h('div', { class: 'button-row' }, chatButton(ctx, a), ctx.app.user ? talkLink(a) : null),
      ),
    ),
    h('div', { class: 'detail-grid' },
      h('div', { class: 'detail-main' },
        text('Description', a.description),
        text('Creator notes', a.creator_notes),
        text('First message', a.first_mes),
        greetings.length
          ? h('section', { class: 'detail-block' }, h('h2', null, `Alternate greetings (${greetings.length})`),
            h('ol', { class: 'greetings' }, greetings.map((g) => h('li', { class: 'prose' }, g))))
          : null,
        text('Personality', a.personality),
        text('Scenario', a.scenario),
        text('Example messages', a.mes_example),
        entries.length ? h('section', { class: 'detail-block' }, h('h2', null, 'Lorebook'), h('p', null, `${entries.length} entr${entries.length === 1 ? 'y' : 'ies'}.`)) : null,
      ),
      h('aside', { class: 'detail-side' },
        exportPanel(ctx, () => a.id),
        versionsPanel(ctx, () => a.id).element,
      ),
    ),
  );
}

/** Card import: a file goes to POST /api/agents/import. */
export function importView(ctx) {
  ctx.app.setTitle('Import a card');
  const input = h('input', { type: 'file', name: 'file', accept: '.json,.png,.charx,application/json,image/png', class: 'file-input' });
  const chosen = h('p', { class: 'file-chosen', 'aria-live': 'polite' }, 'No file chosen.');
  const alert = h('div', { class: 'alert alert-error', role: 'alert', hidden: true });
  const button = h('button', { type: 'submit', class: 'btn btn-primary', disabled: true }, 'Import');
  const drop = h('label', { class: 'dropzone', for: 'import-file' },
    h('span', { class: 'dropzone-title' }, 'Choose a card file'),
    h('span', { class: 'muted' }, 'or drop it here · Character Card V1/V2/V3 JSON, PNG with an embedded card, or CHARX'),
  );
  input.id = 'import-file';

  function showChosen() {
    const f = input.files && input.files[0];
    alert.hidden = true;
    button.disabled = !f;
    chosen.textContent = f ? `Selected: ${f.name} (${formatBytes(f.size)})` : 'No file chosen.';
  }
  input.addEventListener('change', showChosen);
  drop.addEventListener('dragover', (e) => {
    e.preventDefault();
    drop.classList.add('dragging');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('dragging'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('dragging');
    if (e.dataTransfer && e.dataTransfer.files.length) {
      input.files = e.dataTransfer.files;
      showChosen();
    }
  });

  const form = h('form', { class: 'stack' }, alert, input, drop, chosen, h('div', { class: 'button-row' }, button, h('a', { href: '/agents', class: 'btn btn-ghost' }, 'Cancel')));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const f = input.files && input.files[0];
    if (!f) return;
    alert.hidden = true;
    let agent;
    try {
      agent = await busy(button, 'Importing…', () => ctx.api.importCard(f));
    } catch (err) {
      alert.replaceChildren(
        h('strong', null, `Could not import ${f.name}.`),
        h('p', null, errorText(err)),
      );
      alert.hidden = false;
      return;
    }
    toast(`Imported “${agent.name}”. It is a private draft.`, 'success');
    ctx.navigate(`/agents/${encodeURIComponent(agent.id)}`);
  });

  return h('section', { class: 'page narrow' },
    h('h1', null, 'Import a character card'),
    h('p', { class: 'lead' }, 'The card becomes a new private draft that you can edit, publish and export.'),
    h('div', { class: 'card' }, form),
  );
}
