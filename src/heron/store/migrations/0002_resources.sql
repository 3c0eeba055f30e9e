-- Host resource samples from `heron agent` (CPU, memory, GPU), one row per reading.
CREATE TABLE resource_samples (
    project          VARCHAR NOT NULL,
    time             TIMESTAMP NOT NULL,
    host             VARCHAR NOT NULL,
    service          VARCHAR,
    metric           VARCHAR NOT NULL,
    device           VARCHAR,
    value            DOUBLE NOT NULL
);
