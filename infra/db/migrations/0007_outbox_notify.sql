-- A new outbox row wakes the dispatcher at once (LISTEN) instead of at its next poll.
-- The channel names the schema, so dispatchers of other schemas (tests) sleep on.
CREATE OR REPLACE FUNCTION cp_outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    PERFORM pg_notify('cp_outbox_' || TG_TABLE_SCHEMA, '');
    RETURN NULL;
END
$fn$;

CREATE TRIGGER sms_outbox_notify AFTER INSERT ON sms_outbox
    FOR EACH STATEMENT EXECUTE FUNCTION cp_outbox_notify();
