-- Cost (USD, NULL when the model's price is unknown) and generation throughput.
ALTER TABLE interactions ADD COLUMN cost_usd DOUBLE;
ALTER TABLE rollup_hour ADD COLUMN cost_usd DOUBLE NOT NULL DEFAULT 0;
ALTER TABLE rollup_hour ADD COLUMN cost_n BIGINT NOT NULL DEFAULT 0;      -- interactions with a known cost
ALTER TABLE rollup_hour ADD COLUMN gen_ms DOUBLE NOT NULL DEFAULT 0;      -- sum of latency - ttft where output tokens > 0
ALTER TABLE rollup_hour ADD COLUMN gen_tokens BIGINT NOT NULL DEFAULT 0;  -- output tokens of those same calls

-- Per-project dated prices, USD per million tokens (see heron.pricing).
CREATE TABLE price_overrides (
    project          VARCHAR NOT NULL,
    model            VARCHAR NOT NULL,   -- canonical model name
    effective_from   TIMESTAMP NOT NULL,
    input            DOUBLE NOT NULL,
    output           DOUBLE NOT NULL,
    cached           DOUBLE,
    reasoning        DOUBLE,
    created_at       TIMESTAMP NOT NULL
);
