-- A timeline entry's parameters (issue 13): the desk's entries are stored as a kind plus
-- their parameters (JSON), which pages say in the reader's language. The Rust step fills
-- them in for the entries written before, from their summaries
-- (aftercare_app::timeline_model::params_of).
ALTER TABLE timeline ADD COLUMN params TEXT;
