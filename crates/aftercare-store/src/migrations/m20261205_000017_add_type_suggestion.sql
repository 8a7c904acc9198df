-- The service type the text of a mail or portal request reads as (issue 14), suggested
-- when the request arrived, with the model's confidence in percent; and whether an agent
-- has confirmed or changed the type since. Requests from before have no suggestion.
ALTER TABLE requests ADD COLUMN suggested_type TEXT;
ALTER TABLE requests ADD COLUMN suggested_confidence BIGINT;
ALTER TABLE requests ADD COLUMN type_confirmed BIGINT NOT NULL DEFAULT 0;
