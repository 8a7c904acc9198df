-- The message library (issue 13, and issue 16's one voice): approved texts in three
-- languages with fields ({customer_name}, {request_number}, {visit_time}, {agent_name}),
-- used as agents' canned replies now and by campaigns later. Each has an owner and a
-- status: draft, approved (offered to agents) or retired.
CREATE TABLE message_texts (
    id {pk},
    name TEXT NOT NULL,
    body_zh_hans TEXT NOT NULL,
    body_zh_hant TEXT NOT NULL,
    body_en TEXT NOT NULL,
    status TEXT NOT NULL,
    owner_id BIGINT REFERENCES users (id),
    owner_name TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    version BIGINT NOT NULL
);
CREATE INDEX message_texts_status ON message_texts (status, name);
