-- Drift test results, as a time series per feature (heron.stats.drift via heron.server.monitor).
CREATE TABLE drift_results (
    project          VARCHAR NOT NULL,
    computed_at      TIMESTAMP NOT NULL,
    reference_start  TIMESTAMP NOT NULL,
    reference_end    TIMESTAMP NOT NULL,
    current_start    TIMESTAMP NOT NULL,
    current_end      TIMESTAMP NOT NULL,
    feature          VARCHAR NOT NULL,
    kind             VARCHAR NOT NULL,
    test             VARCHAR NOT NULL,
    statistic        DOUBLE,
    p_value          DOUBLE,
    threshold        DOUBLE,
    score            DOUBLE,
    drifted          BOOLEAN NOT NULL,
    n_reference      BIGINT NOT NULL,
    n_current        BIGINT NOT NULL
);

-- Anomalies found on metric streams as their buckets close (heron.stats.anomaly).
CREATE TABLE anomalies (
    project          VARCHAR NOT NULL,
    t                TIMESTAMP NOT NULL,   -- the bucket's start
    bucket_s         INTEGER NOT NULL,
    metric           VARCHAR NOT NULL,
    dim              VARCHAR NOT NULL,     -- '' for the project total
    value            VARCHAR NOT NULL,
    observed         DOUBLE,
    expected         DOUBLE,
    low              DOUBLE,
    high             DOUBLE,
    score            DOUBLE,
    kind             VARCHAR NOT NULL,
    detected_at      TIMESTAMP NOT NULL
);

-- Detector state kept across restarts (baselines take days to learn).
CREATE TABLE monitor_state (
    name             VARCHAR PRIMARY KEY,
    state            BLOB NOT NULL,
    updated_at       TIMESTAMP NOT NULL
);
