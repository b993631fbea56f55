//! The Tandem engine: everything that turns an item's text into field values, a route and
//! honest confidences. Pure and deterministic: no I/O, no clock, no randomness without a
//! seed, so that the same model on the same input gives the same answer in a test, in a
//! benchmark and in production.

pub mod calibration;
pub mod classifier;
pub mod evidence;
pub mod extractor;
pub mod field;
pub mod layout;
pub mod metrics;
pub mod patterns;
pub mod pipeline;
pub mod range;
pub mod similarity;
pub mod span;

pub use field::FieldKind;
pub use span::Span;
