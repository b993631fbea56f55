//! The routing classifier: trained from labelled examples, it picks a route for a text
//! with a calibrated confidence and says when the text is out of scope.
//!
//! Hashed word and character n-grams feed a multinomial logistic regression and a set of
//! class centroids; cross-fitted held-out scores (see `folds`) set its temperature, a
//! correctness model and an out-of-scope detector (see `confidence`), so that a confidence of 0.9 is right about nine times in ten and an
//! input unlike the training data goes to review whatever its top score. [`eval`] measures
//! all of it on a test set the way `tandem model eval` reports it.

mod artifact;
mod confidence;
pub mod eval;
mod explain;
pub(crate) mod features;
mod folds;
pub mod inputs;
mod io;
mod linear;
mod model;
mod rng;
pub mod svg;
mod train;
mod wordvec;

pub use artifact::LoadError;
pub use explain::Contribution;
pub use inputs::{FeatureKind, InputFeature};
pub use io::{Example, ExampleFormat, ParseError, parse_examples};
pub use model::{Prediction, TextClassifier, TrainSummary};
pub use train::{TrainError, TrainOptions};
