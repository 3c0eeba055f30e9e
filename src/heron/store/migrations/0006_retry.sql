-- Regenerate / retry links: the id of the interaction this one replaces (heron.schema.records.Interaction.retry_of).
ALTER TABLE interactions ADD COLUMN retry_of VARCHAR;
