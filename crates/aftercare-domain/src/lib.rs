//! Aftercare's vocabulary and rules. Pure: no I/O, no clock, no async.
//!
//! Values that reach the domain are parsed once at the edge (`PhoneNumber::parse`,
//! `Email::parse`, …); everything past that point can trust them.

pub mod account;
pub mod calendar;
pub mod campaign;
pub mod care;
pub mod catalog;
pub mod claims;
pub mod contact;
pub mod customer;
pub mod error;
pub mod feedback;
pub mod ids;
pub mod lang;
pub mod message;
pub mod money;
pub mod offer;
pub mod order;
pub mod promise;
pub mod public_days;
pub mod referral;
pub mod request;
pub mod rma;
pub mod routing;
pub mod scorecard;
pub mod sla;
pub mod standards;
pub mod value;
pub mod warranty;

pub use error::{FieldError, Invalid};
pub use ids::*;
pub use money::Money;

/// A calendar day, the unit of purchase, delivery and warranty dates.
pub type Date = jiff::civil::Date;
