-- A recipient's agency (who they answer for: playbooks name the first action for it) and
-- quiet hours (local Korean time; messages below 심각 wait or skip inside them). Both
-- quiet columns null: no quiet hours. Same on both backends.

ALTER TABLE recipients
    ADD COLUMN agency      text NOT NULL DEFAULT 'city'
                           CHECK (agency IN ('city', 'district', 'fire', 'police')),
    ADD COLUMN quiet_from  time,
    ADD COLUMN quiet_until time,
    ADD CONSTRAINT recipients_quiet_both CHECK ((quiet_from IS NULL) = (quiet_until IS NULL));
