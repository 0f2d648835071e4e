-- Acknowledgement links used from a phone: the link's MAC is the key, so a link is used
-- once (a second use finds its row). Same on both backends.

CREATE TABLE phone_ack_link_uses (
    mac           text PRIMARY KEY CHECK (length(mac) <= 32),
    alert_id      bigint NOT NULL,
    recipient_id  bigint NOT NULL,
    used_at       timestamptz NOT NULL DEFAULT now()
);
