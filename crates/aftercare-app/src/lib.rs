//! Aftercare's use cases. They check permissions, turn input into domain values and call
//! the storage port; they know nothing of HTTP or SQL.

pub mod auth;
pub mod campaign;
pub mod campaign_model;
pub mod care;
pub mod care_model;
pub mod claims;
pub mod claims_model;
pub mod customer_mail;
pub mod dashboard;
pub mod desk;
pub mod desk_model;
pub mod error;
pub mod feedback;
pub mod feedback_model;
pub mod ics;
pub mod imports;
pub mod input;
pub mod jobs;
pub mod library;
pub mod mail;
pub mod model;
pub mod network;
pub mod network_model;
pub mod offer;
pub mod portal;
pub mod ports;
pub mod privacy;
pub mod quality;
pub mod quality_model;
pub mod rma;
pub mod search;
pub mod search_model;
pub mod service;
pub mod sign_in;
pub mod survey;
pub mod survey_model;
pub mod timeline_model;
pub mod transfer;
pub mod value;
pub mod value_model;
pub mod voc;
pub mod voc_model;

pub use error::{AppError, StoreError};
pub use ports::{Clock, Store, SystemClock};
pub use service::{Actor, App};
