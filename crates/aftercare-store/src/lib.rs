//! Aftercare's storage: one code path over SQLite and PostgreSQL through sqlx's `Any`
//! driver. SQL is written once, in the subset both understand, with `$N` parameters.

mod accounts;
mod audit;
pub mod backup;
mod campaigns;
mod care;
mod catalogue;
mod change_log;
mod claims;
mod customer_rows;
mod customers;
mod db;
mod desk_setup;
mod feedback;
mod imports;
mod job_leases;
mod migrate;
mod network;
mod notifications;
mod offers;
mod order_rows;
mod orders;
mod outbox;
pub mod pool;
mod portal;
mod privacy;
pub mod purchases;
mod quality;
mod request_rows;
mod requests;
mod returns;
mod search;
mod store;
mod survey;
mod value;
mod visits;
mod voc;

pub use db::{Backend, Db, SQLITE_PRAGMAS, SQLITE_READER_CACHE, connect};
pub use migrate::{MIGRATIONS, migrate};
pub use store::SqlStore;
