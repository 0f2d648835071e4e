-- 0003's line comment on alerts.opened_at said "event time the condition fired"; it never
-- was. The engine stamps it from its clock when it decides to open the alert (wall time
-- live, the drill's simulated time in a drill), after the stage hold, so it is the
-- decision's time, not the readings'. bench/alert_latency.py measures from it. Said here
-- (migrations are checksummed and never edited) and in the catalogue, where psql's \d+
-- reads it.
COMMENT ON COLUMN alerts.opened_at IS
    'When the engine decided to open the alert (its clock: wall time live, simulated time '
    'in a drill), after the stage hold; not the event time of the readings';
