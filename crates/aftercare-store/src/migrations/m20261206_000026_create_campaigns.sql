-- Campaigns (issue 16): a message from the library sent to a saved segment or on an event,
-- with a holdout group kept out to measure what the campaign changed.
--
-- `audience` is the segment's filter as JSON, copied when the campaign is made, so that a
-- later change to (or deletion of) the saved segment does not change a running campaign.
-- `seed` draws the holdout: a customer is held out when a hash of the seed and the
-- customer falls under the share, the same answer every time it is asked.
CREATE TABLE campaigns (
    id {pk},
    name TEXT NOT NULL,
    trigger_kind TEXT NOT NULL,
    segment_name TEXT,
    audience TEXT,
    lead_days BIGINT NOT NULL,
    text_id BIGINT NOT NULL REFERENCES message_texts (id),
    subject_zh_hans TEXT NOT NULL,
    subject_zh_hant TEXT NOT NULL,
    subject_en TEXT NOT NULL,
    holdout_percent BIGINT NOT NULL,
    seed BIGINT NOT NULL,
    window_days BIGINT NOT NULL,
    status TEXT NOT NULL,
    started_at TEXT,
    stopped_at TEXT,
    -- When the segment or the items were last looked through (events are read as they come),
    -- and, while a segment's sweep is under way, the last customer it reached.
    swept_at TEXT,
    sweep_after BIGINT NOT NULL DEFAULT 0,
    owner_id BIGINT REFERENCES users (id),
    owner_name TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    version BIGINT NOT NULL
);
CREATE INDEX campaigns_status ON campaigns (status, id);

-- One row per occurrence per customer: what became of it (sent, held out, no consent, no
-- address, held back by the contact budget). The unique key is what makes every
-- occurrence reach a customer once, however many servers run the campaign round.
CREATE TABLE campaign_members (
    id {pk},
    campaign_id BIGINT NOT NULL REFERENCES campaigns (id),
    customer_id BIGINT NOT NULL REFERENCES customers (id),
    occurrence TEXT NOT NULL,
    outcome TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE UNIQUE INDEX campaign_members_once ON campaign_members (campaign_id, customer_id, occurrence);
CREATE INDEX campaign_members_customer ON campaign_members (customer_id, at);

-- One budget of messages per customer, across campaigns and surveys.
CREATE TABLE contact_budget (
    id BIGINT PRIMARY KEY,
    settings TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    updated_by TEXT NOT NULL
);
