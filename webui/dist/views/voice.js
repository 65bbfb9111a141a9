// views/voice.js — the voices in the web app: the catalog, the voice picker
// of the agent editor, the Listen button of a chat reply, and the one player
// they share, so that a single voice speaks at a time.
//
// Audio comes from GET /api/voices/{id}/preview, which speaks at most 300
// characters: a reply is read from its start up to the last sentence that
// fits. The WAV is fetched as a blob (so a refusal shows the API's message)
// and played by one hidden <audio> element.

import { h, uid, errorText, errorBox, loading, toast } from '../ui.js';

/** The longest text, in characters, that the preview endpoint speaks. */
export const MAX_SPEAK_CHARS = 300;

// ---- Catalog ----

// The catalog does not change while the server runs: it is read once per
// page load ({promise, items}); a failed read is tried again next time.
let catalog = null;

/** The voice catalog; resolves to the list of voices. */
export function loadVoices(api) {
  if (!catalog) {
    const entry = { items: null };
    entry.promise = api.listVoices().then((items) => {
      entry.items = items;
      return items;
    }, (err) => {
      if (catalog === entry) catalog = null;
      throw err;
    });
    catalog = entry;
  }
  return catalog.promise;
}

/** The catalog when it has already been read, else null. */
function loadedVoices() {
  return catalog && catalog.items;
}

/** "Male · British English" for a voice. */
export function voiceTraits(voice) {
  const gender = voice.gender ? voice.gender[0].toUpperCase() + voice.gender.slice(1) : '';
  return [gender, languageName(voice.language)].filter(Boolean).join(' · ');
}

function languageName(code) {
  if (!code) return '';
  try {
    return new Intl.DisplayNames(undefined, { type: 'language' }).of(code.replace('_', '-')) || code;
  } catch {
    return code; // not a tag Intl knows
  }
}

// ---- Player ----

const player = {
  audio: null, // the <audio> element, made on first use
  key: '', // what is playing or loading
  button: null, // the button showing it
  state: 'idle', // loading | playing
  controller: null, // aborts the load
  url: '', // the blob URL the audio element plays
};

function audioElement() {
  if (player.audio) return player.audio;
  const audio = h('audio', { id: 'voice-player', preload: 'auto', hidden: true });
  audio.addEventListener('playing', () => {
    if (player.key) show('playing');
  });
  audio.addEventListener('ended', () => stopVoice());
  audio.addEventListener('error', () => {
    // An error of a source already dropped is not news.
    if (!player.key || !player.url || audio.getAttribute('src') !== player.url) return;
    stopVoice();
    toast('The browser could not play the audio.', 'error');
  });
  document.body.append(audio);
  player.audio = audio;
  return audio;
}

/** Stops whatever voice is playing or loading. */
export function stopVoice() {
  if (player.controller) player.controller.abort();
  const { button } = player;
  player.key = '';
  player.button = null;
  player.state = 'idle';
  player.controller = null;
  if (player.audio) {
    player.audio.pause();
    // Removing src and loading empties the element without an error event.
    player.audio.removeAttribute('src');
    player.audio.load();
  }
  if (player.url) URL.revokeObjectURL(player.url);
  player.url = '';
  if (button) paint(button, 'idle');
}

function show(state) {
  player.state = state;
  if (player.button) paint(player.button, state);
}

/** Shows state on a play button: its icon, aria-pressed and aria-busy. */
function paint(button, state) {
  button.dataset.state = state;
  button.setAttribute('aria-pressed', String(state !== 'idle'));
  if (state === 'loading') button.setAttribute('aria-busy', 'true');
  else button.removeAttribute('aria-busy');
  const icon = button.querySelector('.play-icon');
  if (icon) {
    icon.replaceChildren(state === 'loading' ? h('span', { class: 'spinner spinner-small' })
      : state === 'playing' ? '■' : button.dataset.icon);
  }
}

/**
 * Plays (or, when it is the one playing, stops) the audio of key, which
 * load(signal) fetches as a blob; button shows the state.
 */
async function toggle(key, button, load, what) {
  if (player.key === key) {
    stopVoice();
    return;
  }
  stopVoice();
  const controller = new AbortController();
  Object.assign(player, { key, button, controller });
  show('loading');
  const current = () => player.controller === controller;
  let blob;
  try {
    blob = await load(controller.signal);
  } catch (err) {
    if (!current()) return; // stopped, or another voice asked for, meanwhile
    stopVoice();
    if (err.name !== 'AbortError') toast(`Could not play ${what}: ${errorText(err)}`, 'error');
    return;
  }
  if (!current()) return;
  const audio = audioElement();
  player.url = URL.createObjectURL(blob);
  audio.src = player.url;
  try {
    await audio.play();
  } catch (err) {
    if (!current() || err.name === 'AbortError') return;
    stopVoice();
    toast(`Could not play ${what}: ${errorText(err)}`, 'error');
  }
}

/**
 * A toggle button that plays audio: label after an icon, with hidden words
 * completing its name for screen readers. key names the audio: a button
 * made again for the same key (a re-rendered message) takes over the
 * state of the one it replaces.
 */
function playButton({ key, icon, label, hidden, title, className, load, what, dataset }) {
  const btn = h('button', {
    type: 'button', class: className, title, 'aria-pressed': 'false', dataset: { ...dataset, icon, state: 'idle' },
  },
  h('span', { class: 'play-icon', 'aria-hidden': 'true' }, icon),
  h('span', null, label),
  hidden ? h('span', { class: 'visually-hidden' }, ` ${hidden}`) : null);
  btn.addEventListener('click', () => toggle(key, btn, load, what));
  if (player.key === key) {
    player.button = btn;
    paint(btn, player.state);
  }
  return btn;
}

// ---- Editor: the voice picker ----

/**
 * The voice picker of the agent editor: "No voice" and one card per voice
 * of the catalog, each with a Preview button. current is the agent's
 * voice_id; read() gives the chosen one (current until the catalog is
 * shown). Changes dispatch change events that bubble to the form.
 */
export function voicePicker(ctx, current) {
  const name = uid('voice');
  const body = h('div', { class: 'voice-picker-body' });
  const error = h('p', { class: 'field-error', hidden: true });
  const element = h('fieldset', { class: 'voice-picker', 'data-field': 'voice_id', id: uid('voicegroup'), tabindex: '-1' },
    h('legend', { class: 'visually-hidden' }, 'Voice'),
    body,
    error,
  );
  // The fieldset shows the API's voice_id error in its own slot.
  error.id = `${element.id}-error`;
  ctx.onLeave(stopVoice);

  function choice(value, title, detail, preview) {
    const input = h('input', { type: 'radio', name, value, id: uid('voice'), checked: value === current });
    return h('div', { class: preview ? 'choice voice-choice has-preview' : 'choice voice-choice' },
      input,
      h('label', { for: input.id }, h('strong', null, title), h('span', { class: 'muted' }, detail)),
      preview,
    );
  }

  function showCatalog(voices) {
    const cards = [choice('', 'No voice', 'Replies are not read aloud.', null)];
    for (const v of voices) {
      cards.push(choice(v.id, v.name, voiceTraits(v), playButton({
        key: `preview:${v.id}`,
        icon: '▶',
        label: 'Preview',
        hidden: v.name,
        title: `Hear ${v.name} introduce itself`,
        className: 'btn btn-small voice-preview',
        dataset: { voice: v.id, action: `preview-${v.id}` },
        load: (signal) => ctx.api.voicePreview(v.id, '', { signal }),
        what: `the preview of ${v.name}`,
      })));
    }
    if (current && !voices.some((v) => v.id === current)) {
      // Keep a voice this server lacks (an imported card, another server's
      // voice) until the user picks another.
      cards.push(choice(current, current, 'Not installed on this server, so replies are not read aloud here.', null));
    }
    const note = voices.length === 0
      ? h('div', { class: 'alert alert-warning voice-none', role: 'status' },
        h('p', null, h('strong', null, 'No voices are installed on this server, '), 'so agents cannot be read aloud yet.'),
        h('p', null, 'To install the built-in voices (Jenny and Alan), run ', h('code', null, 'make setup'),
          ' on the server, then restart Timbre.'))
      : null;
    // With no voice to choose, a lone "No voice" is no choice at all.
    const list = voices.length || current ? h('div', { class: 'choices voice-choices' }, cards) : null;
    body.replaceChildren(...[note, list].filter(Boolean));
  }

  function load() {
    const known = loadedVoices();
    if (known) {
      showCatalog(known);
      return;
    }
    body.replaceChildren(loading('Loading the voices…'));
    loadVoices(ctx.api).then(showCatalog, (err) => {
      body.replaceChildren(errorBox(err, load));
    });
  }
  load();

  return {
    element,
    read() {
      const checked = element.querySelector(`input[name="${name}"]:checked`);
      return checked ? checked.value : current;
    },
  };
}

// ---- Chat: Listen ----

/**
 * The text of a reply as it should be read: no code blocks, no quote
 * marks, no Markdown emphasis marks and no [n] source markers.
 */
export function speakableText(content) {
  const kept = [];
  let fenced = false;
  for (const line of String(content || '').replace(/\r\n?/g, '\n').split('\n')) {
    if (/^\s*```/.test(line)) {
      fenced = !fenced;
      continue;
    }
    if (!fenced) kept.push(line.replace(/^\s*>\s?/, ''));
  }
  return kept.join('\n')
    .replace(/\[\d{1,3}\]/g, '')
    .replace(/[*`]+/g, '')
    .replace(/\s+/g, ' ')
    .replace(/\s+([.,;:!?…])/g, '$1')
    .trim();
}

/**
 * text cut to at most max characters (code points, as the server counts)
 * after its last whole sentence that fits; a first sentence longer than
 * that is cut after a word. Returns {text, cut}.
 */
export function upToSentence(text, max = MAX_SPEAK_CHARS) {
  const chars = (s) => [...s].length;
  if (chars(text) <= max) return { text, cut: false };
  let out = '';
  for (const s of sentences(text)) {
    if (chars((out + s).trimEnd()) > max) break;
    out += s;
  }
  out = out.trim();
  if (!out) {
    const head = [...text].slice(0, max + 1).join('');
    const space = head.lastIndexOf(' ');
    out = (space > 0 ? head.slice(0, space) : [...head].slice(0, max).join('')).replace(/[\s,;:–—-]+$/, '');
  }
  return { text: out, cut: true };
}

function sentences(text) {
  if (typeof Intl.Segmenter === 'function') {
    return [...new Intl.Segmenter(undefined, { granularity: 'sentence' }).segment(text)].map((s) => s.segment);
  }
  return text.match(/[^.!?…]+(?:[.!?…]+["'”’)\]]*\s*|$)/g) || [text];
}

/**
 * The Listen button of a chat reply: it reads the reply's text (up to 300
 * characters, ending at a sentence) in voice; null when the reply has
 * nothing to read. key names the reply's text (its id and alternative).
 */
export function listenButton(ctx, { voice, key, content }) {
  const plain = speakableText(content);
  if (!plain) return null;
  const { text, cut } = upToSentence(plain);
  const title = cut
    ? `Read aloud in ${voice.name}’s voice. This reply is long: only its first ${[...text].length} characters are read (long replies are read up to ${MAX_SPEAK_CHARS} characters).`
    : `Read aloud in ${voice.name}’s voice. Long replies are read up to ${MAX_SPEAK_CHARS} characters.`;
  return playButton({
    key: `listen:${key}`,
    icon: '🔊',
    label: 'Listen',
    hidden: 'to this reply',
    title,
    className: 'msg-listen',
    dataset: { voice: voice.id },
    load: (signal) => ctx.api.voicePreview(voice.id, text, { signal }),
    what: 'the reply',
  });
}
