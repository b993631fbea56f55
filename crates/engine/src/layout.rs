//! Text with positions: where each word of a document's text sits on its pages.
//!
//! The engine reads a document as plain text, exactly as it reads an e-mail, so every
//! extractor, model and evidence span works unchanged. Beside the text, a [`Layout`] keeps
//! each word's byte range in that text, its page, its box and (for words read by OCR) how
//! sure the reader was. Any span the engine returns maps back to boxes on the page through
//! [`Layout::boxes`], and to the reader's certainty through [`Layout::min_confidence`].
//!
//! Boxes are fractions of the page (0 to 1 from the top-left corner), so a page drawn at
//! any size places them without knowing the resolution it was read at.

use serde::{Deserialize, Serialize};

use crate::Span;

/// A rectangle on a page, in fractions of its width and height from the top-left corner.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BBox {
    pub x0: f32,
    pub y0: f32,
    pub x1: f32,
    pub y1: f32,
}

impl BBox {
    /// The box from pixel or point coordinates on a page `width` × `height`, clamped to it.
    pub fn on_page(x0: f64, y0: f64, x1: f64, y1: f64, width: f64, height: f64) -> BBox {
        let fx = |v: f64| (v / width.max(1e-9)).clamp(0.0, 1.0) as f32;
        let fy = |v: f64| (v / height.max(1e-9)).clamp(0.0, 1.0) as f32;
        BBox {
            x0: fx(x0.min(x1)),
            y0: fy(y0.min(y1)),
            x1: fx(x0.max(x1)),
            y1: fy(y0.max(y1)),
        }
    }

    /// The smallest box holding both.
    pub fn union(self, o: BBox) -> BBox {
        BBox {
            x0: self.x0.min(o.x0),
            y0: self.y0.min(o.y0),
            x1: self.x1.max(o.x1),
            y1: self.y1.max(o.y1),
        }
    }
}

/// How a page's words were read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reading {
    /// The document's own text layer: exact, no certainty to report.
    TextLayer,
    /// Optical character recognition of the page image.
    Ocr,
}

/// One page: its size in the unit it was read in (points, or pixels for images), and how.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Page {
    pub width: f64,
    pub height: f64,
    pub reading: Reading,
}

/// One word of the text: `[start, end)` bytes of the text, on `page` (0-based) in `bbox`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Word {
    pub start: usize,
    pub end: usize,
    pub page: u32,
    pub bbox: BBox,
    /// The OCR engine's certainty, 0 to 1; `None` for text-layer words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f32>,
}

/// A box on one page, as returned with evidence.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PageBox {
    pub page: u32,
    #[serde(flatten)]
    pub bbox: BBox,
}

/// The positions of a document's text; words are in text order (their starts grow).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Layout {
    pub pages: Vec<Page>,
    pub words: Vec<Word>,
}

impl Layout {
    /// The words that overlap `span` (a slice, found by binary search).
    pub fn words_in(&self, span: Span) -> &[Word] {
        let first = self.words.partition_point(|w| w.end <= span.start);
        let last = self.words.partition_point(|w| w.start < span.end);
        &self.words[first..last.max(first)]
    }

    /// The boxes covering `span`: one per line of it (words on a line are joined), so a
    /// value over two lines is two boxes.
    pub fn boxes(&self, span: Span) -> Vec<PageBox> {
        let mut out: Vec<PageBox> = Vec::new();
        for w in self.words_in(span) {
            match out.last_mut() {
                // Same page and overlapping vertically: the same line.
                Some(last)
                    if last.page == w.page
                        && w.bbox.y0 < last.bbox.y1
                        && w.bbox.y1 > last.bbox.y0
                        && w.bbox.x0 >= last.bbox.x0 =>
                {
                    last.bbox = last.bbox.union(w.bbox);
                }
                _ => out.push(PageBox {
                    page: w.page,
                    bbox: w.bbox,
                }),
            }
        }
        out
    }

    /// The lowest OCR certainty of the words under `span`; `None` when none was read by OCR.
    pub fn min_confidence(&self, span: Span) -> Option<f32> {
        self.words_in(span)
            .iter()
            .filter_map(|w| w.confidence)
            .reduce(f32::min)
    }

    /// Pages read by OCR.
    pub fn ocr_pages(&self) -> usize {
        self.pages.iter().filter(|p| p.reading == Reading::Ocr).count()
    }
}

/// Builds a document's text and its layout together, so offsets cannot disagree: words on
/// a line are joined by a space, lines by a line break, pages by a blank line.
#[derive(Debug, Default)]
pub struct LayoutBuilder {
    text: String,
    layout: Layout,
    /// Whether the current page / line has had a word yet.
    page_open: bool,
    line_open: bool,
}

impl LayoutBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Start a new page; the words pushed after it are on this page.
    pub fn page(&mut self, page: Page) {
        self.layout.pages.push(page);
        self.page_open = false;
        self.line_open = false;
    }

    /// End the current line; the next word starts a new one.
    pub fn end_line(&mut self) {
        self.line_open = false;
    }

    /// Add one word at the end of the current line. Blank words are dropped; inner white
    /// space (a word with a space in it) is kept as it is.
    pub fn word(&mut self, text: &str, bbox: BBox, confidence: Option<f32>) {
        let text = text.trim();
        if text.is_empty() || self.layout.pages.is_empty() {
            return;
        }
        if self.line_open {
            self.text.push(' ');
        } else if self.page_open {
            self.text.push('\n');
        } else if !self.text.is_empty() {
            self.text.push_str("\n\n");
        }
        let start = self.text.len();
        self.text.push_str(text);
        self.layout.words.push(Word {
            start,
            end: self.text.len(),
            page: u32::try_from(self.layout.pages.len() - 1).unwrap_or(u32::MAX),
            bbox,
            confidence: confidence.map(|c| c.clamp(0.0, 1.0)),
        });
        self.page_open = true;
        self.line_open = true;
    }

    /// Bytes of text so far, to stop early at a size limit.
    pub fn text_len(&self) -> usize {
        self.text.len()
    }

    pub fn finish(self) -> (String, Layout) {
        (self.text, self.layout)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(x0: f32, y0: f32, x1: f32, y1: f32) -> BBox {
        BBox { x0, y0, x1, y1 }
    }

    fn sample() -> (String, Layout) {
        let page = Page {
            width: 100.0,
            height: 100.0,
            reading: Reading::Ocr,
        };
        let mut l = LayoutBuilder::new();
        l.page(page);
        l.word("Total", b(0.1, 0.1, 0.2, 0.12), Some(0.95));
        l.word("12.50", b(0.3, 0.1, 0.4, 0.12), Some(0.41));
        l.end_line();
        l.word("Thanks", b(0.1, 0.2, 0.2, 0.22), Some(0.9));
        l.page(page);
        l.word("Page", b(0.1, 0.1, 0.2, 0.12), None);
        l.finish()
    }

    #[test]
    fn text_joins_words_lines_and_pages() {
        let (text, layout) = sample();
        assert_eq!(text, "Total 12.50\nThanks\n\nPage");
        for w in &layout.words {
            assert!(text.is_char_boundary(w.start) && text.is_char_boundary(w.end));
        }
        assert_eq!(&text[layout.words[1].start..layout.words[1].end], "12.50");
        assert_eq!(layout.words[3].page, 1);
    }

    #[test]
    fn a_span_maps_to_its_words_boxes_and_certainty() {
        let (text, layout) = sample();
        let at = text.find("12.50").unwrap();
        let span = Span::new(at + 1, at + 3); // inside the word
        assert_eq!(layout.words_in(span).len(), 1);
        assert_eq!(layout.min_confidence(span), Some(0.41));
        // A span over a line break is two boxes; over one line, one joined box.
        let whole = Span::new(0, text.find("Thanks").unwrap() + 6);
        let boxes = layout.boxes(whole);
        assert_eq!(boxes.len(), 2);
        assert_eq!(boxes[0].bbox, b(0.1, 0.1, 0.4, 0.12));
        assert_eq!(layout.min_confidence(whole), Some(0.41));
        // Between words: nothing.
        assert!(layout.words_in(Span::new(at - 1, at)).is_empty());
        let last = text.find("Page").unwrap();
        assert_eq!(layout.min_confidence(Span::new(last, last + 4)), None);
    }

    #[test]
    fn boxes_are_fractions_clamped_to_the_page() {
        let bb = BBox::on_page(50.0, 10.0, 250.0, 30.0, 200.0, 100.0);
        assert_eq!(bb, b(0.25, 0.1, 1.0, 0.3));
    }
}
