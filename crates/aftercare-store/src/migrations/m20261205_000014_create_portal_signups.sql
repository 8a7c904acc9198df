-- Portal sign-ups waiting for the link mailed to their address: the account is made only
-- when the link is opened, so nobody learns from a sign-up whether an address is known,
-- and nobody takes over a customer's record with an address that is not theirs.
CREATE TABLE portal_signups (
    token_hash TEXT PRIMARY KEY,
    email TEXT NOT NULL,
    -- The form as JSON, without the password.
    input TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    lang TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX portal_signups_email ON portal_signups (email);
