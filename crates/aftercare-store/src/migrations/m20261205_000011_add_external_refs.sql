-- The numbers a migrating company's old system gave its customers and orders, kept so an
-- import of orders can name the customer by them, and so the same old order is not
-- imported twice. Optional, unique when present.
ALTER TABLE customers ADD COLUMN external_ref TEXT;
CREATE UNIQUE INDEX customers_external_ref ON customers (external_ref) WHERE external_ref IS NOT NULL;
ALTER TABLE orders ADD COLUMN external_ref TEXT;
CREATE UNIQUE INDEX orders_external_ref ON orders (external_ref) WHERE external_ref IS NOT NULL;
