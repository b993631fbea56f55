//! The saved form of a trained extractor: stored with the automation version that made
//! it, loaded without retraining, and giving bit-identical output after the round trip.
//!
//! Layout (little-endian): the magic `TNDX`, a `u16` format version, a `u32` length and a
//! JSON header with everything but the weights, then per field the non-zero weights as
//! (varint gap to the previous bucket, `f32`) pairs. JSON keeps the small part readable
//! and tolerant of added keys; the weights, which are nearly all of the size, stay binary
//! and sparse (a hashed model touches a few percent of its buckets).
//!
//! serde_json's default float parsing may be one unit in the last place off, which would
//! break "identical after reload", so every float in the header is written as its bit
//! pattern (`{"$f64": bits}`) and restored exactly.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::FieldSpec;
use super::candidates::CandidateConfig;
use super::model::Linear;
use super::normalise::DateOrder;
use super::train::FieldModel;
use super::verify::{VERIFIER_BITS, Verifier};
use crate::calibration::{Calibrator, Platt};
use crate::metrics::Scored;

const MAGIC: &[u8; 4] = b"TNDX";
/// Bump when the layout, the features or the hashing change: an old model must be
/// rejected, not silently misread.
pub(crate) const FORMAT_VERSION: u16 = 1;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoadError {
    #[error("not a saved extractor (bad magic bytes)")]
    BadMagic,
    #[error("saved extractor format version {found} is not supported (this build reads {FORMAT_VERSION})")]
    UnsupportedVersion { found: u16 },
    #[error("saved extractor is truncated")]
    Truncated,
    #[error("saved extractor header is invalid: {0}")]
    Header(String),
    #[error("saved extractor weights are invalid: {0}")]
    Weights(String),
}

#[derive(Serialize, Deserialize)]
struct FieldHeader {
    spec: FieldSpec,
    order: DateOrder,
    cfg: CandidateConfig,
    epochs: usize,
    bits: u8,
    calib: Calibrator,
    value_calib: Calibrator,
    absent_calib: Calibrator,
    cut: f64,
    held_out: Vec<Scored>,
    /// A verifier's base curve; its weights follow the ranker's.
    verifier: Option<Platt>,
    /// Absent (false) in models saved before the prose context.
    #[serde(default)]
    prose: bool,
    /// Absent (false) in models saved before the narrower line context.
    #[serde(default)]
    narrow: bool,
}

pub(crate) fn to_bytes(fields: &[FieldModel]) -> Vec<u8> {
    let headers: Vec<FieldHeader> = fields
        .iter()
        .map(|f| FieldHeader {
            spec: f.spec.clone(),
            order: f.order,
            cfg: f.cfg,
            epochs: f.epochs,
            bits: f.linear.bits,
            calib: f.calib.clone(),
            value_calib: f.value_calib.clone(),
            absent_calib: f.absent_calib.clone(),
            cut: f.cut,
            held_out: f.held_out.clone(),
            verifier: f.verifier.as_ref().map(|v| v.base),
            prose: f.prose,
            narrow: f.narrow,
        })
        .collect();
    let header = serde_json::to_value(&headers).expect("header serialises");
    let header = serde_json::to_vec(&encode_floats(header)).expect("header serialises");
    let mut out = Vec::with_capacity(header.len() + 16);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&(header.len() as u32).to_le_bytes());
    out.extend_from_slice(&header);
    for f in fields {
        write_weights(&mut out, &f.linear);
        if let Some(v) = &f.verifier {
            write_weights(&mut out, &v.linear);
        }
    }
    out
}

pub(crate) fn from_bytes(bytes: &[u8]) -> Result<Vec<FieldModel>, LoadError> {
    let mut r = Reader { bytes, pos: 0 };
    if r.take(4)? != MAGIC {
        return Err(LoadError::BadMagic);
    }
    let version = u16::from_le_bytes(r.take(2)?.try_into().expect("2 bytes"));
    if version != FORMAT_VERSION {
        return Err(LoadError::UnsupportedVersion { found: version });
    }
    let len = u32::from_le_bytes(r.take(4)?.try_into().expect("4 bytes")) as usize;
    let header: Value = serde_json::from_slice(r.take(len)?).map_err(|e| LoadError::Header(e.to_string()))?;
    let headers: Vec<FieldHeader> =
        serde_json::from_value(decode_floats(header)).map_err(|e| LoadError::Header(e.to_string()))?;
    let mut fields = Vec::with_capacity(headers.len());
    for h in headers {
        if !(10..=24).contains(&h.bits) {
            return Err(LoadError::Header(format!("hash bits {} out of range", h.bits)));
        }
        let linear = read_weights(&mut r, h.bits)?;
        let verifier = match h.verifier {
            Some(base) => Some(Verifier {
                base,
                linear: read_weights(&mut r, VERIFIER_BITS)?,
            }),
            None => None,
        };
        fields.push(FieldModel {
            spec: h.spec,
            order: h.order,
            cfg: h.cfg,
            epochs: h.epochs,
            linear,
            calib: h.calib,
            value_calib: h.value_calib,
            absent_calib: h.absent_calib,
            cut: h.cut,
            held_out: h.held_out,
            verifier,
            prose: h.prose,
            narrow: h.narrow,
        });
    }
    if r.pos != bytes.len() {
        return Err(LoadError::Weights("trailing bytes after the last field".into()));
    }
    Ok(fields)
}

/// The non-zero weights as (varint gap, `f32`) pairs after their count.
fn write_weights(out: &mut Vec<u8>, linear: &Linear) {
    let nonzero: Vec<(usize, f32)> = linear
        .weights
        .iter()
        .copied()
        .enumerate()
        .filter(|w| w.1 != 0.0)
        .collect();
    out.extend_from_slice(&(nonzero.len() as u32).to_le_bytes());
    let mut prev = 0;
    for (i, w) in nonzero {
        write_varint(out, (i - prev) as u64);
        out.extend_from_slice(&w.to_le_bytes());
        prev = i;
    }
}

fn read_weights(r: &mut Reader, bits: u8) -> Result<Linear, LoadError> {
    let mut linear = Linear::new(bits);
    let count = u32::from_le_bytes(r.take(4)?.try_into().expect("4 bytes"));
    let mut at = 0usize;
    for n in 0..count {
        at += r.varint()? as usize;
        let w = f32::from_le_bytes(r.take(4)?.try_into().expect("4 bytes"));
        let slot = linear
            .weights
            .get_mut(at)
            .ok_or_else(|| LoadError::Weights(format!("bucket {at} out of range")))?;
        if n > 0 && *slot != 0.0 {
            return Err(LoadError::Weights(format!("bucket {at} written twice")));
        }
        *slot = w;
    }
    Ok(linear)
}

const FLOAT_KEY: &str = "$f64";

fn encode_floats(v: Value) -> Value {
    match v {
        Value::Number(n) if n.is_f64() => {
            let bits = n.as_f64().expect("f64").to_bits();
            serde_json::json!({ FLOAT_KEY: bits })
        }
        Value::Array(items) => Value::Array(items.into_iter().map(encode_floats).collect()),
        Value::Object(map) => Value::Object(map.into_iter().map(|(k, v)| (k, encode_floats(v))).collect()),
        other => other,
    }
}

fn decode_floats(v: Value) -> Value {
    match v {
        Value::Object(map) if map.len() == 1 && map.contains_key(FLOAT_KEY) => {
            match map[FLOAT_KEY]
                .as_u64()
                .map(f64::from_bits)
                .and_then(serde_json::Number::from_f64)
            {
                Some(n) => Value::Number(n),
                None => Value::Object(map),
            }
        }
        Value::Array(items) => Value::Array(items.into_iter().map(decode_floats).collect()),
        Value::Object(map) => Value::Object(map.into_iter().map(|(k, v)| (k, decode_floats(v))).collect()),
        other => other,
    }
}

fn write_varint(out: &mut Vec<u8>, mut x: u64) {
    while x >= 0x80 {
        out.push((x as u8) | 0x80);
        x >>= 7;
    }
    out.push(x as u8);
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], LoadError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.bytes.len())
            .ok_or(LoadError::Truncated)?;
        let out = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    fn varint(&mut self) -> Result<u64, LoadError> {
        let mut x = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.take(1)?[0];
            x |= u64::from(b & 0x7F) << shift;
            if b & 0x80 == 0 {
                return Ok(x);
            }
        }
        Err(LoadError::Weights("varint too long".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_survive_the_header_exactly() {
        let xs = [0.1f64, 1.0 / 3.0, 0.987_654_321_012_345_6, 1e-300, 2.0];
        let v = serde_json::to_value(xs).unwrap();
        let text = serde_json::to_string(&encode_floats(v)).unwrap();
        let back: Vec<f64> =
            serde_json::from_value(decode_floats(serde_json::from_str(&text).unwrap())).unwrap();
        assert_eq!(
            back.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
            xs.map(f64::to_bits)
        );
    }

    #[test]
    fn garbage_is_rejected_with_a_reason() {
        assert_eq!(from_bytes(b"nope"), Err(LoadError::BadMagic));
        assert_eq!(
            from_bytes(b"TNDX\x09\x00"),
            Err(LoadError::UnsupportedVersion { found: 9 })
        );
        assert_eq!(
            from_bytes(b"TNDX\x01\x00\xff\x00\x00\x00{}"),
            Err(LoadError::Truncated)
        );
    }
}
