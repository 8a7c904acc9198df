-- Calendar subscriptions (issue 13): each member of staff may have one secret address
-- that calendar apps fetch their visits from without signing in. Only the secret's hash
-- is kept; a new secret replaces the old one, and revoking deletes the row.
CREATE TABLE calendar_feeds (
    user_id BIGINT PRIMARY KEY REFERENCES users (id),
    token_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL
);
