-- Ingest fidelity (heron.schema.records): the answering model apart from the requested one, the
-- deployment environment, evaluators' named scores, and each project's attribute mapping.
ALTER TABLE interactions ADD COLUMN IF NOT EXISTS response_model VARCHAR;
ALTER TABLE interactions ADD COLUMN IF NOT EXISTS environment VARCHAR;
ALTER TABLE feedback ADD COLUMN IF NOT EXISTS name VARCHAR;
ALTER TABLE feedback ADD COLUMN IF NOT EXISTS score DOUBLE;

-- A project's own attribute mapping (heron.schema.mapping): dimension -> tag keys, read before the defaults.
CREATE TABLE IF NOT EXISTS attribute_mappings (
    project          VARCHAR PRIMARY KEY,
    mapping          JSON NOT NULL,
    updated_at       TIMESTAMP NOT NULL
);

-- Projects whose stored dimensions changed and whose rollups the store rebuilds (on open, or after a
-- mapping change), day by day from ``next_day`` on; a row is removed when its rebuild is done.
CREATE TABLE IF NOT EXISTS rederive_pending (
    project          VARCHAR PRIMARY KEY,
    next_day         DATE
);

-- Until now ``model`` held the answering model when there was one, and the requested model otherwise
-- (failed calls), which split a model's errors from its successes. The answering model moves to
-- ``response_model``; ``model`` becomes the dated snapshot's base name where the project also has calls
-- under that base name (what the app asked for: failed calls carry it).
UPDATE interactions SET response_model = model WHERE status = 'ok';
CREATE TEMP TABLE model_base AS
WITH m AS (
    SELECT DISTINCT project, value AS model, regexp_replace(value, '-(\d{4}-\d{2}-\d{2}|\d{8}|\d{3,4}|latest)$', '') AS base
    FROM rollup_hour WHERE dim = 'model' AND value <> ''
)
SELECT m.project, m.model AS snapshot, m.base FROM m
WHERE m.base <> m.model AND EXISTS (SELECT 1 FROM m o WHERE o.project = m.project AND o.model = m.base);
UPDATE interactions i SET model = m.base FROM model_base m WHERE i.project = m.project AND i.model = m.snapshot;
INSERT OR IGNORE INTO rederive_pending SELECT DISTINCT project, NULL FROM model_base;
-- response_model and environment are rollup dimensions from this version on: every project's rollups are
-- rebuilt from its calls (on open, day by day, resumable), so the new dimensions cover the stored history too.
INSERT OR IGNORE INTO rederive_pending SELECT DISTINCT project, NULL FROM rollup_hour WHERE dim = '';
DROP TABLE model_base;
