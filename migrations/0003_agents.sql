-- An agent is a card (the creator's content, as Character Card V3 JSON) plus
-- platform settings. Drafts are edited in place; publishing freezes a version.
CREATE TABLE agents (
    id          text PRIMARY KEY,
    owner_id    text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    visibility  text NOT NULL DEFAULT 'private'
                CHECK (visibility IN ('private', 'unlisted', 'public')),
    card        jsonb NOT NULL,
    voice_id    text NOT NULL DEFAULT '',
    llm         jsonb NOT NULL DEFAULT '{}',
    avatar      bytea,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    search      tsvector GENERATED ALWAYS AS (
                    setweight(to_tsvector('simple', coalesce(card ->> 'name', '')), 'A') ||
                    setweight(to_tsvector('simple', coalesce(card ->> 'description', '')), 'B') ||
                    setweight(to_tsvector('simple', coalesce(card ->> 'tags', '')), 'B') ||
                    setweight(to_tsvector('simple', coalesce(card ->> 'creator_notes', '')), 'C')
                ) STORED
);
CREATE INDEX agents_owner_idx ON agents (owner_id, created_at DESC, id DESC);
CREATE INDEX agents_public_idx ON agents (created_at DESC, id DESC) WHERE visibility = 'public';
CREATE INDEX agents_search_idx ON agents USING gin (search);

-- Files that came with a CHARX card, kept so export can return them.
CREATE TABLE agent_assets (
    agent_id text NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    path     text NOT NULL,
    data     bytea NOT NULL,
    PRIMARY KEY (agent_id, path)
);

-- Published versions are immutable.
CREATE TABLE agent_versions (
    agent_id     text NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    number       integer NOT NULL CHECK (number > 0),
    card         jsonb NOT NULL,
    content_hash text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (agent_id, number)
);
