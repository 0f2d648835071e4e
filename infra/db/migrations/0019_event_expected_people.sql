-- A declared event's expected crowd (a venue's capacity: a ballpark's seats, a park's
-- official capacity). While the profile is active the above-normal rule measures the
-- area's count against the larger of its hourly normal and this (docs/alerts.md,
-- "Declared crowds"). Null: the profile only makes stage thresholds stricter, as before.
-- Same on both backends.

ALTER TABLE event_day_profiles
    ADD COLUMN expected_people integer CHECK (expected_people > 0);
