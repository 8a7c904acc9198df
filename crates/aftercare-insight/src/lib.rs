//! Aftercare's analytics. Pure computation over data handed in by the use cases; no I/O.

pub mod clv;
pub mod holdout;
mod keywords;
pub mod rfm;
pub mod text;
pub mod uplift;
pub mod value;
