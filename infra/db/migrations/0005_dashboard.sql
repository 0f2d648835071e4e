-- Dashboard: its users, an audit of every operator action, and event-day threshold
-- profiles. Per-area and per-zone thresholds live on areas/zones (0001). Same on both
-- backends.

CREATE TABLE dashboard_users (
    username       text PRIMARY KEY CHECK (username ~ '^[a-z0-9_.-]{3,40}$'),
    password_hash  text NOT NULL,                 -- scrypt$n$r$p$salt$hash
    role           text NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
    active         boolean NOT NULL DEFAULT true,
    created_at     timestamptz NOT NULL DEFAULT now()
);

-- Every change an operator or admin makes through the API, whatever the resource.
CREATE TABLE operator_audit (
    id        bigserial PRIMARY KEY,
    at        timestamptz NOT NULL DEFAULT now(),
    actor     text NOT NULL,
    role      text NOT NULL,
    action    text NOT NULL,                      -- alert.acknowledge, thresholds.set, ...
    target    text NOT NULL DEFAULT '',
    data      jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX operator_audit_at ON operator_audit (at DESC);

-- Stricter thresholds for a planned event (festival, fireworks, countdown), active in
-- [starts_at, ends_at) for the listed areas (empty = every area).
CREATE TABLE event_day_profiles (
    id          bigserial PRIMARY KEY,
    name        text NOT NULL,
    starts_at   timestamptz NOT NULL,
    ends_at     timestamptz NOT NULL CHECK (ends_at > starts_at),
    thresholds  jsonb NOT NULL,                   -- {"attention":..,"caution":..,"alert":..,"serious":..}
    area_codes  text[] NOT NULL DEFAULT '{}',
    created_by  text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX event_day_profiles_window ON event_day_profiles (ends_at, starts_at);
