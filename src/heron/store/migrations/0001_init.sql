-- Heron DuckDB schema, version 1.
CREATE TABLE interactions (
    project          VARCHAR NOT NULL,
    id               VARCHAR NOT NULL,
    start_time       TIMESTAMP NOT NULL,
    end_time         TIMESTAMP,
    conversation_id  VARCHAR,
    user_id          VARCHAR,
    provider         VARCHAR,
    model            VARCHAR NOT NULL,
    operation        VARCHAR,
    app_version      VARCHAR,
    prompt_version   VARCHAR,
    rag_sources      VARCHAR[],
    experiment       VARCHAR,
    variant          VARCHAR,
    input            VARCHAR,   -- JSON array of {role, content, name}
    output           VARCHAR,
    latency_ms       DOUBLE,
    ttft_ms          DOUBLE,
    input_tokens     BIGINT,
    output_tokens    BIGINT,
    cached_tokens    BIGINT,
    reasoning_tokens BIGINT,
    status           VARCHAR NOT NULL,
    error_type       VARCHAR,
    error_message    VARCHAR,
    finish_reason    VARCHAR,
    trace_id         VARCHAR,
    span_id          VARCHAR,
    tags             MAP(VARCHAR, VARCHAR),
    ingested_at      TIMESTAMP NOT NULL
);

CREATE TABLE feedback (
    project          VARCHAR NOT NULL,
    id               VARCHAR NOT NULL,
    interaction_id   VARCHAR NOT NULL,
    time             TIMESTAMP NOT NULL,
    thumbs           VARCHAR,
    rating           DOUBLE,
    comment          VARCHAR,
    label            VARCHAR,
    source           VARCHAR NOT NULL,
    user_id          VARCHAR,
    conversation_id  VARCHAR,
    tags             MAP(VARCHAR, VARCHAR),
    ingested_at      TIMESTAMP NOT NULL
);

-- Hourly rollups, one row per (hour, dimension, value), merged on every write.
-- dim '' / value '' is the project total; value '' also stands for "not set".
CREATE TABLE rollup_hour (
    project          VARCHAR NOT NULL,
    hour             TIMESTAMP NOT NULL,
    dim              VARCHAR NOT NULL,
    value            VARCHAR NOT NULL,
    n                BIGINT NOT NULL,
    errors           BIGINT NOT NULL,
    latency_sum      DOUBLE NOT NULL,
    latency_n        BIGINT NOT NULL,
    input_tokens     BIGINT NOT NULL,
    output_tokens    BIGINT NOT NULL,
    cached_tokens    BIGINT NOT NULL,
    reasoning_tokens BIGINT NOT NULL
);

-- Mergeable log-bucketed histograms (DDSketch mapping, see heron.stats.sketch) of
-- latency (metric 0) and time to first token (metric 1): sparse, buckets ascending.
CREATE TABLE rollup_hour_hist (
    project          VARCHAR NOT NULL,
    hour             TIMESTAMP NOT NULL,
    dim              VARCHAR NOT NULL,
    value            VARCHAR NOT NULL,
    metric           TINYINT NOT NULL,
    buckets          SMALLINT[] NOT NULL,
    counts           BIGINT[] NOT NULL
);

-- Which users (64-bit hashes of user_id) were seen per day and dimension value: only
-- consulted at write time, so each new one is counted once in daily_user_counts.
CREATE TABLE daily_users (
    project          VARCHAR NOT NULL,
    day              DATE NOT NULL,
    dim              VARCHAR NOT NULL,
    value            VARCHAR NOT NULL,
    user_hash        UBIGINT NOT NULL
);

CREATE TABLE daily_user_counts (
    project          VARCHAR NOT NULL,
    day              DATE NOT NULL,
    dim              VARCHAR NOT NULL,
    value            VARCHAR NOT NULL,
    users            BIGINT NOT NULL
);

CREATE TABLE wal_applied (
    id               INTEGER PRIMARY KEY,
    lsn              BIGINT NOT NULL
);
INSERT INTO wal_applied VALUES (0, 0);
