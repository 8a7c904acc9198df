-- Idempotency keys are kept for a day; this index makes pruning the old ones cheap.
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
