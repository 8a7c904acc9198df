-- Portal password resets (issue 13): a link mailed to the account's address sets a new
-- password, once and within the hour. Only the token's hash is kept; an account's newer
-- link replaces its older ones.
CREATE TABLE portal_resets (
    token_hash TEXT PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES portal_accounts (id),
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX portal_resets_account ON portal_resets (account_id);
