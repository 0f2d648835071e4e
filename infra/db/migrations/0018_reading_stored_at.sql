-- When each crowd reading was stored, so the record after an incident can show the
-- figures as CityPulse knew them at each moment: `event_time` says when a reading was
-- measured and `ingest_time` when its producer sent it, but a late or backfilled reading
-- is stored long after both. The default stamps every row the worker writes from now
-- on (its COPY names its columns); rows stored before this migration keep NULL, which
-- the record shows as "stored time unknown" rather than guessing. Same on both backends
-- (a nullable column without a default is what a compressed hypertable accepts; the
-- default is set apart from it).
ALTER TABLE crowd_readings ADD COLUMN stored_at timestamptz;
ALTER TABLE crowd_readings ALTER COLUMN stored_at SET DEFAULT now();
