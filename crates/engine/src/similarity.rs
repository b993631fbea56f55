//! Near-duplicate search for the item page's "decided items most similar to this one".
//!
//! A text becomes the set of its hashed word, word-pair and character 3–5-gram features
//! (the classifier's own [`ngrams`], so "similar" means what the router sees), compared
//! by Jaccard overlap. To find candidates without reading every decided item, each text
//! gets a MinHash signature of [`HASHES`] values cut into [`BANDS`] bands of two; a band's
//! key is one 64-bit hash. Two texts share a band with probability J², so with sixteen
//! bands a pair at J = 0.5 shares at least one band 99 times in 100, and at J = 0.2 about
//! half the time. The store keeps the keys of decided items in an index; a page view looks
//! up its own sixteen keys, then ranks the few candidates found by their exact overlap.
//!
//! Why MinHash and not the TF-IDF vectors: those need a vocabulary per model version and
//! a scan to compare; band keys are plain integers that an ordinary B-tree index finds.

use crate::classifier::features::ngrams;

/// MinHash values per signature.
pub const HASHES: usize = 32;
/// Rows per band: two, so that moderately similar texts (J ≈ 0.3–0.5) still meet.
const ROWS: usize = 2;
/// Bands per signature, hence index keys per text.
pub const BANDS: usize = HASHES / ROWS;

/// A text's features: sorted, distinct 64-bit n-gram hashes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Shingles(Vec<u64>);

impl Shingles {
    pub fn of(text: &str) -> Self {
        // `ngrams` returns each distinct hash once, sorted.
        Self(ngrams(text).list.into_iter().map(|(h, _, _)| h).collect())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Jaccard overlap: shared features over all features, in 0..=1 (0 for two empties).
    pub fn jaccard(&self, other: &Self) -> f64 {
        let (a, b) = (&self.0, &other.0);
        let (mut i, mut j, mut shared) = (0, 0, 0usize);
        while i < a.len() && j < b.len() {
            match a[i].cmp(&b[j]) {
                std::cmp::Ordering::Less => i += 1,
                std::cmp::Ordering::Greater => j += 1,
                std::cmp::Ordering::Equal => {
                    shared += 1;
                    i += 1;
                    j += 1;
                }
            }
        }
        let union = a.len() + b.len() - shared;
        if union == 0 {
            0.0
        } else {
            shared as f64 / union as f64
        }
    }

    /// The index keys of this text: one per band, distinct across bands (the band number
    /// is hashed in), as `i64` because that is what SQL stores. Empty for an empty text.
    pub fn band_keys(&self) -> Vec<i64> {
        if self.0.is_empty() {
            return Vec::new();
        }
        let mut mins = [u64::MAX; HASHES];
        for &h in &self.0 {
            for (k, m) in mins.iter_mut().enumerate() {
                let v = mix(h ^ SEEDS[k]);
                if v < *m {
                    *m = v;
                }
            }
        }
        mins.chunks(ROWS)
            .enumerate()
            .map(|(band, rows)| {
                let mut key = mix(0xB4D5_u64.wrapping_add(band as u64));
                for &r in rows {
                    key = mix(key ^ r);
                }
                key as i64
            })
            .collect()
    }
}

/// SplitMix64's finaliser: a cheap, well-mixed permutation of 64-bit values.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// One seed per MinHash function; fixed, since stored keys must match future page views.
const SEEDS: [u64; HASHES] = {
    let mut out = [0u64; HASHES];
    let mut state: u64 = 0x7A4D_E11E_5EED_0001;
    let mut i = 0;
    while i < HASHES {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        out[i] = z ^ (z >> 31);
        i += 1;
    }
    out
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_texts_share_every_band_and_overlap_fully() {
        let a = Shingles::of("Invoice 4411 from ACME Ltd, total 120.00 EUR");
        let b = Shingles::of("invoice 4411 from acme ltd total 120.00 eur");
        assert_eq!(a.jaccard(&b), 1.0, "case and punctuation are normalised away");
        assert_eq!(a.band_keys(), b.band_keys());
        assert_eq!(a.band_keys().len(), BANDS);
    }

    #[test]
    fn a_near_duplicate_overlaps_more_than_an_unrelated_text() {
        let a = Shingles::of("Please refund order 5512, the parcel arrived broken");
        let near = Shingles::of("Please refund order 5513, the parcel arrived broken!");
        let far = Shingles::of("What time does the Lisbon office open on Saturdays?");
        let (jn, jf) = (a.jaccard(&near), a.jaccard(&far));
        assert!(jn > 0.7, "near-duplicate overlap {jn}");
        assert!(jf < 0.1, "unrelated overlap {jf}");
        let shared = |x: &Shingles| {
            let k = x.band_keys();
            a.band_keys().iter().filter(|b| k.contains(b)).count()
        };
        assert!(
            shared(&near) >= 4,
            "near-duplicate shares {} bands",
            shared(&near)
        );
        assert_eq!(shared(&far), 0);
    }

    #[test]
    fn keys_differ_across_bands_and_an_empty_text_has_none() {
        let keys = Shingles::of("one two three four five").band_keys();
        let mut distinct = keys.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(distinct.len(), keys.len());
        assert!(Shingles::of("  ,;  ").band_keys().is_empty());
        assert_eq!(Shingles::of("").jaccard(&Shingles::of("")), 0.0);
    }
}
