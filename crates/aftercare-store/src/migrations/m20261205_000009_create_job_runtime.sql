-- One cursor per change-log consumer, instead of a one-row table each.
CREATE TABLE consumer_cursors (
    consumer TEXT PRIMARY KEY,
    event_id BIGINT NOT NULL
);
INSERT INTO consumer_cursors (consumer, event_id) SELECT 'value', event_id FROM value_cursor WHERE id = 1;
INSERT INTO consumer_cursors (consumer, event_id) SELECT 'feedback', event_id FROM feedback_cursor WHERE id = 1;
INSERT INTO consumer_cursors (consumer, event_id) SELECT 'survey', event_id FROM survey_cursor WHERE id = 1;
DROP TABLE value_cursor;
DROP TABLE feedback_cursor;
DROP TABLE survey_cursor;

-- Shared background jobs run on one server at a time: the holder of the job's lease.
CREATE TABLE job_leases (
    job TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    until TEXT NOT NULL
);
