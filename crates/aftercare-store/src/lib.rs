//! Aftercare's storage: one code path over SQLite and PostgreSQL through sqlx's `Any`
//! driver. SQL is written once, in the subset both understand, with `$N` parameters.

mod change_log;
mod customers;
mod db;
mod desk;
mod feedback;
mod job_leases;
mod migrate;
mod orders;
mod portal;
pub mod purchases;
mod search;
mod store;
mod survey;
mod value;
mod voc;

pub use db::{Backend, Db, connect};
pub use migrate::{MIGRATIONS, migrate};
pub use store::SqlStore;
