-- Engagement per day and dimension value, folded in at write time (heron.store._duckdb_engagement):
-- calls with a user, and the summed spans of those users' conversations that day, in microseconds.
CREATE TABLE daily_engagement (
    project          VARCHAR NOT NULL,
    day              DATE NOT NULL,
    dim              VARCHAR NOT NULL,
    value            VARCHAR NOT NULL,
    n                BIGINT NOT NULL,
    engagement_us    BIGINT NOT NULL
);

-- Days stored before this version: the store computes them from the interactions on open.
CREATE TABLE engagement_pending (day DATE PRIMARY KEY);
INSERT INTO engagement_pending SELECT DISTINCT day FROM daily_user_counts;
