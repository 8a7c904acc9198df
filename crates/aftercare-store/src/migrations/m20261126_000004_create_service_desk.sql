-- The service desk: requests and their messages, attachments, status history, SLA
-- policies over business calendars, staff skills for routing, field visits, returns, the
-- customer portal and its articles, and the mail outbox.

ALTER TABLE customers ADD COLUMN tier TEXT;
ALTER TABLE outlets ADD COLUMN active BIGINT NOT NULL DEFAULT 1;

CREATE TABLE calendars (
    id {pk},
    name TEXT NOT NULL,
    spec TEXT NOT NULL
);

CREATE TABLE sla_policies (
    id {pk},
    name TEXT NOT NULL,
    tier TEXT,
    priority TEXT,
    service_type TEXT,
    calendar_id BIGINT NOT NULL REFERENCES calendars (id),
    first_response_minutes BIGINT NOT NULL,
    resolution_minutes BIGINT NOT NULL,
    warn_minutes BIGINT NOT NULL,
    notify_manager BIGINT NOT NULL,
    raise_priority BIGINT NOT NULL,
    reassign BIGINT NOT NULL,
    active BIGINT NOT NULL DEFAULT 1
);

-- Who takes which requests: skills (service types), regions (cities), outlet, capacity.
CREATE TABLE staff_profiles (
    user_id BIGINT PRIMARY KEY REFERENCES users (id),
    outlet_id BIGINT REFERENCES outlets (id),
    skills TEXT NOT NULL DEFAULT '',
    regions TEXT NOT NULL DEFAULT '',
    capacity BIGINT NOT NULL DEFAULT 20,
    auto_assign BIGINT NOT NULL DEFAULT 1
);

-- Sequences per year for request numbers (SR-2026-000123).
CREATE TABLE request_numbers (
    year BIGINT PRIMARY KEY,
    last BIGINT NOT NULL
);

CREATE TABLE requests (
    id {pk},
    number {text_c} NOT NULL,
    customer_id BIGINT NOT NULL REFERENCES customers (id),
    asset_id BIGINT REFERENCES assets (id),
    order_id BIGINT REFERENCES orders (id),
    service_type TEXT NOT NULL,
    phase TEXT NOT NULL,
    status TEXT NOT NULL,
    -- 1 while the request needs work (not resolved, closed or cancelled): the queues.
    active BIGINT NOT NULL,
    priority TEXT NOT NULL,
    -- Urgent first: 0 urgent … 3 low.
    priority_rank BIGINT NOT NULL,
    channel TEXT NOT NULL,
    subject TEXT NOT NULL,
    description TEXT NOT NULL,
    tier TEXT NOT NULL,
    city TEXT,
    outlet_id BIGINT REFERENCES outlets (id),
    assignee_id BIGINT REFERENCES users (id),
    routed TEXT,
    sla_policy_id BIGINT REFERENCES sla_policies (id),
    response_due TEXT,
    responded_at TEXT,
    resolution_due TEXT,
    resolution_left BIGINT,
    warn_at TEXT,
    warn_seconds BIGINT NOT NULL DEFAULT 0,
    warned BIGINT NOT NULL DEFAULT 0,
    response_breached BIGINT NOT NULL DEFAULT 0,
    resolution_breached BIGINT NOT NULL DEFAULT 0,
    -- The next instant the SLA sweep must look at this request; NULL when nothing pends.
    sla_next TEXT,
    escalated BIGINT NOT NULL DEFAULT 0,
    charge TEXT,
    charge_reason TEXT,
    parts_cost BIGINT NOT NULL DEFAULT 0,
    labour_cost BIGINT NOT NULL DEFAULT 0,
    root_cause TEXT,
    remedy TEXT,
    rating BIGINT,
    rating_comment TEXT,
    rated_at TEXT,
    resolved_at TEXT,
    closed_at TEXT,
    created_by BIGINT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    version BIGINT NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX requests_number ON requests (number);
CREATE INDEX requests_customer ON requests (customer_id, created_at);
CREATE INDEX requests_asset ON requests (asset_id);
-- Queues: mine, unassigned, per outlet, breaching soon; each ordered by urgency then age.
CREATE INDEX requests_assignee_queue ON requests (assignee_id, active, priority_rank, created_at, id);
CREATE INDEX requests_outlet_queue ON requests (outlet_id, active, priority_rank, created_at, id);
CREATE INDEX requests_active_queue ON requests (active, priority_rank, created_at, id);
CREATE INDEX requests_sla_next ON requests (sla_next);
CREATE INDEX requests_due ON requests (active, resolution_due);
CREATE INDEX requests_created ON requests (created_at, id);

CREATE TABLE request_messages (
    id {pk},
    request_id BIGINT NOT NULL REFERENCES requests (id),
    -- reply (public, from staff), note (internal), customer (from the customer), system.
    kind TEXT NOT NULL,
    author_id BIGINT REFERENCES users (id),
    author_label TEXT NOT NULL,
    body TEXT NOT NULL,
    channel TEXT NOT NULL,
    message_id TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX request_messages_request ON request_messages (request_id, id);
CREATE INDEX request_messages_mid ON request_messages (message_id);

CREATE TABLE attachments (
    id {pk},
    request_id BIGINT NOT NULL REFERENCES requests (id),
    message_id BIGINT REFERENCES request_messages (id),
    filename TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    content {blob} NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX attachments_request ON attachments (request_id);

CREATE TABLE request_history (
    id {pk},
    request_id BIGINT NOT NULL REFERENCES requests (id),
    at TEXT NOT NULL,
    kind TEXT NOT NULL,
    from_value TEXT,
    to_value TEXT,
    actor_label TEXT NOT NULL
);
CREATE INDEX request_history_request ON request_history (request_id, id);

CREATE TABLE visits (
    id {pk},
    request_id BIGINT NOT NULL REFERENCES requests (id),
    technician_id BIGINT NOT NULL REFERENCES users (id),
    starts_at TEXT NOT NULL,
    ends_at TEXT NOT NULL,
    -- booked, done, cancelled
    status TEXT NOT NULL,
    address TEXT,
    work_done TEXT,
    parts TEXT,
    minutes_spent BIGINT,
    confirmed_by TEXT,
    reported_at TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX visits_technician ON visits (technician_id, starts_at);
CREATE INDEX visits_request ON visits (request_id);

CREATE TABLE rmas (
    id {pk},
    request_id BIGINT NOT NULL REFERENCES requests (id),
    asset_id BIGINT NOT NULL REFERENCES assets (id),
    -- return, exchange, refund
    kind TEXT NOT NULL,
    -- requested, approved, rejected, received, completed
    status TEXT NOT NULL,
    reason TEXT NOT NULL,
    decided_by BIGINT REFERENCES users (id),
    decision_note TEXT,
    received_on TEXT,
    replacement_asset_id BIGINT REFERENCES assets (id),
    refund_amount BIGINT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX rmas_request ON rmas (request_id);
CREATE INDEX rmas_status ON rmas (status, id);

CREATE TABLE portal_accounts (
    id {pk},
    customer_id BIGINT NOT NULL REFERENCES customers (id),
    email {text_c} NOT NULL,
    password_hash TEXT NOT NULL,
    lang TEXT,
    created_at TEXT NOT NULL
);
CREATE UNIQUE INDEX portal_accounts_email ON portal_accounts (email);

CREATE TABLE portal_sessions (
    token_hash TEXT PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES portal_accounts (id),
    csrf TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);

-- Manuals, FAQs and articles, in three languages, for the portal's self-service.
CREATE TABLE articles (
    id {pk},
    kind TEXT NOT NULL,
    product_id BIGINT REFERENCES products (id),
    title_zh_hans TEXT NOT NULL,
    title_zh_hant TEXT NOT NULL,
    title_en TEXT NOT NULL,
    body_zh_hans TEXT NOT NULL,
    body_zh_hant TEXT NOT NULL,
    body_en TEXT NOT NULL,
    published BIGINT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

-- Mail to send, written in the transaction of what caused it; a worker delivers it.
CREATE TABLE outbox (
    id {pk},
    recipient TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    request_id BIGINT,
    status TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    last_error TEXT,
    next_attempt_at TEXT NOT NULL,
    created_at TEXT NOT NULL,
    sent_at TEXT
);
CREATE INDEX outbox_pending ON outbox (status, next_attempt_at);

-- Staff notifications (SLA warnings, breaches, escalations, assignments).
CREATE TABLE notifications (
    id {pk},
    user_id BIGINT NOT NULL REFERENCES users (id),
    request_id BIGINT REFERENCES requests (id),
    kind TEXT NOT NULL,
    detail TEXT,
    created_at TEXT NOT NULL,
    read_at TEXT
);
CREATE INDEX notifications_user ON notifications (user_id, id);

-- A starting configuration, to be adapted: office hours in Shanghai (holidays and make-up
-- days are added per year by an administrator), and four policies.
INSERT INTO calendars (name, spec) VALUES ('Office hours (Shanghai)',
    '{"time_zone":"Asia/Shanghai","week":[["09:00-12:00","13:30-18:00"],["09:00-12:00","13:30-18:00"],["09:00-12:00","13:30-18:00"],["09:00-12:00","13:30-18:00"],["09:00-12:00","13:30-18:00"],[],[]],"holidays":[],"makeup_workdays":[]}');
INSERT INTO sla_policies (name, tier, priority, service_type, calendar_id, first_response_minutes, resolution_minutes, warn_minutes, notify_manager, raise_priority, reassign)
    SELECT 'Standard', NULL, NULL, NULL, MIN(id), 240, 1350, 120, 0, 1, 0 FROM calendars;
INSERT INTO sla_policies (name, tier, priority, service_type, calendar_id, first_response_minutes, resolution_minutes, warn_minutes, notify_manager, raise_priority, reassign)
    SELECT 'High-value customers', 'high', NULL, NULL, MIN(id), 60, 450, 60, 1, 1, 1 FROM calendars;
INSERT INTO sla_policies (name, tier, priority, service_type, calendar_id, first_response_minutes, resolution_minutes, warn_minutes, notify_manager, raise_priority, reassign)
    SELECT 'Urgent', NULL, 'urgent', NULL, MIN(id), 30, 240, 60, 1, 0, 1 FROM calendars;
INSERT INTO sla_policies (name, tier, priority, service_type, calendar_id, first_response_minutes, resolution_minutes, warn_minutes, notify_manager, raise_priority, reassign)
    SELECT 'Complaints', NULL, NULL, 'complaint', MIN(id), 120, 900, 120, 1, 1, 0 FROM calendars;
