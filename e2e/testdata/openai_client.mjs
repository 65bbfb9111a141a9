// openai_client.mjs drives Timbre's OpenAI-compatible API with the official
// OpenAI client library for Node, unmodified, the way a developer's program
// would: it lists and retrieves models, asks for a completion, streams one
// (with the raw iterator and with the library's stream helper), and provokes
// the errors a program must be able to tell apart. e2e/openai_client_test.go
// runs it and checks the values it prints.
//
// Input (environment):
//   TIMBRE_URL         Timbre's root URL, e.g. http://127.0.0.1:41234
//   TIMBRE_API_KEY     an API key of the agent's owner
//   TIMBRE_MODEL       the agent's slug
//   OPENAI_CLIENT_DIR  the unpacked npm package openai (scripts/setup-node-clients)
//   TIMBRE_UPSTREAM_FAULTS  "1" when the caller has queued, on the model
//                      behind Timbre, two refusals and a stream that breaks
//                      off, for the requests that follow the others
//
// Output: one JSON object on stdout. The script itself checks what only
// JavaScript can see (the classes of the errors thrown, that every stream
// chunk is a chat.completion.chunk) and exits 1 with a message on stderr
// when something is not as the library's users would expect.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

function need(name) {
  const v = process.env[name];
  if (!v) fail(`${name} is not set`);
  return v;
}

function fail(msg) {
  process.stderr.write(`openai_client.mjs: ${msg}\n`);
  process.exit(1);
}

function check(ok, msg) {
  if (!ok) fail(msg);
}

const baseURL = need('TIMBRE_URL') + '/v1';
const apiKey = need('TIMBRE_API_KEY');
const model = need('TIMBRE_MODEL');
const pkgDir = need('OPENAI_CLIENT_DIR');

// Load the package the way `import 'openai'` would: through the "import"
// entry of its exports map (index.mjs), not a path guessed here.
const pkg = JSON.parse(await readFile(join(pkgDir, 'package.json'), 'utf8'));
const entry = pkg.exports?.['.']?.default ?? pkg.module;
check(typeof entry === 'string', `package.json of ${pkgDir} names no ESM entry point`);
const { default: OpenAI } = await import(pathToFileURL(join(pkgDir, entry)).href);

// No retries: a 5xx or a dropped connection must show at once, not be
// papered over. The timeout bounds each request well under the Go test's.
const options = { baseURL, apiKey, maxRetries: 0, timeout: 20_000 };
const client = new OpenAI(options);

// describe records an error the library threw, by the library's own class.
function describe(err) {
  return {
    class: err?.constructor?.name ?? typeof err,
    status: err?.status ?? null,
    code: err?.code ?? null,
    type: err?.type ?? null,
    param: err?.param ?? null,
    message: err?.message ?? String(err),
    request_id: err?.requestID ?? null,
  };
}

// expectError runs call, which must throw an instance of want.
async function expectError(what, want, call) {
  try {
    const got = await call();
    fail(`${what}: succeeded (${JSON.stringify(got)?.slice(0, 300)}), want ${want.name}`);
  } catch (err) {
    check(err instanceof want, `${what}: threw ${err?.constructor?.name}: ${err?.message}, want ${want.name}`);
    check(err instanceof OpenAI.APIError, `${what}: ${err?.constructor?.name} is not an OpenAI.APIError`);
    return describe(err);
  }
}

const out = { library_version: pkg.version };

try {
  // Models: the first page, then the library's auto-paginating iterator.
  const page = await client.models.list();
  const listed = page.data.map((m) => m.id);
  check(listed.includes(model), `models.list() = ${JSON.stringify(listed)}, want it to include ${model}`);
  const iterated = [];
  for await (const m of client.models.list()) iterated.push(m.id);
  const retrieved = await client.models.retrieve(model);
  out.models = {
    listed,
    iterated,
    retrieved: { id: retrieved.id, object: retrieved.object, owned_by: retrieved.owned_by, created: retrieved.created },
  };

  // A completion, with the parameters a client commonly sends.
  const completion = await client.chat.completions.create({
    model,
    messages: [
      { role: 'system', content: 'Answer in one sentence.' },
      { role: 'user', content: 'What do you keep?' },
    ],
    temperature: 0.25,
    max_completion_tokens: 200,
    stop: ['\nUser:'],
    user: 'e2e-end-user',
  });
  const choice = completion.choices[0];
  out.completion = {
    id: completion.id,
    object: completion.object,
    model: completion.model,
    choices: completion.choices.length,
    role: choice?.message?.role,
    content: choice?.message?.content,
    finish_reason: choice?.finish_reason,
    usage: completion.usage,
    offline: completion.offline,
  };

  // A stream read with the raw async iterator, content given as parts.
  const stream = await client.chat.completions.create({
    model,
    messages: [{ role: 'user', content: [{ type: 'text', text: 'Tell me about ' }, { type: 'text', text: 'the lamp.' }] }],
    stream: true,
    stream_options: { include_usage: true },
  });
  const s = { content: '', chunks: 0, content_chunks: 0, ids: [], roles: [], finish_reason: null, usage: null, usage_chunks: 0, offline: [] };
  for await (const chunk of stream) {
    check(chunk.object === 'chat.completion.chunk', `stream chunk has object ${chunk.object}`);
    s.chunks++;
    if (!s.ids.includes(chunk.id)) s.ids.push(chunk.id);
    if (!s.offline.includes(chunk.offline)) s.offline.push(chunk.offline);
    if (chunk.usage) {
      s.usage = chunk.usage;
      s.usage_chunks++;
      check(chunk.choices.length === 0, `the usage chunk has ${chunk.choices.length} choices, want none`);
    }
    for (const c of chunk.choices) {
      if (c.delta?.role) s.roles.push(c.delta.role);
      if (c.delta?.content) {
        s.content += c.delta.content;
        s.content_chunks++;
      }
      if (c.finish_reason) s.finish_reason = c.finish_reason;
    }
  }
  out.stream = s;

  // The library's stream helper, which assembles the chunks into a
  // chat.completion itself and is stricter about their order.
  const runner = client.chat.completions.stream({
    model,
    messages: [{ role: 'user', content: 'And the stairs?' }],
    stream_options: { include_usage: true },
  });
  let events = '';
  runner.on('content', (delta) => { events += delta; });
  const final = await runner.finalChatCompletion();
  out.helper = {
    content: final.choices[0]?.message?.content,
    content_events: events,
    role: final.choices[0]?.message?.role,
    finish_reason: final.choices[0]?.finish_reason,
    usage: final.usage ?? null,
  };

  // Errors a program must be able to tell apart.
  out.errors = {
    unknown_model: await expectError('a completion for an unknown model', OpenAI.NotFoundError, () =>
      client.chat.completions.create({ model: 'no-such-agent', messages: [{ role: 'user', content: 'Hello?' }] })),
    unknown_model_retrieve: await expectError('models.retrieve of an unknown model', OpenAI.NotFoundError, () =>
      client.models.retrieve('no-such-agent')),
    unknown_model_stream: await expectError('a stream for an unknown model', OpenAI.NotFoundError, async () => {
      const st = await client.chat.completions.create({ model: 'no-such-agent', messages: [{ role: 'user', content: 'Hello?' }], stream: true });
      for await (const _ of st) { /* must not get here */ }
    }),
    wrong_key: await expectError('models.list() with a wrong key', OpenAI.AuthenticationError, () =>
      new OpenAI({ ...options, apiKey: 'tmb_not-a-real-key' }).models.list()),
    wrong_key_completion: await expectError('a completion with a wrong key', OpenAI.AuthenticationError, () =>
      new OpenAI({ ...options, apiKey: 'tmb_not-a-real-key' }).chat.completions.create({ model, messages: [{ role: 'user', content: 'Hello?' }] })),
    empty_message: await expectError('a completion of an empty message', OpenAI.BadRequestError, () =>
      client.chat.completions.create({ model, messages: [{ role: 'user', content: '' }] })),
    no_messages: await expectError('a completion with no messages', OpenAI.BadRequestError, () =>
      client.chat.completions.create({ model, messages: [] })),
  };

  // Failures of the language model behind Timbre, when the caller has
  // queued them on the fake model: two refusals before any text, then a
  // stream that breaks after a few chunks.
  if (process.env.TIMBRE_UPSTREAM_FAULTS === '1') {
    const ask = { model, messages: [{ role: 'user', content: 'Is the lamp lit?' }] };
    out.upstream = {
      rejected: await expectError('a completion the model refuses', OpenAI.InternalServerError, () =>
        client.chat.completions.create(ask)),
      rejected_stream: await expectError('a stream the model refuses', OpenAI.InternalServerError, async () => {
        const st = await client.chat.completions.create({ ...ask, stream: true });
        for await (const _ of st) { /* must not get here */ }
      }),
    };
    // A stream that breaks: the text before the break arrives, then the
    // iterator throws the error event Timbre sends.
    let partial = '';
    out.upstream.broken_stream = await expectError('a stream the model breaks off', OpenAI.APIError, async () => {
      const st = await client.chat.completions.create({ ...ask, stream: true });
      for await (const chunk of st) partial += chunk.choices[0]?.delta?.content ?? '';
    });
    out.upstream.broken_stream_text = partial;
  }
} catch (err) {
  fail(`unexpected error: ${JSON.stringify(describe(err))}${err?.stack ? '\n' + err.stack : ''}`);
}

process.stdout.write(JSON.stringify(out) + '\n');
