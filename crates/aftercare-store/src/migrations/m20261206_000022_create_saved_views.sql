-- Saved views of the request queue (issue 13): a name and the filters as a query string,
-- per person.
CREATE TABLE saved_views (
    id {pk},
    user_id BIGINT NOT NULL REFERENCES users (id),
    name TEXT NOT NULL,
    query TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (user_id, name)
);
