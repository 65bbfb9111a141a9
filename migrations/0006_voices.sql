-- Cloned voices: a creator's recording, the consent they gave to clone it,
-- and the voice profile measured from it. The profile's fixed-length vector
-- finds similar voices (cosine distance, HNSW).
CREATE TABLE voices (
    id              text PRIMARY KEY,
    owner_id        text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name            text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    language        text NOT NULL DEFAULT 'en',
    -- The built-in voice it is synthesised from when no neural cloning engine
    -- is configured, chosen as the nearest to the profile.
    base_voice      text NOT NULL,
    -- Consent: the speaker's explicit statement, who gave it, when, from where.
    consent_text    text NOT NULL,
    consent_by      text NOT NULL,
    consent_at      timestamptz NOT NULL,
    consent_ip      text NOT NULL DEFAULT '',
    -- The upload as received, and the trimmed, loudness-normalised clip the
    -- profile was measured on (16-bit mono WAV).
    upload          bytea NOT NULL,
    upload_format   text NOT NULL,
    upload_sha256   text NOT NULL,
    clip            bytea NOT NULL,
    clip_seconds    real NOT NULL CHECK (clip_seconds > 0),
    profile         jsonb NOT NULL,
    embedding       vector(64) NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX voices_owner_idx ON voices (owner_id, created_at DESC, id DESC);
CREATE INDEX voices_embedding_idx ON voices USING hnsw (embedding vector_cosine_ops);
