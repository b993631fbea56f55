//! Static word-piece vectors: a meaning-bearing dense block beside the sparse n-grams.
//!
//! N-grams only know the words training showed; "cancel my booking" and "call off my
//! reservation" share none. A small sentence encoder (all-MiniLM-L6-v2, Apache-2.0) knows
//! they are close, but running it costs milliseconds per text. Its knowledge is distilled
//! once, offline, into one vector per word piece of its vocabulary (each piece run alone
//! through the model, PCA'd, int8; `benches/wordvectors/build.py` makes the table and
//! says how): a text's vector is then the normalised sum of its pieces' vectors, as cheap
//! as the n-grams. The table ships inside the binary (`include_bytes!`); nothing is
//! downloaded or loaded at run time.
//!
//! The tokenizer is a greedy longest-match WordPiece over MiniLM's vocabulary, after a
//! close approximation of BERT's basic tokenizer (lower-case, accents stripped, punctuation
//! and CJK characters split off). It is written here rather than taken from the
//! `tokenizers` crate, which pulls in a large dependency tree (regex engines, rayon, serde
//! for its JSON format) for what is forty lines when only this one vocabulary is read.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::LazyLock;
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// The table made by `benches/wordvectors/build.py`: b"TWV1", u32 rows, u32 dim, rows f32
/// scales, rows * dim int8 values (little-endian).
static TABLE: &[u8] = include_bytes!("../../assets/minilm_pieces.bin");
/// MiniLM's `vocab.txt`, unchanged: line `i` is word piece `i`.
static VOCAB: &str = include_str!("../../assets/minilm_vocab.txt");

/// BERT's limit: a longer "word" is one unknown piece rather than a hundred lookups.
const MAX_WORD_CHARS: usize = 100;

/// FNV-1a over the piece's bytes: the keys are short, fixed strings of our own table, so
/// a fast non-keyed hash is enough (std's SipHash costs more than the lookups save).
#[derive(Default)]
struct Fnv(u64);

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xCBF2_9CE4_8422_2325
        } else {
            self.0
        };
        for &b in bytes {
            h = (h ^ u64::from(b)).wrapping_mul(0x100_0000_01B3);
        }
        self.0 = h;
    }
}

type PieceMap = HashMap<&'static str, u32, BuildHasherDefault<Fnv>>;

/// The parsed table, built once per process on first use.
pub(crate) struct WordVectors {
    dim: usize,
    scales: Vec<f32>,
    values: &'static [u8],
    /// Pieces that start a word, and continuation pieces (stored as `##piece`) keyed
    /// without their `##`, so a lookup needs no new string.
    starts: PieceMap,
    conts: PieceMap,
    /// A fingerprint of the table and vocabulary: a model trained on one table refuses to
    /// load beside another.
    pub(crate) id: u64,
}

static WORD_VECTORS: LazyLock<WordVectors> = LazyLock::new(|| {
    // The table is part of the source tree and checked by a unit test, so a malformed one
    // is a build defect, not an input error.
    WordVectors::parse(TABLE, VOCAB).expect("the embedded word-piece table is well formed")
});

/// The embedded table.
pub(crate) fn table() -> &'static WordVectors {
    &WORD_VECTORS
}

impl WordVectors {
    fn parse(table: &'static [u8], vocab: &'static str) -> Result<Self, String> {
        let header = table.get(..12).ok_or("table shorter than its header")?;
        if &header[..4] != b"TWV1" {
            return Err("table does not start with TWV1".into());
        }
        let word =
            |at: usize| u32::from_le_bytes([header[at], header[at + 1], header[at + 2], header[at + 3]]);
        let (rows, dim) = (word(4) as usize, word(8) as usize);
        let scales_end = 12 + rows * 4;
        if table.len() != scales_end + rows * dim || dim == 0 {
            return Err(format!(
                "table of {} bytes does not hold {rows} rows of {dim}",
                table.len()
            ));
        }
        let scales = table[12..scales_end]
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        let pieces: Vec<&str> = vocab.lines().collect();
        if pieces.len() != rows {
            return Err(format!(
                "vocabulary has {} pieces, table {rows} rows",
                pieces.len()
            ));
        }
        let mut starts = PieceMap::with_capacity_and_hasher(rows, Default::default());
        let mut conts = PieceMap::with_capacity_and_hasher(rows / 4, Default::default());
        for (i, p) in pieces.iter().enumerate() {
            match p.strip_prefix("##") {
                Some(rest) if !rest.is_empty() => conts.insert(rest, i as u32),
                _ => starts.insert(*p, i as u32),
            };
        }
        let id = super::features::fnv(0x5756, &[table, vocab.as_bytes()]);
        Ok(Self {
            dim,
            scales,
            values: &table[scales_end..],
            starts,
            conts,
            id,
        })
    }

    pub(crate) fn dim(&self) -> usize {
        self.dim
    }

    /// The word-piece ids of a text, unknown words left out. Deterministic: the same text
    /// always gives the same pieces.
    #[cfg(test)]
    pub(crate) fn pieces(&self, text: &str) -> Vec<u32> {
        let mut out = Vec::new();
        self.each_piece(text, |id| out.push(id));
        out
    }

    /// Calls `f` with each word-piece id of a text in order, unknown words left out. Holds
    /// one word at a time, so a huge input costs no more memory than its longest word.
    pub(crate) fn each_piece(&self, text: &str, mut f: impl FnMut(u32)) {
        let mut word = String::new();
        let mut ids = Vec::new();
        let mut flush = |word: &mut String| {
            if !word.is_empty() {
                ids.clear();
                self.word_pieces(word, &mut ids);
                ids.iter().for_each(|&id| f(id));
                word.clear();
            }
        };
        // Most text is ASCII, which NFD leaves as it is: skip the decomposition there.
        let chars: Box<dyn Iterator<Item = char>> = if text.is_ascii() {
            Box::new(text.chars())
        } else {
            Box::new(text.nfd().filter(|&c| !is_combining_mark(c) && c != '\u{fffd}'))
        };
        for ch in chars {
            if ch.is_whitespace() || ch.is_control() {
                flush(&mut word);
            } else if ch.is_alphanumeric() && !is_cjk(ch) {
                word.extend(ch.to_lowercase());
            } else {
                // Punctuation, symbols and CJK characters are words of their own.
                flush(&mut word);
                word.push(ch);
                flush(&mut word);
            }
        }
        flush(&mut word);
    }

    /// Greedy longest-match WordPiece; a word with a part no piece covers is skipped whole,
    /// as BERT maps it to `[UNK]`.
    fn word_pieces(&self, word: &str, out: &mut Vec<u32>) {
        if word.len() > MAX_WORD_CHARS * 4 || word.chars().count() > MAX_WORD_CHARS {
            return;
        }
        let first = out.len();
        let mut start = 0;
        while start < word.len() {
            let map = if start == 0 { &self.starts } else { &self.conts };
            let mut end = word.len();
            let found = loop {
                if let Some(&id) = map.get(&word[start..end]) {
                    break Some(id);
                }
                match word[start..end].char_indices().next_back() {
                    Some((i, _)) if i > 0 => end = start + i,
                    _ => break None,
                }
            };
            match found {
                Some(id) => {
                    out.push(id);
                    start = end;
                }
                None => {
                    out.truncate(first);
                    return;
                }
            }
        }
    }

    /// The unit-length sum of the text's piece vectors, written into `out` (length `dim`);
    /// all zeros when no piece is known. Returns the number of pieces.
    pub(crate) fn sentence_into(&self, text: &str, out: &mut [f32]) -> usize {
        out.fill(0.0);
        let mut n = 0;
        self.each_piece(text, |id| {
            n += 1;
            let id = id as usize;
            let s = self.scales[id];
            let row = &self.values[id * self.dim..(id + 1) * self.dim];
            for (o, &q) in out.iter_mut().zip(row) {
                *o += s * f32::from(q as i8);
            }
        });
        let norm = out.iter().map(|v| v * v).sum::<f32>().sqrt();
        if norm > 0.0 {
            for o in out.iter_mut() {
                *o /= norm;
            }
        }
        n
    }

    /// [`Self::sentence_into`] into a new vector.
    pub(crate) fn sentence(&self, text: &str) -> Vec<f32> {
        let mut out = vec![0.0; self.dim];
        self.sentence_into(text, &mut out);
        out
    }
}

/// The CJK ideograph blocks BERT splits character by character.
fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x4E00..=0x9FFF | 0x3400..=0x4DBF | 0x20000..=0x2A6DF | 0x2A700..=0x2B73F
        | 0x2B740..=0x2B81F | 0x2B820..=0x2CEAF | 0xF900..=0xFAFF | 0x2F800..=0x2FA1F)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(t: &WordVectors, text: &str) -> Vec<&'static str> {
        let pieces: Vec<&str> = VOCAB.lines().collect();
        t.pieces(text).iter().map(|&i| pieces[i as usize]).collect()
    }

    #[test]
    fn the_embedded_table_loads_and_tokenises_like_bert() {
        let t = table();
        assert!(t.dim() >= 32, "dim {}", t.dim());
        assert_eq!(t.scales.len(), VOCAB.lines().count());
        // Known WordPiece splits of MiniLM's (bert-base-uncased) vocabulary.
        assert_eq!(names(t, "Hello, World!"), ["hello", ",", "world", "!"]);
        assert_eq!(names(t, "transfering"), ["transfer", "##ing"]);
        assert_eq!(names(t, "Café"), ["cafe"]);
        assert_eq!(names(t, "I'd"), ["i", "'", "d"]);
        // A word no piece covers (here, past the length limit) is left out whole.
        assert!(t.pieces(&"a".repeat(500)).is_empty());
        assert!(t.pieces("").is_empty());
    }

    #[test]
    fn sentence_vectors_are_deterministic_unit_and_meaningful() {
        let t = table();
        let a = t.sentence("cancel my booking");
        assert_eq!(a, t.sentence("cancel my booking"));
        let norm: f32 = a.iter().map(|v| v * v).sum();
        assert!((norm - 1.0).abs() < 1e-4);
        let cos = |x: &[f32], y: &[f32]| x.iter().zip(y).map(|(a, b)| a * b).sum::<f32>();
        // Synonyms with no word in common are closer than unrelated words.
        let b = t.sentence("call off my reservation");
        let c = t.sentence("what is the weather tomorrow");
        assert!(
            cos(&a, &b) > cos(&a, &c) + 0.1,
            "{} vs {}",
            cos(&a, &b),
            cos(&a, &c)
        );
        assert!(t.sentence("").iter().all(|&v| v == 0.0));
    }
}
