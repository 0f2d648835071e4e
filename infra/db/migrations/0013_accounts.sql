-- Per-person dashboard accounts: the agency and districts a user acts for, sign-in
-- failures (backoff and lock) and when the password last changed (older tokens are
-- refused). `active = false` is a disabled account. Same on both backends.

ALTER TABLE dashboard_users
    ADD COLUMN display_name        text NOT NULL DEFAULT '' CHECK (length(display_name) <= 80),
    ADD COLUMN agency              text NOT NULL DEFAULT 'city'
                                   CHECK (agency IN ('city', 'district', 'fire', 'police')),
    ADD COLUMN districts           text[] NOT NULL DEFAULT '{}',  -- empty: the whole city
    ADD COLUMN failed_logins       integer NOT NULL DEFAULT 0,
    ADD COLUMN locked_until        timestamptz,
    ADD COLUMN password_changed_at timestamptz NOT NULL DEFAULT now();

COMMENT ON COLUMN dashboard_users.password_hash IS 'argon2id (older rows: scrypt$n$r$p$salt$hash)';
