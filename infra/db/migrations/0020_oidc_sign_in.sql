-- Sign-in through the city's identity provider (OIDC): an admin links an account to the
-- value of the configured ID-token claim (the subject, or e.g. an e-mail address); no
-- account is ever created from the provider. The spent states make each sign-in's
-- state single use across all API processes (a replayed callback is refused).

ALTER TABLE dashboard_users
    ADD COLUMN oidc_subject text UNIQUE CHECK (length(oidc_subject) BETWEEN 1 AND 255);

CREATE TABLE oidc_spent_states (
    state_hash text PRIMARY KEY,  -- sha256 of the state: the state itself is not kept
    spent_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX oidc_spent_states_spent_at ON oidc_spent_states (spent_at);
