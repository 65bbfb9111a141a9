// api.js — the one place the web app talks to Timbre's HTTP API.
//
// Every call goes to the same origin with the session cookie. Mutations carry
// the CSRF token read from GET /api/me; a request refused for a stale token
// re-reads it once and retries. Failures become ApiError, which keeps the
// API's {"error":{"code","message","field"}} body. Chat turns answer with
// server-sent events, read from a fetch stream (see stream).

/**
 * An error answered by the API (or a network failure, status 0). reason
 * refines some codes (a rejected voice clip says why: too_short, too_noisy…).
 */
export class ApiError extends Error {
  constructor(status, code, message, field = '', retryAfter = 0, reason = '') {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.field = field;
    this.retryAfter = retryAfter;
    this.reason = reason;
  }
}

/**
 * Creates the API client. onUnauthenticated is called when a signed-in call
 * finds the session gone (401 unauthenticated), so the app can ask the user
 * to sign in again.
 */
export function createApi({ onUnauthenticated = () => {} } = {}) {
  let csrf = '';

  async function send(method, path, opts = {}, retried = false) {
    const { json, form, query, raw = false, quiet401 = false, accept = 'application/json', signal, keepalive = false } = opts;
    let url = path;
    if (query) {
      const q = new URLSearchParams();
      for (const [k, v] of Object.entries(query)) {
        if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
      }
      const s = q.toString();
      if (s) url += '?' + s;
    }
    const headers = { Accept: accept };
    let body;
    if (json !== undefined) {
      headers['Content-Type'] = 'application/json';
      body = JSON.stringify(json);
    } else if (form) {
      body = form; // the browser sets the multipart boundary
    }
    if (method !== 'GET' && method !== 'HEAD' && csrf) headers['X-CSRF-Token'] = csrf;

    let res;
    try {
      // keepalive lets a request outlive a page being closed (a hang-up).
      res = await fetch(url, { method, headers, body, credentials: 'same-origin', signal, keepalive });
    } catch (err) {
      if (err.name === 'AbortError') throw err;
      throw new ApiError(0, 'network_error', 'Could not reach the Timbre server. Check your connection and try again.');
    }
    if (res.ok) {
      if (raw) return res;
      if (res.status === 204) return null;
      try {
        return await res.json();
      } catch {
        throw new ApiError(res.status, 'bad_response', 'The server sent a response the app could not read.');
      }
    }
    return refused(res, retried, () => send(method, path, opts, true), quiet401);
  }

  // Throws the ApiError of a refused request; a request refused for a stale
  // CSRF token is retried once with a fresh one.
  async function refused(res, retried, retry, quiet401 = false) {
    const err = await readError(res);
    if (err.code === 'csrf_token_invalid' && !retried) {
      await refreshCsrf();
      return retry();
    }
    if (err.status === 401 && err.code === 'unauthenticated' && !quiet401) onUnauthenticated();
    throw err;
  }

  /**
   * POSTs a chat turn asking for server-sent events and calls
   * onEvent(name, data) for each event as it arrives; resolves when the
   * stream ends. A turn refused before it starts rejects with ApiError (a
   * conversation_busy 409, a message_too_large 413…); a connection lost
   * midway rejects with a network_error ApiError; aborting through signal
   * rejects with the fetch's AbortError (the server then stores the reply
   * as stopped). EventSource cannot POST, hence fetch and a stream reader.
   */
  async function stream(path, json, { signal, onEvent }, retried = false) {
    const headers = { Accept: 'text/event-stream' };
    let body;
    if (json !== undefined) {
      headers['Content-Type'] = 'application/json';
      body = JSON.stringify(json);
    }
    if (csrf) headers['X-CSRF-Token'] = csrf;
    let res;
    try {
      res = await fetch(path, { method: 'POST', headers, body, credentials: 'same-origin', signal });
    } catch (err) {
      if (err.name === 'AbortError') throw err;
      throw new ApiError(0, 'network_error', 'Could not reach the Timbre server. Check your connection and try again.');
    }
    if (!res.ok) return refused(res, retried, () => stream(path, json, { signal, onEvent }, true));
    if (!(res.headers.get('Content-Type') || '').startsWith('text/event-stream')) {
      // A server that does not stream answers the finished turn as JSON.
      onEvent('done', await res.json());
      return;
    }
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    for (;;) {
      let chunk;
      try {
        chunk = await reader.read();
      } catch (err) {
        if (err.name === 'AbortError') throw err;
        throw new ApiError(0, 'network_error', 'The connection to the server was lost while the reply was being written.');
      }
      if (chunk.done) break;
      buffer += chunk.value;
      // Lines may end in \r\n, \n or \r; a \r at the end may be half of a \r\n.
      const tail = buffer.endsWith('\r') ? '\r' : '';
      buffer = buffer.slice(0, buffer.length - tail.length).replace(/\r\n?/g, '\n') + tail;
      let end;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const ev = parseEvent(buffer.slice(0, end));
        buffer = buffer.slice(end + 2);
        if (ev) onEvent(ev.name, ev.data);
      }
    }
  }

  async function refreshCsrf() {
    try {
      const me = await send('GET', '/api/me', { quiet401: true }, true);
      csrf = me.csrf_token || '';
    } catch {
      csrf = '';
    }
  }

  return {
    /** GET /api/me, or null when signed out. Remembers the CSRF token. */
    async me() {
      try {
        const me = await send('GET', '/api/me', { quiet401: true });
        csrf = me.csrf_token || '';
        return me.user;
      } catch (err) {
        if (err instanceof ApiError && err.status === 401) {
          csrf = '';
          return null;
        }
        throw err;
      }
    },
    signup: (input) => send('POST', '/api/auth/signup', { json: input, quiet401: true }),
    login: (input) => send('POST', '/api/auth/login', { json: input, quiet401: true }),
    async logout() {
      await send('POST', '/api/auth/logout', { quiet401: true });
      csrf = '';
    },

    listKeys: () => send('GET', '/api/keys'),
    createKey: (name) => send('POST', '/api/keys', { json: { name } }),
    revokeKey: (id) => send('DELETE', `/api/keys/${encodeURIComponent(id)}`),

    listAgents: ({ scope, q, cursor, limit }) => send('GET', '/api/agents', { query: { scope, q, cursor, limit } }),
    getAgent: (id) => send('GET', `/api/agents/${encodeURIComponent(id)}`).then((r) => r.agent),
    createAgent: (fields) => send('POST', '/api/agents', { json: fields }).then((r) => r.agent),
    updateAgent: (id, patch) => send('PATCH', `/api/agents/${encodeURIComponent(id)}`, { json: patch }).then((r) => r.agent),
    deleteAgent: (id) => send('DELETE', `/api/agents/${encodeURIComponent(id)}`),
    publishAgent: (id) => send('POST', `/api/agents/${encodeURIComponent(id)}/publish`).then((r) => r.version),
    listVersions: (id) => send('GET', `/api/agents/${encodeURIComponent(id)}/versions`).then((r) => r.items || []),
    getVersion: (id, n) => send('GET', `/api/agents/${encodeURIComponent(id)}/versions/${n}`),
    importCard: (file) => send('POST', '/api/agents/import', { form: fileForm(file) }).then((r) => r.agent),
    uploadAvatar: (id, file) =>
      send('PUT', `/api/agents/${encodeURIComponent(id)}/avatar`, { form: fileForm(file) }).then((r) => r.agent),

    listKnowledgeBases: () => send('GET', '/api/knowledge-bases').then((r) => r.items || []),
    getKnowledgeBase: (id) => send('GET', `/api/knowledge-bases/${encodeURIComponent(id)}`).then((r) => r.knowledge_base),
    createKnowledgeBase: (fields) => send('POST', '/api/knowledge-bases', { json: fields }).then((r) => r.knowledge_base),
    updateKnowledgeBase: (id, patch) =>
      send('PATCH', `/api/knowledge-bases/${encodeURIComponent(id)}`, { json: patch }).then((r) => r.knowledge_base),
    deleteKnowledgeBase: (id) => send('DELETE', `/api/knowledge-bases/${encodeURIComponent(id)}`),
    listDocuments: (kbId) => send('GET', `/api/knowledge-bases/${encodeURIComponent(kbId)}/documents`).then((r) => r.items || []),
    getDocument: (kbId, docId) =>
      send('GET', `/api/knowledge-bases/${encodeURIComponent(kbId)}/documents/${encodeURIComponent(docId)}`).then((r) => r.document),
    /** Uploads a file; resolves to {document, duplicate}. */
    uploadDocument: (kbId, file) => send('POST', `/api/knowledge-bases/${encodeURIComponent(kbId)}/documents`, { form: fileForm(file) }),
    /** Queues a web page; resolves to {document}. */
    addDocumentURL: (kbId, url) => send('POST', `/api/knowledge-bases/${encodeURIComponent(kbId)}/documents`, { json: { url } }),
    deleteDocument: (kbId, docId) =>
      send('DELETE', `/api/knowledge-bases/${encodeURIComponent(kbId)}/documents/${encodeURIComponent(docId)}`),
    /** Searches a knowledge base; resolves to {results, degraded}. */
    searchKnowledgeBase: (kbId, q, k = 5) => send('GET', `/api/knowledge-bases/${encodeURIComponent(kbId)}/search`, { query: { q, k } }),
    /** The address of a knowledge base's server-sent events, for EventSource (the session cookie goes along). */
    knowledgeEventsURL: (kbId) => `/api/knowledge-bases/${encodeURIComponent(kbId)}/events`,
    agentKnowledgeBases: (agentId) =>
      send('GET', `/api/agents/${encodeURIComponent(agentId)}/knowledge-bases`).then((r) => r.items || []),
    attachKnowledgeBase: (agentId, kbId) =>
      send('PUT', `/api/agents/${encodeURIComponent(agentId)}/knowledge-bases/${encodeURIComponent(kbId)}`).then((r) => r.items || []),
    detachKnowledgeBase: (agentId, kbId) =>
      send('DELETE', `/api/agents/${encodeURIComponent(agentId)}/knowledge-bases/${encodeURIComponent(kbId)}`),

    /** Starts a conversation with an agent; resolves to {conversation, greeting, model}. */
    startConversation: (agentId) => send('POST', `/api/agents/${encodeURIComponent(agentId)}/conversations`),
    listConversations: ({ agentId, cursor, limit } = {}) => send('GET', '/api/conversations', { query: { agent_id: agentId, cursor, limit } }),
    /** Reads a conversation; resolves to {conversation, messages, model}. */
    getConversation: (id) => send('GET', `/api/conversations/${encodeURIComponent(id)}`),
    deleteConversation: (id) => send('DELETE', `/api/conversations/${encodeURIComponent(id)}`),
    /** Sends a message; the reply streams to onEvent (see stream). */
    sendMessage: (id, content, opts) => stream(`/api/conversations/${encodeURIComponent(id)}/messages`, { content }, opts),
    /** Makes another reply in place of the last one; it streams like sendMessage's. */
    regenerate: (id, messageId, opts) =>
      stream(`/api/conversations/${encodeURIComponent(id)}/messages/${encodeURIComponent(messageId)}/regenerate`, undefined, opts),
    /** Makes alternative index of the last reply the active one; resolves to the message. */
    swipe: (id, messageId, index) =>
      send('POST', `/api/conversations/${encodeURIComponent(id)}/messages/${encodeURIComponent(messageId)}/swipe`, { json: { index } })
        .then((r) => r.message),

    /**
     * The voice catalog: the built-in voices and the signed-in user's cloned
     * ones, [{id, name, language, gender, kind: "builtin"|"cloned",
     * sample_rate, engine, base_voice?, clip_seconds?, created_at?,
     * consent_at?, profile?}].
     */
    listVoices: () => send('GET', '/api/voices').then((r) => r.items || []),
    /**
     * Clones a voice from form (FormData: audio, name, consent, language?);
     * resolves to the new voice. The server analyses the clip first, which
     * takes seconds: aborting through signal rejects with AbortError.
     */
    cloneVoice: (form, { signal } = {}) => send('POST', '/api/voices', { form, signal }).then((r) => r.voice),
    deleteVoice: (id) => send('DELETE', `/api/voices/${encodeURIComponent(id)}`),
    /** The voices nearest to a voice: [{voice, distance}], closest first (cosine distance). */
    similarVoices: (id, { signal } = {}) =>
      send('GET', `/api/voices/${encodeURIComponent(id)}/similar`, { signal }).then((r) => r.items || []),
    /**
     * A WAV of a voice saying text (at most 300 characters; empty: the
     * voice introduces itself); resolves to a Blob. Aborting through signal
     * rejects with the fetch's AbortError.
     */
    voicePreview: (voiceId, text, { signal } = {}) =>
      audioBlob(send('GET', `/api/voices/${encodeURIComponent(voiceId)}/preview`,
        { query: { text }, raw: true, signal, accept: 'audio/wav, application/json' })),
    /** The recording a cloned voice was measured from (trimmed, normalised WAV), as a Blob; owner only. */
    voiceClip: (voiceId, { signal } = {}) =>
      audioBlob(send('GET', `/api/voices/${encodeURIComponent(voiceId)}/clip`, { raw: true, signal, accept: 'audio/wav, application/json' })),
    /**
     * A whole message read aloud in its agent's voice: resolves to the
     * Response once the audio starts (a refusal rejects with ApiError); its
     * body is a WAV that streams as each sentence is synthesised.
     */
    messageSpeech: (conversationId, messageId, { signal } = {}) =>
      send('GET', `/api/conversations/${encodeURIComponent(conversationId)}/messages/${encodeURIComponent(messageId)}/speech`,
        { raw: true, signal, accept: 'audio/wav, application/json' }),

    /**
     * Starts a realtime voice session: body is {agent_id, conversation_id?,
     * sdp (the browser's offer), embed_token?}; resolves to {session_id,
     * conversation_id, sdp (the answer), ice_servers?}. With an embed token
     * the caller may be signed out, so a 401 does not end the app's session.
     */
    createRtcSession: (body) => send('POST', '/api/rtc/sessions', { json: body, quiet401: Boolean(body.embed_token) }),
    /**
     * Hangs up a voice session. An anonymous visitor proves it with the
     * embed token it connected with; keepalive lets the request leave with
     * a page being closed.
     */
    deleteRtcSession: (id, { embedToken = '', keepalive = false } = {}) =>
      send('DELETE', `/api/rtc/sessions/${encodeURIComponent(id)}`,
        { json: embedToken ? { embed_token: embedToken } : undefined, quiet401: true, keepalive }),

    /** Downloads an export; resolves to {blob, filename}. */
    async exportCard(id, format) {
      const res = await send('GET', `/api/agents/${encodeURIComponent(id)}/export`, { query: { format }, raw: true });
      const blob = await res.blob();
      return { blob, filename: filenameOf(res.headers.get('Content-Disposition')) || `agent.${format === 'png' ? 'png' : format === 'charx' ? 'charx' : 'json'}` };
    },
  };
}

// The body of an audio response as a Blob; a connection lost midway becomes
// a network_error ApiError.
async function audioBlob(response) {
  const res = await response;
  try {
    return await res.blob();
  } catch (err) {
    if (err.name === 'AbortError') throw err;
    throw new ApiError(0, 'network_error', 'The connection to the server was lost while the audio was loading.');
  }
}

function fileForm(file) {
  const fd = new FormData();
  fd.append('file', file, file.name);
  return fd;
}

async function readError(res) {
  const retryAfter = Number(res.headers.get('Retry-After')) || 0;
  let body = null;
  try {
    body = await res.json();
  } catch {
    // not JSON: fall through to a generic message
  }
  const e = body && body.error;
  if (e && typeof e.message === 'string') {
    return new ApiError(res.status, e.code || `http_${res.status}`, e.message, e.field || '', retryAfter, e.reason || '');
  }
  const generic = res.status >= 500
    ? 'The server had a problem. Try again in a moment.'
    : `The request failed (HTTP ${res.status}).`;
  return new ApiError(res.status, `http_${res.status}`, generic, '', retryAfter);
}

/**
 * One server-sent event block as {name, data}, data parsed as JSON; null
 * for a comment, an event without data, or data that is not JSON.
 */
function parseEvent(block) {
  let name = 'message';
  const data = [];
  for (const line of block.split('\n')) {
    if (line === '' || line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') name = value;
    else if (field === 'data') data.push(value);
  }
  if (data.length === 0) return null;
  try {
    return { name, data: JSON.parse(data.join('\n')) };
  } catch {
    return null; // not an event of Timbre's; the stream goes on
  }
}

function filenameOf(disposition) {
  if (!disposition) return '';
  const m = /filename="?([^";]+)"?/i.exec(disposition);
  return m ? m[1] : '';
}
