-- A conversation's signals by its id without scanning every enriched turn (heron.store._duckdb_conversations):
-- they also give the time span in which to look for its interactions. No such index on ``interactions``:
-- it would slow every ingest write. Note: DuckDB refuses ALTER COLUMN TYPE and DROP COLUMN on an indexed
-- table, so a later migration doing either to interaction_signals drops this index first and recreates it.
CREATE INDEX IF NOT EXISTS interaction_signals_conversation ON interaction_signals (conversation_id);
