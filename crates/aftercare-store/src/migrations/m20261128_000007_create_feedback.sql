-- Voice of the customer (C6): feedback items from every channel with their analysis,
-- staff corrections, the dictionary of product and part names, the improvement backlog
-- and the customer alliance.

CREATE TABLE improvements (
    id {pk},
    product_id BIGINT REFERENCES products (id),
    -- What the feedback behind it is about (a part, a feature, a service step).
    topic {text_c} NOT NULL,
    -- defect (something does not work or is done badly) or need (something wanted).
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    note TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    shipped_at TEXT
);
-- One entry per product, topic and kind (feedback about no product has product 0 here).
CREATE UNIQUE INDEX improvements_topic ON improvements ((COALESCE(product_id, 0)), topic, kind);

CREATE TABLE feedback_items (
    id {pk},
    source TEXT NOT NULL,
    -- Where it was taken from, e.g. request:12, message:34, interaction:56,
    -- review:jd:7788; taking the same thing in twice changes nothing.
    origin {text_c} UNIQUE,
    customer_id BIGINT REFERENCES customers (id),
    product_id BIGINT REFERENCES products (id),
    asset_id BIGINT REFERENCES assets (id),
    request_id BIGINT REFERENCES requests (id),
    outlet_id BIGINT REFERENCES outlets (id),
    -- A review's own star rating (1–5), when the platform gives one.
    rating BIGINT,
    body TEXT NOT NULL,
    received_at TEXT NOT NULL,
    -- analysed, or failed (kept, flagged, with the reason).
    analysis TEXT NOT NULL,
    analysis_error TEXT,
    script TEXT,
    keywords TEXT,
    topic {text_c},
    sentiment TEXT,
    sentiment_score DOUBLE PRECISION,
    ladder TEXT,
    need TEXT,
    -- The words behind each label, as JSON: {"sentiment": [...], "ladder": [...], "need": [...]}.
    evidence TEXT,
    confidence TEXT,
    -- 1 once staff corrected a label: it then trains the classifiers.
    corrected BIGINT NOT NULL DEFAULT 0,
    improvement_id BIGINT REFERENCES improvements (id),
    created_by TEXT NOT NULL
);
CREATE INDEX feedback_items_received ON feedback_items (received_at, id);
CREATE INDEX feedback_items_product ON feedback_items (product_id, id);
CREATE INDEX feedback_items_customer ON feedback_items (customer_id, id);
CREATE INDEX feedback_items_improvement ON feedback_items (improvement_id);
CREATE INDEX feedback_items_corrected ON feedback_items (corrected);

CREATE TABLE feedback_corrections (
    id {pk},
    feedback_id BIGINT NOT NULL REFERENCES feedback_items (id),
    label TEXT NOT NULL,
    from_value TEXT,
    to_value TEXT NOT NULL,
    by_id BIGINT REFERENCES users (id),
    by_label TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX feedback_corrections_item ON feedback_corrections (feedback_id, id);

-- Words segmentation keeps whole: part and product names staff add.
CREATE TABLE text_words (
    word {text_c} PRIMARY KEY,
    kind TEXT NOT NULL,
    added_by TEXT NOT NULL,
    added_at TEXT NOT NULL
);

-- Customers who are experts (the customer alliance).
CREATE TABLE customer_experts (
    customer_id BIGINT PRIMARY KEY REFERENCES customers (id),
    field TEXT,
    since TEXT NOT NULL,
    added_by TEXT NOT NULL
);

-- The change-log cursor of feedback capture (one row).
CREATE TABLE feedback_cursor (
    id BIGINT PRIMARY KEY,
    event_id BIGINT NOT NULL
);

-- Surveys (CSAT, NPS, CES and custom questions) after a resolved request or a purchase.
CREATE TABLE surveys (
    id {pk},
    customer_id BIGINT NOT NULL REFERENCES customers (id),
    -- resolved (a service request) or purchase (an order).
    occasion TEXT NOT NULL,
    -- What it follows, e.g. request:12 or order:34: one survey each.
    subject_ref {text_c} NOT NULL UNIQUE,
    request_id BIGINT REFERENCES requests (id),
    order_id BIGINT REFERENCES orders (id),
    product_id BIGINT REFERENCES products (id),
    outlet_id BIGINT REFERENCES outlets (id),
    service_type TEXT,
    -- The address it was mailed to; NULL when it waits in the portal only (no consent to
    -- email, or no address).
    sent_to TEXT,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    reminded_at TEXT,
    answered_at TEXT,
    csat BIGINT,
    nps BIGINT,
    ces BIGINT,
    answers TEXT,
    comment TEXT,
    feedback_id BIGINT REFERENCES feedback_items (id)
);
CREATE INDEX surveys_customer ON surveys (customer_id, created_at);
CREATE INDEX surveys_open ON surveys (answered_at, reminded_at, created_at);
CREATE INDEX surveys_answered ON surveys (answered_at);

CREATE TABLE survey_settings (
    id BIGINT PRIMARY KEY,
    settings TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    updated_by TEXT NOT NULL
);

-- The change-log cursor of survey sending (one row).
CREATE TABLE survey_cursor (
    id BIGINT PRIMARY KEY,
    event_id BIGINT NOT NULL
);

-- Keys made once per installation (the survey links' signing key).
CREATE TABLE app_secrets (
    name {text_c} PRIMARY KEY,
    value TEXT NOT NULL,
    created_at TEXT NOT NULL
);

-- Settings of the voice of the customer (word-of-mouth reach), one row.
CREATE TABLE voc_settings (
    id BIGINT PRIMARY KEY,
    settings TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    updated_by TEXT NOT NULL
);
