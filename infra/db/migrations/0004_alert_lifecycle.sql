-- The full alert lifecycle (alerts/lifecycle): escalation tier and reminder timestamps,
-- mutes, the reading behind the latest change; recipient groups; notifications waiting
-- for their district's grouping window; silences; a dispatcher marker that tells a row
-- claimed but never handed to the gateway from one whose outcome is uncertain.
-- Same on both backends.

ALTER TABLE alerts
    ADD COLUMN district          text NOT NULL DEFAULT '',
    ADD COLUMN name_ko           text NOT NULL DEFAULT '',
    ADD COLUMN name_en           text NOT NULL DEFAULT '',
    ADD COLUMN peak_stage        text,
    ADD COLUMN reading           jsonb NOT NULL DEFAULT '{}',   -- alerts.rules.Reading
    ADD COLUMN tier_since        timestamptz,
    ADD COLUMN last_notified_at  timestamptz,
    ADD COLUMN reminders_sent    integer NOT NULL DEFAULT 0,
    ADD COLUMN muted             jsonb,                         -- alerts.rules.Mute or NULL
    ADD COLUMN resolution        text,
    ADD COLUMN profile           text,
    ADD COLUMN extra_groups      text[] NOT NULL DEFAULT '{}';
CREATE INDEX alerts_status_updated ON alerts (status, updated_at DESC);
CREATE INDEX alerts_district_opened ON alerts (district, opened_at DESC);

ALTER TABLE recipients ADD COLUMN groups text[] NOT NULL DEFAULT '{}';  -- event-day staff

-- A grouped SMS announces several alerts; alert_id keeps the first for old readers.
ALTER TABLE sms_outbox
    ADD COLUMN alert_ids        bigint[] NOT NULL DEFAULT '{}',
    ADD COLUMN template         text,
    ADD COLUMN handed_over_at   timestamptz;  -- set just before provider.send (see dispatcher)
CREATE INDEX sms_outbox_alert_ids ON sms_outbox USING gin (alert_ids);
CREATE INDEX sms_outbox_recipient_created ON sms_outbox (recipient_id, created_at);
CREATE INDEX sms_outbox_provider_id ON sms_outbox (provider_message_id)
    WHERE provider_message_id IS NOT NULL;

-- A FIRE waiting for its district's grouping window. Written in the same transaction as
-- the alert it announces; turned into outbox rows (alone or grouped) by the worker.
CREATE TABLE alert_notifications (
    id          bigserial PRIMARY KEY,
    alert_id    bigint NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
    template    text NOT NULL,
    tiers       integer[] NOT NULL,
    district    text NOT NULL,
    stage       text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    queued_at   timestamptz                  -- outbox rows written
);
CREATE INDEX alert_notifications_pending ON alert_notifications (created_at)
    WHERE queued_at IS NULL;

-- Silences for planned events; the row is its own audit record (who, when, why).
CREATE TABLE silences (
    id          bigserial PRIMARY KEY,
    area_codes  text[] NOT NULL DEFAULT '{}',
    districts   text[] NOT NULL DEFAULT '{}',
    rules       text[] NOT NULL DEFAULT '{}',            -- empty: every rule
    max_stage   text NOT NULL DEFAULT 'alert',           -- 심각 breaks through by default
    starts_at   timestamptz NOT NULL,
    ends_at     timestamptz NOT NULL,
    created_by  text NOT NULL CHECK (btrim(created_by) <> ''),
    reason      text NOT NULL CHECK (btrim(reason) <> ''),
    created_at  timestamptz NOT NULL DEFAULT now(),
    CHECK (ends_at > starts_at),
    CHECK (cardinality(area_codes) + cardinality(districts) > 0)  -- never mute the city
);
CREATE INDEX silences_ends ON silences (ends_at);
