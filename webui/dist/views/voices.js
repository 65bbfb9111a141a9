// views/voices.js — /voices: the voice catalog (the built-in voices and the
// signed-in user's cloned ones) and the panel that clones a voice from a
// recording made in the browser or from a chosen file.
//
// A clone is POST /api/voices (multipart: audio, name, consent, language):
// the server checks the clip (length, clipping, noise, speech), measures the
// voice's profile and answers with the new voice, or refuses the clip with
// a reason that this page turns into advice. Recording uses MediaRecorder
// (Opus in WebM or Ogg); an AnalyserNode drives the level meter.

import {
  h, uid, field, clearFieldErrors, showFieldError, showFormError, errorText, errorBox, loading, busy, toast,
  confirmDialog, formatBytes, timeEl,
} from '../ui.js';
import {
  loadVoices, forgetVoices, isCloned, voiceTraits, languageName, previewButton, clipButton, stopVoice, levelMeter,
} from './voice.js';

// What the server accepts: 3 to 30 seconds of speech.
const MIN_SECONDS = 3;
const MAX_SECONDS = 30;
// A recording stops this much before the limit: the timer that stops it
// can fire late, and a clip a hair over 30 s would be refused.
const STOP_MARGIN_SECONDS = 0.25;

// What MediaRecorder is asked for, in order of preference.
const RECORD_TYPES = ['audio/webm;codecs=opus', 'audio/ogg;codecs=opus'];

// The microphone as it is: echo cancellation, noise suppression and
// automatic gain change the timbre the profile is measured from.
const MIC_CONSTRAINTS = { channelCount: 1, echoCancellation: false, noiseSuppression: false, autoGainControl: false };

// What the file chooser offers; the server decides by content, not name.
const ACCEPT = '.wav,.ogg,.oga,.opus,.webm,audio/wav,audio/x-wav,audio/wave,audio/ogg,audio/opus,audio/webm';

const CONSENT_TEXT = 'This is my own voice, or I have the speaker’s permission to clone it. ' +
  'Timbre stores the recording and who gave consent and when.';

const READ_ALOUD = 'The lighthouse keeper climbed the narrow stairs as the sun went down. ' +
  'She checked the lamp, wound the old clock and wrote a short note in the log: calm sea, ' +
  'a light wind from the west, two fishing boats heading home. Then she made a cup of tea ' +
  'and watched the first stars appear over the quiet bay.';

// Why a clip was refused (the API's reason), and what to do about it.
const REJECTED = {
  too_short: {
    title: 'The recording is too short',
    advice: `Record at least ${MIN_SECONDS} seconds of speech; 10 to 20 seconds gives the best likeness. Pauses and silence at the start and end do not count.`,
  },
  too_long: {
    title: 'The recording is too long',
    advice: `Keep it to ${MAX_SECONDS} seconds or less: record again, or trim the file.`,
  },
  clipping: {
    title: 'The recording is distorted',
    advice: 'It was so loud that it clipped. Move a little further from the microphone or turn its input level down, then record again.',
  },
  too_noisy: {
    title: 'There is too much background noise',
    advice: 'Record somewhere quieter and closer to the microphone, away from fans, traffic, music and other voices.',
  },
  not_speech: {
    title: 'No speech was found',
    advice: 'Read the text aloud in your normal speaking voice; music, singing and silence cannot be cloned. Check that the right microphone is selected.',
  },
};
const REJECTED_OTHER = {
  title: 'The recording was not accepted',
  advice: 'Record again somewhere quiet, reading the text at a normal pace.',
};
const UNSUPPORTED = {
  title: 'Timbre cannot read this audio',
  advice: 'Use a WAV file, or Ogg or WebM audio with the Opus codec, or record here in the browser.',
};
const TOO_LARGE = {
  title: 'The file is too large',
  advice: `Send ${MAX_SECONDS} seconds of audio or less. Ogg-Opus or WebM-Opus files are far smaller than WAV.`,
};

/** /voices: the voices your agents can speak with, and cloning your own. */
export function voicesView(ctx) {
  ctx.app.setTitle('Voices');
  let left = false;
  ctx.onLeave(() => {
    left = true;
    stopVoice();
  });
  let catalog = []; // the voices as last read: built-in and cloned

  const mineTitle = uid('sec');
  const builtinTitle = uid('sec');
  const mineBody = h('div', null, loading('Loading your voices…'));
  const builtinBody = h('div', null, loading('Loading the voices…'));
  const announcer = h('p', { class: 'visually-hidden', role: 'status' });
  let mineList = null; // the <ul> of cloned voices, once shown

  const cloner = clonePanel(ctx, {
    cloned: showCloned,
    // A cancelled request may have been stored just before it was cancelled.
    cancelled: () => {
      forgetVoices();
      load();
    },
  });

  async function load() {
    let voices;
    try {
      voices = await loadVoices(ctx.api);
    } catch (err) {
      if (left) return;
      mineBody.replaceChildren(errorBox(err, () => {
        mineBody.replaceChildren(loading('Loading your voices…'));
        builtinBody.replaceChildren(loading('Loading the voices…'));
        load();
      }));
      builtinBody.replaceChildren();
      return;
    }
    if (left) return;
    catalog = voices;
    show();
  }

  function show() {
    const mine = catalog.filter(isCloned);
    const builtin = catalog.filter((v) => !isCloned(v));
    cloner.setCatalog(builtin);
    showMine(mine);
    if (builtin.length === 0) {
      builtinBody.replaceChildren(h('div', { class: 'alert alert-warning voice-none', role: 'status' },
        h('p', null, h('strong', null, 'No voices are installed on this server, '), 'so agents cannot be read aloud and voices cannot be cloned yet.'),
        h('p', null, 'To install the built-in voices (Jenny and Alan), run ', h('code', null, 'make setup'), ' on the server, then restart Timbre.'),
      ));
    } else {
      builtinBody.replaceChildren(h('ul', { class: 'voice-list voice-list-builtin' }, builtin.map(builtinCard)));
    }
  }

  function showMine(mine) {
    if (mine.length === 0) {
      mineList = null;
      mineBody.replaceChildren(h('p', { class: 'muted empty-inline voices-empty' },
        'You have not cloned a voice yet. Record a few seconds of your speech under “Clone your voice” to make one.'));
      return;
    }
    mineList = h('ul', { class: 'voice-list' }, mine.map(clonedCard));
    mineBody.replaceChildren(mineList);
  }

  /** Shows a voice just cloned at the top of "Your voices" and moves there. */
  function showCloned(voice) {
    forgetVoices();
    catalog = [voice, ...catalog.filter((v) => v.id !== voice.id)];
    if (!mineList) showMine([voice]);
    else mineList.prepend(clonedCard(voice));
    const card = mineBody.querySelector(`[data-voice-card="${CSS.escape(voice.id)}"]`);
    card.classList.add('just-added');
    card.querySelector('h3').focus();
    card.scrollIntoView({ block: 'nearest' });
    announcer.textContent = `Cloned “${voice.name}”. It is now in your voices and in the voice picker of the agent editor.`;
    toast(`Cloned “${voice.name}”.`, 'success');
  }

  function builtinCard(v) {
    const rate = v.sample_rate ? `${(v.sample_rate / 1000).toLocaleString(undefined, { maximumFractionDigits: 2 })} kHz` : '';
    return h('li', { class: 'voice-card', dataset: { voiceCard: v.id } },
      h('div', { class: 'voice-card-head' },
        h('h3', null, v.name),
        h('span', { class: 'badge' }, 'Built-in'),
      ),
      h('p', { class: 'voice-card-sub' }, [voiceTraits(v), [v.engine, rate].filter(Boolean).join(' · ')].filter(Boolean).join(' — ')),
      h('div', { class: 'button-row' }, previewButton(ctx, v)),
    );
  }

  function clonedCard(v) {
    const similarId = uid('similar');
    const similar = h('div', { class: 'voice-similar', id: similarId, hidden: true });
    const similarBtn = h('button', { type: 'button', class: 'btn btn-small', 'aria-expanded': 'false', 'aria-controls': similarId },
      'Similar voices', h('span', { class: 'visually-hidden' }, ` to ${v.name}`));
    const del = h('button', { type: 'button', class: 'btn btn-small btn-danger-ghost' },
      'Delete', h('span', { class: 'visually-hidden' }, ` ${v.name}`));
    const li = h('li', { class: 'voice-card voice-card-cloned', dataset: { voiceCard: v.id } },
      h('div', { class: 'voice-card-head' },
        h('h3', { tabindex: '-1' }, v.name),
        h('span', { class: 'badge badge-cloned' }, 'Cloned'),
      ),
      h('p', { class: 'voice-card-sub' },
        [voiceTraits(v), v.created_at ? 'made ' : null].filter(Boolean).join(' · '),
        v.created_at ? timeEl(v.created_at) : null),
      profileSummary(v),
      v.consent_at ? h('p', { class: 'hint voice-consent' }, 'Consent to clone recorded ', timeEl(v.consent_at), '.') : null,
      h('div', { class: 'button-row' }, previewButton(ctx, v), clipButton(ctx, v), similarBtn, del),
      similar,
    );

    let asked = null; // the AbortController of the similar voices being read
    similarBtn.addEventListener('click', async () => {
      const open = similarBtn.getAttribute('aria-expanded') === 'true';
      similarBtn.setAttribute('aria-expanded', String(!open));
      similar.hidden = open;
      if (asked) asked.abort();
      asked = null;
      if (open) return;
      const controller = new AbortController();
      asked = controller;
      similar.replaceChildren(loading('Finding similar voices…'));
      let items;
      try {
        items = await ctx.api.similarVoices(v.id, { signal: controller.signal });
      } catch (err) {
        if (left || asked !== controller) return;
        similar.replaceChildren(errorBox(err));
        return;
      }
      if (left || asked !== controller) return;
      asked = null;
      items = items.filter((it) => it.voice && it.voice.id !== v.id);
      similar.replaceChildren(
        h('h4', { class: 'voice-similar-title' }, 'Similar voices'),
        ...(items.length
          ? [
            h('p', { class: 'hint' }, 'Closest first. The distance compares voice profiles: 0 is the same voice, and the larger it is, the less alike they sound.'),
            h('ol', { class: 'similar-list' }, items.map(similarItem)),
          ]
          : [h('p', { class: 'muted' }, 'There are no other voices to compare with yet.')]),
      );
    });

    del.addEventListener('click', async () => {
      const ok = await confirmDialog({
        title: `Delete “${v.name}”?`,
        message: 'Timbre deletes the recording and the voice made from it. Agents that speak with this voice are no longer read aloud until you choose another voice for them. This cannot be undone.',
        confirm: 'Delete voice',
        danger: true,
      });
      if (!ok) return;
      try {
        await busy(del, 'Deleting…', () => ctx.api.deleteVoice(v.id));
      } catch (err) {
        if (err.status !== 404) { // a voice already gone is what was asked for
          toast(`Could not delete: ${errorText(err)}`, 'error');
          return;
        }
      }
      if (left) return;
      if (li.querySelector('[aria-pressed="true"]')) stopVoice();
      forgetVoices();
      catalog = catalog.filter((x) => x.id !== v.id);
      const next = li.nextElementSibling || li.previousElementSibling;
      li.remove();
      if (!mineList || mineList.children.length === 0) showMine([]);
      announcer.textContent = `Deleted “${v.name}”.`;
      toast(`Deleted “${v.name}”.`, 'success');
      // Keep the keyboard near where it was: the card is gone.
      (next ? next.querySelector('h3') : document.getElementById(mineTitle)).focus();
    });
    return li;
  }

  function profileSummary(v) {
    const p = v.profile || {};
    const rows = [];
    if (Number.isFinite(p.f0_median_hz)) {
      rows.push(['Median pitch', `${Math.round(p.f0_median_hz)} Hz`, 'The middle of the pitch range the recording was spoken in']);
    }
    if (Number.isFinite(p.f0_range_semitones)) {
      rows.push(['Pitch range', `${p.f0_range_semitones.toFixed(1)} semitones`, 'How far the pitch moved while speaking']);
    }
    if (Number.isFinite(p.voiced_fraction)) {
      rows.push(['Voiced', `${Math.round(p.voiced_fraction * 100)} %`, 'The share of the recording that is voiced speech']);
    }
    if (v.base_voice) {
      const base = catalog.find((x) => x.id === v.base_voice);
      rows.push(['Based on', base ? base.name : v.base_voice, 'The built-in voice nearest to the recording, which this voice is synthesised from']);
    }
    if (Number.isFinite(v.clip_seconds)) rows.push(['Recording', `${v.clip_seconds.toFixed(1)} s`, 'The length of the speech measured, after trimming']);
    if (Array.isArray(p.formants_hz) && p.formants_hz.length) {
      rows.push(['Formants', `${p.formants_hz.map((f) => Math.round(f)).join(' · ')} Hz`, 'The resonances of the vocal tract (F1, F2, F3), which shape the timbre']);
    }
    if (rows.length === 0) return null;
    return h('dl', { class: 'voice-profile' }, rows.map(([term, value, title]) =>
      h('div', { title }, h('dt', null, term), h('dd', null, value))));
  }

  function similarItem({ voice, distance }) {
    const d = Number(distance);
    return h('li', { class: 'similar-item' },
      h('span', { class: 'similar-name' },
        h('strong', null, voice.name),
        h('span', { class: 'muted small' }, isCloned(voice) ? ' · yours' : ' · built-in')),
      h('span', { class: 'similar-distance', title: 'Cosine distance between the voice profiles: lower is closer' },
        h('span', { class: 'visually-hidden' }, 'distance '), Number.isFinite(d) ? d.toFixed(3) : '—'),
      previewButton(ctx, voice, { className: 'btn btn-small btn-ghost' }),
    );
  }

  load();
  return h('section', { class: 'page voices-page' },
    h('div', { class: 'page-head' },
      h('div', null,
        h('h1', null, 'Voices'),
        h('p', { class: 'lead' }, 'How your agents sound: the voices built into this server, and voices cloned from your own recordings.'),
      ),
    ),
    announcer,
    h('div', { class: 'voices-layout' },
      h('section', { class: 'section voices-mine', 'aria-labelledby': mineTitle },
        h('h2', { class: 'section-title', id: mineTitle, tabindex: '-1' }, 'Your voices'),
        h('p', { class: 'section-lead' }, 'Choose one for an agent in the agent editor. Anyone who chats with an agent you share hears it in that voice.'),
        mineBody,
      ),
      cloner.element,
      h('section', { class: 'section voices-builtin', 'aria-labelledby': builtinTitle },
        h('h2', { class: 'section-title', id: builtinTitle }, 'Built-in voices'),
        builtinBody,
      ),
    ),
  );
}

/**
 * The "Clone your voice" panel: record or choose audio, listen to it, name
 * it, consent, send. cloned(voice) is called with the new voice;
 * cancelled() after the user cancels a request under way.
 */
function clonePanel(ctx, { cloned, cancelled }) {
  const recordType = recordingType();
  const cannotRecord = recordingProblem(recordType);
  let audio = null; // what would be sent: {blob, filename, seconds, source, url}
  let rec = null; // the recording under way
  let upload = null; // the AbortController of the clone request under way
  let left = false;

  // ---- The audio: read-aloud text, recorder, file, review ----

  const readId = uid('read');
  const readBlock = h('figure', { class: 'clone-read' },
    h('figcaption', { id: readId }, 'Read this aloud'),
    h('blockquote', { 'aria-labelledby': readId }, READ_ALOUD),
  );
  const guidance = h('ul', { class: 'clone-tips' },
    h('li', null, h('strong', null, `At least ${MIN_SECONDS} seconds of speech`), ` (10 to 20 is best); recording stops by itself at ${MAX_SECONDS} seconds.`),
    h('li', null, 'A quiet room, the microphone a hand’s width away, your normal speaking voice.'),
    h('li', null, 'Only one speaker, with no music in the background.'),
  );

  const recordLabel = h('span', null, 'Record');
  const recordBtn = h('button', { type: 'button', class: 'btn rec-btn', disabled: Boolean(cannotRecord), dataset: { recording: 'false' } },
    h('span', { class: 'rec-dot', 'aria-hidden': 'true' }), recordLabel);
  const elapsed = h('span', { class: 'rec-time' }, clock(0));
  const meterFill = h('span', { class: 'level-fill' });
  const meter = h('span', { class: 'level-meter', title: 'Input level', 'aria-hidden': 'true', dataset: { loud: 'false' } }, meterFill);
  const loudNote = h('p', { class: 'rec-loud', hidden: true }, 'Too loud: move back from the microphone a little.');
  const recHint = h('p', { class: 'hint rec-hint' }, `Press Record and read the text above. Speak for at least ${MIN_SECONDS} seconds.`);
  const recProblem = h('div', { class: 'alert alert-warning rec-problem', role: 'status', hidden: !cannotRecord }, cannotRecord);

  const fileInput = h('input', { type: 'file', accept: ACCEPT, id: uid('clonefile'), class: 'visually-hidden' });
  const fileLabel = h('label', { for: fileInput.id, class: 'btn' }, 'Choose a file…');

  const reviewTitle = h('p', { class: 'clone-review-title' });
  const reviewAudio = h('audio', { controls: true, preload: 'metadata', 'aria-label': 'Your recording' });
  const reviewWarn = h('p', { class: 'clone-review-warn', hidden: true });
  const discardBtn = h('button', { type: 'button', class: 'btn btn-small btn-ghost' }, 'Discard');
  const review = h('div', { class: 'clone-review', hidden: true },
    h('div', { class: 'clone-review-head' }, reviewTitle, discardBtn),
    reviewAudio,
    reviewWarn,
  );

  const audioError = h('p', { class: 'field-error', hidden: true });
  const audioSet = h('fieldset', { class: 'clone-audio', 'data-field': 'audio', id: uid('cloneaudio'), tabindex: '-1' },
    h('legend', null, 'Your voice'),
    readBlock,
    guidance,
    h('div', { class: 'recorder' }, recordBtn, h('span', { class: 'rec-clock' }, elapsed, h('span', { class: 'muted' }, ` / ${clock(MAX_SECONDS)}`)), meter),
    loudNote,
    recHint,
    recProblem,
    h('div', { class: 'clone-or' }, h('span', null, 'or')),
    h('div', { class: 'clone-file' }, fileInput, fileLabel, h('span', { class: 'hint' }, `WAV, Ogg-Opus or WebM-Opus, ${MIN_SECONDS} to ${MAX_SECONDS} seconds`)),
    review,
    audioError,
  );
  // The fieldset shows the API's audio error in its own slot.
  audioError.id = `${audioSet.id}-error`;

  // ---- The form: name, language, consent, send ----

  const nameIn = h('input', { type: 'text', name: 'name', maxlength: '100', autocomplete: 'off', placeholder: 'e.g. My speaking voice', required: true });
  const langSelect = h('select', { name: 'language' });
  const langField = field('Language', langSelect, { field: 'language', hint: 'The language you speak in the recording.' });
  langField.hidden = true;
  const consent = h('input', { type: 'checkbox', name: 'consent', value: 'true', id: uid('consent'), dataset: { field: 'consent' } });
  const consentError = h('p', { class: 'field-error', id: `${consent.id}-error`, hidden: true });
  const whyId = uid('why');
  const why = h('p', { class: 'hint clone-why', id: whyId });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary', disabled: true, 'aria-describedby': whyId }, 'Clone voice');
  const cancelBtn = h('button', { type: 'button', class: 'btn btn-small' }, 'Cancel');
  const progress = h('div', { class: 'clone-progress', hidden: true },
    h('span', { class: 'spinner', 'aria-hidden': 'true' }),
    h('span', null, 'Checking the recording…', h('span', { class: 'muted small' }, ' This takes a few seconds.')),
    cancelBtn,
  );
  const status = h('p', { class: 'visually-hidden', role: 'status' });
  const alert = h('div', { class: 'alert alert-error', role: 'alert', hidden: true, tabindex: '-1' });
  const rejectBox = h('div', { class: 'alert alert-error clone-reject', role: 'alert', hidden: true, tabindex: '-1' });

  const form = h('form', { class: 'stack', novalidate: true },
    audioSet,
    rejectBox,
    field('Name', nameIn, { field: 'name', hint: 'How the voice is listed, up to 100 characters.' }),
    langField,
    h('div', { class: 'consent' },
      h('div', { class: 'check consent-check' }, consent, h('label', { for: consent.id }, CONSENT_TEXT)),
      consentError,
    ),
    alert,
    h('div', { class: 'button-row' }, submit),
    why,
    progress,
    status,
  );
  const titleId = uid('sec');
  const element = h('section', { class: 'section clone-panel', 'aria-labelledby': titleId },
    h('h2', { class: 'section-title', id: titleId }, 'Clone your voice'),
    h('p', { class: 'section-lead' }, 'Record a short sample of your speech, or choose a recording. Timbre measures the voice and makes one your agents can speak with.'),
    form,
  );

  ctx.onLeave(() => {
    left = true;
    if (rec) discardRecording();
    if (upload) upload.abort();
    setAudio(null);
  });

  // ---- Recording ----

  async function startRecording() {
    if (rec || upload || cannotRecord) return;
    hideErrors();
    recProblem.hidden = true;
    recordBtn.disabled = true;
    status.textContent = 'Asking for the microphone…';
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ audio: MIC_CONSTRAINTS });
    } catch (err) {
      if (left) return;
      recordBtn.disabled = false;
      showRecordProblem(micErrorText(err));
      return;
    }
    if (left) {
      stopTracks(stream);
      return;
    }
    let recorder;
    try {
      recorder = new MediaRecorder(stream, { mimeType: recordType });
    } catch (err) {
      stopTracks(stream);
      recordBtn.disabled = false;
      showRecordProblem(`The browser could not start recording: ${err.message || err}`);
      return;
    }
    setAudio(null);
    const r = { stream, recorder, chunks: [], started: 0, stopped: 0, timer: 0, limit: 0, meter: null, enough: false };
    rec = r;
    recorder.addEventListener('dataavailable', (e) => {
      if (e.data && e.data.size) r.chunks.push(e.data);
    });
    recorder.addEventListener('stop', () => finishRecording(r));
    recorder.addEventListener('error', (e) => {
      if (rec !== r) return;
      discardRecording();
      showRecordProblem(`Recording failed: ${(e.error && e.error.message) || 'the browser stopped it'}.`);
    });
    r.meter = levelMeter(stream, meter, meterFill, (loud) => {
      loudNote.hidden = !loud;
    });
    recorder.start(250);
    r.started = performance.now();
    r.timer = setInterval(() => tick(r), 100);
    r.limit = setTimeout(stopRecording, (MAX_SECONDS - STOP_MARGIN_SECONDS) * 1000);
    recordBtn.disabled = false;
    paintRecorder();
    recHint.textContent = `Keep going: at least ${MIN_SECONDS} seconds of speech.`;
    status.textContent = 'Recording. Read the text aloud, then press Stop.';
    refresh();
  }

  function tick(r) {
    const seconds = Math.min((performance.now() - r.started) / 1000, MAX_SECONDS);
    elapsed.textContent = clock(seconds);
    if (!r.enough && seconds >= MIN_SECONDS) {
      r.enough = true;
      recHint.textContent = 'That is enough to clone; 10 to 20 seconds gives a better likeness. Press Stop when you are done.';
    }
  }

  function stopRecording() {
    if (!rec || rec.stopped) return;
    rec.stopped = performance.now();
    clearTimeout(rec.limit);
    rec.recorder.stop(); // the stop event brings the last data
  }

  function finishRecording(r) {
    release(r);
    if (rec !== r) return; // discarded
    rec = null;
    const seconds = Math.min(((r.stopped || performance.now()) - r.started) / 1000, MAX_SECONDS);
    elapsed.textContent = clock(Math.round(seconds));
    paintRecorder();
    const type = r.recorder.mimeType || recordType;
    const blob = new Blob(r.chunks, { type });
    if (blob.size === 0) {
      showRecordProblem('Nothing was recorded. Check that the right microphone is selected, then record again.');
      refresh();
      return;
    }
    setAudio({ blob, filename: `recording.${type.includes('ogg') ? 'ogg' : 'webm'}`, seconds, source: 'recording' });
    recHint.textContent = 'Listen to the recording below. Record again to replace it.';
    status.textContent = `Recorded ${Math.round(seconds)} seconds. Listen to it, then clone it.`;
  }

  /** Ends the recording under way without keeping it. */
  function discardRecording() {
    const r = rec;
    rec = null;
    if (r.recorder.state !== 'inactive') r.recorder.stop();
    release(r);
    paintRecorder();
    refresh();
  }

  function release(r) {
    clearInterval(r.timer);
    clearTimeout(r.limit);
    if (r.meter) r.meter.close();
    stopTracks(r.stream);
    loudNote.hidden = true;
  }

  function paintRecorder() {
    const on = Boolean(rec);
    recordBtn.dataset.recording = String(on);
    recordLabel.textContent = on ? 'Stop' : audio && audio.source === 'recording' ? 'Record again' : 'Record';
    recordBtn.setAttribute('aria-label', on ? 'Stop recording' : recordLabel.textContent);
    fileInput.disabled = on || Boolean(upload);
    fileLabel.classList.toggle('disabled', fileInput.disabled);
    if (!on) meterFill.style.width = '0%';
  }

  function showRecordProblem(text) {
    recProblem.textContent = text;
    recProblem.hidden = false;
    status.textContent = '';
  }

  recordBtn.addEventListener('click', () => {
    if (rec) stopRecording();
    else startRecording();
  });

  // ---- A file ----

  fileInput.addEventListener('change', () => {
    const f = fileInput.files && fileInput.files[0];
    if (!f) return;
    hideErrors();
    recProblem.hidden = !cannotRecord;
    if (cannotRecord) recProblem.textContent = cannotRecord;
    setAudio({ blob: f, filename: f.name || 'recording', seconds: null, source: 'file' });
    status.textContent = `Chose ${f.name}. Listen to it, then clone it.`;
  });

  // ---- What would be sent ----

  function setAudio(a) {
    if (audio && audio.url) URL.revokeObjectURL(audio.url);
    audio = a;
    reviewAudio.pause();
    if (!a) {
      reviewAudio.removeAttribute('src');
      reviewAudio.load();
      review.hidden = true;
      reviewWarn.hidden = true;
      fileInput.value = '';
      if (!left) {
        paintRecorder();
        refresh();
      }
      return;
    }
    a.url = URL.createObjectURL(a.blob);
    reviewAudio.src = a.url;
    review.hidden = false;
    clearFieldErrors(audioSet);
    rejectBox.hidden = true;
    showLength();
    paintRecorder();
    refresh();
  }

  function showLength() {
    const a = audio;
    const length = a.seconds ? ` · ${a.seconds.toFixed(1)} s` : '';
    reviewTitle.textContent = a.source === 'recording'
      ? `Your recording${length}`
      : `${a.filename} · ${formatBytes(a.blob.size)}${length}`;
    let warn = '';
    if (a.seconds !== null && a.seconds < MIN_SECONDS) {
      warn = `This is only ${a.seconds.toFixed(1)} seconds long: at least ${MIN_SECONDS} seconds of speech are needed.`;
    } else if (a.seconds !== null && a.seconds > MAX_SECONDS) {
      warn = `This is ${Math.round(a.seconds)} seconds long: Timbre takes at most ${MAX_SECONDS} seconds. Trim it, or record here instead.`;
    }
    reviewWarn.textContent = warn;
    reviewWarn.hidden = !warn;
  }

  // A chosen file's length is known once the browser has read its header (a
  // browser's own WebM recording often does not say, hence the timer).
  reviewAudio.addEventListener('loadedmetadata', () => {
    if (audio && audio.source === 'file' && Number.isFinite(reviewAudio.duration)) {
      audio.seconds = reviewAudio.duration;
      showLength();
    }
  });
  reviewAudio.addEventListener('play', () => stopVoice()); // one voice at a time

  discardBtn.addEventListener('click', () => {
    setAudio(null);
    status.textContent = 'Discarded the recording.';
    (cannotRecord ? fileInput : recordBtn).focus();
  });

  // ---- Sending ----

  consent.addEventListener('change', () => {
    clearFieldErrors(consent.parentElement.parentElement);
    refresh();
  });

  /** Enables Clone when there is audio and consent, and says what is missing. */
  function refresh() {
    if (left) return;
    const missing = [];
    if (rec) missing.push('stop the recording');
    else if (!audio) missing.push('record or choose audio');
    if (!consent.checked) missing.push('tick the consent box');
    submit.disabled = Boolean(upload) || missing.length > 0;
    why.textContent = missing.length
      ? `To clone, ${missing.join(' and ')}.`
      : 'Timbre checks the recording first: it takes a few seconds.';
    updateGuard();
  }

  const discardGuard = () => confirmDialog({
    title: 'Discard the recording?',
    message: upload
      ? 'The recording is still being checked. Leave this page and cancel cloning?'
      : 'Your recording has not been made into a voice. Leave this page and lose it?',
    confirm: 'Discard recording',
    danger: true,
  });

  function updateGuard() {
    if (rec || audio || upload) ctx.app.leaveGuard = discardGuard;
    else if (ctx.app.leaveGuard === discardGuard) ctx.app.leaveGuard = null;
  }

  function setBusy(on) {
    progress.hidden = !on;
    submit.setAttribute('aria-busy', String(on));
    if (!on) submit.removeAttribute('aria-busy');
    for (const el of [recordBtn, discardBtn, nameIn, langSelect, consent]) el.disabled = on || (el === recordBtn && Boolean(cannotRecord));
    paintRecorder();
    refresh();
  }

  function hideErrors() {
    alert.hidden = true;
    rejectBox.hidden = true;
  }

  cancelBtn.addEventListener('click', () => {
    if (upload) upload.abort();
  });

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (!audio || rec || upload || !consent.checked) return;
    clearFieldErrors(form);
    hideErrors();
    const name = nameIn.value.trim();
    if (!name) {
      showFieldError(form, 'name', 'name is required');
      nameIn.focus();
      return;
    }
    const body = new FormData();
    body.append('audio', audio.blob, audio.filename);
    body.append('name', name);
    body.append('consent', 'true');
    if (!langField.hidden && langSelect.value) body.append('language', langSelect.value);
    const controller = new AbortController();
    upload = controller;
    setBusy(true);
    cancelBtn.focus();
    status.textContent = 'Checking the recording…';
    let voice;
    try {
      voice = await ctx.api.cloneVoice(body, { signal: controller.signal });
    } catch (err) {
      if (left) return;
      upload = null;
      setBusy(false);
      // An abort can surface as another error when it cuts the answer short.
      if (controller.signal.aborted) {
        status.textContent = 'Cancelled.';
        submit.focus();
        cancelled();
        return;
      }
      status.textContent = '';
      showCloneError(err);
      return;
    }
    if (left) return;
    upload = null;
    setAudio(null);
    nameIn.value = '';
    consent.checked = false;
    elapsed.textContent = clock(0);
    recHint.textContent = `Press Record and read the text above. Speak for at least ${MIN_SECONDS} seconds.`;
    setBusy(false);
    status.textContent = '';
    cloned(voice);
  });

  function showCloneError(err) {
    let info = null;
    if (err.code === 'clip_rejected') info = REJECTED[err.reason] || REJECTED_OTHER;
    else if (err.code === 'unsupported_audio' || err.status === 415) info = UNSUPPORTED;
    else if (err.status === 413) info = TOO_LARGE;
    if (info) {
      const again = h('button', { type: 'button', class: 'btn btn-small' }, cannotRecord ? 'Choose another file' : 'Record again');
      again.addEventListener('click', () => {
        rejectBox.hidden = true;
        if (cannotRecord) {
          fileInput.click();
        } else {
          setAudio(null);
          recordBtn.focus();
        }
      });
      rejectBox.replaceChildren(
        h('h3', null, info.title),
        h('p', null, errorText(err)),
        h('p', { class: 'clone-advice' }, h('strong', null, 'What to do: '), info.advice),
        again,
      );
      rejectBox.hidden = false;
      rejectBox.focus();
      rejectBox.scrollIntoView({ block: 'nearest' });
      return;
    }
    showFormError(form, alert, err);
    if (!alert.hidden) alert.focus();
  }

  refresh();
  return {
    element,
    /** Offers the languages of the built-in voices when there are several. */
    setCatalog(builtin) {
      const langs = [...new Set(builtin.map((v) => String(v.language || '').split(/[-_]/)[0].toLowerCase()).filter(Boolean))];
      if (langs.length < 2) {
        langField.hidden = true;
        return;
      }
      const chosen = langSelect.value || (langs.includes('en') ? 'en' : langs[0]);
      langSelect.replaceChildren(...langs.map((l) => h('option', { value: l }, languageName(l))));
      langSelect.value = chosen;
      langField.hidden = false;
    },
  };
}

/** The Opus type MediaRecorder can record here, or ''. */
function recordingType() {
  if (typeof MediaRecorder !== 'function' || typeof MediaRecorder.isTypeSupported !== 'function') return '';
  return RECORD_TYPES.find((t) => MediaRecorder.isTypeSupported(t)) || '';
}

/** Why this browser cannot record here, or '' when it can. */
function recordingProblem(type) {
  if (!window.isSecureContext) {
    return 'Recording needs a secure connection: open Timbre over HTTPS (or on localhost). You can still choose a file.';
  }
  if (!navigator.mediaDevices || typeof navigator.mediaDevices.getUserMedia !== 'function') {
    return 'This browser cannot use a microphone on this page. You can still choose a file.';
  }
  if (typeof MediaRecorder !== 'function') return 'This browser cannot record audio. You can still choose a file.';
  if (!type) {
    return 'This browser cannot record Opus audio (in WebM or Ogg), which is what Timbre takes from a browser. ' +
      'Choose a WAV, Ogg-Opus or WebM-Opus file instead, or record in a current Chrome, Edge or Firefox.';
  }
  return '';
}

function micErrorText(err) {
  switch (err && err.name) {
    case 'NotAllowedError':
    case 'SecurityError':
      return 'Microphone access was refused. Allow it in the browser’s site settings (the icon beside the address), then press Record again, or choose a file.';
    case 'NotFoundError':
    case 'OverconstrainedError':
      return 'No microphone was found. Connect one and press Record again, or choose a file.';
    case 'NotReadableError':
    case 'AbortError':
      return 'The microphone could not be started: another app may be using it.';
    default:
      return `The microphone could not be started: ${(err && err.message) || err}`;
  }
}

function stopTracks(stream) {
  for (const t of stream.getTracks()) t.stop();
}

/** 7.4 → "0:07". */
function clock(seconds) {
  const s = Math.floor(seconds);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}
