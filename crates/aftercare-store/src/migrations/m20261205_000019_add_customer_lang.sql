-- The language a customer gets mail in (issue 13): zh-Hans, zh-Hant or en; none means
-- not known yet (mail then goes in simplified Chinese). Set by staff, by the customer in
-- the portal, or guessed from how they first wrote; a portal account's language is
-- taken over for customers who have one.
ALTER TABLE customers ADD COLUMN lang TEXT;
UPDATE customers SET lang = (
    SELECT MIN(p.lang) FROM portal_accounts p
    WHERE p.customer_id = customers.id AND p.lang IN ('zh-Hans', 'zh-Hant', 'en')
) WHERE lang IS NULL;
