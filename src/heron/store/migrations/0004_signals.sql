-- What enrichment derived from each interaction (heron.enrich.base.Signals), written after ingest.
CREATE TABLE interaction_signals (
    project          VARCHAR NOT NULL,
    interaction_id   VARCHAR NOT NULL,
    start_time       TIMESTAMP NOT NULL,
    conversation_id  VARCHAR,
    user_id          VARCHAR,
    model            VARCHAR,
    prompt_version   VARCHAR,
    app_version      VARCHAR,
    variant          VARCHAR,
    language         VARCHAR,
    sentiment        DOUBLE,
    reply_sentiment  DOUBLE,
    cues             VARCHAR[],
    rephrase         BOOLEAN,
    "repeat"         BOOLEAN,
    similarity       DOUBLE,
    complaint        BOOLEAN,
    shouting         BOOLEAN,
    refusal          BOOLEAN,
    empty_reply      BOOLEAN,
    truncated        BOOLEAN,
    error            BOOLEAN,
    frustration      DOUBLE,
    topic_id         INTEGER,
    topic_similarity DOUBLE,
    enriched_at      TIMESTAMP NOT NULL
);

-- How far enrichment has got: interactions with rowid above the watermark are not enriched yet.
CREATE TABLE enrich_state (
    id               INTEGER PRIMARY KEY,
    watermark        BIGINT NOT NULL
);
INSERT INTO enrich_state VALUES (0, -1);
