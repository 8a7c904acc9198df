-- Pairs of customers sharing a phone or an email, kept as customers are written, so the
-- duplicates page reads a short table instead of joining every phone with every phone.
CREATE TABLE duplicate_candidates (
    a BIGINT NOT NULL,
    b BIGINT NOT NULL,
    reason TEXT NOT NULL,
    value {text_c} NOT NULL,
    found_at TEXT NOT NULL,
    PRIMARY KEY (a, b, reason, value)
);
CREATE INDEX duplicate_candidates_b ON duplicate_candidates (b, a);

INSERT INTO duplicate_candidates (a, b, reason, value, found_at)
SELECT DISTINCT p1.customer_id, p2.customer_id, 'phone', p1.number, '1970-01-01T00:00:00.000000Z'
FROM customer_phones p1 JOIN customer_phones p2 ON p1.number = p2.number AND p1.customer_id < p2.customer_id;

INSERT INTO duplicate_candidates (a, b, reason, value, found_at)
SELECT DISTINCT e1.customer_id, e2.customer_id, 'email', e1.match_key, '1970-01-01T00:00:00.000000Z'
FROM customer_emails e1 JOIN customer_emails e2 ON e1.match_key = e2.match_key AND e1.customer_id < e2.customer_id;
