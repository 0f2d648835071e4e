-- Time series on TimescaleDB: hypertables, continuous aggregates for the rollups,
-- compression and retention policies. Same table and column names as the stock
-- PostgreSQL variant so every query works on both.

-- Kept for interface parity: partitions are TimescaleDB chunks here.
CREATE FUNCTION cp_ensure_day_partitions(parent text, from_ts timestamptz, to_ts timestamptz)
RETURNS integer LANGUAGE sql AS $fn$ SELECT 0 $fn$;

CREATE TABLE crowd_readings (
    area_code    text NOT NULL,
    zone_id      text NOT NULL DEFAULT '',
    source       text NOT NULL,
    origin       text NOT NULL,
    event_id     text NOT NULL,
    event_time   timestamptz NOT NULL,
    ingest_time  timestamptz NOT NULL,
    people       double precision NOT NULL,
    people_min   double precision,
    people_max   double precision,
    confidence   real NOT NULL DEFAULT 1,
    replaced     boolean NOT NULL DEFAULT false
);
SELECT create_hypertable('crowd_readings', 'event_time', chunk_time_interval => interval '1 day');
CREATE INDEX crowd_readings_area_time ON crowd_readings (area_code, event_time DESC);
ALTER TABLE crowd_readings SET (timescaledb.compress, timescaledb.compress_segmentby = 'area_code');
SELECT add_compression_policy('crowd_readings', interval '7 days');
SELECT add_retention_policy('crowd_readings', interval '90 days');

CREATE TABLE environment_readings (
    sensor_id    text NOT NULL,
    area_code    text,
    origin       text NOT NULL,
    event_id     text NOT NULL,
    event_time   timestamptz NOT NULL,
    ingest_time  timestamptz NOT NULL,
    reading      jsonb NOT NULL
);
SELECT create_hypertable('environment_readings', 'event_time', chunk_time_interval => interval '1 day');
CREATE INDEX environment_readings_sensor_time ON environment_readings (sensor_id, event_time DESC);
ALTER TABLE environment_readings SET (timescaledb.compress, timescaledb.compress_segmentby = 'sensor_id');
SELECT add_compression_policy('environment_readings', interval '7 days');
SELECT add_retention_policy('environment_readings', interval '90 days');

CREATE TABLE crowd_stats_1m (
    area_code        text NOT NULL,
    zone_id          text NOT NULL DEFAULT '',
    source           text NOT NULL,
    bucket           timestamptz NOT NULL,
    samples          bigint NOT NULL,
    people_sum       double precision NOT NULL,
    people_min       double precision NOT NULL,
    people_max       double precision NOT NULL,
    people_last      double precision NOT NULL,
    last_event_time  timestamptz NOT NULL,
    walkable_m2      double precision NOT NULL CHECK (walkable_m2 > 0),
    PRIMARY KEY (area_code, zone_id, source, bucket)
);
SELECT create_hypertable('crowd_stats_1m', 'bucket', chunk_time_interval => interval '7 days');
CREATE INDEX crowd_stats_1m_bucket ON crowd_stats_1m (bucket);
ALTER TABLE crowd_stats_1m SET (timescaledb.compress, timescaledb.compress_segmentby = 'area_code');
SELECT add_compression_policy('crowd_stats_1m', interval '30 days');

CREATE MATERIALIZED VIEW crowd_stats_15m
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT area_code, zone_id, source,
       time_bucket(interval '15 minutes', bucket, origin => '2000-01-01 00:00+09'::timestamptz) AS bucket,
       sum(samples) AS samples, sum(people_sum) AS people_sum,
       min(people_min) AS people_min, max(people_max) AS people_max,
       last(people_last, last_event_time) AS people_last,
       max(last_event_time) AS last_event_time,
       last(walkable_m2, last_event_time) AS walkable_m2
  FROM crowd_stats_1m
 GROUP BY area_code, zone_id, source, 4
WITH NO DATA;
SELECT add_continuous_aggregate_policy('crowd_stats_15m',
    start_offset => interval '3 days', end_offset => interval '1 minute',
    schedule_interval => interval '1 minute');

CREATE MATERIALIZED VIEW crowd_stats_1h
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT area_code, zone_id, source,
       time_bucket(interval '1 hour', bucket, origin => '2000-01-01 00:00+09'::timestamptz) AS bucket,
       sum(samples) AS samples, sum(people_sum) AS people_sum,
       min(people_min) AS people_min, max(people_max) AS people_max,
       last(people_last, last_event_time) AS people_last,
       max(last_event_time) AS last_event_time,
       last(walkable_m2, last_event_time) AS walkable_m2
  FROM crowd_stats_1m
 GROUP BY area_code, zone_id, source, 4
WITH NO DATA;
SELECT add_continuous_aggregate_policy('crowd_stats_1h',
    start_offset => interval '3 days', end_offset => interval '1 minute',
    schedule_interval => interval '1 minute');

CREATE MATERIALIZED VIEW crowd_stats_1d
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT area_code, zone_id, source,
       time_bucket(interval '1 day', bucket, origin => '2000-01-01 00:00+09'::timestamptz) AS bucket,
       sum(samples) AS samples, sum(people_sum) AS people_sum,
       min(people_min) AS people_min, max(people_max) AS people_max,
       last(people_last, last_event_time) AS people_last,
       max(last_event_time) AS last_event_time,
       last(walkable_m2, last_event_time) AS walkable_m2
  FROM crowd_stats_1m
 GROUP BY area_code, zone_id, source, 4
WITH NO DATA;
SELECT add_continuous_aggregate_policy('crowd_stats_1d',
    start_offset => interval '3 days', end_offset => interval '1 minute',
    schedule_interval => interval '1 minute');

-- Continuous aggregates refresh themselves (real-time aggregation covers the newest
-- data); the worker's refresh call is a no-op here.
CREATE FUNCTION cp_refresh_crowd_rollups(from_ts timestamptz, to_ts timestamptz)
RETURNS void LANGUAGE plpgsql AS $fn$ BEGIN END $fn$;
