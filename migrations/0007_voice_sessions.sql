-- Real-time voice sessions (issue 6): replies cut off by the user, voice
-- turns with their latency breakdown, audio metering and embed tokens.

-- interrupted: a spoken reply the user talked over; content is what the
-- agent actually said before it was cut off.
ALTER TABLE messages DROP CONSTRAINT messages_status_check;
ALTER TABLE messages ADD CONSTRAINT messages_status_check
    CHECK (status IN ('streaming', 'complete', 'stopped', 'failed', 'interrupted'));

-- asr and tts meter audio seconds: heard from the user, spoken by the agent.
ALTER TABLE usage_events DROP CONSTRAINT usage_events_source_check;
ALTER TABLE usage_events ADD CONSTRAINT usage_events_source_check
    CHECK (source IN ('chat', 'api', 'summary', 'voice', 'asr', 'tts'));
ALTER TABLE usage_events ADD COLUMN audio_seconds double precision NOT NULL DEFAULT 0
    CHECK (audio_seconds >= 0);

-- One row per voice turn: what the user said (as transcribed), what the
-- agent said aloud, and how long each stage took.
CREATE TABLE voice_turns (
    id                text PRIMARY KEY,
    session_id        text NOT NULL,
    conversation_id   text NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    -- Empty for a spoken greeting (no user message).
    user_message_id   text NOT NULL DEFAULT '',
    reply_message_id  text NOT NULL DEFAULT '',
    -- voice (the user spoke), text (typed into the call) or greeting.
    input             text NOT NULL CHECK (input IN ('voice', 'text', 'greeting')),
    transcript        text NOT NULL DEFAULT '',
    said              text NOT NULL DEFAULT '',
    interrupted       boolean NOT NULL DEFAULT false,
    -- Milliseconds of the user's utterance and of the agent's audio sent.
    user_audio_ms     integer NOT NULL DEFAULT 0 CHECK (user_audio_ms >= 0),
    reply_audio_ms    integer NOT NULL DEFAULT 0 CHECK (reply_audio_ms >= 0),
    asr_provider      text NOT NULL DEFAULT '',
    -- Stage timings in milliseconds (end_of_turn_ms, transcript_ms,
    -- first_token_ms, first_sentence_ms, first_audio_ms, total_ms).
    latency           jsonb NOT NULL DEFAULT '{}',
    created_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX voice_turns_conversation_idx ON voice_turns (conversation_id, created_at);

-- Short-lived tokens that let a page embedding an agent open voice sessions
-- on its creator's behalf. Only the SHA-256 of a token is kept.
CREATE TABLE embed_tokens (
    id          text PRIMARY KEY,
    token_hash  bytea NOT NULL UNIQUE,
    user_id     text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    agent_id    text NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    end_user    text NOT NULL DEFAULT '',
    expires_at  timestamptz NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX embed_tokens_expiry_idx ON embed_tokens (expires_at);
