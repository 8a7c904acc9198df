-- Campaign steps after the first message, their channels and what customers did (issue 16).
--
-- A campaign keeps its steps (wait, send, branch, stop) as JSON. Every customer a campaign
-- reaches follows them on a journey: the step to take next, when, and what the customer
-- did since (followed the link, read the portal message, was reached by a call-back).
ALTER TABLE campaigns ADD COLUMN steps TEXT NOT NULL DEFAULT '[]';

CREATE TABLE campaign_journeys (
    id {pk},
    campaign_id BIGINT NOT NULL REFERENCES campaigns (id),
    customer_id BIGINT NOT NULL REFERENCES customers (id),
    occurrence TEXT NOT NULL,
    -- What the occurrence was about, for the fields of later messages (JSON: the item,
    -- the day its guarantee ends or maintenance is due, the request's number).
    fields TEXT NOT NULL,
    -- Unguessable: the link in the journey's messages carries it.
    token TEXT NOT NULL,
    -- The next step to take (0-based), and when.
    step BIGINT NOT NULL,
    due_at TEXT NOT NULL,
    -- active, done (its steps ran out), stopped (a stop step, or the campaign stopped).
    state TEXT NOT NULL,
    started_at TEXT NOT NULL,
    ended_at TEXT,
    opened_at TEXT,
    clicked_at TEXT,
    answered_at TEXT
);
CREATE UNIQUE INDEX campaign_journeys_once ON campaign_journeys (campaign_id, customer_id, occurrence);
CREATE UNIQUE INDEX campaign_journeys_token ON campaign_journeys (token);
CREATE INDEX campaign_journeys_due ON campaign_journeys (campaign_id, state, due_at);

-- Each step that sent something, or would have: sent, no_consent, no_address, pressure.
-- What was sent counts against the customer's contact budget.
CREATE TABLE campaign_sends (
    id {pk},
    journey_id BIGINT NOT NULL REFERENCES campaign_journeys (id),
    campaign_id BIGINT NOT NULL REFERENCES campaigns (id),
    customer_id BIGINT NOT NULL REFERENCES customers (id),
    step BIGINT NOT NULL,
    channel TEXT NOT NULL,
    outcome TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX campaign_sends_customer ON campaign_sends (customer_id, at);
CREATE INDEX campaign_sends_campaign ON campaign_sends (campaign_id, step);

-- Messages in a customer's portal account.
CREATE TABLE portal_messages (
    id {pk},
    customer_id BIGINT NOT NULL REFERENCES customers (id),
    campaign_id BIGINT REFERENCES campaigns (id),
    journey_id BIGINT REFERENCES campaign_journeys (id),
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at TEXT NOT NULL,
    read_at TEXT
);
CREATE INDEX portal_messages_customer ON portal_messages (customer_id, id);

-- Call-back tasks: an agent calls the customer with a script and records what came of it
-- (reached, no_answer, declined, wrong_number; cancelled when the campaign stopped).
CREATE TABLE callback_tasks (
    id {pk},
    customer_id BIGINT NOT NULL REFERENCES customers (id),
    campaign_id BIGINT REFERENCES campaigns (id),
    journey_id BIGINT REFERENCES campaign_journeys (id),
    phone TEXT NOT NULL,
    script TEXT NOT NULL,
    created_at TEXT NOT NULL,
    result TEXT,
    note TEXT,
    done_by_id BIGINT REFERENCES users (id),
    done_by TEXT,
    done_at TEXT,
    version BIGINT NOT NULL
);
CREATE INDEX callback_tasks_open ON callback_tasks (result, id);
CREATE INDEX callback_tasks_customer ON callback_tasks (customer_id, id);
