-- Seoul's own comfort label beside each telecom reading (NULL for other sources and
-- for producers that send none): the labelled history `citypulse calibrate` fits on.
ALTER TABLE crowd_readings ADD COLUMN congestion_level text;

-- Each fit of the per-area calibration (streams/calibration.py): the worker loads the
-- newest at start and whenever a newer one appears.
CREATE TABLE area_calibrations (
    id          bigserial PRIMARY KEY,
    fitted_at   timestamptz NOT NULL,
    span_from   timestamptz,                 -- oldest and newest reading fitted on
    span_to     timestamptz,
    rows        integer NOT NULL,
    areas       integer NOT NULL,            -- areas with enough history (the rest: uncalibrated)
    holdout     jsonb NOT NULL,              -- scores on the newest day, fitted without it
    model       jsonb NOT NULL
);
