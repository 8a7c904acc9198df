-- Offers at the desk (issue 16): what the agent may offer a customer for an item they
-- own, and when it applies (before the warranty ends, after repeated repairs or with age,
-- for owners of a category, when service is due), each with a text of the message library
-- and, when it sells one, the product.
CREATE TABLE offers (
    id {pk},
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    category_id BIGINT REFERENCES product_categories (id),
    within_days BIGINT NOT NULL,
    min_repairs BIGINT NOT NULL,
    months BIGINT NOT NULL,
    text_id BIGINT NOT NULL REFERENCES message_texts (id),
    product_id BIGINT REFERENCES products (id),
    window_days BIGINT NOT NULL,
    active BIGINT NOT NULL,
    owner_name TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    version BIGINT NOT NULL
);

-- What the customer said each time an offer was made: offered (no answer yet), accepted,
-- declined; by whom, beside which request and item.
CREATE TABLE offer_responses (
    id {pk},
    offer_id BIGINT NOT NULL REFERENCES offers (id),
    customer_id BIGINT NOT NULL REFERENCES customers (id),
    asset_id BIGINT REFERENCES assets (id),
    request_id BIGINT REFERENCES requests (id),
    response TEXT NOT NULL,
    user_id BIGINT REFERENCES users (id),
    user_name TEXT NOT NULL,
    outlet_id BIGINT REFERENCES outlets (id),
    at TEXT NOT NULL
);
CREATE INDEX offer_responses_customer ON offer_responses (customer_id, at);
CREATE INDEX offer_responses_offer ON offer_responses (offer_id, at);
