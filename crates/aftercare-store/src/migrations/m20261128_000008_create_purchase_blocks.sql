-- Purchase summaries, read by scoring instead of every order (decision 0010): one row
-- per block of 32 customers with each one's days with a purchase, rewritten from the
-- orders in the transaction of every write that changes them. Filled from the orders
-- when this migration runs (crate::purchases::rebuild, in the same transaction).
CREATE TABLE purchase_blocks (
    block {int_key},
    data {blob} NOT NULL
);
