-- The value tier and loyalty stage entries of the timeline ("tier low → medium") get their
-- parameters, so that pages say them in the reader's language. The Rust step fills them in
-- for the entries written before (aftercare_app::timeline_model::params_of); this statement
-- only makes sure none is left half-filled.
UPDATE timeline SET params = NULL WHERE params = '' AND kind IN ('tier', 'stage');
