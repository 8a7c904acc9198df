-- Customer value and loyalty (C5): each customer's latest scores, the model of the last
-- full run, stage history, settings, recompute jobs, saved segments and referrals.

-- Scoring aggregates every order by customer and day: the index that orders them so
-- also carries what is summed, so the aggregation never visits the table.
DROP INDEX orders_customer;
CREATE INDEX orders_customer ON orders (customer_id, ordered_on, status, total, discount);

-- A tier set by hand stays until it is released; otherwise the computed one (in
-- customer_values) is the one the customer is served at. Tiers set before scoring
-- existed were set by hand.
ALTER TABLE customers ADD COLUMN tier_pinned BIGINT NOT NULL DEFAULT 0;
UPDATE customers SET tier_pinned = 1 WHERE tier IS NOT NULL;

CREATE TABLE customer_values (
    customer_id BIGINT PRIMARY KEY REFERENCES customers (id),
    as_of TEXT NOT NULL,
    recency_days BIGINT,
    r BIGINT,
    f BIGINT,
    m BIGINT,
    purchases BIGINT NOT NULL,
    revenue DOUBLE PRECISION NOT NULL,
    service_cost DOUBLE PRECISION NOT NULL,
    current_value DOUBLE PRECISION NOT NULL,
    p_alive DOUBLE PRECISION,
    expected_purchases DOUBLE PRECISION,
    clv DOUBLE PRECISION NOT NULL,
    class TEXT NOT NULL,
    tier TEXT NOT NULL,
    stage TEXT NOT NULL,
    risk TEXT,
    risk_reason TEXT,
    updated_at TEXT NOT NULL
);
-- Segments list by CLV, highest first, whatever they filter on: one index. (Indexes per
-- class, stage or risk would each be rewritten in random order by every full recompute,
-- and the rarest class still finds 50 rows in a few thousand steps down this one.)
CREATE INDEX customer_values_clv ON customer_values (clv);

CREATE TABLE value_models (
    id {pk},
    fitted_at TEXT NOT NULL,
    settings TEXT NOT NULL,
    model TEXT NOT NULL,
    seconds DOUBLE PRECISION NOT NULL
);

CREATE TABLE value_settings (
    id BIGINT PRIMARY KEY,
    settings TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    updated_by TEXT NOT NULL
);

-- The change-log cursor of incremental scoring (one row).
CREATE TABLE value_cursor (
    id BIGINT PRIMARY KEY,
    event_id BIGINT NOT NULL
);
INSERT INTO value_cursor (id, event_id) VALUES (1, 0);

CREATE TABLE loyalty_history (
    id {pk},
    customer_id BIGINT NOT NULL REFERENCES customers (id),
    at TEXT NOT NULL,
    from_stage TEXT,
    to_stage TEXT NOT NULL
);
CREATE INDEX loyalty_history_customer ON loyalty_history (customer_id, id);
CREATE INDEX loyalty_history_at ON loyalty_history (at);

CREATE TABLE value_jobs (
    id {pk},
    started_at TEXT NOT NULL,
    started_by TEXT NOT NULL,
    finished_at TEXT,
    stage TEXT NOT NULL,
    done BIGINT NOT NULL,
    total BIGINT NOT NULL,
    error TEXT
);

CREATE TABLE segments (
    id {pk},
    name TEXT NOT NULL,
    filter TEXT NOT NULL,
    created_by BIGINT,
    created_at TEXT NOT NULL
);

CREATE TABLE referrals (
    id {pk},
    referrer_id BIGINT NOT NULL REFERENCES customers (id),
    referred_id BIGINT NOT NULL REFERENCES customers (id),
    note TEXT,
    created_by BIGINT,
    created_at TEXT NOT NULL
);
CREATE UNIQUE INDEX referrals_referred ON referrals (referred_id);
CREATE INDEX referrals_referrer ON referrals (referrer_id);
