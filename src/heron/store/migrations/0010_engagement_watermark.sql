-- The engagement rollup is folded in batches, not on every write (heron.store._duckdb_engagement):
-- interactions with rowid above the watermark are not in daily_engagement yet. Until this version
-- every write folded its calls at once, so everything stored so far is counted.
CREATE TABLE IF NOT EXISTS engagement_state (
    id               INTEGER PRIMARY KEY,
    watermark        BIGINT NOT NULL
);
INSERT OR REPLACE INTO engagement_state SELECT 0, coalesce(max(rowid), -1) FROM interactions;
