-- Accounts, sessions, tokens, the audit log and the change log.
-- `{pk}` becomes the backend's 64-bit auto-increment key and `{text_c}` text compared
-- byte-wise (so prefix ranges use the index on both); the rest is common SQL.
CREATE TABLE users (
    id {pk},
    email {text_c} NOT NULL,
    name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    lang TEXT,
    active BIGINT NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL
);
CREATE UNIQUE INDEX users_email ON users (email);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id),
    csrf TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE login_attempts (
    id {pk},
    email {text_c} NOT NULL,
    ip TEXT NOT NULL,
    at TEXT NOT NULL,
    succeeded BIGINT NOT NULL
);
CREATE INDEX login_attempts_email_at ON login_attempts (email, at);
CREATE INDEX login_attempts_ip_at ON login_attempts (ip, at);

CREATE TABLE api_tokens (
    id {pk},
    user_id BIGINT NOT NULL REFERENCES users (id),
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL,
    scopes TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked BIGINT NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX api_tokens_hash ON api_tokens (token_hash);

CREATE TABLE idempotency_keys (
    user_id BIGINT NOT NULL,
    key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status BIGINT NOT NULL,
    body TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (user_id, key)
);

CREATE TABLE audit_log (
    id {pk},
    at TEXT NOT NULL,
    actor_id BIGINT,
    actor_label TEXT NOT NULL,
    action TEXT NOT NULL,
    entity TEXT NOT NULL,
    entity_id BIGINT NOT NULL,
    before_json TEXT,
    after_json TEXT
);
CREATE INDEX audit_log_entity ON audit_log (entity, entity_id, id);

-- The change log: one row per write, in the writing transaction; read by cursor (id).
CREATE TABLE events (
    id {pk},
    at TEXT NOT NULL,
    kind TEXT NOT NULL,
    entity TEXT NOT NULL,
    entity_id BIGINT NOT NULL,
    payload TEXT NOT NULL
);

CREATE TABLE outlets (
    id {pk},
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    city TEXT
);

CREATE TABLE customers (
    id {pk},
    kind TEXT NOT NULL,
    name {text_c} NOT NULL,
    name_sort {text_c} NOT NULL,
    company TEXT,
    title TEXT,
    birthday TEXT,
    account_manager_id BIGINT REFERENCES users (id),
    habits TEXT,
    preferences TEXT,
    notes TEXT,
    source TEXT,
    consent TEXT NOT NULL DEFAULT '',
    tags TEXT NOT NULL DEFAULT '',
    primary_phone TEXT,
    primary_email TEXT,
    city TEXT,
    merged_into BIGINT REFERENCES customers (id),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    version BIGINT NOT NULL DEFAULT 1
);
CREATE INDEX customers_name ON customers (name, id);
CREATE INDEX customers_name_sort ON customers (name_sort, id);
CREATE INDEX customers_created ON customers (created_at, id);
CREATE INDEX customers_city ON customers (city, id);

CREATE TABLE customer_phones (
    id {pk},
    customer_id BIGINT NOT NULL REFERENCES customers (id),
    number {text_c} NOT NULL,
    label TEXT,
    is_primary BIGINT NOT NULL
);
CREATE INDEX customer_phones_number ON customer_phones (number);
CREATE INDEX customer_phones_customer ON customer_phones (customer_id);

CREATE TABLE customer_emails (
    id {pk},
    customer_id BIGINT NOT NULL REFERENCES customers (id),
    address TEXT NOT NULL,
    match_key {text_c} NOT NULL,
    is_primary BIGINT NOT NULL
);
CREATE INDEX customer_emails_key ON customer_emails (match_key);
CREATE INDEX customer_emails_customer ON customer_emails (customer_id);

CREATE TABLE customer_addresses (
    id {pk},
    customer_id BIGINT NOT NULL REFERENCES customers (id),
    label TEXT,
    province TEXT,
    city TEXT,
    district TEXT,
    street TEXT NOT NULL,
    postcode TEXT,
    is_primary BIGINT NOT NULL
);
CREATE INDEX customer_addresses_customer ON customer_addresses (customer_id);

CREATE TABLE customer_family (
    id {pk},
    customer_id BIGINT NOT NULL REFERENCES customers (id),
    name TEXT NOT NULL,
    relation TEXT NOT NULL,
    birthday TEXT
);
CREATE INDEX customer_family_customer ON customer_family (customer_id);

CREATE TABLE customer_dates (
    id {pk},
    customer_id BIGINT NOT NULL REFERENCES customers (id),
    label TEXT NOT NULL,
    day TEXT NOT NULL
);
CREATE INDEX customer_dates_customer ON customer_dates (customer_id);

CREATE TABLE customer_tags (
    customer_id BIGINT NOT NULL REFERENCES customers (id),
    tag TEXT NOT NULL,
    PRIMARY KEY (customer_id, tag)
);
CREATE INDEX customer_tags_tag ON customer_tags (tag, customer_id);

CREATE TABLE duplicate_dismissals (
    a BIGINT NOT NULL,
    b BIGINT NOT NULL,
    PRIMARY KEY (a, b)
);

CREATE TABLE warranty_policies (
    id {pk},
    name TEXT NOT NULL,
    return_days BIGINT NOT NULL,
    exchange_days BIGINT NOT NULL,
    repair_months BIGINT NOT NULL,
    repair_limit BIGINT NOT NULL,
    void_conditions TEXT NOT NULL
);

CREATE TABLE product_categories (
    id {pk},
    name TEXT NOT NULL,
    parent_id BIGINT REFERENCES product_categories (id),
    policy_id BIGINT REFERENCES warranty_policies (id)
);

CREATE TABLE products (
    id {pk},
    sku {text_c} NOT NULL,
    name {text_c} NOT NULL,
    name_sort {text_c} NOT NULL,
    category_id BIGINT NOT NULL REFERENCES product_categories (id),
    policy_id BIGINT REFERENCES warranty_policies (id),
    price BIGINT NOT NULL,
    currency TEXT NOT NULL,
    serialized BIGINT NOT NULL,
    strategy TEXT NOT NULL,
    active BIGINT NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL
);
CREATE UNIQUE INDEX products_sku ON products (sku);
CREATE INDEX products_name_sort ON products (name_sort, id);
CREATE INDEX products_category ON products (category_id, id);

CREATE TABLE orders (
    id {pk},
    number {text_c} NOT NULL,
    customer_id BIGINT NOT NULL REFERENCES customers (id),
    channel TEXT NOT NULL,
    outlet_id BIGINT REFERENCES outlets (id),
    ordered_on TEXT NOT NULL,
    status TEXT NOT NULL,
    currency TEXT NOT NULL,
    discount BIGINT NOT NULL,
    total BIGINT NOT NULL,
    payment_terms TEXT,
    special_needs TEXT,
    created_by BIGINT,
    created_at TEXT NOT NULL
);
CREATE UNIQUE INDEX orders_number ON orders (number);
CREATE INDEX orders_customer ON orders (customer_id, ordered_on);
CREATE INDEX orders_ordered ON orders (ordered_on, id);
CREATE INDEX orders_channel ON orders (channel, ordered_on, id);

CREATE TABLE order_items (
    id {pk},
    order_id BIGINT NOT NULL REFERENCES orders (id),
    product_id BIGINT NOT NULL REFERENCES products (id),
    quantity BIGINT NOT NULL,
    unit_price BIGINT NOT NULL,
    discount BIGINT NOT NULL,
    amount BIGINT NOT NULL
);
CREATE INDEX order_items_order ON order_items (order_id);

CREATE TABLE assets (
    id {pk},
    serial {text_c} NOT NULL,
    product_id BIGINT NOT NULL REFERENCES products (id),
    customer_id BIGINT NOT NULL REFERENCES customers (id),
    order_id BIGINT REFERENCES orders (id),
    order_item_id BIGINT REFERENCES order_items (id),
    purchased_on TEXT NOT NULL,
    delivered_on TEXT,
    installed_on TEXT,
    installed_by TEXT,
    location TEXT,
    created_at TEXT NOT NULL
);
CREATE UNIQUE INDEX assets_serial ON assets (serial);
CREATE INDEX assets_customer ON assets (customer_id);

-- The product-usage archive: installation, services, repairs, notes, voiding findings.
CREATE TABLE asset_events (
    id {pk},
    asset_id BIGINT NOT NULL REFERENCES assets (id),
    day TEXT NOT NULL,
    kind TEXT NOT NULL,
    void_condition TEXT,
    note TEXT,
    created_by BIGINT,
    created_at TEXT NOT NULL
);
CREATE INDEX asset_events_asset ON asset_events (asset_id, day);

CREATE TABLE interactions (
    id {pk},
    customer_id BIGINT NOT NULL REFERENCES customers (id),
    touchpoint TEXT NOT NULL,
    direction TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT,
    at TEXT NOT NULL,
    user_id BIGINT
);
CREATE INDEX interactions_customer ON interactions (customer_id, at);

-- The customer 360 timeline: every interaction, order and change, newest first.
CREATE TABLE timeline (
    id {pk},
    customer_id BIGINT NOT NULL REFERENCES customers (id),
    at TEXT NOT NULL,
    kind TEXT NOT NULL,
    touchpoint TEXT,
    ref_id BIGINT,
    summary TEXT NOT NULL,
    actor_id BIGINT
);
CREATE INDEX timeline_customer_at ON timeline (customer_id, at, id);
