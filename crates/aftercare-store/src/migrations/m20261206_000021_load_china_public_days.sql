-- Calendars in China without public days get mainland China's holidays and make-up
-- working days (调休) of the years this release carries: the step is in Rust
-- (desk_setup::load_china_public_days), as the calendar is stored as JSON.
SELECT 1;
