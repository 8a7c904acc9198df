-- Feedback the analyser was unsure about (a label below the confidence threshold): shown
-- as "待确认" and listed for staff to label, until someone corrects it. Items taken in
-- before this migration are not flagged.
ALTER TABLE feedback_items ADD COLUMN uncertain BIGINT NOT NULL DEFAULT 0;
