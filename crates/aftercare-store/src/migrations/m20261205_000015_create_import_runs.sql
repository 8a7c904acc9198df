-- Large imports on SQLite are written in steps, so other writers get in between them.
-- An import's plan (every validated row) is kept here first, with its progress; a step
-- writes its rows and moves `done` in one transaction, so after a crash the import
-- carries on from where it stopped rather than leaving part of a file. The unique keys
-- the plan will write are claimed, so nobody takes one between two steps.
CREATE TABLE import_runs (
    id {pk},
    kind TEXT NOT NULL,
    actor_id BIGINT,
    actor_label TEXT NOT NULL,
    total BIGINT NOT NULL,
    done BIGINT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

-- The plan apart from the progress: a step moves `done`, and SQLite rewrites a whole row
-- (a plan of 100,000 rows is megabytes) on every update.
CREATE TABLE import_plans (
    run_id BIGINT PRIMARY KEY,
    plan TEXT NOT NULL
);

CREATE TABLE import_claims (
    kind TEXT NOT NULL,
    key {text_c} NOT NULL,
    run_id BIGINT NOT NULL,
    PRIMARY KEY (kind, key)
);
CREATE INDEX import_claims_run ON import_claims (run_id);

-- sqlite:begin
CREATE TRIGGER customers_ref_claimed BEFORE INSERT ON customers
WHEN NEW.external_ref IS NOT NULL
    AND EXISTS (SELECT 1 FROM import_claims WHERE kind = 'customer_ref' AND key = NEW.external_ref)
BEGIN SELECT RAISE(ABORT, 'customer_ref claimed by a running import'); END;
CREATE TRIGGER orders_ref_claimed BEFORE INSERT ON orders
WHEN NEW.external_ref IS NOT NULL
    AND EXISTS (SELECT 1 FROM import_claims WHERE kind = 'order_ref' AND key = NEW.external_ref)
BEGIN SELECT RAISE(ABORT, 'order_ref claimed by a running import'); END;
CREATE TRIGGER assets_serial_claimed BEFORE INSERT ON assets
WHEN EXISTS (SELECT 1 FROM import_claims WHERE kind = 'serial' AND key = NEW.serial)
BEGIN SELECT RAISE(ABORT, 'serial claimed by a running import'); END;
-- sqlite:end
