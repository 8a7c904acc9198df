-- What a creation under an Idempotency-Key made, written in the creation's own
-- transaction: the key and its effect commit together or not at all. A second effect for
-- one key is refused by the primary key, so a key can never make two records.
CREATE TABLE idempotent_effects (
    user_id BIGINT NOT NULL,
    key TEXT NOT NULL,
    entity TEXT NOT NULL,
    entity_id BIGINT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (user_id, key)
);
