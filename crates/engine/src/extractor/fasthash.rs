//! A fast, non-cryptographic hasher for the maps and sets candidate generation, features
//! and decisions probe once per candidate (tens of thousands of times per contract). The
//! keys are offsets and value texts of one document, where the standard library's
//! SipHash buys resistance to chosen keys at several times the cost; a map that outlives a
//! document, or is keyed by anything a client picks wholesale, keeps the default.

use std::hash::{BuildHasherDefault, Hasher};

/// Multiply-rotate over 8-byte words, finished with a SplitMix-style mix.
#[derive(Default)]
pub(crate) struct FastHasher(u64);

const K: u64 = 0x9E37_79B9_7F4A_7C15;

impl Hasher for FastHasher {
    fn finish(&self) -> u64 {
        let z = (self.0 ^ (self.0 >> 31)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z ^ (z >> 29)
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let w = u64::from_le_bytes(c.try_into().expect("8 bytes"));
            self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(K);
        }
        let mut tail = [0u8; 8];
        let rest = chunks.remainder();
        tail[..rest.len()].copy_from_slice(rest);
        self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(tail) ^ rest.len() as u64).wrapping_mul(K);
    }

    fn write_u8(&mut self, n: u8) {
        self.write_u64(u64::from(n));
    }

    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(K);
    }
}

pub(crate) type FastHash = BuildHasherDefault<FastHasher>;

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    #[test]
    fn different_keys_hash_apart_and_maps_work() {
        let h = |s: &str| {
            let mut x = FastHasher::default();
            x.write(s.as_bytes());
            x.finish()
        };
        // Keys that differ only past the first word, or only in length, differ.
        assert_ne!(h("New York"), h("New Yorker"));
        assert_ne!(h("abcdefgh"), h("abcdefgh\0"));
        assert_ne!(h(""), h("\0"));
        let mut m: HashMap<&str, usize, FastHash> = HashMap::default();
        for (i, k) in ["a", "b", "a"].into_iter().enumerate() {
            *m.entry(k).or_default() += i;
        }
        assert_eq!((m["a"], m["b"]), (2, 1));
    }
}
