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

-- Service standards: per service type, the checklist a field visit is held to (a JSON
-- array of texts, as the brand words them).
CREATE TABLE service_standards (
    service_type TEXT PRIMARY KEY,
    items TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
-- What the visit report marked of its standard: JSON [{"item", "done"}]; none for visits
-- reported without a standard.
ALTER TABLE visits ADD COLUMN checklist TEXT;

-- Warranty claims (三包索赔): a partner outlet asks the brand to pay for a repair, an
-- exchange or a return it did free under 三包; one per request. Amounts in fen.
CREATE TABLE warranty_claims (
    id {pk},
    outlet_id BIGINT NOT NULL REFERENCES outlets (id),
    request_id BIGINT NOT NULL REFERENCES requests (id),
    -- The 三包 decision taken the day the request was opened (codes), as the claim saw it.
    warranty_charge TEXT NOT NULL,
    warranty_reason TEXT NOT NULL,
    parts_amount BIGINT NOT NULL,
    labour_amount BIGINT NOT NULL,
    note TEXT,
    -- submitted, approved, partly_approved, returned (sent back to be corrected)
    status TEXT NOT NULL,
    approved_amount BIGINT,
    decision_note TEXT,
    filed_by BIGINT NOT NULL REFERENCES users (id),
    filed_at TEXT NOT NULL,
    decided_by BIGINT REFERENCES users (id),
    decided_at TEXT,
    -- The statement it is paid in (YYYY-MM, China time): the month it was approved.
    month TEXT,
    version BIGINT NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX warranty_claims_request ON warranty_claims (request_id);
CREATE INDEX warranty_claims_outlet ON warranty_claims (outlet_id, month, id);
CREATE INDEX warranty_claims_status ON warranty_claims (status, id);

-- Scorecards. What a request's scorecard needs that is not stored elsewhere: its item's
-- product category, the visits reported done on it, whether a repair of the same item
-- followed within 30 days of its resolution, and when the technician arrived.
ALTER TABLE requests ADD COLUMN category_id BIGINT;
ALTER TABLE requests ADD COLUMN visits_done BIGINT NOT NULL DEFAULT 0;
ALTER TABLE requests ADD COLUMN repeated BIGINT NOT NULL DEFAULT 0;
ALTER TABLE visits ADD COLUMN arrived_at TEXT;
-- Arrived at most 15 minutes late (1) or not (0); none when no arrival was recorded.
ALTER TABLE visits ADD COLUMN on_time BIGINT;
ALTER TABLE visits ADD COLUMN checklist_items BIGINT NOT NULL DEFAULT 0;
ALTER TABLE visits ADD COLUMN checklist_done BIGINT NOT NULL DEFAULT 0;
UPDATE requests SET category_id = (SELECT p.category_id FROM assets a JOIN products p ON p.id = a.product_id
    WHERE a.id = requests.asset_id) WHERE asset_id IS NOT NULL;
UPDATE requests SET visits_done = (SELECT COUNT(*) FROM visits v WHERE v.request_id = requests.id
    AND v.status = 'done');
-- Which months' figures changed since they were summed: requests touched, visits
-- reported and surveys answered since (surveys are found by their answer time already).
CREATE INDEX requests_updated ON requests (updated_at);
-- A complaint is laid at the door of the customer's latest request resolved before it.
CREATE INDEX requests_customer_resolved ON requests (customer_id, resolved_at);
CREATE INDEX surveys_request ON surveys (request_id);
CREATE INDEX visits_reported ON visits (reported_at);

-- The figures of a month (by when requests were opened), summed per person, outlet,
-- service type, product category and value tier: what scorecards add up, and the case
-- mix they compare against. Rebuilt per month when something in it changed.
CREATE TABLE scorecard_cells (
    month TEXT NOT NULL,
    user_id BIGINT NOT NULL,
    outlet_id BIGINT NOT NULL,
    service_type TEXT NOT NULL,
    category_id BIGINT NOT NULL,
    tier TEXT NOT NULL,
    requests BIGINT NOT NULL,
    response_n BIGINT NOT NULL,
    response_ok BIGINT NOT NULL,
    resolved BIGINT NOT NULL,
    resolved_ok BIGINT NOT NULL,
    fix_n BIGINT NOT NULL,
    first_fix BIGINT NOT NULL,
    repair_n BIGINT NOT NULL,
    repeats BIGINT NOT NULL,
    rated BIGINT NOT NULL,
    satisfied BIGINT NOT NULL,
    nps_n BIGINT NOT NULL,
    promoters BIGINT NOT NULL,
    detractors BIGINT NOT NULL,
    ces_n BIGINT NOT NULL,
    ces_sum BIGINT NOT NULL,
    complaints BIGINT NOT NULL,
    visits_timed BIGINT NOT NULL,
    visits_on_time BIGINT NOT NULL,
    checklist_items BIGINT NOT NULL,
    checklist_done BIGINT NOT NULL
);
CREATE INDEX scorecard_cells_month ON scorecard_cells (month, user_id);
-- When each month was last summed.
CREATE TABLE scorecard_builds (
    month TEXT PRIMARY KEY,
    built_at TEXT NOT NULL
);

-- Quality reviews: a resolved request looked at against a rubric (each criterion scored
-- 0–5, JSON), with the person's answer.
CREATE TABLE quality_reviews (
    id {pk},
    request_id BIGINT NOT NULL REFERENCES requests (id),
    user_id BIGINT NOT NULL REFERENCES users (id),
    -- The month (YYYY-MM) it samples.
    period TEXT NOT NULL,
    -- random, complaint, low_rating
    reason TEXT NOT NULL,
    -- open, done
    status TEXT NOT NULL,
    scores TEXT,
    score BIGINT,
    comment TEXT,
    reviewer_id BIGINT REFERENCES users (id),
    reviewed_at TEXT,
    answer TEXT,
    answered_at TEXT,
    created_at TEXT NOT NULL,
    version BIGINT NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX quality_reviews_request ON quality_reviews (request_id);
CREATE INDEX quality_reviews_user ON quality_reviews (user_id, period);
