// views/editor.js — create and edit an agent: every card field, the
// platform settings, lorebook entries, avatar, publishing and deletion.
//
// The form is built from the agent JSON the API returned. collect() reads it
// back into the same shape; Save sends only the top-level keys whose value
// changed (a JSON merge patch), so fields the form does not show survive.

import {
  h, uid, field, clearFieldErrors, showFieldError, errorText, busy, toast, confirmDialog,
  confirmDiscard, avatar, timeEl, copyButton,
} from '../ui.js';
import { exportPanel, versionsPanel } from './shared.js';
import { agentKnowledgePanel } from './knowledge.js';
import { chatButton } from './chat.js';
import { talkLink } from './talk.js';
import { voicePicker } from './voice.js';

// The keys of an agent that the form edits.
const EDITABLE = [
  'name', 'description', 'personality', 'scenario', 'first_mes', 'alternate_greetings', 'mes_example',
  'system_prompt', 'post_history_instructions', 'creator_notes', 'tags', 'creator', 'character_version',
  'nickname', 'visibility', 'voice_id', 'llm', 'character_book',
];

const BLANK = {
  name: '', description: '', personality: '', scenario: '', first_mes: '', alternate_greetings: [],
  mes_example: '', system_prompt: '', post_history_instructions: '', creator_notes: '', tags: [],
  creator: '', character_version: '', nickname: '', visibility: 'private', voice_id: '',
  llm: { provider: '', model: '', temperature: null, max_tokens: null }, character_book: null,
};

/** /agents/new: the editor for a new draft. */
export function newAgentView(ctx) {
  ctx.app.setTitle('New agent');
  return h('section', { class: 'page' }, editorView(ctx, null));
}

/** The editor for agent (null for a new one). */
export function editorView(ctx, agent) {
  const state = {
    agent, // the last version the server returned (null while new)
    baseline: baselineOf(agent),
  };
  // Built once: saving re-renders the editor, and the panel keeps its state.
  const knowledge = agent ? agentKnowledgePanel(ctx, agent.id) : null;
  const root = h('div', { class: 'editor' });
  render();
  return root;

  function render() {
    const isNew = !state.agent;
    const a = state.agent || BLANK;
    const form = buildForm(ctx, a);
    const statusText = h('span', { class: 'save-status', role: 'status' });
    const saveBtn = h('button', { type: 'submit', class: 'btn btn-primary', form: form.id, dataset: { action: 'save' } }, isNew ? 'Create draft' : 'Save');
    const publishBtn = h('button', { type: 'button', class: 'btn', disabled: isNew, dataset: { action: 'publish' } }, 'Publish');
    const alertBox = h('div', { class: 'alert alert-error', role: 'alert', hidden: true, tabindex: '-1' });
    const publishResult = h('div', { class: 'publish-result', role: 'status' });

    const sideNote = h('p', { class: 'hint' }, 'Save the draft first to add an avatar, publish or export.');
    const versions = isNew ? null : versionsPanel(ctx, () => state.agent.id);

    function updateStatus() {
      const changed = Object.keys(changes(form)).length > 0;
      statusText.textContent = isNew ? 'Not saved yet' : changed ? 'Unsaved changes' : 'All changes saved';
      statusText.classList.toggle('dirty', changed);
      ctx.app.leaveGuard = changed ? confirmDiscard : null;
    }
    form.addEventListener('input', updateStatus);
    form.addEventListener('change', updateStatus);
    form.addEventListener('editor-change', updateStatus);

    async function save() {
      clearFieldErrors(form);
      alertBox.hidden = true;
      const patch = isNew ? withoutNullBook(form.collect()) : changes(form);
      if (!isNew && Object.keys(patch).length === 0) {
        toast('Nothing to save: no changes.');
        return true;
      }
      if (form.clientError()) return false;
      let saved;
      try {
        saved = await busy(saveBtn, isNew ? 'Creating…' : 'Saving…', () =>
          isNew ? ctx.api.createAgent(patch) : ctx.api.updateAgent(state.agent.id, patch));
      } catch (err) {
        showError(err, isNew ? 'Could not create the agent' : 'Could not save');
        return false;
      }
      if (isNew) {
        ctx.app.leaveGuard = null;
        toast(`Created “${saved.name}”.`, 'success');
        ctx.navigate(`/agents/${encodeURIComponent(saved.id)}`, { replace: true, force: true });
        return true;
      }
      state.agent = saved;
      state.baseline = baselineOf(saved);
      toast('Saved.', 'success');
      rerender();
      return true;
    }

    function showError(err, what) {
      const control = err.field ? showFieldError(form, err.field, err.message) : null;
      const shown = control && document.getElementById(`${control.id}-error`);
      alertBox.replaceChildren(h('strong', null, `${what}. `), shown && shown.textContent ? shown.textContent : errorText(err),
        control ? h('span', null, ' The field is marked below.') : null);
      alertBox.hidden = false;
      if (control) {
        control.scrollIntoView({ block: 'center' });
        control.focus({ preventScroll: true });
      } else {
        alertBox.focus();
      }
    }

    form.addEventListener('submit', (e) => {
      e.preventDefault();
      save();
    });
    form.addEventListener('keydown', (e) => {
      if ((e.ctrlKey || e.metaKey) && e.key === 's') {
        e.preventDefault();
        save();
      }
    });

    publishBtn.addEventListener('click', async () => {
      if (Object.keys(changes(form)).length > 0) {
        const ok = await confirmDialog({
          title: 'Save and publish?',
          message: 'The draft has unsaved changes. They will be saved, then the draft is frozen as a new version.',
          confirm: 'Save and publish',
        });
        if (!ok || !(await save())) return;
        // save() re-rendered the editor; publish from the new one.
        root.querySelector('[data-action="publish"]').click();
        return;
      }
      let v;
      try {
        v = await busy(publishBtn, 'Publishing…', () => ctx.api.publishAgent(state.agent.id));
      } catch (err) {
        showError(err, 'Could not publish');
        return;
      }
      state.agent = { ...state.agent, latest_version: v.number };
      latest.textContent = `Latest version: v${v.number}`;
      publishResult.replaceChildren(
        h('div', { class: 'alert alert-success' },
          h('p', null, h('strong', null, `Published version ${v.number}`), ' · ', timeEl(v.created_at)),
          h('p', { class: 'hash-line' }, 'Content hash ', h('code', { class: 'break' }, v.content_hash), ' ', copyButton(v.content_hash, 'Copy')),
        ),
      );
      versions.reload();
    });

    const latest = h('span', { class: 'muted' }, isNew ? 'Draft' : state.agent.latest_version ? `Latest version: v${state.agent.latest_version}` : 'Never published');

    const head = h('div', { class: 'editor-head' },
      h('div', { class: 'editor-title' },
        h('p', { class: 'crumbs' }, h('a', { href: '/agents' }, 'My agents'), ' / '),
        h('h1', null, isNew ? 'New agent' : a.name || 'Untitled'),
        h('p', { class: 'editor-sub' }, latest, ' · ', statusText),
      ),
      h('div', { class: 'button-row' },
        isNew ? null : chatButton(ctx, state.agent, { primary: false }),
        isNew ? null : talkLink(state.agent),
        publishBtn, saveBtn),
    );

    const side = isNew
      ? h('aside', { class: 'editor-side' }, h('section', { class: 'panel' }, h('h2', null, 'Avatar, publishing, export'), sideNote))
      : h('aside', { class: 'editor-side' },
        avatarPanel(),
        h('section', { class: 'panel', 'aria-labelledby': 'publish-title' },
          h('h2', { id: 'publish-title' }, 'Publish'),
          h('p', { class: 'hint' }, 'Publishing freezes the saved draft as the next immutable version, identified by its content hash.'),
          publishResult,
        ),
        versions.element,
        knowledge,
        exportPanel(ctx, () => state.agent.id, 'Exports use the last saved draft.'),
        dangerPanel(),
      );

    root.replaceChildren(head, alertBox, h('div', { class: 'editor-grid' }, form, side));
    updateStatus();
  }

  // Rebuilds the editor from state.agent, keeping the scroll position and
  // the focused control.
  function rerender() {
    const y = window.scrollY;
    const ds = document.activeElement && document.activeElement.dataset;
    const selector = ds && ds.field ? `[data-field="${CSS.escape(ds.field)}"]`
      : ds && ds.action ? `[data-action="${CSS.escape(ds.action)}"]` : null;
    render();
    window.scrollTo(0, y);
    const again = selector && root.querySelector(selector);
    if (again) again.focus({ preventScroll: true });
  }

  function avatarPanel() {
    const a = state.agent;
    const preview = h('div', { class: 'avatar-preview' }, avatar(a, 'xl'));
    const input = h('input', { type: 'file', accept: 'image/png,image/jpeg,image/webp', id: uid('avatar'), class: 'visually-hidden' });
    const label = h('label', { for: input.id, class: 'btn btn-small' }, a.avatar_url ? 'Replace image' : 'Upload image');
    const status = h('p', { class: 'hint', role: 'status' }, 'PNG, JPEG or WebP. Stored as PNG, at most 1024 px on the longest side.');
    input.addEventListener('change', async () => {
      const f = input.files && input.files[0];
      if (!f) return;
      const local = URL.createObjectURL(f);
      preview.replaceChildren(h('img', { class: 'avatar avatar-xl', src: local, alt: '' }));
      preview.classList.add('uploading');
      status.textContent = `Uploading ${f.name}…`;
      label.classList.add('disabled');
      input.disabled = true;
      try {
        const updated = await ctx.api.uploadAvatar(a.id, f);
        state.agent = { ...state.agent, avatar_url: updated.avatar_url, updated_at: updated.updated_at };
        preview.replaceChildren(avatar(state.agent, 'xl'));
        status.textContent = 'Avatar updated.';
        label.textContent = 'Replace image';
        toast('Avatar updated.', 'success');
      } catch (err) {
        preview.replaceChildren(avatar(state.agent, 'xl'));
        status.textContent = `Upload failed: ${errorText(err)}`;
        toast(`Avatar upload failed: ${errorText(err)}`, 'error');
      } finally {
        URL.revokeObjectURL(local);
        preview.classList.remove('uploading');
        label.classList.remove('disabled');
        input.disabled = false;
        input.value = '';
      }
    });
    return h('section', { class: 'panel', 'aria-labelledby': 'avatar-title' },
      h('h2', { id: 'avatar-title' }, 'Avatar'),
      h('div', { class: 'avatar-row' }, preview, h('div', { class: 'stack-tight' }, input, label, status)),
    );
  }

  function dangerPanel() {
    const btn = h('button', { type: 'button', class: 'btn btn-danger' }, 'Delete agent');
    btn.addEventListener('click', async () => {
      const a = state.agent;
      const n = a.latest_version || 0;
      const ok = await confirmDialog({
        title: `Delete “${a.name}”?`,
        message: `This deletes the draft${n ? `, all ${n} published version${n === 1 ? '' : 's'}` : ''} and the avatar. It cannot be undone.`,
        confirm: 'Delete forever',
        danger: true,
      });
      if (!ok) return;
      try {
        await busy(btn, 'Deleting…', () => ctx.api.deleteAgent(a.id));
      } catch (err) {
        toast(`Could not delete: ${errorText(err)}`, 'error');
        return;
      }
      toast(`Deleted “${a.name}”.`, 'success');
      ctx.navigate('/agents', { force: true });
    });
    return h('section', { class: 'panel panel-danger', 'aria-labelledby': 'danger-title' },
      h('h2', { id: 'danger-title' }, 'Delete'),
      h('p', { class: 'hint' }, 'Removes the agent, its versions and its avatar.'),
      btn,
    );
  }

  /** The top-level keys whose value in the form differs from the baseline. */
  function changes(form) {
    const now = form.collect();
    const out = {};
    for (const k of EDITABLE) {
      if (stable(now[k]) !== stable(state.baseline[k])) out[k] = now[k];
    }
    return out;
  }
}

function withoutNullBook(fields) {
  const out = { ...fields };
  if (out.character_book === null) delete out.character_book;
  if (out.nickname === '') delete out.nickname;
  return out;
}

/** The editable keys of agent, with defaults for keys it omits. */
function baselineOf(agent) {
  const out = {};
  for (const k of EDITABLE) {
    const v = agent ? agent[k] : undefined;
    out[k] = v === undefined ? clone(BLANK[k]) : clone(v);
  }
  return out;
}

function clone(v) {
  return v === undefined ? undefined : JSON.parse(JSON.stringify(v));
}

/** JSON with object keys sorted, for comparing values. */
function stable(v) {
  return JSON.stringify(v, (_, val) => (val && typeof val === 'object' && !Array.isArray(val)
    ? Object.fromEntries(Object.keys(val).sort().map((k) => [k, val[k]]))
    : val));
}

/** Splits "a, b ,c" into ["a","b","c"], dropping empties and repeats. */
function splitList(s) {
  const seen = new Set();
  const out = [];
  for (const part of s.split(',')) {
    const t = part.trim();
    if (t && !seen.has(t)) {
      seen.add(t);
      out.push(t);
    }
  }
  return out;
}

/**
 * A text input for a list edited as comma-separated text. While the text is
 * unchanged, read() returns the original list untouched (so entries holding
 * commas survive a save).
 */
function listInput(list, attrs) {
  const original = list || [];
  const text = original.join(', ');
  const input = h('input', { type: 'text', value: text, autocomplete: 'off', ...attrs });
  input.read = () => (input.value === text ? clone(original) : splitList(input.value));
  return input;
}

function textarea(value, rows, attrs = {}) {
  return keep(h('textarea', { rows: String(rows), value: value || '', ...attrs }), value || '');
}

function textInput(value, attrs = {}) {
  return keep(h('input', { type: 'text', value: value || '', ...attrs }), value || '');
}

/**
 * Gives a text control read(): the original string while the control is
 * untouched (a textarea turns CR LF into LF, an input drops line breaks), the
 * control's value once the user edits it.
 */
function keep(control, original) {
  const initial = control.value;
  control.read = () => (control.value === initial ? original : control.value);
  return control;
}

function buildForm(ctx, a) {
  const form = h('form', { class: 'editor-form', id: uid('editor'), novalidate: true });
  const c = {}; // controls by key

  c.name = textInput(a.name, { required: true, maxlength: '200', autocomplete: 'off' });
  c.description = textarea(a.description, 4);
  c.tags = listInput(a.tags, { placeholder: 'fantasy, mentor, sci-fi' });
  c.creator_notes = textarea(a.creator_notes, 3);
  c.personality = textarea(a.personality, 3);
  c.scenario = textarea(a.scenario, 3);
  c.first_mes = textarea(a.first_mes, 4);
  c.mes_example = textarea(a.mes_example, 5, { class: 'mono' });
  c.system_prompt = textarea(a.system_prompt, 4, { class: 'mono' });
  c.post_history_instructions = textarea(a.post_history_instructions, 3, { class: 'mono' });
  c.creator = textInput(a.creator);
  c.character_version = textInput(a.character_version);
  c.nickname = textInput(a.nickname);

  const llm = a.llm || {};
  c.provider = h('select', { value: llm.provider || '' },
    h('option', { value: '' }, 'Platform default'),
    h('option', { value: 'openai' }, 'OpenAI-compatible'),
    h('option', { value: 'anthropic' }, 'Anthropic'),
    h('option', { value: 'ollama' }, 'Ollama'),
  );
  c.model = textInput(llm.model, { placeholder: 'Platform default', autocomplete: 'off' });
  c.temperature = h('input', { type: 'number', min: '0', max: '2', step: '0.05', inputmode: 'decimal', value: llm.temperature ?? '', placeholder: 'Default' });
  c.max_tokens = h('input', { type: 'number', min: '1', max: '1000000', step: '1', inputmode: 'numeric', value: llm.max_tokens ?? '', placeholder: 'Default' });

  const visName = uid('vis');
  const visibility = [
    ['private', 'Private', 'Only you can see and use it.'],
    ['unlisted', 'Unlisted', 'Anyone with the link can see it; not listed in Explore.'],
    ['public', 'Public', 'Listed in Explore for everyone.'],
  ].map(([value, label, hint]) => {
    const input = h('input', { type: 'radio', name: visName, value, id: uid('vis'), checked: (a.visibility || 'private') === value });
    return h('div', { class: 'choice' }, input, h('label', { for: input.id }, h('strong', null, label), h('span', { class: 'muted' }, hint)));
  });
  const visGroup = h('fieldset', { class: 'choices', 'data-field': 'visibility', id: uid('visgroup'), tabindex: '-1' },
    h('legend', null, 'Visibility'), visibility, h('p', { class: 'field-error', hidden: true }));
  // The fieldset shows the API's visibility error in its own slot.
  visGroup.lastChild.id = `${visGroup.id}-error`;

  const voice = voicePicker(ctx, a.voice_id || '');
  const greetings = greetingsEditor(a.alternate_greetings || [], form);
  const lore = loreEditor(a.character_book, form);

  form.append(
    section('Profile', 'How the agent is presented.',
      field('Name', c.name, { field: 'name', hint: 'Required; up to 200 characters.' }),
      field('Description', c.description, { field: 'description', hint: 'Who the character is. Sent to the model and shown in listings.' }),
      field('Tags', c.tags, { field: 'tags', hint: 'Separate tags with commas.' }),
      field('Creator notes', c.creator_notes, { field: 'creator_notes', hint: 'For people using the card; not sent to the model.' }),
    ),
    section('Character', 'What the model knows about the character and how it opens the conversation.',
      field('Personality', c.personality, { field: 'personality' }),
      field('Scenario', c.scenario, { field: 'scenario' }),
      field('First message', c.first_mes, { field: 'first_mes', hint: 'The greeting that starts every conversation.' }),
      greetings.element,
      field('Example messages', c.mes_example, { field: 'mes_example', hint: 'Sample dialogue, usually blocks starting with <START>, using {{char}} and {{user}}.' }),
    ),
    section('Prompting', 'Instructions that override the platform’s defaults.',
      field('System prompt', c.system_prompt, { field: 'system_prompt', hint: 'Replaces the default system prompt when set. {{original}} inserts the default.' }),
      field('Post-history instructions', c.post_history_instructions, { field: 'post_history_instructions', hint: 'Sent after the chat history (a “jailbreak” in some apps).' }),
    ),
    section('Settings', 'Who can see the agent and which model it talks with.',
      visGroup,
      h('div', { class: 'field-grid two' },
        field('LLM provider', c.provider, { field: 'llm.provider' }),
        field('Model', c.model, { field: 'llm.model' }),
        field('Temperature', c.temperature, { field: 'llm.temperature', hint: '0 to 2; empty for the default.' }),
        field('Max tokens', c.max_tokens, { field: 'llm.max_tokens', hint: 'Longest reply; empty for the default.' }),
      ),
    ),
    section('Voice', 'How the agent sounds when its replies are read aloud: Listen in chats, and /v1/audio/speech with the agent as the model.',
      voice.element,
    ),
    lore.element,
    h('details', { class: 'section more-fields' },
      h('summary', null, h('span', { class: 'section-title' }, 'More card fields'), h('span', { class: 'muted' }, ' creator, character version, nickname')),
      h('div', { class: 'field-grid' },
        field('Creator', c.creator, { field: 'creator', optional: true }),
        field('Character version', c.character_version, { field: 'character_version', optional: true }),
        field('Nickname', c.nickname, { field: 'nickname', optional: true, hint: 'Used instead of the name in prompts (V3).' }),
      ),
    ),
  );

  function num(input, parse) {
    if (input.value.trim() === '') return null;
    const n = parse(input.value);
    return Number.isFinite(n) ? n : input.value; // the API explains a bad value
  }

  form.collect = () => ({
    name: c.name.read(),
    description: c.description.read(),
    personality: c.personality.read(),
    scenario: c.scenario.read(),
    first_mes: c.first_mes.read(),
    alternate_greetings: greetings.read(),
    mes_example: c.mes_example.read(),
    system_prompt: c.system_prompt.read(),
    post_history_instructions: c.post_history_instructions.read(),
    creator_notes: c.creator_notes.read(),
    tags: c.tags.read(),
    creator: c.creator.read(),
    character_version: c.character_version.read(),
    nickname: c.nickname.read(),
    visibility: (form.querySelector(`input[name="${visName}"]:checked`) || {}).value || 'private',
    voice_id: voice.read(),
    llm: {
      provider: c.provider.value,
      model: c.model.read(),
      temperature: num(c.temperature, Number.parseFloat),
      max_tokens: num(c.max_tokens, (s) => (/^\d+$/.test(s.trim()) ? Number.parseInt(s, 10) : Number.NaN)),
    },
    character_book: lore.read(),
  });

  /** Shows errors the browser can tell before asking the API; true if any. */
  form.clientError = () => {
    const problems = [];
    if (!c.name.value.trim()) problems.push(['name', 'name is required']);
    if (c.temperature.validity.badInput) problems.push(['llm.temperature', 'llm.temperature must be a number']);
    if (c.max_tokens.validity.badInput) problems.push(['llm.max_tokens', 'llm.max_tokens must be a whole number']);
    for (const [f, msg] of problems) showFieldError(form, f, msg);
    if (problems.length) {
      const first = form.querySelector('[aria-invalid="true"]');
      if (first) {
        first.scrollIntoView({ block: 'center' });
        first.focus({ preventScroll: true });
      }
    }
    return problems.length > 0;
  };
  return form;
}

function section(title, lead, ...children) {
  const id = uid('sec');
  return h('section', { class: 'section', 'aria-labelledby': id },
    h('h2', { class: 'section-title', id }, title),
    lead ? h('p', { class: 'section-lead' }, lead) : null,
    children,
  );
}

/** The alternate greetings: a list of text areas with add and remove. */
function greetingsEditor(list, form) {
  const items = h('ol', { class: 'repeat-list' });
  const addBtn = h('button', { type: 'button', class: 'btn btn-small' }, '+ Add greeting');
  const empty = h('p', { class: 'muted small' }, 'None. Alternate greetings let users pick another opening.');
  const element = h('fieldset', { class: 'repeat', 'data-field': 'alternate_greetings', id: uid('greet'), tabindex: '-1' },
    h('legend', null, 'Alternate greetings'),
    empty, items, addBtn,
    h('p', { class: 'field-error', hidden: true }),
  );
  element.lastChild.id = `${element.id}-error`;

  function renumber() {
    [...items.children].forEach((li, i) => {
      li.querySelector('label').textContent = `Greeting ${i + 1}`;
      li.querySelector('textarea').dataset.field = `alternate_greetings[${i}]`;
      li.querySelector('.remove').setAttribute('aria-label', `Remove greeting ${i + 1}`);
    });
    empty.hidden = items.children.length > 0;
  }
  function add(text, focus) {
    const ta = textarea(text, 3, { id: uid('g') });
    const remove = h('button', { type: 'button', class: 'btn btn-small btn-ghost remove' }, 'Remove');
    const li = h('li', { class: 'repeat-item' },
      h('div', { class: 'field' },
        h('div', { class: 'repeat-item-head' }, h('label', { for: ta.id }), remove),
        ta,
        h('p', { class: 'field-error', id: `${ta.id}-error`, hidden: true }),
      ),
    );
    remove.addEventListener('click', () => {
      const next = li.nextElementSibling || li.previousElementSibling;
      li.remove();
      renumber();
      form.dispatchEvent(new Event('editor-change'));
      (next ? next.querySelector('textarea') : addBtn).focus();
    });
    items.append(li);
    renumber();
    if (focus) ta.focus();
  }
  for (const g of list) add(g, false);
  renumber();
  addBtn.addEventListener('click', () => {
    add('', true);
    form.dispatchEvent(new Event('editor-change'));
  });
  return {
    element,
    read: () => [...items.querySelectorAll('textarea')].map((t) => t.read()),
  };
}

/**
 * The lorebook: a repeating form of entries. Each entry keeps the JSON it was
 * built from, so fields the form does not show (extensions, ids, regex
 * flags…) are sent back unchanged.
 */
function loreEditor(book, form) {
  const items = h('div', { class: 'lore-list' });
  const addBtn = h('button', { type: 'button', class: 'btn btn-small' }, '+ Add entry');
  const count = h('span', { class: 'muted' });
  const empty = h('p', { class: 'muted small' }, 'No entries. Lorebook entries add facts to the prompt when their keywords come up in the chat.');
  const rows = [];

  function renumber() {
    rows.forEach((r, i) => r.setIndex(i));
    count.textContent = rows.length ? ` (${rows.length})` : '';
    empty.hidden = rows.length > 0;
  }
  function add(entry, open) {
    const row = entryRow(entry, open, () => {
      const i = rows.indexOf(row);
      rows.splice(i, 1);
      row.element.remove();
      renumber();
      form.dispatchEvent(new Event('editor-change'));
      const next = rows[i] || rows[i - 1];
      (next ? next.element.querySelector('summary') : addBtn).focus();
    });
    rows.push(row);
    items.append(row.element);
    renumber();
    return row;
  }
  for (const e of (book && book.entries) || []) add(e, false);
  renumber();
  addBtn.addEventListener('click', () => {
    const row = add(null, true);
    row.element.querySelector('input').focus();
    form.dispatchEvent(new Event('editor-change'));
  });

  const id = uid('sec');
  const element = h('section', { class: 'section', 'aria-labelledby': id },
    h('h2', { class: 'section-title', id }, 'Lorebook', count),
    h('p', { class: 'section-lead' }, 'Entries are inserted into the prompt when one of their keys appears in recent messages.'),
    empty, items, addBtn,
  );
  return {
    element,
    read() {
      if (!book && rows.length === 0) return null;
      const out = book ? clone(book) : { extensions: {}, entries: [] };
      out.entries = rows.map((r) => r.read());
      return out;
    },
  };
}

function entryRow(entry, open, onRemove) {
  const orig = entry ? clone(entry) : null;
  const e = entry || { keys: [], content: '', enabled: true, insertion_order: 100, secondary_keys: [] };
  const keys = listInput(e.keys, { placeholder: 'dragon, wyrm' });
  const content = textarea(e.content, 4);
  const enabled = h('input', { type: 'checkbox', checked: e.enabled !== false });
  const constant = h('input', { type: 'checkbox', checked: e.constant === true });
  const selective = h('input', { type: 'checkbox', checked: e.selective === true });
  const secondary = listInput(e.secondary_keys, { placeholder: 'cave, treasure' });
  const order = h('input', { type: 'number', step: '1', value: String(e.insertion_order ?? 0), inputmode: 'numeric' });
  const position = h('select', { value: e.position || '' },
    h('option', { value: '' }, 'Default'),
    h('option', { value: 'before_char' }, 'Before the character'),
    h('option', { value: 'after_char' }, 'After the character'),
  );
  const name = textInput(e.name, { autocomplete: 'off' });
  const remove = h('button', { type: 'button', class: 'btn btn-small btn-ghost remove' }, 'Remove entry');
  remove.addEventListener('click', onRemove);

  const secondaryField = field('Secondary keys', secondary, { hint: 'With “selective”, one of these must also appear. Separate with commas.' });
  const syncSelective = () => { secondaryField.hidden = !selective.checked; };
  selective.addEventListener('change', syncSelective);
  syncSelective();

  const summaryTitle = h('span', { class: 'entry-title' });
  const summaryMeta = h('span', { class: 'entry-meta muted' });
  const summary = h('summary', null, summaryTitle, summaryMeta);
  const check = (input, label, hint) => {
    input.id = uid('chk');
    return h('div', { class: 'check' }, input, h('label', { for: input.id }, label, hint ? h('span', { class: 'muted' }, ` ${hint}`) : null));
  };
  const body = h('div', { class: 'entry-body' },
    h('div', { class: 'field-grid' },
      field('Keys', keys, { hint: 'Words that trigger the entry; separate with commas.' }),
      field('Name', name, { optional: true }),
    ),
    field('Content', content, { hint: 'The text added to the prompt.' }),
    h('div', { class: 'checks' },
      check(enabled, 'Enabled'),
      check(constant, 'Constant', '(always inserted)'),
      check(selective, 'Selective', '(needs a secondary key too)'),
    ),
    secondaryField,
    h('div', { class: 'field-grid' },
      field('Insertion order', order, { hint: 'Lower numbers are inserted first.' }),
      field('Position', position),
    ),
    h('div', { class: 'entry-actions' }, remove),
  );
  const element = h('details', { class: 'entry', open }, summary, body);

  function updateSummary() {
    const k = splitList(keys.value);
    summaryTitle.textContent = name.value.trim() || (k.length ? k.join(', ') : 'New entry');
    summaryMeta.textContent = [
      enabled.checked ? '' : 'disabled',
      constant.checked ? 'constant' : '',
    ].filter(Boolean).join(' · ');
  }
  element.addEventListener('input', updateSummary);
  element.addEventListener('change', updateSummary);
  updateSummary();

  let prefix = '';
  return {
    element,
    setIndex(i) {
      prefix = `character_book.entries[${i}]`;
      summary.setAttribute('aria-label', `Entry ${i + 1}: ${summaryTitle.textContent}`);
      keys.dataset.field = `${prefix}.keys`;
      content.dataset.field = `${prefix}.content`;
      secondary.dataset.field = `${prefix}.secondary_keys`;
      order.dataset.field = `${prefix}.insertion_order`;
      position.dataset.field = `${prefix}.position`;
      name.dataset.field = `${prefix}.name`;
      enabled.dataset.field = `${prefix}.enabled`;
      summaryTitle.dataset.index = String(i + 1);
      remove.setAttribute('aria-label', `Remove entry ${i + 1}`);
    },
    read() {
      const out = orig ? clone(orig) : { keys: [], content: '', extensions: {}, enabled: true, insertion_order: 0, use_regex: false, secondary_keys: [] };
      out.keys = keys.read();
      out.content = content.read();
      out.enabled = enabled.checked;
      // Optional flags stay absent unless the user sets them: readers treat
      // "absent" and "false" differently.
      if (constant.checked || (orig && 'constant' in orig)) out.constant = constant.checked;
      if (selective.checked || (orig && 'selective' in orig)) out.selective = selective.checked;
      out.secondary_keys = secondary.read();
      const n = Number.parseInt(order.value, 10);
      out.insertion_order = Number.isFinite(n) ? n : 0;
      if (position.value) out.position = position.value;
      else delete out.position;
      if (name.value.trim()) out.name = name.read();
      else delete out.name; // the API drops an empty name
      return out;
    },
  };
}
