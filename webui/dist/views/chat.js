// views/chat.js — conversations with agents: the list of your chats, one
// chat, and the Chat button that starts one from an agent.
//
// A turn (a message sent, or a reply regenerated) is a POST answered with
// server-sent events: start (the stored user message and the reply's row),
// delta {text}, citation, then done or error with the reply as the server
// stored it, which replaces what the page built from the deltas. The reply
// is stored before the model is called, so a conversation read while a
// reply is being written shows it as "streaming"; the page then reads the
// conversation again until the reply is finished.

import {
  h, uid, avatar, errorText, errorBox, loading, busy, toast, confirmDialog, timeEl, formatDate, truncate,
} from '../ui.js';
import { renderText } from '../richtext.js';
import { loadVoices, listenButton, stopVoice } from './voice.js';
import { talkLink } from './talk.js';

// How often a chat page reads the conversation again while a reply that
// another tab (or a request this page gave up on) is writing is unfinished.
const WATCH_MS = 1500;

function plural(n, one, many) {
  return `${n} ${n === 1 ? one : many}`;
}

/**
 * Starts a conversation with agent and opens it. button is marked busy
 * meanwhile; a page holding unsaved work is asked about first.
 */
export async function startChat(ctx, agent, button) {
  if (ctx.app.leaveGuard && !(await ctx.app.leaveGuard())) return;
  ctx.app.leaveGuard = null;
  let res;
  try {
    res = await busy(button, 'Starting…', () => ctx.api.startConversation(agent.id));
  } catch (err) {
    toast(`Could not start a chat: ${errorText(err)}`, 'error');
    return;
  }
  ctx.navigate(`/chat/${encodeURIComponent(res.conversation.id)}`, { force: true });
}

/**
 * A Chat button for agent: it starts a conversation and opens it. Signed
 * out, it is a link to log in and come back to the agent.
 */
export function chatButton(ctx, agent, { small = false, primary = true } = {}) {
  const cls = ['btn', primary ? 'btn-primary' : '', small ? 'btn-small' : ''].filter(Boolean).join(' ');
  if (!ctx.app.user) {
    const back = `/agents/${encodeURIComponent(agent.id)}`;
    return h('a', { href: `/login?next=${encodeURIComponent(back)}`, class: cls }, 'Log in to chat');
  }
  const name = agent.name || 'this agent';
  const btn = h('button', { type: 'button', class: cls, 'aria-label': `Chat with ${name}` }, 'Chat');
  btn.addEventListener('click', () => startChat(ctx, agent, btn));
  return btn;
}

/** /chat: the signed-in user's conversations, most recently active first. */
export function conversationsView(ctx) {
  ctx.app.setTitle('Chats');
  const body = h('div', null, loading('Loading your chats…'));
  const list = h('ul', { class: 'chat-list' });
  const status = h('p', { class: 'muted list-status', role: 'status' });
  const more = h('button', { type: 'button', class: 'btn', hidden: true }, 'Load more');
  const moreError = h('div');
  let cursor = '';

  function empty() {
    return h('div', { class: 'empty' },
      h('h2', null, 'No chats yet'),
      h('p', null, 'Open one of your agents, or a public one, and press Chat to start a conversation.'),
      h('div', { class: 'button-row center' },
        h('a', { href: '/agents', class: 'btn' }, 'My agents'),
        h('a', { href: '/explore', class: 'btn' }, 'Explore'),
      ),
    );
  }

  async function load(reset) {
    moreError.replaceChildren();
    if (reset) {
      cursor = '';
      list.replaceChildren();
      body.replaceChildren(loading('Loading your chats…'));
    }
    let page;
    try {
      page = await (reset ? ctx.api.listConversations() : busy(more, 'Loading…', () => ctx.api.listConversations({ cursor })));
    } catch (err) {
      if (reset) body.replaceChildren(errorBox(err, () => load(true)));
      else moreError.replaceChildren(errorBox(err, () => load(false)));
      return;
    }
    const items = page.items || [];
    cursor = page.next_cursor || '';
    more.hidden = !cursor;
    if (reset && items.length === 0) {
      body.replaceChildren(empty());
      return;
    }
    if (reset) body.replaceChildren(list);
    for (const c of items) list.append(row(c));
    status.textContent = `${plural(list.children.length, 'chat', 'chats')} shown${cursor ? '; more available' : ''}.`;
  }

  function row(c) {
    const title = c.title || 'New conversation';
    const del = h('button', { type: 'button', class: 'btn btn-small btn-danger-ghost', 'aria-label': `Delete the chat “${title}” with ${c.agent_name}` }, 'Delete');
    const li = h('li', { class: 'chat-row', dataset: { id: c.id } },
      h('div', { class: 'chat-row-main' },
        h('a', { href: `/chat/${encodeURIComponent(c.id)}`, class: c.title ? 'chat-row-title' : 'chat-row-title untitled' }, title),
        h('p', { class: 'chat-row-meta' },
          h('span', { class: 'chat-row-agent' }, c.agent_name || 'Agent'),
          ' · ', plural(c.message_count, 'message', 'messages'),
          ' · ', h('span', null, 'active ', timeEl(c.updated_at)),
        ),
      ),
      del,
    );
    del.addEventListener('click', async () => {
      const ok = await confirmDialog({
        title: 'Delete this chat?',
        message: `“${truncate(title, 80)}” with ${c.agent_name} and its ${plural(c.message_count, 'message', 'messages')} are deleted. This cannot be undone.`,
        confirm: 'Delete chat',
        danger: true,
      });
      if (!ok) return;
      try {
        await busy(del, 'Deleting…', () => ctx.api.deleteConversation(c.id));
      } catch (err) {
        if (err.status !== 404) {
          toast(`Could not delete: ${errorText(err)}`, 'error');
          return;
        }
      }
      const next = li.nextElementSibling || li.previousElementSibling;
      li.remove();
      toast('Deleted the chat.', 'success');
      if (list.children.length === 0 && !cursor) {
        body.replaceChildren(empty());
        status.textContent = 'No chats left.';
        return;
      }
      status.textContent = `${plural(list.children.length, 'chat', 'chats')} shown${cursor ? '; more available' : ''}.`;
      if (next) next.querySelector('a').focus();
    });
    return li;
  }

  more.addEventListener('click', () => load(false));
  load(true);
  return h('section', { class: 'page narrow-wide' },
    h('div', { class: 'page-head' },
      h('div', null, h('h1', null, 'Chats'), h('p', { class: 'lead' }, 'Your conversations with agents, most recently active first.')),
    ),
    status,
    body,
    h('div', { class: 'load-more' }, more, moreError),
  );
}

/** /chat/{id}: one conversation. */
export function chatView(ctx) {
  const id = ctx.params[0];
  ctx.app.setTitle('Chat');
  const root = h('section', { class: 'page chat-page' }, loading('Loading the conversation…'));
  let left = false;
  ctx.onLeave(() => {
    left = true;
  });
  (async function load() {
    root.replaceChildren(loading('Loading the conversation…'));
    let data;
    try {
      data = await ctx.api.getConversation(id);
    } catch (err) {
      if (left) return;
      if (err.code === 'agent_not_found') {
        // The chat is yours, but its agent was made private by its owner.
        ctx.app.setTitle('Agent unavailable');
        const del = h('button', { type: 'button', class: 'btn btn-danger-ghost' }, 'Delete this chat');
        del.addEventListener('click', async () => {
          try {
            await busy(del, 'Deleting…', () => ctx.api.deleteConversation(id));
          } catch (e) {
            toast(`Could not delete: ${errorText(e)}`, 'error');
            return;
          }
          toast('Deleted the chat.', 'success');
          ctx.navigate('/chat', { force: true });
        });
        root.replaceChildren(
          h('h1', { tabindex: '-1' }, 'This agent is no longer available'),
          h('p', null, 'Its owner made it private, so this chat cannot be opened or continued.'),
          h('div', { class: 'button-row' }, h('a', { href: '/chat', class: 'btn' }, 'Your chats'), del),
        );
        return;
      }
      if (err.status === 404) {
        ctx.app.setTitle('Chat not found');
        root.replaceChildren(
          h('h1', { tabindex: '-1' }, 'Chat not found'),
          h('p', null, 'No conversation with this id exists, or it is not yours.'),
          h('div', { class: 'button-row' }, h('a', { href: '/chat', class: 'btn' }, 'Your chats')),
        );
        return;
      }
      root.replaceChildren(h('h1', null, 'Could not load the chat'), errorBox(err, load));
      return;
    }
    let agent = null;
    try {
      agent = await ctx.api.getAgent(data.conversation.agent_id);
    } catch {
      // The conversation names its agent; only the avatar is missed.
    }
    let voice = null;
    if (agent && agent.voice_id) {
      try {
        voice = (await loadVoices(ctx.api)).find((v) => v.id === agent.voice_id) || null;
      } catch {
        // Without the catalog the replies are not read aloud; the chat works.
      }
      if (!voice && agent.voice_id.startsWith('vc_')) {
        // A voice its owner cloned: the catalog lists only your own, but the
        // agent speaks with it to everyone (the speech endpoint finds it).
        voice = { id: agent.voice_id, name: agent.name, kind: 'cloned' };
      }
    }
    if (left) return;
    root.replaceChildren(chatPage(ctx, data, agent, voice));
  })();
  return root;
}

/** The chat; voice, when the agent has one this server speaks, reads replies aloud. */
function chatPage(ctx, data, agentRecord, voice) {
  let conv = data.conversation;
  const agent = {
    id: conv.agent_id,
    name: (agentRecord && agentRecord.name) || conv.agent_name || 'Agent',
    avatar_url: agentRecord ? agentRecord.avatar_url : null,
  };
  ctx.app.setTitle(conv.title ? `${conv.title} · ${agent.name}` : `Chat with ${agent.name}`);
  let left = false;
  let watchTimer = 0;
  ctx.onLeave(() => {
    left = true;
    clearTimeout(watchTimer);
    stopVoice();
  });

  // The turn being streamed: {controller, reply (its view, once started)}.
  let turn = null;
  const views = []; // message views, oldest first

  const messagesId = uid('msgs');
  const list = h('div', { class: 'messages', id: messagesId, role: 'log', 'aria-label': `Messages with ${agent.name}` });
  const announcer = h('p', { class: 'visually-hidden', role: 'status' });
  const banner = offlineBanner(agent.name);
  const composer = composerForm();

  // ---- Messages ----

  /** A message on the page; render() rebuilds it from msg. */
  function messageView(msg) {
    const v = { msg, el: h('div'), frame: 0 };
    v.render = () => {
      cancelAnimationFrame(v.frame);
      v.frame = 0;
      renderMessage(v);
    };
    // Deltas arrive faster than a page needs to repaint.
    v.later = () => {
      if (!v.frame) v.frame = requestAnimationFrame(() => keepBottom(v.render));
    };
    v.render();
    return v;
  }

  function renderMessage(v) {
    const m = v.msg;
    const mine = m.role === 'user';
    const streaming = m.status === 'streaming';
    const sourcesId = `src-${m.id}`;
    const cited = new Map((m.citations || []).map((c) => [c.marker, c]));
    const text = h('div', { class: 'msg-text' }, renderText(m.content, {
      marker: mine ? null : (n) => (cited.has(n) ? citeRef(n, sourcesId) : null),
    }));
    const bubble = h('div', { class: 'msg-bubble' }, m.content ? text : null);
    if (streaming && !m.content) {
      bubble.append(h('span', { class: 'typing', role: 'img', 'aria-label': `${agent.name} is typing` }, h('span'), h('span'), h('span')));
    }
    const head = h('div', { class: 'msg-head' },
      h('span', { class: 'msg-author' }, mine ? 'You' : agent.name),
      m.offline ? h('span', { class: 'badge badge-offline', title: 'No language model wrote this: it quotes the agent’s knowledge or card.' }, 'offline · quoted from knowledge') : null,
      m.created_at && !m.pending ? h('time', { class: 'msg-time', datetime: m.created_at, title: formatDate(m.created_at) }, timeOf(m.created_at)) : null,
      voice && !mine && !streaming && !m.pending && m.status !== 'failed'
        ? listenButton(ctx, { voice, key: `${m.id}:${m.swipe_index || 0}`, content: m.content, conversationId: conv.id, messageId: m.id }) : null,
    );
    let state = null;
    if (m.status === 'failed') {
      state = h('p', { class: 'msg-state msg-state-failed' }, h('strong', null, 'The reply failed. '), m.error || 'No reason was given.');
    } else if (m.status === 'stopped') {
      state = h('p', { class: 'msg-state msg-state-stopped' }, 'Stopped before the reply was finished.');
    } else if (m.status === 'interrupted') {
      state = h('p', { class: 'msg-state msg-state-stopped msg-state-interrupted' }, 'Interrupted in a voice call: this is what was said before you spoke.');
    } else if (streaming && !m.live) {
      state = h('p', { class: 'msg-state' }, 'Still being written…');
    }
    const main = h('div', { class: 'msg-main' },
      head,
      bubble,
      cited.size ? sources(m, sourcesId) : null,
      state,
      h('div', { class: 'msg-actions' }),
    );
    const el = h('div', {
      class: `msg msg-${mine ? 'user' : 'agent'} msg-${m.status}${m.pending ? ' msg-pending' : ''}`,
      dataset: { id: m.id, status: m.status, seq: String(m.seq || '') },
      'aria-busy': streaming ? 'true' : null,
    }, mine ? null : h('div', { class: 'msg-avatar' }, avatar(agent, 'sm')), main);
    // Keep an open source chip open across the re-render of a streaming reply.
    const open = new Set([...v.el.querySelectorAll('details[open]')].map((d) => d.dataset.marker));
    for (const d of el.querySelectorAll('details')) if (open.has(d.dataset.marker)) d.open = true;
    if (v.el.parentNode) v.el.replaceWith(el);
    v.el = el;
    actionsFor(v);
  }

  /** The sources a reply cites, as chips that open to show the passage. */
  function sources(m, id) {
    const chips = [...m.citations].sort((a, b) => a.marker - b.marker).map((c) => {
      const title = c.title || 'Untitled document';
      // A document is usually titled after its first heading; say it once.
      const heads = (c.heading_path || []).filter((x, i) => !(i === 0 && x === title));
      const where = [title, ...heads].join(' › ');
      const page = c.page ? ` · p. ${c.page}` : '';
      const d = h('details', { class: 'source', id: `${id}-${c.marker}`, dataset: { marker: String(c.marker) } },
        h('summary', { title: truncate(c.text, 300) },
          h('span', { class: 'source-n', 'aria-hidden': 'true' }, String(c.marker)),
          h('span', { class: 'visually-hidden' }, `Source ${c.marker}: `),
          h('span', { class: 'source-where' }, where, page),
        ),
        h('div', { class: 'source-body' },
          h('blockquote', { class: 'source-text' }, c.text || ''),
          c.url ? h('p', { class: 'source-url' }, h('a', { href: c.url, target: '_blank', rel: 'noopener noreferrer', class: 'break' }, c.url)) : null,
        ),
      );
      return h('li', null, d);
    });
    return h('div', { class: 'msg-sources' },
      h('span', { class: 'msg-sources-label' }, 'Sources'),
      h('ol', { id }, chips),
    );
  }

  /** The [n] in a reply's text: a button that opens source n. */
  function citeRef(n, id) {
    const b = h('button', { type: 'button', class: 'cite-ref', 'aria-label': `Source ${n}`, 'aria-controls': `${id}-${n}` }, String(n));
    b.addEventListener('click', () => {
      const d = document.getElementById(`${id}-${n}`);
      if (!d) return;
      d.open = true;
      d.querySelector('summary').focus();
    });
    return b;
  }

  /** Regenerate, retry and the swipe arrows, on the last reply only. */
  function actionsFor(v) {
    const box = v.el.querySelector('.msg-actions');
    const m = v.msg;
    box.replaceChildren();
    const last = views[views.length - 1] === v;
    if (!last || m.role !== 'assistant' || m.status === 'streaming' || m.pending) return;
    if (m.swipe_count > 1) box.append(swipeControl(v));
    // The greeting (seq 1) is not regenerated: a new chat picks another.
    if (m.seq > 1) {
      const redo = m.status === 'failed' || m.status === 'stopped';
      const btn = h('button', { type: 'button', class: `btn btn-small ${redo ? '' : 'btn-ghost'}`, disabled: Boolean(turn) }, redo ? 'Retry' : 'Regenerate');
      btn.setAttribute('aria-label', redo ? 'Retry the reply' : 'Regenerate the reply');
      btn.addEventListener('click', () => runTurn({ regenerate: m }));
      box.append(btn);
    }
  }

  function swipeControl(v) {
    const m = v.msg;
    const pos = h('span', { class: 'swipe-pos', 'aria-live': 'polite' }, `${m.swipe_index + 1}/${m.swipe_count}`);
    const prev = h('button', { type: 'button', class: 'btn btn-small btn-ghost swipe-btn', 'aria-label': 'Previous alternative reply', disabled: m.swipe_index <= 0 || Boolean(turn) }, '‹');
    const next = h('button', { type: 'button', class: 'btn btn-small btn-ghost swipe-btn', 'aria-label': 'Next alternative reply', disabled: m.swipe_index >= m.swipe_count - 1 || Boolean(turn) }, '›');
    const go = async (btn, index) => {
      let got;
      try {
        got = await busy(btn, null, () => ctx.api.swipe(conv.id, m.id, index));
      } catch (err) {
        toast(`Could not switch replies: ${errorText(err)}`, 'error');
        return;
      }
      if (left) return;
      v.msg = got;
      keepBottom(v.render);
      // The arrows were rebuilt: keep the keyboard on the one just used,
      // or on the other one at the end of the row.
      const arrows = [...v.el.querySelectorAll('.swipe-btn')];
      if (btn === next) arrows.reverse();
      const target = arrows.find((b) => !b.disabled);
      if (target) target.focus();
    };
    prev.addEventListener('click', () => go(prev, m.swipe_index - 1));
    next.addEventListener('click', () => go(next, m.swipe_index + 1));
    return h('div', { class: 'swipe', role: 'group', 'aria-label': 'Alternative replies' }, prev, pos, next);
  }

  function refreshActions() {
    for (const v of views.slice(-2)) actionsFor(v);
  }

  function add(msg) {
    const v = messageView(msg);
    views.push(v);
    list.append(v.el);
    refreshActions();
    return v;
  }

  function remove(v) {
    const i = views.indexOf(v);
    if (i >= 0) views.splice(i, 1);
    v.el.remove();
    refreshActions();
  }

  function replace(v, msg) {
    v.msg = msg;
    v.render();
  }

  /** Shows msgs as the whole conversation. */
  function showAll(msgs) {
    views.splice(0).forEach((v) => v.el.remove());
    for (const m of msgs) {
      const v = messageView(m);
      views.push(v);
      list.append(v.el);
    }
    refreshActions();
    list.querySelector('.chat-empty')?.remove();
    if (views.length === 0) list.append(h('p', { class: 'muted chat-empty' }, `Say hello to ${agent.name}.`));
  }

  // ---- Scrolling ----

  function nearBottom() {
    return window.innerHeight + window.scrollY >= document.documentElement.scrollHeight - 120;
  }
  function toBottom() {
    window.scrollTo(0, document.documentElement.scrollHeight);
  }
  /** Runs fn and follows the conversation down, unless the reader scrolled up. */
  function keepBottom(fn) {
    const follow = nearBottom();
    fn();
    if (follow) toBottom();
  }

  // ---- Turns ----

  function setBusy(t) {
    turn = t;
    // Screen readers hold the log's changes while the reply streams and
    // read the finished reply once, instead of every word.
    list.setAttribute('aria-busy', String(Boolean(t)));
    composer.busy(Boolean(t));
    refreshActions();
  }

  /**
   * Sends a message ({content}) or regenerates a reply ({regenerate: msg})
   * and streams the reply into the page.
   */
  async function runTurn({ content, regenerate }) {
    if (turn) return;
    const t = { controller: new AbortController(), reply: null, ended: false };
    let pendingUser = null;
    const old = regenerate ? views.find((v) => v.msg.id === regenerate.id) : null;
    setBusy(t);
    composer.clearError();
    if (content !== undefined) {
      list.querySelector('.chat-empty')?.remove();
      pendingUser = add({ id: `pending-${uid('m')}`, role: 'user', content, status: 'complete', pending: true, citations: [] });
      toBottom();
    }
    announcer.textContent = `${agent.name} is writing a reply…`;

    function onEvent(name, ev) {
      if (left) return;
      if (name === 'start') {
        if (ev.user_message && pendingUser) replace(pendingUser, ev.user_message);
        // live: this page streams it (a reply streaming elsewhere says so).
        const reply = { ...ev.message, content: ev.message.content || '', citations: [], live: true };
        keepBottom(() => {
          if (old) replace(old, reply);
          t.reply = old || add(reply);
        });
        refreshActions();
      } else if (name === 'delta' && t.reply) {
        t.reply.msg.content += ev.text || '';
        t.reply.later();
      } else if (name === 'citation' && t.reply) {
        t.reply.msg.citations = [...t.reply.msg.citations, ev];
        t.reply.later();
      } else if (name === 'done' || name === 'error') {
        const why = ev.error && ev.error.message;
        const stored = ev.message || (t.reply && { ...t.reply.msg, status: 'failed', error: why });
        if (!stored) return;
        t.ended = true;
        if (ev.user_message && pendingUser) replace(pendingUser, ev.user_message);
        // A server that does not stream sends done without a start.
        keepBottom(() => {
          if (t.reply || old) replace(t.reply || old, stored);
          t.reply = t.reply || old || add(stored);
        });
        refreshActions();
        if (name === 'done') {
          banner.update(ev.offline, ev.offline_reason || (ev.model && ev.model.reason) || '');
          announcer.textContent = ev.offline ? `${agent.name} replied offline, quoting its knowledge.` : `${agent.name} replied.`;
        } else {
          announcer.textContent = `The reply failed: ${why || 'no reason was given'}`;
        }
      }
    }

    try {
      const opts = { signal: t.controller.signal, onEvent };
      if (regenerate) await ctx.api.regenerate(conv.id, regenerate.id, opts);
      else await ctx.api.sendMessage(conv.id, content, opts);
    } catch (err) {
      if (left) return;
      if (!t.reply) {
        // Refused before the reply began: nothing was stored.
        if (pendingUser) remove(pendingUser);
        if (content !== undefined && !composer.value()) composer.setValue(content);
        if (err.name === 'AbortError') announcer.textContent = 'Stopped.';
        else if (regenerate) toast(`Could not make another reply: ${errorText(err)}`, 'error');
        else composer.showError(err);
      } else if (err.name === 'AbortError') {
        replace(t.reply, { ...t.reply.msg, status: 'stopped' });
        announcer.textContent = 'Stopped the reply.';
      } else {
        replace(t.reply, { ...t.reply.msg, status: 'failed', error: errorText(err) });
        announcer.textContent = `The reply failed: ${errorText(err)}`;
      }
    } finally {
      if (!left) {
        setBusy(null);
        if (t.reply && !t.ended) reread(); // what the server stored wins over the page's guess
        else watch(); // a turn refused as busy: another session's reply is still being written
        if (document.activeElement === document.body || (content !== undefined && !t.reply)) composer.focus();
      }
    }
  }

  /** Reads the conversation again and shows what the server stored. */
  async function reread() {
    clearTimeout(watchTimer);
    let res;
    try {
      res = await ctx.api.getConversation(conv.id);
    } catch {
      if (!left) watchTimer = setTimeout(reread, WATCH_MS * 2);
      return;
    }
    if (left || turn) return; // the turn under way reads its own reply; its end watches again
    conv = res.conversation;
    keepBottom(() => showAll(res.messages || []));
    watch();
  }

  /** Polls while the last reply is being written elsewhere. */
  function watch() {
    clearTimeout(watchTimer);
    const last = views[views.length - 1];
    if (!turn && last && last.msg.status === 'streaming') watchTimer = setTimeout(reread, WATCH_MS);
  }

  // ---- Composer ----

  function composerForm() {
    const alert = h('div', { class: 'alert alert-error composer-alert', role: 'alert', hidden: true });
    const input = h('textarea', {
      id: uid('compose'), name: 'content', rows: '1',
      placeholder: `Message ${agent.name}…`, autocomplete: 'off', 'aria-describedby': `${messagesId}-hint`,
    });
    const send = h('button', { type: 'submit', class: 'btn btn-primary composer-send' }, 'Send');
    const stop = h('button', { type: 'button', class: 'btn composer-stop', hidden: true }, 'Stop');
    const form = h('form', { class: 'composer', novalidate: true },
      alert,
      h('div', { class: 'composer-row' },
        h('label', { for: input.id, class: 'visually-hidden' }, `Message ${agent.name}`),
        input,
        send,
        stop,
      ),
      h('p', { class: 'hint composer-hint', id: `${messagesId}-hint` }, 'Enter sends · Shift+Enter starts a new line · Esc stops a reply'),
    );
    let streaming = false;
    function submit() {
      if (streaming) return;
      const text = input.value;
      if (!text.trim()) {
        input.focus();
        return;
      }
      input.value = '';
      runTurn({ content: text });
    }
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      submit();
    });
    input.addEventListener('keydown', (e) => {
      if (e.key === 'Escape' && streaming) {
        e.preventDefault();
        stop.click();
        return;
      }
      if (e.key !== 'Enter' || e.shiftKey || e.isComposing) return;
      e.preventDefault();
      submit();
    });
    input.addEventListener('input', () => {
      alert.hidden = true;
    });
    stop.addEventListener('click', () => {
      if (turn) turn.controller.abort();
    });
    return {
      element: form,
      value: () => input.value,
      setValue(v) {
        input.value = v;
      },
      focus: () => input.focus(),
      busy(on) {
        streaming = on;
        // The next message can be typed while the reply streams; it is sent
        // once the reply is finished.
        send.disabled = on;
        send.hidden = on;
        stop.hidden = !on;
        input.setAttribute('aria-busy', String(on));
        if (on && document.activeElement === send) stop.focus();
        if (!on && document.activeElement === stop) input.focus();
      },
      showError(err) {
        alert.replaceChildren(h('strong', null, 'Not sent. '), errorText(err));
        alert.hidden = false;
      },
      clearError() {
        alert.hidden = true;
      },
    };
  }

  // ---- Header ----

  const newChat = h('button', { type: 'button', class: 'btn btn-small' }, 'New chat');
  newChat.addEventListener('click', () => startChat(ctx, agent, newChat));
  const del = h('button', { type: 'button', class: 'btn btn-small btn-danger-ghost' }, 'Delete');
  del.addEventListener('click', async () => {
    const ok = await confirmDialog({
      title: 'Delete this chat?',
      message: `The conversation with ${agent.name} and all its messages are deleted. This cannot be undone.`,
      confirm: 'Delete chat',
      danger: true,
    });
    if (!ok) return;
    if (turn) turn.controller.abort();
    try {
      await busy(del, 'Deleting…', () => ctx.api.deleteConversation(conv.id));
    } catch (err) {
      toast(`Could not delete: ${errorText(err)}`, 'error');
      return;
    }
    toast('Deleted the chat.', 'success');
    ctx.navigate('/chat', { force: true });
  });

  const head = h('div', { class: 'chat-head' },
    avatar(agent, 'md'),
    h('div', { class: 'chat-title' },
      h('p', { class: 'crumbs' }, h('a', { href: '/chat' }, 'Chats'), ' / '),
      h('h1', null, agent.name),
      h('p', { class: 'chat-sub' },
        h('a', { href: `/agents/${encodeURIComponent(agent.id)}` }, 'About this agent'),
        conv.title ? [' · ', h('span', { class: 'muted' }, conv.title)] : null,
      ),
    ),
    // Talk goes on with this conversation by voice.
    h('div', { class: 'button-row' }, talkLink(agent, { conversationId: conv.id, small: true }), newChat, del),
  );

  showAll(data.messages || []);
  // Offline when no model is set up for the agent, or when its last reply
  // came back offline (the model server did not answer).
  const lastReply = [...views].reverse().map((v) => v.msg).find((m) => m.role === 'assistant' && m.status !== 'streaming');
  const model = data.model || {};
  banner.update(Boolean(model.offline || (lastReply && lastReply.offline)), model.reason || '');
  watch();
  // Once on the page, open at the latest message with the keyboard in the composer.
  requestAnimationFrame(() => {
    if (left) return;
    toBottom();
    const a = document.activeElement;
    if (!a || a === document.body || a.id === 'main' || a.tagName === 'H1') composer.focus();
  });

  return h('div', { class: 'chat' }, head, banner.element, list, announcer, composer.element);
}

/**
 * The offline-mode banner: shown while the agent answers without a language
 * model, saying why and how to connect one.
 */
function offlineBanner(name) {
  const reason = h('span', { class: 'offline-reason-text' });
  const reasonLine = h('p', { class: 'offline-reason' }, 'Why: ', reason, '.');
  const element = h('div', { class: 'alert alert-warning offline-banner', role: 'status', hidden: true },
    h('p', null,
      h('strong', null, 'Offline mode. '),
      `No language model is connected, so ${name} answers from its knowledge only: replies quote its documents (or its card) word for word instead of being written by a model.`,
    ),
    reasonLine,
    h('p', { class: 'offline-howto' },
      'To connect a model, start Timbre with ', h('code', null, 'TIMBRE_LLM_PROVIDER'), ', ', h('code', null, 'TIMBRE_LLM_BASE_URL'),
      ' and ', h('code', null, 'TIMBRE_LLM_MODEL'), ' set (any OpenAI-compatible server, Ollama or Anthropic), or run Ollama on ',
      h('code', null, '127.0.0.1:11434'), ' and restart Timbre.',
    ),
  );
  function show(why) {
    reason.textContent = String(why || '').replace(/\.$/, '');
    reasonLine.hidden = !why;
    element.hidden = false;
  }
  return {
    element,
    show,
    /** Shows the banner when offline, hides it when a model answered. */
    update(offline, why) {
      if (offline) show(why);
      else element.hidden = true;
    },
  };
}

/** The time of day of an ISO time, or the date when it is not today. */
function timeOf(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const today = new Date().toDateString() === d.toDateString();
  return today ? d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' }) : formatDate(iso);
}
