-- When a customer's personal information was erased at their request (PIPL): the record
-- stays, without identity, so statistics keep counting it; nothing about it can change.
ALTER TABLE customers ADD COLUMN erased_at TEXT;
