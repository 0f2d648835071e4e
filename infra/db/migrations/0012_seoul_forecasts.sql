-- Seoul's own population forecast (citydata FCST_PPLTN), the newest per area: shown on
-- the dashboard beside CityPulse's estimate. Written by the worker in its batch
-- transaction, only by a reading at least as new as the one stored (a replay or a late
-- reading never puts an older forecast back). SQL in citypulse/seoul_forecasts.py.
CREATE TABLE seoul_forecasts (
    area_code   text PRIMARY KEY,
    issued_at   timestamptz NOT NULL,   -- event time (PPLTN_TIME) of the reading that carried it
    source      text NOT NULL,          -- the producer: seoul_citydata, simulator, ...
    points      jsonb NOT NULL,         -- [{time, people_min, people_max, congestion_level}], time order
    stored_at   timestamptz NOT NULL DEFAULT now()
);
