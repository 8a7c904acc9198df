-- Care plans, service contracts, maintenance schedules and vouchers (issue 16).
--
-- A care plan is a product sold as a service contract: selling it on an order covers
-- one of the customer's items for the plan's months, making the services it lists free
-- (an extended warranty starts when the item's repair guarantee ends).
CREATE TABLE care_plans (
    id {pk},
    product_id BIGINT NOT NULL REFERENCES products (id),
    category_id BIGINT REFERENCES product_categories (id),
    months BIGINT NOT NULL,
    extends_warranty BIGINT NOT NULL,
    covers TEXT NOT NULL,
    active BIGINT NOT NULL,
    owner_name TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    version BIGINT NOT NULL
);
CREATE UNIQUE INDEX care_plans_product ON care_plans (product_id);

-- One item covered by one plan from one day to another, sold on an order. What it
-- covers is copied from the plan when sold: a plan changed later does not change the
-- contracts already sold. Cancelled contracts stay, with the moment they were cancelled.
CREATE TABLE service_contracts (
    id {pk},
    plan_id BIGINT NOT NULL REFERENCES care_plans (id),
    customer_id BIGINT NOT NULL REFERENCES customers (id),
    asset_id BIGINT NOT NULL REFERENCES assets (id),
    order_id BIGINT REFERENCES orders (id),
    starts_on TEXT NOT NULL,
    ends_on TEXT NOT NULL,
    covers TEXT NOT NULL,
    cancelled_at TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX service_contracts_asset ON service_contracts (asset_id);
CREATE INDEX service_contracts_customer ON service_contracts (customer_id);

-- How often a product is due for maintenance, counted from its last service or
-- installation (else its delivery).
CREATE TABLE maintenance_schedules (
    product_id BIGINT PRIMARY KEY REFERENCES products (id),
    every_months BIGINT NOT NULL,
    updated_at TEXT NOT NULL
);

-- A voucher: a sum or a share off one order of one customer, valid between two days,
-- given to make up for a service failure (from a request) or by a campaign. Used once:
-- `order_id` is set by the order that redeems it, in that order's transaction, and is
-- unique.
CREATE TABLE vouchers (
    id {pk},
    code TEXT NOT NULL,
    customer_id BIGINT NOT NULL REFERENCES customers (id),
    kind TEXT NOT NULL,
    value BIGINT NOT NULL,
    -- A share's ceiling in fen (given by staff with a limit), or none.
    max_discount BIGINT,
    valid_from TEXT NOT NULL,
    valid_until TEXT NOT NULL,
    source TEXT NOT NULL,
    request_id BIGINT REFERENCES requests (id),
    campaign_id BIGINT REFERENCES campaigns (id),
    reason TEXT NOT NULL,
    issued_by TEXT NOT NULL,
    issued_at TEXT NOT NULL,
    order_id BIGINT REFERENCES orders (id),
    discount BIGINT NOT NULL,
    redeemed_at TEXT,
    cancelled_at TEXT,
    version BIGINT NOT NULL
);
CREATE UNIQUE INDEX vouchers_code ON vouchers (customer_id, code);
CREATE UNIQUE INDEX vouchers_order ON vouchers (order_id);
CREATE INDEX vouchers_campaign ON vouchers (campaign_id);

-- A campaign may give each customer it mails a voucher.
ALTER TABLE campaigns ADD COLUMN voucher_kind TEXT;
ALTER TABLE campaigns ADD COLUMN voucher_value BIGINT NOT NULL DEFAULT 0;
ALTER TABLE campaigns ADD COLUMN voucher_days BIGINT NOT NULL DEFAULT 0;
ALTER TABLE campaigns ADD COLUMN voucher_max BIGINT;
