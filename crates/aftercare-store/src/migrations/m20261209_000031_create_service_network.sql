-- The service network (issue 17): outlets set up in full, and the certificates routing
-- asks of whoever takes a request for a product line that needs them.
--
-- An outlet covers cities and product categories (ids), each a comma-separated list; an
-- outlet covering no city takes only the requests given to it by hand. Its capacity is
-- the most active requests it takes (none: no limit); a partner's own SLA targets, in
-- working minutes of its calendar, are what its scorecard is held to.
ALTER TABLE outlets ADD COLUMN address TEXT;
ALTER TABLE outlets ADD COLUMN contact_name TEXT;
ALTER TABLE outlets ADD COLUMN contact_phone TEXT;
ALTER TABLE outlets ADD COLUMN contact_email TEXT;
ALTER TABLE outlets ADD COLUMN regions TEXT NOT NULL DEFAULT '';
ALTER TABLE outlets ADD COLUMN categories TEXT NOT NULL DEFAULT '';
ALTER TABLE outlets ADD COLUMN calendar_id BIGINT REFERENCES calendars (id);
ALTER TABLE outlets ADD COLUMN capacity BIGINT;
ALTER TABLE outlets ADD COLUMN response_minutes BIGINT;
ALTER TABLE outlets ADD COLUMN resolution_minutes BIGINT;
ALTER TABLE outlets ADD COLUMN version BIGINT NOT NULL DEFAULT 1;

-- A product line (a category and everything under it) whose requests go only to people
-- holding a valid certificate for it.
ALTER TABLE product_categories ADD COLUMN certification_required BIGINT NOT NULL DEFAULT 0;

-- A course passed or a certificate held: for a product line (none: every line) and some
-- service types (comma-separated codes; empty: every type), valid through a day.
CREATE TABLE certificates (
    id {pk},
    user_id BIGINT NOT NULL REFERENCES users (id),
    name TEXT NOT NULL,
    category_id BIGINT REFERENCES product_categories (id),
    skills TEXT NOT NULL DEFAULT '',
    issued_on TEXT NOT NULL,
    valid_until TEXT NOT NULL,
    revoked_at TEXT,
    -- When the holder and the managers were told it runs out soon (once).
    warned_at TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX certificates_user ON certificates (user_id, valid_until);
CREATE INDEX certificates_expiry ON certificates (valid_until, id);
