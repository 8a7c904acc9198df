//! What every page and API route is built from: who is asking and in which language
//! (`auth`), one error shape mapped once (`error`), JSON bodies, queries and idempotent
//! creation (`json`), and the pages' chrome, rendering and forms (`page`).

pub mod auth;
pub mod chart;
pub mod error;
pub mod json;
pub mod page;
