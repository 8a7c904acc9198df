//! Aftercare's storage: one code path over SQLite and PostgreSQL through sqlx's `Any`
//! driver. SQL is written once, in the subset both understand, with `$N` parameters.

mod customers;
mod db;
mod migrate;
mod orders;
mod store;

pub use db::{connect, Backend, Db};
pub use migrate::{migrate, MIGRATIONS};
pub use store::SqlStore;
