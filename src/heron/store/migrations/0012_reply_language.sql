-- The reply's language and whether it differs from the language the user writes in
-- (heron.enrich.language). Turns enriched before this version have neither (NULL) and count
-- as no mismatch in the UX rollups. IF NOT EXISTS: a file rolled back to an older version keeps the columns.
ALTER TABLE interaction_signals ADD COLUMN IF NOT EXISTS reply_language VARCHAR;
ALTER TABLE interaction_signals ADD COLUMN IF NOT EXISTS language_mismatch BOOLEAN;
ALTER TABLE ux_rollup_hour ADD COLUMN IF NOT EXISTS language_mismatch DOUBLE DEFAULT 0;
