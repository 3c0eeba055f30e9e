-- What a turn's neighbours and feedback make of it, kept current as turns and feedback arrive
-- (heron.store._duckdb_ux), and the hourly UX rollups built from it.
ALTER TABLE interaction_signals ADD COLUMN retry BOOLEAN;
ALTER TABLE interaction_signals ADD COLUMN latency_ms DOUBLE;
ALTER TABLE interaction_signals ADD COLUMN cost_usd DOUBLE;
ALTER TABLE interaction_signals ADD COLUMN is_first BOOLEAN;      -- no earlier turn within the session gap
ALTER TABLE interaction_signals ADD COLUMN is_last BOOLEAN;       -- no later turn within the session gap (so far)
ALTER TABLE interaction_signals ADD COLUMN prev_topic_id INTEGER; -- topic of the previous turn of the session
ALTER TABLE interaction_signals ADD COLUMN explicit DOUBLE;       -- latest thumbs/rating as 0..1
ALTER TABLE interaction_signals ADD COLUMN thumbs VARCHAR;
ALTER TABLE interaction_signals ADD COLUMN satisfaction DOUBLE;   -- explicit, else the implicit model
ALTER TABLE interaction_signals ADD COLUMN abandoned BOOLEAN;     -- the session ended right after a poor answer
ALTER TABLE interaction_signals ADD COLUMN counted BOOLEAN DEFAULT false;

ALTER TABLE enrich_state ADD COLUMN feedback_watermark BIGINT DEFAULT -1;
ALTER TABLE enrich_state ADD COLUMN ux_ready BOOLEAN DEFAULT false;  -- false: rollups to be rebuilt on open
-- Feedback stored so far is folded in by that rebuild.
UPDATE enrich_state SET feedback_watermark = (SELECT coalesce(max(rowid), -1) FROM feedback);

-- One row per (hour, dimension, value) as in rollup_hour; every column a sum over turns, so
-- a turn revised later is subtracted with its old values and added with its new ones.
CREATE TABLE ux_rollup_hour (
    project          VARCHAR NOT NULL,
    hour             TIMESTAMP NOT NULL,
    dim              VARCHAR NOT NULL,
    value            VARCHAR NOT NULL,
    n                DOUBLE NOT NULL,
    conversations    DOUBLE NOT NULL,
    sentiment_sum    DOUBLE NOT NULL,
    sentiment_n      DOUBLE NOT NULL,
    negative         DOUBLE NOT NULL,
    frustrated       DOUBLE NOT NULL,
    frustration_sum  DOUBLE NOT NULL,
    frustration_n    DOUBLE NOT NULL,
    rephrase         DOUBLE NOT NULL,
    repeats          DOUBLE NOT NULL,
    retry            DOUBLE NOT NULL,
    complaint        DOUBLE NOT NULL,
    shouting         DOUBLE NOT NULL,
    gratitude        DOUBLE NOT NULL,
    confusion        DOUBLE NOT NULL,
    anger            DOUBLE NOT NULL,
    urgency          DOUBLE NOT NULL,
    unexpected       DOUBLE NOT NULL,
    refusal          DOUBLE NOT NULL,
    satisfaction_sum DOUBLE NOT NULL,
    satisfaction_n   DOUBLE NOT NULL,
    explicit_n       DOUBLE NOT NULL,
    thumbs_n         DOUBLE NOT NULL,
    thumbs_up        DOUBLE NOT NULL,
    ended            DOUBLE NOT NULL,
    abandoned        DOUBLE NOT NULL,
    cost_sum         DOUBLE NOT NULL,
    cost_n           DOUBLE NOT NULL,
    latency_sum      DOUBLE NOT NULL,
    latency_n        DOUBLE NOT NULL
);

-- Topic-to-topic steps within sessions: source -2 is the session start, target -3 its end,
-- -1 "other" (or no topic model yet). ``frustrated``: the step led to a frustrated message
-- (for an end: the session was abandoned after a poor answer).
CREATE TABLE ux_flow_hour (
    project          VARCHAR NOT NULL,
    hour             TIMESTAMP NOT NULL,
    source           INTEGER NOT NULL,
    target           INTEGER NOT NULL,
    n                DOUBLE NOT NULL,
    frustrated       DOUBLE NOT NULL
);

-- Every version of each project's topic model (heron.enrich.topics.TopicModel.to_dict()).
CREATE TABLE topic_models (
    project          VARCHAR NOT NULL,
    version          INTEGER NOT NULL,
    created_at       TIMESTAMP NOT NULL,
    reason           VARCHAR NOT NULL,
    model            JSON NOT NULL,
    PRIMARY KEY (project, version)
);
