-- Inbound mail already taken in, by Message-ID: a mail delivered twice (an IMAP
-- mailbox polled again after a crash, a mail server retrying mail-in) is taken in
-- once. Written in the same transaction as the request or reply it became.
CREATE TABLE mail_received (
    message_id TEXT PRIMARY KEY,
    request_id BIGINT NOT NULL REFERENCES requests(id),
    received_at TEXT NOT NULL
);
