-- Quiet when nothing is wrong (issue 14): feed and system alerts go to a technical
-- on-call group, never to crowd recipients; the rate limiter, rebuilt from the outbox
-- after a restart, needs each message's stage and budget. Same on both backends.

ALTER TABLE recipients
    ADD COLUMN role text NOT NULL DEFAULT 'crowd' CHECK (role IN ('crowd', 'technical'));

ALTER TABLE sms_outbox
    ADD COLUMN stage     text,                           -- highest stage it announced
    ADD COLUMN technical boolean NOT NULL DEFAULT false; -- a technical-budget message
