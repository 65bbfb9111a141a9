// views/talk.js — /talk/{agent_id}: talk with an agent by voice, in real
// time, over WebRTC; and the Talk link that other pages show.
//
// Connect asks for the microphone, offers one audio track and one data
// channel labelled "events" to POST /api/rtc/sessions, and plays the
// agent's voice, which comes back on the same transceiver. The server
// drives the page with JSON messages on the channel (session, state, user,
// agent, sentence, turn, backchannel, error, bye); the page sends hangup
// and typed turns ({type: "text"}). Hang up also DELETEs the session.
//
// The page needs no sign-in: ?token=emb_… is an embed token that lets an
// anonymous visitor talk; a signed-in user talks with the session cookie.
// ?conversation=cnv_… goes on with that conversation.
//
// DOM hooks a browser test can rely on:
//   .talk-page[data-call]   idle | connecting | connected | ended (the call, not the turn)
//   #talk-title             the agent's name ("Talk to an agent" while unknown)
//   #talk-connect           the one big button; data-action="connect" or "hangup"
//   #talk-state[data-state] idle | connecting | connected | listening | hearing | thinking | speaking | paused | ended
//   #talk-level[data-level] microphone level, 0 to 100 (its bar: #talk-level .level-fill)
//   #talk-alert[data-code]  an error that stopped or refused the call (mic_denied, no_mic, mic_busy,
//                           mic_failed, unsupported, the API's error code, bad_answer,
//                           connection_failed, connection_timeout, channel_closed)
//   #talk-ended[data-reason]  why the call ended: local (hung up here) or the bye reason
//   #talk-audio             the <audio> element playing the agent's voice
//   #talk-transcript        the transcript (role=log), holding, in order:
//     .talk-user[data-turn]                 .partial (greyed) until .final; .typed when typed here;
//                                           .backchannel when it turned out to be one ("yeah")
//     .talk-agent[data-turn][data-status]   data-status: writing | speaking | done | interrupted
//                                           (also a class: .done / .interrupted); data-sentence:
//                                           the index of the sentence being spoken
//       .talk-text                          the reply; mark.talk-current[data-index] is the sentence
//                                           being spoken; once interrupted .talk-said, then
//                                           s.talk-cut (written, never spoken)
//       .talk-caption                       the spoken sentence, when it cannot be found in the text
//       .talk-interrupted                   the "interrupted" badge
//       .talk-latency[data-first-audio-ms]  per-turn latency
//     .talk-note.talk-error[data-code]      an error of one turn (the call goes on)
//   #talk-text-form, #talk-text, #talk-send  a typed turn (enabled while the channel is open)
//
// For tests and debugging, window.timbreTalk is the call on screen (the same
// object for the life of the page; each Connect clears it):
//   pc             the RTCPeerConnection (null before Connect)
//   dc             the "events" RTCDataChannel
//   micStream      the microphone's MediaStream
//   remoteStream   the MediaStream of the agent's voice (null until its track arrives)
//   messages       every message received on the channel in this call, parsed, in order
//   sent           every message this page sent on the channel
//   state          what #talk-state shows (see above)
//   sessionId, conversationId   from the POST answer
//   error          {code, message} of the last error in #talk-alert, or null
//   bye            the reason of the server's bye, or ''

import { h, avatar, errorText, toast } from '../ui.js';
import { levelMeter, stopVoice } from './voice.js';

// How long the offer waits for the browser's own candidates: the server
// answers with its candidates, so a host candidate gathered later only
// matters on a network where the server cannot reach the browser first.
const GATHER_WAIT_MS = 300;
// How long the connection may take to come up once the answer is in.
const CONNECT_TIMEOUT_MS = 20000;

const MIC_CONSTRAINTS = { echoCancellation: true, noiseSuppression: true, autoGainControl: true };

const STATE_LABELS = {
  idle: 'Not connected',
  connecting: 'Connecting…',
  connected: 'Connected',
  listening: 'Listening',
  hearing: 'Hearing you',
  thinking: 'Thinking…',
  speaking: 'Speaking',
  paused: 'Paused: you spoke over the agent',
  ended: 'Call ended',
};
const SERVER_STATES = new Set(['listening', 'hearing', 'thinking', 'speaking', 'paused']);

const BYE_TEXT = {
  hangup: 'The call ended.',
  idle: 'The call ended after a long silence.',
  ice_failed: 'The call ended: the connection to the server was lost.',
  shutdown: 'The call ended: the server is shutting down. Try again in a moment.',
  replaced: 'The call ended: a newer call (in another tab or window) took its place.',
};

/**
 * A Talk link to agent's voice page; conversationId goes on with that
 * conversation by voice.
 */
export function talkLink(agent, { conversationId = '', small = false, primary = false } = {}) {
  const cls = ['btn', primary ? 'btn-primary' : '', small ? 'btn-small' : ''].filter(Boolean).join(' ');
  const q = conversationId ? `?conversation=${encodeURIComponent(conversationId)}` : '';
  return h('a', {
    href: `/talk/${encodeURIComponent(agent.id)}${q}`,
    class: `${cls} talk-link`,
    'aria-label': `Talk with ${agent.name || 'this agent'} by voice`,
  }, 'Talk');
}

/** /talk/{agent_id}: the voice page. */
export function talkView(ctx) {
  const agentId = ctx.params[0];
  const token = ctx.query.get('token') || '';
  const conversation = ctx.query.get('conversation') || '';
  let agentName = '';
  let left = false; // the page was left
  // The call under way: {pc, dc, mic, meter, sessionId, closed, deleted, timer}.
  let call = null;
  // The transcript: turn_id → {user: entry view, agent: reply view}; typed
  // is a turn typed here, not yet matched to the turn id the server gives it.
  const turns = new Map();
  let typed = null;
  ctx.app.setTitle('Talk');

  const talk = {
    pc: null, dc: null, micStream: null, remoteStream: null, messages: [], sent: [],
    state: 'idle', sessionId: '', conversationId: '', error: null, bye: '',
  };
  window.timbreTalk = talk;

  // ---- Page ----

  const avatarSlot = h('div', { class: 'talk-avatar' }, avatar({ name: '?' }, 'lg'));
  const title = h('h1', { id: 'talk-title' }, 'Talk to an agent');
  const about = h('p', { class: 'crumbs talk-crumbs', hidden: true });
  const sub = h('p', { class: 'talk-sub muted' }, 'A voice conversation. Connect, then speak; you can interrupt the agent at any time.');
  const chatLink = h('a', { id: 'talk-chat-link', hidden: true }, 'Open this conversation as a text chat');
  const alert = h('div', { id: 'talk-alert', class: 'alert alert-error', role: 'alert', hidden: true });
  const ended = h('p', { id: 'talk-ended', class: 'talk-ended', role: 'status', hidden: true });

  const stateLabel = h('span', { class: 'talk-state-label' }, STATE_LABELS.idle);
  const stateEl = h('div', {
    id: 'talk-state', class: 'talk-state', role: 'status', 'aria-live': 'polite', dataset: { state: 'idle' },
  }, h('span', { class: 'talk-state-dot', 'aria-hidden': 'true' }), h('span', { class: 'visually-hidden' }, 'Turn: '), stateLabel);

  const connectBtn = h('button', {
    id: 'talk-connect', type: 'button', class: 'btn btn-primary talk-connect', dataset: { action: 'connect' },
  }, 'Connect');

  const levelFill = h('span', { class: 'level-fill' });
  const level = h('span', {
    id: 'talk-level', class: 'level-meter talk-level', title: 'Microphone level', 'aria-hidden': 'true',
    dataset: { level: '0', loud: 'false' },
  }, levelFill);

  const audio = h('audio', { id: 'talk-audio', autoplay: true });
  // Shown only when the browser refuses to play the voice without a click.
  const playBtn = h('button', { id: 'talk-play', type: 'button', class: 'btn btn-small', hidden: true }, 'Play the agent’s voice');

  const empty = h('p', { class: 'talk-empty muted' }, 'Press Connect and start speaking. What you say and what the agent answers appear here.');
  const transcript = h('div', {
    id: 'talk-transcript', class: 'talk-transcript', role: 'log', 'aria-live': 'polite', 'aria-label': 'Transcript', tabindex: '0',
  }, empty);

  const textInput = h('input', {
    id: 'talk-text', type: 'text', name: 'text', autocomplete: 'off', disabled: true, placeholder: 'Type instead of speaking…',
  });
  const sendBtn = h('button', { id: 'talk-send', type: 'submit', class: 'btn', disabled: true }, 'Send');
  const textForm = h('form', { id: 'talk-text-form', class: 'talk-compose', novalidate: true },
    h('label', { for: 'talk-text', class: 'visually-hidden' }, 'Type a message to say to the agent'),
    textInput,
    sendBtn,
  );

  const root = h('section', { class: 'page talk-page', dataset: { call: 'idle' } },
    h('div', { class: 'talk-head' },
      avatarSlot,
      h('div', { class: 'talk-heading' }, about, title, sub, h('p', { class: 'talk-sub' }, chatLink)),
    ),
    alert,
    h('div', { class: 'talk-stage' },
      stateEl,
      connectBtn,
      h('div', { class: 'talk-level-row' }, h('span', { class: 'talk-level-label', 'aria-hidden': 'true' }, 'Mic'), level),
      ended,
      playBtn,
      audio,
    ),
    transcript,
    textForm,
  );

  // The agent: signed out, or with an embed token, it may not be readable;
  // the page then keeps its generic title (the session message names it).
  (async () => {
    let agent;
    try {
      agent = await ctx.api.getAgent(agentId);
    } catch {
      return;
    }
    if (left) return;
    showAgent(agent);
    about.replaceChildren(h('a', { href: `/agents/${encodeURIComponent(agent.id)}` }, 'About this agent'), ' / ');
    about.hidden = token !== '' && !ctx.app.user;
  })();

  function showAgent(agent) {
    if (!agent || !agent.name) return;
    agentName = agent.name;
    title.textContent = agent.name;
    avatarSlot.replaceChildren(avatar(agent, 'lg')); // the session message names no avatar: initials then
    ctx.app.setTitle(`Talk with ${agent.name}`);
    connectBtn.setAttribute('aria-label', connectBtn.dataset.action === 'connect' ? `Connect to ${agent.name}` : `Hang up on ${agent.name}`);
    for (const who of transcript.querySelectorAll('.talk-agent .talk-who')) who.textContent = agent.name;
  }

  // ---- Call ----

  function setCall(phase) {
    root.dataset.call = phase;
    const hangup = phase === 'connecting' || phase === 'connected';
    connectBtn.dataset.action = hangup ? 'hangup' : 'connect';
    connectBtn.textContent = hangup ? 'Hang up' : 'Connect';
    connectBtn.classList.toggle('btn-primary', !hangup);
    connectBtn.classList.toggle('btn-danger', hangup);
    const name = agentName || 'the agent';
    connectBtn.setAttribute('aria-label', hangup ? `Hang up on ${name}` : `Connect to ${name}`);
    refreshCompose();
  }

  function setState(state) {
    talk.state = state;
    stateEl.dataset.state = state;
    stateLabel.textContent = STATE_LABELS[state] || state;
  }

  function refreshCompose() {
    const open = Boolean(call && !call.closed && call.dc && call.dc.readyState === 'open');
    textInput.disabled = !open;
    sendBtn.disabled = !open;
  }

  function showError(code, message, extra = null) {
    talk.error = { code, message };
    alert.dataset.code = code;
    alert.replaceChildren(h('p', null, message));
    if (extra) alert.append(extra);
    alert.hidden = false;
  }

  function clearNotices() {
    talk.error = null;
    alert.hidden = true;
    alert.replaceChildren();
    delete alert.dataset.code;
    ended.hidden = true;
    ended.textContent = '';
    delete ended.dataset.reason;
  }

  function showEnded(reason, text) {
    ended.dataset.reason = reason;
    ended.textContent = text;
    ended.hidden = false;
  }

  connectBtn.addEventListener('click', () => {
    if (connectBtn.dataset.action === 'connect') connect();
    else hangUp();
  });

  async function connect() {
    if (call && !call.closed) return;
    clearNotices();
    stopVoice(); // a Listen reply still playing would talk over the call
    const problem = unsupported();
    if (problem) {
      showError('unsupported', problem);
      return;
    }
    const c = { pc: null, dc: null, mic: null, meter: null, sessionId: '', closed: false, deleted: false, timer: 0 };
    call = c;
    Object.assign(talk, {
      pc: null, dc: null, micStream: null, remoteStream: null, messages: [], sent: [],
      sessionId: '', conversationId: '', error: null, bye: '',
    });
    resetTranscript();
    setCall('connecting');
    setState('connecting');

    try {
      c.mic = await navigator.mediaDevices.getUserMedia({ audio: MIC_CONSTRAINTS });
    } catch (err) {
      if (c.closed) return;
      fail(c, ...micError(err));
      return;
    }
    talk.micStream = c.mic;
    if (c.closed) {
      stopTracks(c.mic);
      return;
    }
    c.meter = levelMeter(c.mic, level, levelFill, () => {});

    let offer;
    try {
      const pc = new RTCPeerConnection({ iceServers: [] });
      c.pc = pc;
      talk.pc = pc;
      for (const track of c.mic.getAudioTracks().slice(0, 1)) pc.addTrack(track, c.mic);
      const dc = pc.createDataChannel('events', { ordered: true });
      c.dc = dc;
      talk.dc = dc;
      wire(c);
      await pc.setLocalDescription(await pc.createOffer());
      await gathered(pc, GATHER_WAIT_MS);
      offer = pc.localDescription.sdp;
    } catch (err) {
      if (!c.closed) fail(c, 'unsupported', `The browser could not set up the call: ${errorText(err)}`);
      return;
    }
    if (c.closed) return;

    let answer;
    try {
      const body = { agent_id: agentId, sdp: offer };
      if (conversation) body.conversation_id = conversation;
      if (token) body.embed_token = token;
      answer = await ctx.api.createRtcSession(body);
    } catch (err) {
      if (c.closed) return;
      const signIn = err.status === 401 && !ctx.app.user && !token
        ? h('p', null, h('a', { href: `/login?next=${encodeURIComponent(location.pathname + location.search)}` }, 'Log in'), ' to talk with this agent.')
        : null;
      fail(c, err.code || 'session_refused', `Could not start the call: ${errorText(err)}`, signIn);
      return;
    }
    c.sessionId = answer.session_id || '';
    talk.sessionId = c.sessionId;
    talk.conversationId = answer.conversation_id || '';
    if (c.closed) {
      // Hung up while the server was answering: end the session it made.
      deleteSession(c);
      return;
    }
    showConversation(talk.conversationId);
    if (Array.isArray(answer.ice_servers) && answer.ice_servers.length) {
      // Servers the answer names (a TURN relay, say) for the browser's ICE agent.
      try {
        c.pc.setConfiguration({ ...c.pc.getConfiguration(), iceServers: answer.ice_servers });
      } catch (err) {
        console.warn('talk: ice_servers not usable', err);
      }
    }
    try {
      await c.pc.setRemoteDescription({ type: 'answer', sdp: answer.sdp });
    } catch (err) {
      if (!c.closed) {
        deleteSession(c);
        fail(c, 'bad_answer', `The server’s answer could not be used: ${errorText(err)}`);
      }
      return;
    }
    c.timer = setTimeout(() => {
      if (c.closed || c.pc.connectionState === 'connected') return;
      deleteSession(c);
      fail(c, 'connection_timeout', `The audio connection to the server did not come up within ${CONNECT_TIMEOUT_MS / 1000} seconds. A firewall or proxy may block it.`);
    }, CONNECT_TIMEOUT_MS);
  }

  /** Connects the peer connection's and the channel's events to the page. */
  function wire(c) {
    const { pc, dc } = c;
    dc.binaryType = 'arraybuffer';
    pc.addEventListener('track', (e) => {
      if (c.closed) return;
      const stream = e.streams[0] || new MediaStream([e.track]);
      talk.remoteStream = stream;
      audio.srcObject = stream;
      play();
    });
    pc.addEventListener('connectionstatechange', () => {
      if (c.closed) return;
      if (pc.connectionState === 'connected') {
        clearTimeout(c.timer);
        setCall('connected');
        if (talk.state === 'connecting') setState('connected');
      } else if (pc.connectionState === 'failed') {
        deleteSession(c);
        fail(c, 'connection_failed', 'The connection to the server failed. Check your network and press Connect again.');
      }
    });
    dc.addEventListener('open', refreshCompose);
    dc.addEventListener('close', () => {
      if (c.closed) return;
      deleteSession(c);
      fail(c, 'channel_closed', 'The server closed the connection.');
    });
    dc.addEventListener('message', (e) => {
      if (c.closed) return;
      const raw = typeof e.data === 'string' ? e.data : new TextDecoder().decode(e.data);
      let msg;
      try {
        msg = JSON.parse(raw);
      } catch {
        console.warn('talk: a message that is not JSON', raw);
        return;
      }
      if (!msg || typeof msg !== 'object') return;
      talk.messages.push(msg);
      onMessage(c, msg);
    });
  }

  function play() {
    const p = audio.play();
    if (!p) return;
    p.then(() => {
      playBtn.hidden = true;
    }, (err) => {
      if (err.name === 'NotAllowedError') playBtn.hidden = false;
    });
  }
  playBtn.addEventListener('click', play);

  /** Sends msg on the channel; false when it is not open. */
  function send(c, msg) {
    if (!c.dc || c.dc.readyState !== 'open') return false;
    c.dc.send(JSON.stringify(msg));
    talk.sent.push(msg);
    return true;
  }

  /** Hangs up here: tells the server, ends the session, frees the mic. */
  function hangUp({ keepalive = false, quiet = false } = {}) {
    const c = call;
    if (!c || c.closed) return;
    try {
      send(c, { type: 'hangup' });
    } catch {
      // the channel is closing already; the DELETE still ends the session
    }
    deleteSession(c, keepalive);
    close(c);
    if (!quiet) {
      setState(c.sessionId ? 'ended' : 'idle');
      setCall(c.sessionId ? 'ended' : 'idle');
      if (c.sessionId) showEnded('local', 'You hung up.');
    }
  }

  function deleteSession(c, keepalive = false) {
    if (!c.sessionId || c.deleted) return;
    c.deleted = true;
    ctx.api.deleteRtcSession(c.sessionId, { embedToken: token, keepalive }).catch((err) => {
      // 404: the server had ended it already.
      if (err.status !== 404) console.warn('talk: hang-up not confirmed', err);
    });
  }

  /** Ends the call c with an error in the alert. */
  function fail(c, code, message, extra = null) {
    close(c);
    showError(code, message, extra);
    setState(c.sessionId ? 'ended' : 'idle');
    setCall(c.sessionId ? 'ended' : 'idle');
  }

  /** Frees what c holds; safe to call twice. */
  function close(c) {
    if (c.closed) return;
    c.closed = true;
    clearTimeout(c.timer);
    if (c.meter) c.meter.close();
    if (c.pc) c.pc.close();
    if (c.mic) stopTracks(c.mic);
    audio.srcObject = null;
    playBtn.hidden = true;
    for (const a of turns.values()) if (a.agent && a.agent.frame) cancelAnimationFrame(a.agent.frame);
    refreshCompose();
  }

  function showConversation(id) {
    if (!id || !ctx.app.user) return;
    chatLink.href = `/chat/${encodeURIComponent(id)}`;
    chatLink.hidden = false;
  }

  // Leaving the page, or closing it, hangs up.
  const onPageHide = () => hangUp({ keepalive: true });
  window.addEventListener('pagehide', onPageHide);
  ctx.onLeave(() => {
    left = true;
    window.removeEventListener('pagehide', onPageHide);
    hangUp({ quiet: true });
  });

  // ---- Messages from the server ----

  function onMessage(c, msg) {
    switch (msg.type) {
      case 'session':
        if (msg.conversation_id) {
          talk.conversationId = msg.conversation_id;
          showConversation(msg.conversation_id);
        }
        if (!agentName && msg.agent) showAgent(msg.agent);
        if (talk.state === 'connecting') setState('connected');
        break;
      case 'state':
        if (SERVER_STATES.has(msg.state)) setState(msg.state);
        break;
      case 'user':
        onUser(msg);
        break;
      case 'agent':
        onAgentDelta(msg);
        break;
      case 'sentence':
        onSentence(msg);
        break;
      case 'turn':
        onTurn(msg);
        break;
      case 'backchannel':
        onBackchannel(msg);
        break;
      case 'error':
        note('talk-error', `Error: ${msg.message || msg.code || 'something went wrong with this turn'}`, { code: msg.code || 'error' });
        break;
      case 'bye': {
        const reason = String(msg.reason || '');
        talk.bye = reason;
        close(c);
        setState('ended');
        setCall('ended');
        showEnded(reason || 'unknown', BYE_TEXT[reason] || `The server ended the call${reason ? ` (${reason})` : ''}.`);
        break;
      }
      default:
        break; // a message of a newer server; kept in talk.messages
    }
  }

  // ---- Transcript ----

  function resetTranscript() {
    turns.clear();
    typed = null;
    transcript.replaceChildren(empty);
  }

  function turnOf(id) {
    const key = String(id ?? '');
    let t = turns.get(key);
    if (!t) {
      t = { user: null, agent: null };
      turns.set(key, t);
    }
    return t;
  }

  /** Runs fn and keeps the transcript scrolled to its end, unless scrolled up. */
  function follow(fn) {
    const near = transcript.scrollTop + transcript.clientHeight >= transcript.scrollHeight - 48;
    fn();
    if (near) transcript.scrollTop = transcript.scrollHeight;
  }

  function place(el, before = null) {
    empty.remove();
    follow(() => {
      if (before && before.parentNode === transcript) transcript.insertBefore(el, before);
      else transcript.append(el);
    });
  }

  function userEntry(turnId, text, { final = false, isTyped = false } = {}) {
    const textEl = h('p', { class: 'talk-text' }, text);
    const el = h('div', {
      class: `talk-entry talk-user ${final ? 'final' : 'partial'}${isTyped ? ' typed' : ''}`,
      dataset: { turn: turnId },
      'aria-busy': final ? null : 'true',
    }, h('span', { class: 'talk-who' }, 'You'), textEl);
    return { el, textEl };
  }

  /** Takes the typed turn as the user's side of turnId, if one waits for its id. */
  function adoptTyped(turnId, t) {
    if (!typed || t.user) return;
    typed.el.dataset.turn = turnId;
    t.user = typed;
    typed = null;
  }

  function onUser(msg) {
    const id = String(msg.turn_id ?? '');
    const t = turnOf(id);
    const text = String(msg.text || '');
    if (!t.user && typed && text.trim() === typed.text.trim()) adoptTyped(id, t);
    if (!t.user) {
      if (!text && msg.final) return; // nothing was heard
      t.user = userEntry(id, text);
      place(t.user.el, t.agent && t.agent.el);
    }
    const u = t.user;
    if (msg.final && !text && !u.el.classList.contains('typed')) {
      // The final transcript is empty: it was only noise.
      follow(() => u.el.remove());
      t.user = null;
      return;
    }
    follow(() => {
      if (!u.el.classList.contains('typed')) u.textEl.textContent = text;
      if (msg.final) {
        u.el.classList.replace('partial', 'final');
        u.el.removeAttribute('aria-busy');
      }
    });
  }

  function onBackchannel(msg) {
    const text = String(msg.text || '');
    // The words that turned out to be a backchannel were shown as a partial turn.
    const partial = [...transcript.querySelectorAll('.talk-user.partial')].pop();
    if (partial) {
      for (const [, t] of turns) if (t.user && t.user.el === partial) t.user = null;
      partial.classList.replace('partial', 'backchannel');
      partial.removeAttribute('aria-busy');
      partial.querySelector('.talk-text').textContent = text || partial.querySelector('.talk-text').textContent;
      partial.append(h('span', { class: 'talk-badge' }, 'backchannel'));
      return;
    }
    const el = h('div', { class: 'talk-entry talk-user backchannel' },
      h('span', { class: 'talk-who' }, 'You'), h('p', { class: 'talk-text' }, text), h('span', { class: 'talk-badge' }, 'backchannel'));
    place(el);
  }

  /** The reply of turnId, made on its first use. */
  function agentOf(turnId) {
    const t = turnOf(turnId);
    if (t.agent) return t.agent;
    adoptTyped(turnId, t); // a typed turn is answered under a turn id of its own
    const a = {
      text: '', status: 'writing', current: null, pending: null, said: null, frame: 0,
      textEl: h('p', { class: 'talk-text' }),
      captionEl: h('p', { class: 'talk-caption', hidden: true }),
      badges: h('span', { class: 'talk-badges' }),
    };
    a.el = h('div', {
      class: 'talk-entry talk-agent', dataset: { turn: turnId, status: 'writing' }, 'aria-busy': 'true',
    }, h('div', { class: 'talk-entry-head' }, h('span', { class: 'talk-who' }, agentName || 'Agent'), a.badges), a.textEl, a.captionEl);
    t.agent = a;
    const next = t.user ? t.user.el.nextSibling : null;
    place(a.el, next);
    return a;
  }

  function later(a) {
    // Deltas come faster than a page needs to repaint.
    if (!a.frame) a.frame = requestAnimationFrame(() => follow(() => renderAgent(a)));
  }

  function onAgentDelta(msg) {
    const a = agentOf(String(msg.turn_id ?? ''));
    if (a.status === 'done' || a.status === 'interrupted') return;
    a.text += String(msg.delta || '');
    later(a);
  }

  function onSentence(msg) {
    const a = agentOf(String(msg.turn_id ?? ''));
    if (a.status === 'done' || a.status === 'interrupted') return;
    a.status = 'speaking';
    a.pending = { index: Number(msg.index) || 0, text: String(msg.text || '') };
    a.el.dataset.sentence = String(a.pending.index);
    later(a);
  }

  function onTurn(msg) {
    const id = String(msg.turn_id ?? '');
    const t = turnOf(id);
    if (t.user) {
      t.user.el.classList.replace('partial', 'final');
      t.user.el.removeAttribute('aria-busy');
      if (msg.user_message_id) t.user.el.dataset.messageId = msg.user_message_id;
    }
    if (!t.agent && !msg.said && !msg.interrupted) return; // no reply (an error said why)
    const a = agentOf(id);
    a.status = msg.interrupted ? 'interrupted' : 'done';
    a.said = String(msg.said || '');
    if (!a.text) a.text = a.said;
    a.current = null;
    a.pending = null;
    delete a.el.dataset.sentence;
    if (msg.message_id) a.el.dataset.messageId = msg.message_id;
    a.el.classList.add(a.status);
    a.el.removeAttribute('aria-busy');
    if (msg.interrupted) a.badges.append(h('span', { class: 'talk-badge talk-interrupted' }, 'interrupted'));
    const lat = latencyLine(msg.latency);
    if (lat) a.el.append(lat);
    follow(() => renderAgent(a));
  }

  function renderAgent(a) {
    cancelAnimationFrame(a.frame);
    a.frame = 0;
    a.el.dataset.status = a.status;
    const text = a.text;
    if (a.pending) {
      // The sentence is searched for after the one before it, so a
      // sentence said twice is found at its second place.
      const found = locate(text, a.pending.text, a.current ? a.current.end : 0);
      if (found) {
        a.current = { ...found, index: a.pending.index };
        a.pending = null;
        a.captionEl.hidden = true;
      } else {
        a.current = null;
        a.captionEl.replaceChildren(h('mark', { class: 'talk-current', dataset: { index: String(a.pending.index) } }, a.pending.text));
        a.captionEl.hidden = false;
      }
    }
    if (a.status === 'interrupted') {
      const cut = spokenEnd(text, a.said);
      a.textEl.replaceChildren(h('span', { class: 'talk-said' }, text.slice(0, cut)));
      if (cut < text.length) {
        a.textEl.append(h('span', { class: 'visually-hidden' }, ' (not spoken:) '), h('s', { class: 'talk-cut' }, text.slice(cut)));
      }
      a.captionEl.hidden = true;
      return;
    }
    if (a.status === 'done') {
      a.textEl.replaceChildren(text);
      a.captionEl.hidden = true;
      return;
    }
    if (!text) {
      a.textEl.replaceChildren(h('span', { class: 'typing', role: 'img', 'aria-label': `${agentName || 'The agent'} is thinking` }, h('span'), h('span'), h('span')));
      return;
    }
    if (a.current) {
      const { start, end, index } = a.current;
      a.textEl.replaceChildren(
        text.slice(0, start),
        h('mark', { class: 'talk-current', dataset: { index: String(index) } }, text.slice(start, end)),
        text.slice(end),
      );
    } else {
      a.textEl.replaceChildren(text);
    }
  }

  /** A line for an error of one turn, or a remark, in the transcript. */
  function note(kind, text, dataset = {}) {
    place(h('p', { class: `talk-note ${kind}`, dataset }, text));
  }

  // ---- Typed turns ----

  textForm.addEventListener('submit', (e) => {
    e.preventDefault();
    const text = textInput.value.trim();
    if (!text || !call || call.closed) return;
    if (!send(call, { type: 'text', text })) {
      toast('The call is not connected yet.', 'error');
      return;
    }
    textInput.value = '';
    const u = userEntry('', text, { final: true, isTyped: true });
    u.text = text;
    typed = u;
    place(u.el);
  });

  return root;
}

/** "First audio 640 ms", with the other measures after it, or null. */
function latencyLine(latency) {
  if (!latency || typeof latency !== 'object') return null;
  const ms = (v) => `${Math.round(v)} ms`;
  const num = (v) => typeof v === 'number' && Number.isFinite(v);
  const parts = [
    ['end of turn', latency.end_of_turn_ms],
    ['transcript', latency.transcript_ms],
    ['first token', latency.first_token_ms],
    ['first sentence', latency.first_sentence_ms],
  ].filter(([, v]) => num(v)).map(([k, v]) => `${k} ${ms(v)}`);
  const first = latency.first_audio_ms;
  if (!num(first) && parts.length === 0) return null;
  return h('p', { class: 'talk-latency', dataset: num(first) ? { firstAudioMs: String(Math.round(first)) } : {} },
    num(first) ? h('span', { class: 'talk-latency-main' }, `First audio in ${ms(first)}`) : null,
    parts.length ? h('span', { class: 'talk-latency-detail' }, `${num(first) ? ' · ' : ''}${parts.join(' · ')}`) : null,
  );
}

/** Why this browser cannot make the call, or '' when it can. */
function unsupported() {
  if (!window.isSecureContext) return 'Talking needs a secure connection: open Timbre over HTTPS (or on localhost).';
  if (!navigator.mediaDevices || typeof navigator.mediaDevices.getUserMedia !== 'function') {
    return 'This browser cannot use a microphone on this page.';
  }
  if (typeof RTCPeerConnection !== 'function') return 'This browser cannot make real-time calls (WebRTC).';
  return '';
}

/** [code, message] for a getUserMedia failure. */
function micError(err) {
  switch (err && err.name) {
    case 'NotAllowedError':
    case 'SecurityError':
      return ['mic_denied', 'Microphone access was refused. Allow it in the browser’s site settings (the icon beside the address), then press Connect again.'];
    case 'NotFoundError':
    case 'OverconstrainedError':
      return ['no_mic', 'No microphone was found. Connect one and press Connect again.'];
    case 'NotReadableError':
    case 'AbortError':
      return ['mic_busy', 'The microphone could not be started: another app may be using it.'];
    default:
      return ['mic_failed', `The microphone could not be started: ${(err && err.message) || err}`];
  }
}

function stopTracks(stream) {
  for (const t of stream.getTracks()) t.stop();
}

/** Resolves once pc has gathered its candidates, or after ms. */
function gathered(pc, ms) {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      pc.removeEventListener('icegatheringstatechange', check);
      resolve();
    };
    const check = () => {
      if (pc.iceGatheringState === 'complete') done();
    };
    const timer = setTimeout(done, ms);
    pc.addEventListener('icegatheringstatechange', check);
  });
}

// ---- Matching what is spoken against what was written ----
//
// The server speaks a cleaned-up reply (no markdown, no citation markers),
// so sentences and the spoken part are compared letters and digits only.

/**
 * text folded for comparison: its letters and digits, lowercased, as s;
 * at[i] is the index in text of s's i-th code unit. Citation markers ([1])
 * are left out.
 */
function fold(text) {
  const masked = String(text).replace(/\[\d{1,3}\]/g, (m) => ' '.repeat(m.length));
  let s = '';
  const at = [];
  let i = 0;
  for (const ch of masked) {
    if (/[\p{L}\p{N}]/u.test(ch)) {
      const low = ch.toLowerCase();
      s += low;
      for (let k = 0; k < low.length; k++) at.push(i);
    }
    i += ch.length;
  }
  return { s, at };
}

// The index after the character at i, taking in what closes a sentence:
// punctuation, a quote, markdown emphasis and citation markers ([1]).
function endAfter(text, i) {
  let end = i + (text.codePointAt(i) > 0xffff ? 2 : 1);
  for (;;) {
    while (end < text.length && /[.!?…,;:'"”’»)\]*_]/.test(text[end])) end++;
    const cite = /^\s*\[\d{1,3}\]/.exec(text.slice(end, end + 8));
    if (!cite) return end;
    end += cite[0].length;
  }
}

/** {start, end} of sentence in text at or after index from, or null. */
function locate(text, sentence, from) {
  const hay = fold(text);
  const needle = fold(sentence).s;
  if (!needle) return null;
  let k0 = 0;
  while (k0 < hay.at.length && hay.at[k0] < from) k0++;
  const k = hay.s.indexOf(needle, k0);
  if (k < 0) return null;
  return { start: hay.at[k], end: endAfter(text, hay.at[k + needle.length - 1]) };
}

/** Where the part of text that said covers ends: said is what was spoken of it. */
function spokenEnd(text, said) {
  const a = fold(text);
  const b = fold(said).s;
  let n = 0;
  while (n < a.s.length && n < b.length && a.s[n] === b[n]) n++;
  if (n === 0) return 0;
  if (n === a.s.length) return text.length;
  return endAfter(text, a.at[n - 1]);
}
