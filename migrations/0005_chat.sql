-- Chat: conversations between a user and an agent, their messages (with
-- regenerated alternatives), and the usage each model turn costs.

-- A slug names an agent in the OpenAI-compatible API ("model": "aria").
-- It is set once, from the name at creation, and never changes, so clients
-- that use it keep working when the agent is renamed.
ALTER TABLE agents ADD COLUMN slug text;
UPDATE agents SET slug = coalesce(nullif(trim(BOTH '-' FROM left(
        regexp_replace(lower(card ->> 'name'), '[^a-z0-9]+', '-', 'g'), 48)), ''), 'agent')
    || '-' || right(id, 6);
ALTER TABLE agents ALTER COLUMN slug SET NOT NULL;
CREATE UNIQUE INDEX agents_slug_idx ON agents (slug);

CREATE TABLE conversations (
    id           text PRIMARY KEY,
    agent_id     text NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    user_id      text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title        text NOT NULL DEFAULT '',
    -- Long-term memory: a summary of every message up to summary_seq, kept
    -- up to date in the background as history falls out of the model's
    -- context window.
    summary      text NOT NULL DEFAULT '',
    summary_seq  integer NOT NULL DEFAULT 0,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX conversations_user_idx ON conversations (user_id, updated_at DESC, id DESC);
CREATE INDEX conversations_agent_idx ON conversations (agent_id);

-- Messages in order of seq. A regenerated reply is another row at the same
-- seq (a "swipe"); exactly one row per seq is active.
CREATE TABLE messages (
    id               text PRIMARY KEY,
    conversation_id  text NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    seq              integer NOT NULL CHECK (seq > 0),
    swipe            integer NOT NULL DEFAULT 0 CHECK (swipe >= 0),
    active           boolean NOT NULL DEFAULT true,
    role             text NOT NULL CHECK (role IN ('user', 'assistant')),
    content          text NOT NULL,
    -- streaming: a reply being written (its row is the conversation's lock,
    -- renewed while it streams); complete; stopped (the client went away);
    -- failed (the model failed; error says how).
    status           text NOT NULL DEFAULT 'complete'
                     CHECK (status IN ('streaming', 'complete', 'stopped', 'failed')),
    error            text NOT NULL DEFAULT '',
    offline          boolean NOT NULL DEFAULT false,
    citations        jsonb NOT NULL DEFAULT '[]',
    usage            jsonb,
    timings          jsonb,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (conversation_id, seq, swipe)
);
CREATE UNIQUE INDEX messages_active_idx ON messages (conversation_id, seq) WHERE active;
-- One reply at a time per conversation.
CREATE UNIQUE INDEX messages_streaming_idx ON messages (conversation_id) WHERE status = 'streaming';

-- One row per model turn (chat, regenerate, OpenAI-compatible API, memory
-- summaries). Revenue sharing reads it, so it keeps the agent's id even
-- after the agent is deleted.
CREATE TABLE usage_events (
    id                 bigserial PRIMARY KEY,
    agent_id           text NOT NULL,
    user_id            text NOT NULL DEFAULT '',
    conversation_id    text NOT NULL DEFAULT '',
    message_id         text NOT NULL DEFAULT '',
    -- The API caller's own user identifier (OpenAI's "user" field).
    end_user           text NOT NULL DEFAULT '',
    source             text NOT NULL CHECK (source IN ('chat', 'api', 'summary', 'voice')),
    provider           text NOT NULL,
    model              text NOT NULL DEFAULT '',
    prompt_tokens      integer NOT NULL DEFAULT 0,
    completion_tokens  integer NOT NULL DEFAULT 0,
    tokens_estimated   boolean NOT NULL DEFAULT false,
    -- Milliseconds from the request to the first token; NULL when none came.
    first_token_ms     integer,
    total_ms           integer NOT NULL,
    offline            boolean NOT NULL DEFAULT false,
    status             text NOT NULL CHECK (status IN ('complete', 'stopped', 'failed')),
    created_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX usage_events_agent_idx ON usage_events (agent_id, created_at);
