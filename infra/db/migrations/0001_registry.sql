-- Area registry, stream bookkeeping and worker liveness. Same on both backends.

CREATE TABLE areas (
    code               text PRIMARY KEY CHECK (code ~ '^POI[0-9]{3}$'),
    name_ko            text NOT NULL,
    name_en            text NOT NULL,
    category           text NOT NULL DEFAULT '',
    district           text NOT NULL DEFAULT '',
    polygon            jsonb NOT NULL,             -- GeoJSON Polygon, WGS84 lon/lat
    area_m2            double precision NOT NULL CHECK (area_m2 > 0),
    walkable_fraction  double precision NOT NULL CHECK (walkable_fraction > 0 AND walkable_fraction <= 1),
    centroid_lon       double precision NOT NULL,
    centroid_lat       double precision NOT NULL,
    thresholds         jsonb,                      -- per-area stage overrides, NULL = defaults
    updated_at         timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE zones (
    area_code    text NOT NULL REFERENCES areas (code) ON DELETE CASCADE,
    zone_id      text NOT NULL,
    name         text NOT NULL DEFAULT '',
    walkable_m2  double precision NOT NULL CHECK (walkable_m2 > 0),
    thresholds   jsonb,
    PRIMARY KEY (area_code, zone_id)
);

-- Offsets of the input topic written in the same transaction as the data they cover:
-- after a crash the worker resumes from here, so nothing is lost or counted twice.
CREATE TABLE stream_offsets (
    consumer     text NOT NULL,
    topic        text NOT NULL,
    partition    integer NOT NULL,
    next_offset  bigint NOT NULL,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, topic, partition)
);

CREATE TABLE worker_heartbeats (
    worker_id   text PRIMARY KEY,
    role        text NOT NULL,
    host        text NOT NULL,
    pid         integer NOT NULL,
    started_at  timestamptz NOT NULL,
    last_seen   timestamptz NOT NULL
);
