// views/voice.js — the voices in the web app: the catalog, the voice picker
// of the agent editor, the Listen button of a chat reply, the play buttons
// of the Voices page, and the one player they share, so that a single voice
// speaks at a time; and the microphone level meter of the Voices and Talk
// pages.
//
// A chat reply is read whole by GET /api/conversations/{id}/messages/{mid}/speech,
// a WAV that streams as each sentence is synthesised: it is played through
// Web Audio as it arrives, so the first sentence sounds while the rest is
// being made. Previews (GET /api/voices/{id}/preview, at most 300
// characters) and a cloned voice's recording are short WAVs fetched as a
// blob and played by one hidden <audio> element. Either way a refusal
// shows the API's message.

import { h, uid, errorText, errorBox, loading, toast } from '../ui.js';

/** The longest text, in characters, that the preview endpoint speaks. */
export const MAX_SPEAK_CHARS = 300;

// ---- Catalog ----

// The catalog (built-in voices and the signed-in user's cloned ones) is read
// once ({promise, items}) and kept until forgetVoices: a clone, a deletion
// or another user signing in changes it. A failed read is tried again next
// time.
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

/**
 * Forgets the catalog read so far, so the next loadVoices reads it again:
 * after a voice is cloned or deleted, or when the signed-in user changes.
 */
export function forgetVoices() {
  catalog = null;
}

/** Whether a voice is one of the user's cloned voices rather than a built-in one. */
export function isCloned(voice) {
  return voice.kind === 'cloned';
}

/** "Male · British English" for a voice. */
export function voiceTraits(voice) {
  const gender = voice.gender ? voice.gender[0].toUpperCase() + voice.gender.slice(1) : '';
  return [gender, languageName(voice.language)].filter(Boolean).join(' · ');
}

/** The name of a language tag ("en_GB" → "British English") in the reader's language. */
export function languageName(code) {
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
  context: null, // the AudioContext of streamed audio, made on first use
  stream: null, // the streamed audio playing: {stop()}
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
  if (player.stream) player.stream.stop();
  player.stream = null;
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
 * Plays (or, when it is the one playing, stops) the audio of key; button
 * shows the state. play(signal, current) fetches and starts the audio (see
 * blobAudio and streamedAudio); current() turns false once the audio was
 * stopped or another asked for.
 */
async function toggle(key, button, play, what) {
  if (player.key === key) {
    stopVoice();
    return;
  }
  stopVoice();
  const controller = new AbortController();
  Object.assign(player, { key, button, controller });
  show('loading');
  const current = () => player.controller === controller;
  try {
    await play(controller.signal, current);
  } catch (err) {
    if (!current()) return; // stopped, or another voice asked for, meanwhile
    stopVoice();
    if (err.name !== 'AbortError') toast(`Could not play ${what}: ${errorText(err)}`, 'error');
  }
}

/** Plays a short WAV that load(signal) fetches as a Blob, in the <audio> element. */
function blobAudio(load) {
  return async (signal, current) => {
    const blob = await load(signal);
    if (!current()) return;
    const audio = audioElement();
    player.url = URL.createObjectURL(blob);
    audio.src = player.url;
    await audio.play();
  };
}

/**
 * Plays a WAV that open(signal) answers as a streaming Response: through
 * Web Audio as it arrives, or, in a browser without it, as a blob once
 * whole.
 */
function streamedAudio(open) {
  const AudioContextClass = window.AudioContext || window.webkitAudioContext;
  if (!AudioContextClass || typeof ReadableStream !== 'function') {
    return blobAudio(async (signal) => (await open(signal)).blob());
  }
  return async (signal, current) => {
    // Made (or resumed) before the first await, inside the click: browsers
    // let only a user's gesture start audio.
    if (!player.context || player.context.state === 'closed') player.context = newAudioContext(AudioContextClass);
    player.context.resume().catch(() => {});
    const res = await open(signal);
    if (!current()) return;
    await playWAVStream(player.context, res.body, signal, current);
  };
}

// The speech endpoints answer at 24 kHz; a context at that rate plays the
// pieces of a stream back to back without resampling each one (resampled
// pieces can click where they meet).
function newAudioContext(AudioContextClass) {
  try {
    return new AudioContextClass({ sampleRate: 24000, latencyHint: 'playback' });
  } catch {
    return new AudioContextClass(); // a browser that refuses the rate
  }
}

// How much audio is gathered before it is scheduled, in seconds: fewer,
// longer pieces; and how far ahead of now the first piece starts.
const STREAM_PIECE_SECONDS = 0.25;
const STREAM_LEAD_SECONDS = 0.05;

/**
 * Plays a 16-bit PCM WAV from body through context as it arrives, piece
 * after piece; resolves once all of it has played (the player is then
 * stopped), rejects when the stream fails. player.stream stops it early.
 */
async function playWAVStream(context, body, signal, current) {
  const out = context.createGain();
  out.connect(context.destination);
  const sources = new Set();
  let ended = false;
  let finished;
  const done = new Promise((resolve) => {
    finished = resolve;
  });
  player.stream = {
    stop() {
      ended = true;
      for (const src of sources) {
        src.onended = null;
        try {
          src.stop();
        } catch {
          // not started yet: disconnecting silences it
        }
      }
      sources.clear();
      out.disconnect();
      finished();
    },
  };
  const wav = wavReader();
  let pending = new Uint8Array(0); // data bytes not yet scheduled
  let at = 0; // when the next piece starts, in context time
  let readEnded = false;

  function schedule(bytes) {
    const { channels, sampleRate } = wav.format;
    const frames = Math.floor(bytes.length / (2 * channels));
    if (frames === 0) return;
    const buffer = context.createBuffer(channels, frames, sampleRate);
    const view = new DataView(bytes.buffer, bytes.byteOffset, frames * 2 * channels);
    for (let c = 0; c < channels; c++) {
      const data = buffer.getChannelData(c);
      for (let i = 0; i < frames; i++) data[i] = view.getInt16((i * channels + c) * 2, true) / 32768;
    }
    const src = context.createBufferSource();
    src.buffer = buffer;
    src.connect(out);
    // A piece that arrives late (synthesis slower than speech) starts now.
    at = Math.max(at, context.currentTime + STREAM_LEAD_SECONDS);
    src.start(at);
    at += buffer.duration;
    sources.add(src);
    src.onended = () => {
      sources.delete(src);
      if (readEnded && sources.size === 0 && current()) {
        finished();
        stopVoice();
      }
    };
    if (player.state === 'loading') show('playing');
  }

  const reader = body.getReader();
  signal.addEventListener('abort', () => reader.cancel().catch(() => {}), { once: true });
  for (;;) {
    let chunk;
    try {
      chunk = await reader.read();
    } catch (err) {
      if (err.name === 'AbortError' || ended) throw err;
      throw new Error('The connection to the server was lost while the audio was loading.');
    }
    if (ended || !current()) return;
    if (chunk.done) break;
    const data = wav.push(chunk.value);
    if (data.length === 0) continue;
    pending = concat(pending, data);
    const { channels, sampleRate } = wav.format;
    const frameBytes = 2 * channels;
    if (pending.length >= STREAM_PIECE_SECONDS * sampleRate * frameBytes) {
      const whole = pending.length - (pending.length % frameBytes);
      schedule(pending.subarray(0, whole));
      pending = pending.slice(whole);
    }
  }
  readEnded = true;
  if (wav.format) schedule(pending);
  if (sources.size === 0) {
    // Nothing to play: an empty stream.
    finished();
    stopVoice();
    if (!wav.format) throw new Error('The server sent no audio.');
  }
  await done;
}

/**
 * Reads a WAV stream: push(bytes) returns the bytes of its data chunk that
 * arrived (empty until the header has been read); format is then
 * {channels, sampleRate}. Only 16-bit PCM is accepted; a streamed WAV's
 * data size (0xFFFFFFFF, "until the end") is not relied on.
 */
function wavReader() {
  let head = new Uint8Array(0);
  let inData = false;
  const reader = { format: null, push };
  const text = (off) => String.fromCharCode(...head.subarray(off, off + 4));
  const bad = (why) => new Error(`The server sent audio the page cannot play (${why}).`);

  function push(bytes) {
    if (inData) return bytes;
    head = concat(head, bytes);
    if (head.length < 12) return new Uint8Array(0);
    if (text(0) !== 'RIFF' || text(8) !== 'WAVE') throw bad('not a WAV file');
    const view = new DataView(head.buffer, head.byteOffset, head.length);
    let off = 12;
    while (head.length >= off + 8) {
      const id = text(off);
      const size = view.getUint32(off + 4, true);
      if (id === 'data') {
        if (!reader.format) throw bad('no format before the data');
        inData = true;
        const rest = head.subarray(off + 8);
        head = null;
        return rest;
      }
      if (head.length < off + 8 + size) break; // the rest of this chunk is still on its way
      if (id === 'fmt ') {
        const tag = view.getUint16(off + 8, true);
        const channels = view.getUint16(off + 10, true);
        const sampleRate = view.getUint32(off + 12, true);
        const bits = view.getUint16(off + 22, true);
        // 1 is PCM; 0xFFFE (extensible) carries PCM in this app's use.
        if ((tag !== 1 && tag !== 0xfffe) || bits !== 16 || channels < 1 || sampleRate < 3000) {
          throw bad(`format ${tag}, ${bits}-bit, ${channels} channels at ${sampleRate} Hz`);
        }
        reader.format = { channels, sampleRate };
      }
      off += 8 + size + (size % 2); // chunks are padded to an even length
    }
    if (head.length > 65536) throw bad('no audio data in the first 64 KB');
    return new Uint8Array(0);
  }
  return reader;
}

function concat(a, b) {
  if (a.length === 0) return b;
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/**
 * A toggle button that plays audio: label after an icon, with hidden words
 * completing its name for screen readers. key names the audio: a button
 * made again for the same key (a re-rendered message) takes over the
 * state of the one it replaces.
 */
function playButton({ key, icon, label, hidden, title, className, play, what, dataset }) {
  const btn = h('button', {
    type: 'button', class: className, title, 'aria-pressed': 'false', dataset: { ...dataset, icon, state: 'idle' },
  },
  h('span', { class: 'play-icon', 'aria-hidden': 'true' }, icon),
  h('span', null, label),
  hidden ? h('span', { class: 'visually-hidden' }, ` ${hidden}`) : null);
  btn.addEventListener('click', () => toggle(key, btn, play, what));
  if (player.key === key) {
    player.button = btn;
    paint(btn, player.state);
  }
  return btn;
}

/**
 * A Preview button: voice introduces itself. className and dataset style
 * and mark the button; label is its visible word.
 */
export function previewButton(ctx, voice, { className = 'btn btn-small', label = 'Preview', dataset = {} } = {}) {
  return playButton({
    key: `preview:${voice.id}`,
    icon: '▶',
    label,
    hidden: voice.name,
    title: `Hear ${voice.name} introduce itself`,
    className,
    dataset: { voice: voice.id, ...dataset },
    play: blobAudio((signal) => ctx.api.voicePreview(voice.id, '', { signal })),
    what: `the preview of ${voice.name}`,
  });
}

/** A button that plays the recording a cloned voice was measured from. */
export function clipButton(ctx, voice, { className = 'btn btn-small' } = {}) {
  return playButton({
    key: `clip:${voice.id}`,
    icon: '▶',
    label: 'Play recording',
    hidden: `of ${voice.name}`,
    title: 'Hear the recording this voice was made from, trimmed and levelled as Timbre measured it',
    className,
    dataset: { voice: voice.id, action: `clip-${voice.id}` },
    play: blobAudio((signal) => ctx.api.voiceClip(voice.id, { signal })),
    what: `the recording of ${voice.name}`,
  });
}

// ---- Microphone level ----

/**
 * Drives a level meter from stream: fill's width follows the loudness
 * (-60 to -6 dBFS; meterEl's data-level holds it as 0 to 100), and
 * loud(true) is called while the input clips. Returns {close()}.
 */
export function levelMeter(stream, meterEl, fill, loud) {
  const AudioContextClass = window.AudioContext || window.webkitAudioContext;
  if (!AudioContextClass) return { close() {} };
  let context;
  let analyser;
  try {
    context = new AudioContextClass();
    analyser = context.createAnalyser();
    analyser.fftSize = 1024;
    context.createMediaStreamSource(stream).connect(analyser); // not to the speakers
    context.resume().catch(() => {});
  } catch {
    if (context) context.close().catch(() => {});
    return { close() {} };
  }
  const samples = new Float32Array(analyser.fftSize);
  let frame = 0;
  let loudAt = -Infinity;
  let wasLoud = false;
  const draw = () => {
    analyser.getFloatTimeDomainData(samples);
    let peak = 0;
    let sum = 0;
    for (const x of samples) {
      const a = Math.abs(x);
      if (a > peak) peak = a;
      sum += x * x;
    }
    const db = 20 * Math.log10(Math.sqrt(sum / samples.length) || 1e-6);
    const level = Math.round(Math.min(1, Math.max(0, (db + 60) / 54)) * 100);
    fill.style.width = `${level}%`;
    meterEl.dataset.level = String(level);
    const now = performance.now();
    if (peak >= 0.99) loudAt = now;
    const isLoud = now - loudAt < 1500;
    if (isLoud !== wasLoud) {
      wasLoud = isLoud;
      meterEl.dataset.loud = String(isLoud);
      loud(isLoud);
    }
    frame = requestAnimationFrame(draw);
  };
  draw();
  return {
    close() {
      cancelAnimationFrame(frame);
      context.close().catch(() => {});
      fill.style.width = '0%';
      meterEl.dataset.level = '0';
      meterEl.dataset.loud = 'false';
    },
  };
}

// ---- Editor: the voice picker ----

/**
 * The voice picker of the agent editor: "No voice" and one card per
 * built-in voice, then the user's cloned voices under "Your voices", each
 * with a Preview button. current is the agent's voice_id; read() gives the
 * chosen one (current until the catalog is shown). Changes dispatch change
 * events that bubble to the form.
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

  function voiceChoice(v, detail) {
    return choice(v.id, v.name, detail, previewButton(ctx, v, {
      className: 'btn btn-small voice-preview',
      dataset: { action: `preview-${v.id}` },
    }));
  }

  function showCatalog(voices) {
    const builtin = voices.filter((v) => !isCloned(v));
    const cloned = voices.filter(isCloned);
    const cards = [choice('', 'No voice', 'Replies are not read aloud.', null)];
    for (const v of builtin) cards.push(voiceChoice(v, voiceTraits(v)));
    if (current && !voices.some((v) => v.id === current)) {
      // Keep a voice this server lacks (an imported card, another server's
      // voice, a cloned voice since deleted) until the user picks another.
      cards.push(choice(current, current, current.startsWith('vc_')
        ? 'A cloned voice you no longer have, so replies are not read aloud.'
        : 'Not installed on this server, so replies are not read aloud here.', null));
    }
    const note = builtin.length === 0
      ? h('div', { class: 'alert alert-warning voice-none', role: 'status' },
        h('p', null, h('strong', null, 'No voices are installed on this server, '), 'so agents cannot be read aloud yet.'),
        h('p', null, 'To install the built-in voices (Jenny and Alan), run ', h('code', null, 'make setup'),
          ' on the server, then restart Timbre.'))
      : null;
    // With no voice to choose, a lone "No voice" is no choice at all.
    const list = voices.length || current ? h('div', { class: 'choices voice-choices' }, cards) : null;
    let mine = null;
    if (cloned.length) {
      const titleId = uid('vg');
      mine = h('div', { class: 'voice-group', role: 'group', 'aria-labelledby': titleId },
        h('h3', { class: 'voice-group-title', id: titleId }, 'Your voices'),
        h('p', { class: 'hint' }, 'Cloned from your recordings. Anyone who chats with an agent you share hears it in this voice.'),
        h('div', { class: 'choices voice-choices' }, cloned.map((v) => voiceChoice(v, clonedTraits(v, voices)))),
      );
    } else if (builtin.length) {
      mine = h('p', { class: 'hint voice-clone-hint' }, 'Want the agent to sound like you? ',
        h('a', { href: '/voices' }, 'Clone your voice'), ' from a short recording.');
    }
    body.replaceChildren(...[note, list, mine].filter(Boolean));
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

/** "Cloned · 182 Hz · sounds like Jenny" for a cloned voice; catalog names its base voice. */
function clonedTraits(voice, catalog = []) {
  const parts = ['Cloned'];
  const f0 = voice.profile && voice.profile.f0_median_hz;
  if (f0) parts.push(`${Math.round(f0)} Hz`);
  if (voice.base_voice) {
    const base = catalog.find((v) => v.id === voice.base_voice);
    parts.push(`based on ${base ? base.name : voice.base_voice}`);
  }
  return parts.join(' · ');
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
 * The Listen button of a chat reply, reading it in voice; null when the
 * reply has nothing to read. key names the reply's text (its id and
 * alternative). A stored message (conversationId and messageId) is read
 * whole, streamed from the speech endpoint in the agent's voice; without
 * them the text is read through the preview endpoint, up to 300
 * characters ending at a sentence.
 */
export function listenButton(ctx, { voice, key, content, conversationId, messageId }) {
  const plain = speakableText(content);
  if (!plain) return null;
  const common = {
    key: `listen:${key}`,
    icon: '🔊',
    label: 'Listen',
    hidden: 'to this reply',
    className: 'msg-listen',
    dataset: { voice: voice.id },
    what: 'the reply',
  };
  if (conversationId && messageId) {
    return playButton({
      ...common,
      title: `Read the whole reply aloud in ${voice.name}’s voice`,
      play: streamedAudio((signal) => ctx.api.messageSpeech(conversationId, messageId, { signal })),
    });
  }
  const { text, cut } = upToSentence(plain);
  return playButton({
    ...common,
    title: cut
      ? `Read aloud in ${voice.name}’s voice. This reply is long: only its first ${[...text].length} characters are read (long replies are read up to ${MAX_SPEAK_CHARS} characters).`
      : `Read aloud in ${voice.name}’s voice. Long replies are read up to ${MAX_SPEAK_CHARS} characters.`,
    play: blobAudio((signal) => ctx.api.voicePreview(voice.id, text, { signal })),
  });
}
