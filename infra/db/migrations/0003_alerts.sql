-- Dead-letter counters, alerts with their audit trail, and the SMS outbox. Same on both
-- backends.

CREATE TABLE dead_letter_counts (
    reason   text PRIMARY KEY,
    count    bigint NOT NULL DEFAULT 0,
    last_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE alerts (
    id               bigserial PRIMARY KEY,
    dedup_key        text NOT NULL,               -- area[/zone]:rule
    area_code        text NOT NULL,
    zone_id          text NOT NULL DEFAULT '',
    rule             text NOT NULL,
    stage            text NOT NULL,
    status           text NOT NULL CHECK (status IN ('open', 'acknowledged', 'resolved', 'auto_resolved')),
    density_per_m2   double precision NOT NULL,
    people           double precision NOT NULL,
    opened_at        timestamptz NOT NULL,        -- event time the condition fired
    updated_at       timestamptz NOT NULL DEFAULT now(),
    acknowledged_at  timestamptz,
    acknowledged_by  text,
    resolved_at      timestamptz,
    resolved_by      text,
    tier             integer NOT NULL DEFAULT 1,
    details          jsonb NOT NULL DEFAULT '{}'
);
-- One open alert per (area or zone, rule).
CREATE UNIQUE INDEX alerts_one_open ON alerts (dedup_key) WHERE status IN ('open', 'acknowledged');
CREATE INDEX alerts_area_opened ON alerts (area_code, opened_at DESC);

CREATE TABLE alert_audit (
    id        bigserial PRIMARY KEY,
    alert_id  bigint NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
    at        timestamptz NOT NULL DEFAULT now(),
    actor     text NOT NULL,                      -- 'system' or the operator
    action    text NOT NULL,
    reason    text NOT NULL DEFAULT '',
    data      jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX alert_audit_alert ON alert_audit (alert_id, at);

CREATE TABLE recipients (
    id          bigserial PRIMARY KEY,
    name        text NOT NULL,
    phone_e164  text NOT NULL CHECK (phone_e164 ~ '^\+[1-9][0-9]{7,14}$'),
    tier        integer NOT NULL CHECK (tier BETWEEN 1 AND 3),
    language    text NOT NULL DEFAULT 'ko' CHECK (language IN ('ko', 'en')),
    districts   text[] NOT NULL DEFAULT '{}',     -- empty = every district
    areas       text[] NOT NULL DEFAULT '{}',
    active      boolean NOT NULL DEFAULT true
);

-- Written in the same transaction as the alert change it announces; the dispatcher
-- sends it and records the outcome, so a restart neither re-sends nor drops.
CREATE TABLE sms_outbox (
    id                   bigserial PRIMARY KEY,
    alert_id             bigint REFERENCES alerts (id) ON DELETE SET NULL,
    recipient_id         bigint REFERENCES recipients (id) ON DELETE SET NULL,
    phone_e164           text NOT NULL,
    kind                 text NOT NULL CHECK (kind IN ('sms', 'lms')),
    subject              text,
    body                 text NOT NULL,
    status               text NOT NULL DEFAULT 'pending'
                         CHECK (status IN ('pending', 'sending', 'sent', 'delivered', 'failed')),
    attempts             integer NOT NULL DEFAULT 0,
    next_attempt_at      timestamptz NOT NULL DEFAULT now(),
    provider             text,
    provider_message_id  text,
    last_error           text,
    created_at           timestamptz NOT NULL DEFAULT now(),
    sent_at              timestamptz,
    final_at             timestamptz
);
CREATE INDEX sms_outbox_due ON sms_outbox (next_attempt_at) WHERE status IN ('pending', 'sending');

CREATE TABLE delivery_reports (
    id           bigserial PRIMARY KEY,
    outbox_id    bigint NOT NULL REFERENCES sms_outbox (id) ON DELETE CASCADE,
    status       text NOT NULL,
    provider_status text NOT NULL DEFAULT '',
    received_at  timestamptz NOT NULL DEFAULT now(),
    raw          jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX delivery_reports_outbox ON delivery_reports (outbox_id);
