-- On stock PostgreSQL 0023 rebuilds the raw readings' indexes ascending in time (see the
-- .postgresql.sql twin). On TimescaleDB they stay as 0002 made them: chunks older than
-- seven days are compressed, segmented by area_code, and are read through their own
-- per-segment metadata, not this index; only today's uncompressed chunks would gain, and
-- rebuilding the index over a compressed hypertable is not something this project can
-- test here (the extension is not in these package registries). Recorded in the catalogue.
COMMENT ON INDEX crowd_readings_area_time IS
    'DESC as 0002 made it; stock PostgreSQL has it ascending since 0023';
