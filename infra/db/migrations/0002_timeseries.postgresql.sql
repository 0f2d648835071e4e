-- Time series on stock PostgreSQL: daily range partitions (plus a default partition so no
-- row is ever refused), 1-minute stats upserted by the worker, rollups maintained by
-- cp_refresh_crowd_rollups().

CREATE FUNCTION cp_ensure_day_partitions(parent text, from_ts timestamptz, to_ts timestamptz)
RETURNS integer LANGUAGE plpgsql AS $fn$
DECLARE
    d       date := (from_ts AT TIME ZONE 'UTC')::date;
    last_d  date := (to_ts AT TIME ZONE 'UTC')::date;
    part    text;
    lo      timestamptz;
    hi      timestamptz;
    col     text;
    created integer := 0;
BEGIN
    SELECT a.attname INTO col
      FROM pg_partitioned_table p
      JOIN pg_attribute a ON a.attrelid = p.partrelid AND a.attnum = p.partattrs[0]
     WHERE p.partrelid = parent::regclass;
    WHILE d <= last_d LOOP
        part := parent || '_p' || to_char(d, 'YYYYMMDD');
        IF to_regclass(part) IS NULL THEN
            lo := d::timestamp AT TIME ZONE 'UTC';
            hi := (d + 1)::timestamp AT TIME ZONE 'UTC';
            -- Rows that reached the default partition before this day existed move in.
            EXECUTE format('LOCK TABLE %I IN EXCLUSIVE MODE', parent || '_default');
            EXECUTE format('CREATE TABLE %I (LIKE %I INCLUDING DEFAULTS INCLUDING CONSTRAINTS)',
                           part, parent);
            EXECUTE format('WITH moved AS (DELETE FROM %I WHERE %I >= $1 AND %I < $2 RETURNING *) '
                           'INSERT INTO %I SELECT * FROM moved',
                           parent || '_default', col, col, part) USING lo, hi;
            EXECUTE format('ALTER TABLE %I ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)',
                           parent, part, lo, hi);
            created := created + 1;
        END IF;
        d := d + 1;
    END LOOP;
    RETURN created;
END
$fn$;

CREATE TABLE crowd_readings (
    area_code    text NOT NULL,
    zone_id      text NOT NULL DEFAULT '',        -- '' = the whole area
    source       text NOT NULL,                   -- telecom | zone_counter | visitor_count
    origin       text NOT NULL,                   -- producer: seoul_citydata, simulator, ...
    event_id     text NOT NULL,
    event_time   timestamptz NOT NULL,
    ingest_time  timestamptz NOT NULL,
    people       double precision NOT NULL,
    people_min   double precision,
    people_max   double precision,
    confidence   real NOT NULL DEFAULT 1,
    replaced     boolean NOT NULL DEFAULT false
) PARTITION BY RANGE (event_time);
CREATE TABLE crowd_readings_default PARTITION OF crowd_readings DEFAULT;
CREATE INDEX crowd_readings_area_time ON crowd_readings (area_code, event_time DESC);

CREATE TABLE environment_readings (
    sensor_id    text NOT NULL,
    area_code    text,
    origin       text NOT NULL,
    event_id     text NOT NULL,
    event_time   timestamptz NOT NULL,
    ingest_time  timestamptz NOT NULL,
    reading      jsonb NOT NULL                   -- the measured fields, units in their names
) PARTITION BY RANGE (event_time);
CREATE TABLE environment_readings_default PARTITION OF environment_readings DEFAULT;
CREATE INDEX environment_readings_sensor_time ON environment_readings (sensor_id, event_time DESC);

-- Mergeable aggregates only (sums, extremes, last-by-time) so a replayed or late batch
-- merges into its window instead of replacing it.
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
) PARTITION BY RANGE (bucket);
CREATE TABLE crowd_stats_1m_default PARTITION OF crowd_stats_1m DEFAULT;
CREATE INDEX crowd_stats_1m_bucket ON crowd_stats_1m (bucket);

CREATE TABLE crowd_stats_15m (LIKE crowd_stats_1m INCLUDING ALL);
CREATE TABLE crowd_stats_1h (LIKE crowd_stats_1m INCLUDING ALL);
CREATE TABLE crowd_stats_1d (LIKE crowd_stats_1m INCLUDING ALL);

-- Recompute the rollup buckets that overlap [from_ts, to_ts) from the 1-minute rows.
-- Buckets are aligned to midnight KST so a "day" is a Seoul day.
CREATE FUNCTION cp_refresh_crowd_rollups(from_ts timestamptz, to_ts timestamptz)
RETURNS void LANGUAGE plpgsql AS $fn$
DECLARE
    level record;
BEGIN
    FOR level IN SELECT * FROM (VALUES ('crowd_stats_15m', interval '15 minutes'),
                                       ('crowd_stats_1h', interval '1 hour'),
                                       ('crowd_stats_1d', interval '1 day')) AS l(tbl, width)
    LOOP
        EXECUTE format($q$
            INSERT INTO %I AS r (area_code, zone_id, source, bucket, samples, people_sum,
                                 people_min, people_max, people_last, last_event_time, walkable_m2)
            SELECT area_code, zone_id, source, date_bin($3, bucket, '2000-01-01 00:00+09'::timestamptz) AS b,
                   sum(samples), sum(people_sum), min(people_min), max(people_max),
                   (array_agg(people_last ORDER BY last_event_time DESC))[1],
                   max(last_event_time),
                   (array_agg(walkable_m2 ORDER BY last_event_time DESC))[1]
              FROM crowd_stats_1m
             WHERE bucket >= date_bin($3, $1, '2000-01-01 00:00+09'::timestamptz)
               AND bucket < date_bin($3, $2, '2000-01-01 00:00+09'::timestamptz) + $3
             GROUP BY area_code, zone_id, source, b
            ON CONFLICT (area_code, zone_id, source, bucket) DO UPDATE SET
                samples = EXCLUDED.samples, people_sum = EXCLUDED.people_sum,
                people_min = EXCLUDED.people_min, people_max = EXCLUDED.people_max,
                people_last = EXCLUDED.people_last, last_event_time = EXCLUDED.last_event_time,
                walkable_m2 = EXCLUDED.walkable_m2
        $q$, level.tbl) USING from_ts, to_ts, level.width;
    END LOOP;
END
$fn$;
