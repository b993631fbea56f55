//! Saving and loading a trained [`TextClassifier`]: a magic tag, a format version, then
//! the model in postcard (a compact serde format: varints, no field names). Version 2
//! appends the optional word-vector block after the version 1 body, so routers saved
//! before it existed still load (as n-gram-only routers, which is what they are).
//! Version 3 appends the structured inputs the router reads (empty for text-only ones).
//!
//! Loading never retrains: the vocabulary's lookup table is the only derived state, and it
//! is rebuilt from the stored hashes. Floats are stored bit for bit, so a reloaded model
//! gives exactly the predictions it gave before saving.

use super::model::TextClassifier;
use thiserror::Error;

/// Identifies a Tandem classifier artifact.
const MAGIC: &[u8; 8] = b"TNDMCLF\0";
/// Bump on any change to the stored structures; old artifacts are then rejected with a
/// clear error (retrain) instead of being misread.
const FORMAT_VERSION: u16 = 3;
/// The oldest version this build still reads.
const OLDEST_VERSION: u16 = 1;

/// Why bytes could not be loaded as a classifier.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LoadError {
    #[error("not a Tandem classifier artifact")]
    NotAnArtifact,
    #[error(
        "classifier format version {found} is not supported (this build reads {supported}); retrain the model"
    )]
    Version { found: u16, supported: u16 },
    #[error("corrupt classifier artifact: {0}")]
    Corrupt(String),
}

impl TextClassifier {
    /// The versioned, compact byte form of this model.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(MAGIC.len() + 2);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        // Serialising plain structs of numbers and strings into a Vec cannot fail.
        let body = postcard::to_allocvec(self).unwrap_or_default();
        out.extend_from_slice(&body);
        let dense = postcard::to_allocvec(&self.dense).unwrap_or_default();
        out.extend_from_slice(&dense);
        let inputs = postcard::to_allocvec(&self.inputs).unwrap_or_default();
        out.extend_from_slice(&inputs);
        out
    }

    /// Load a model saved by [`TextClassifier::to_bytes`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, LoadError> {
        let rest = bytes
            .strip_prefix(MAGIC.as_slice())
            .ok_or(LoadError::NotAnArtifact)?;
        let (version, body) = rest.split_at_checked(2).ok_or(LoadError::NotAnArtifact)?;
        let found = u16::from_le_bytes([version[0], version[1]]);
        if !(OLDEST_VERSION..=FORMAT_VERSION).contains(&found) {
            return Err(LoadError::Version {
                found,
                supported: FORMAT_VERSION,
            });
        }
        let corrupt = |e: postcard::Error| LoadError::Corrupt(e.to_string());
        let (mut model, rest): (TextClassifier, &[u8]) = postcard::take_from_bytes(body).map_err(corrupt)?;
        if found == 2 {
            model.dense = postcard::from_bytes(rest).map_err(corrupt)?;
        } else if found >= 3 {
            let (dense, rest) = postcard::take_from_bytes(rest).map_err(corrupt)?;
            model.dense = dense;
            model.inputs = postcard::from_bytes(rest).map_err(corrupt)?;
        }
        model.validate().map_err(LoadError::Corrupt)?;
        model.vocab.rebuild_map();
        Ok(model)
    }
}
