-- Two corrections of data written before they were fixed (issue 13):
-- 1. A request opened without an item or order got phase pre_sale whatever its type. A
--    repair, maintenance, complaint… is after a sale; a delivery, installation,
--    commissioning or training within one.
UPDATE requests SET phase = 'after_sale'
WHERE phase = 'pre_sale' AND service_type IN
    ('repair', 'exchange', 'return', 'technical_support', 'upgrade', 'maintenance', 'complaint');
UPDATE requests SET phase = 'in_sale'
WHERE phase = 'pre_sale' AND service_type IN ('delivery', 'installation', 'commissioning', 'training');
-- 2. An item exchanged or returned kept its guarantees (and could be exchanged again):
--    its archive now says it left, on the day the exchange or return was completed.
INSERT INTO asset_events (asset_id, day, kind, note, created_by, created_at)
SELECT r.asset_id, COALESCE(r.received_on, SUBSTR(r.updated_at, 1, 10)),
       CASE r.kind WHEN 'exchange' THEN 'exchanged_out' ELSE 'returned' END,
       q.number, r.decided_by, r.updated_at
FROM rmas r JOIN requests q ON q.id = r.request_id
WHERE r.status = 'completed' AND r.kind IN ('exchange', 'return')
  AND NOT EXISTS (SELECT 1 FROM asset_events e WHERE e.asset_id = r.asset_id
                  AND e.kind IN ('exchanged_out', 'returned'));
