//! Sending accepted results to an automation's destinations: an HTTP webhook or a JSONL
//! file. Each send carries the delivery's key, stable across retries, so a receiver that
//! de-duplicates on it sees every result exactly once.

use std::io::Write;
use std::path::Path;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use tandem_domain::Destination;
use tandem_engine::pipeline::RouteOutcome;
use tandem_store::{Delivery, Item, NewDelivery};

use crate::Tandem;

/// The header that carries the delivery key.
pub const DELIVERY_ID_HEADER: &str = "Tandem-Delivery-Id";
/// The header that carries `sha256=HEX`, an HMAC of the body with the destination's secret.
pub const SIGNATURE_HEADER: &str = "Tandem-Signature";

/// How the delivered route came about, for a CRM (see docs/delivery.md): the route, who
/// or what decided it (a rule, the model, or a person who changed it), the model's
/// calibrated confidence, the rule in words, and the inputs that weighed most. `None` when
/// the automation does not route. `reviewer` is the person who decided the item, if one did.
pub(crate) fn routing(
    outcome: Option<&RouteOutcome>,
    result: &serde_json::Value,
    reviewer: Option<&str>,
) -> Option<serde_json::Value> {
    let route = result.get("route")?;
    let proposed = outcome.and_then(|o| o.label.as_deref());
    let changed = route.as_str() != proposed;
    let (decided_by, confidence, rule, reasons) = match outcome {
        Some(o) if !changed => (
            if o.by_rule { "rule" } else { "model" },
            serde_json::json!(o.confidence),
            serde_json::json!(o.rule),
            o.contributions.iter().map(|c| c.what.clone()).collect::<Vec<_>>(),
        ),
        _ => (
            "person",
            serde_json::Value::Null,
            serde_json::Value::Null,
            Vec::new(),
        ),
    };
    Some(serde_json::json!({
        "route": route,
        "decided_by": decided_by,
        "confidence": confidence,
        "rule": rule,
        "reasons": reasons,
        "reviewed_by": reviewer,
    }))
}

/// What is delivered for an accepted item (without its delivery id, which is added per
/// destination when sent).
pub(crate) fn payload(
    tandem: &Tandem,
    item: &Item,
    automation: &str,
    version: i64,
    status: tandem_domain::ItemStatus,
    result: &serde_json::Value,
    routing: Option<serde_json::Value>,
) -> serde_json::Value {
    let base = tandem.settings.public_url.trim_end_matches('/');
    let mut out = serde_json::json!({
        "item_id": item.id,
        "automation": automation,
        "version": version,
        "status": status,
        "result": result,
        // "This looks wrong": a person who sees a bad result opens this to send it back.
        "links": {
            "item": format!("{base}/items/{}", item.id),
            "report_wrong": format!("{base}/items/{}/wrong", item.id),
        },
    });
    if let Some(r) = routing {
        out["routing"] = r;
    }
    out
}

/// One delivery per destination for the same payload.
pub(crate) fn for_destinations(
    destinations: &[Destination],
    payload: &serde_json::Value,
) -> Vec<NewDelivery> {
    destinations
        .iter()
        .enumerate()
        .map(|(i, d)| NewDelivery {
            destination_index: i64::try_from(i).unwrap_or(i64::MAX),
            destination: d.describe(),
            payload: payload.to_string(),
        })
        .collect()
}

/// The body actually sent: the stored payload with the delivery's key and revision.
fn body(delivery: &Delivery) -> Result<String, String> {
    let mut v: serde_json::Value =
        serde_json::from_str(&delivery.payload).map_err(|e| format!("stored payload is not JSON: {e}"))?;
    v["delivery_id"] = serde_json::Value::String(delivery.delivery_key.clone());
    v["revision"] = serde_json::Value::from(delivery.revision);
    Ok(v.to_string())
}

pub fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac =
        <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

impl Tandem {
    /// Send one delivery. `Err` holds a message for people ("HTTP 503 from …").
    pub(crate) async fn send(&self, destination: &Destination, delivery: &Delivery) -> Result<(), String> {
        let body = body(delivery)?;
        match destination {
            Destination::Webhook { url, secret } => {
                // Names are checked by address in the client's resolver; this covers a URL
                // that names an address itself, which never reaches a resolver.
                self.settings.outbound.check_url(url)?;
                let mut req = self
                    .http
                    .post(url)
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .header(DELIVERY_ID_HEADER, &delivery.delivery_key);
                if let Some(secret) = secret {
                    req = req.header(SIGNATURE_HEADER, signature(secret, body.as_bytes()));
                }
                let resp = req
                    .body(body)
                    .send()
                    .await
                    .map_err(|e| describe_http_error(url, &e))?;
                let status = resp.status();
                if status.is_success() {
                    Ok(())
                } else {
                    let said = error_excerpt(resp).await;
                    Err(format!("HTTP {status} from {url}: {said:?}"))
                }
            }
            Destination::Jsonl { path } => {
                // Checked again here: a version applied before the check existed may name
                // any path.
                let full = jsonl_path(&self.settings, path)?;
                let line = format!("{body}\n");
                tokio::task::spawn_blocking(move || append_line(&full, line.as_bytes()))
                    .await
                    .map_err(|e| e.to_string())?
            }
        }
    }
}

/// Where a JSONL destination writes: `path` inside the data directory, or under a
/// directory the operator allowed (`delivery.allow_paths`); never through `..`. A
/// definition is untrusted input: without this, any builder could append to any file the
/// server may write (issue 21).
pub fn jsonl_path(settings: &crate::Settings, path: &str) -> Result<std::path::PathBuf, String> {
    let p = Path::new(path);
    if p.components()
        .any(|c| matches!(c, std::path::Component::ParentDir))
    {
        return Err(format!(
            "{path:?} climbs out with \"..\"; write a path inside the data directory"
        ));
    }
    if !p.is_absolute() {
        return Ok(settings.data_dir.join(p));
    }
    if p.starts_with(&settings.data_dir) || settings.jsonl_allow_dirs.iter().any(|d| p.starts_with(d)) {
        return Ok(p.to_path_buf());
    }
    Err(format!(
        "{path:?} is outside the data directory ({}); write a path inside it, or list its directory in delivery.allow_paths",
        settings.data_dir.display()
    ))
}

/// The start of a receiver's error answer, for people: at most `ERROR_BYTES` are read (a
/// 300 MB answer was once read whole), and only printable text is kept, whitespace
/// collapsed, at most 200 characters. Shown quoted, as the receiver's words.
async fn error_excerpt(mut resp: reqwest::Response) -> String {
    const ERROR_BYTES: usize = 1024;
    let mut bytes = Vec::new();
    while bytes.len() < ERROR_BYTES {
        match resp.chunk().await {
            Ok(Some(chunk)) => bytes.extend_from_slice(&chunk),
            _ => break,
        }
    }
    bytes.truncate(ERROR_BYTES);
    String::from_utf8_lossy(&bytes)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect()
}

fn describe_http_error(url: &str, e: &reqwest::Error) -> String {
    if e.is_timeout() {
        format!("{url} did not answer in time")
    } else if e.is_connect() {
        // The innermost cause says why: refused, no route, or the outbound policy's reason.
        let mut cause: &dyn std::error::Error = e;
        while let Some(next) = cause.source() {
            cause = next;
        }
        format!("cannot connect to {url}: {cause}")
    } else {
        format!("request to {url} failed: {e}")
    }
}

/// Append one line and flush it to disk. One `write` call per line, so concurrent
/// appenders never interleave inside a line.
fn append_line(path: &Path, line: &[u8]) -> Result<(), String> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    f.write_all(line)
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    f.sync_data()
        .map_err(|e| format!("cannot flush {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_hmac_sha256_hex() {
        // RFC 4231 test case 2.
        let sig = signature("Jefe", b"what do ya want for nothing?");
        assert_eq!(
            sig,
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
