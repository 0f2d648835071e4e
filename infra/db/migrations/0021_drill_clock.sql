-- A drill's simulated clock (issue 19). `citypulse drill start` writes the one row into
-- the drill's own schema (drill_<id>); the API reads it there to time what operators do
-- in the drill (acknowledgements, playbook ticks) in the drill's simulated time, as its
-- worker does: simulated now = sim_start + speed x (wall now - wall_start). The live
-- schema's table stays empty. Same on both backends.

CREATE TABLE drill_clock (
    one         boolean PRIMARY KEY DEFAULT true CHECK (one),
    drill_id    text NOT NULL CHECK (drill_id ~ '^[a-z0-9]{1,16}$'),
    scenario    text NOT NULL,
    sim_start   timestamptz NOT NULL,
    wall_start  double precision NOT NULL,           -- epoch seconds
    speed       double precision NOT NULL CHECK (speed > 0)
);
