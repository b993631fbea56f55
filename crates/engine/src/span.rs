//! Evidence: where in the input a value came from.

use serde::{Deserialize, Serialize};

/// A half-open byte range `[start, end)` into an input text. Both ends always fall on
/// UTF-8 character boundaries, so `&text[span.start..span.end]` never panics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Self {
        debug_assert!(start <= end, "span start {start} after end {end}");
        Self { start, end }
    }

    pub fn len(&self) -> usize {
        self.end - self.start
    }

    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }

    /// The text this span covers, or `None` when it does not fit `text`.
    pub fn slice<'a>(&self, text: &'a str) -> Option<&'a str> {
        text.get(self.start..self.end)
    }

    /// Shift a span found in a substring starting at `offset` back into the whole text.
    pub fn offset(self, offset: usize) -> Self {
        Self::new(self.start + offset, self.end + offset)
    }
}
