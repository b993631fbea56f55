//! Signed, expiring decision links for notifications.
//!
//! A link names one item, one action and an expiry, and carries an HMAC-SHA256 of those
//! with a server key, so nobody can change the action or the item or stretch the expiry.
//! Opening a link (a GET, which chat link-preview bots also do) only shows what would be
//! decided; the decision is the POST of the button on that page, by a signed-in reviewer.
//! The token is `WS-ITEM-ACTION-EXPIRY-SIGNATURE`, URL-safe as it stands.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use tandem_domain::{DecisionAction, ItemId, Millis, WorkspaceId};

use crate::{ServiceError, ServiceResult, Tandem};

/// The action a link offers. Correcting needs the whole item page, so links approve or
/// reject; an "open" link is a plain link to the item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkAction {
    Approve,
    Reject,
}

impl LinkAction {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkAction::Approve => "approve",
            LinkAction::Reject => "reject",
        }
    }

    fn parse(s: &str) -> Option<LinkAction> {
        match s {
            "approve" => Some(LinkAction::Approve),
            "reject" => Some(LinkAction::Reject),
            _ => None,
        }
    }

    pub fn decision(self) -> DecisionAction {
        match self {
            LinkAction::Approve => DecisionAction::Approve,
            LinkAction::Reject => DecisionAction::Reject,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecisionLink {
    pub workspace: WorkspaceId,
    pub item: ItemId,
    pub action: LinkAction,
    pub expires_at: Millis,
}

/// Why a link cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    #[error("this link is not valid (it may have been cut short or changed)")]
    Invalid,
    #[error("this link has expired; open the item from the inbox instead")]
    Expired(DecisionLink),
}

/// The signature covers every part of the link; 128 bits of it are kept.
const SIGNATURE_HEX: usize = 32;

fn mac(key: &[u8], ws: i64, item: i64, action: &str, expires: i64) -> String {
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes a key of any length");
    m.update(format!("tandem-decision-link\n{ws}\n{item}\n{action}\n{expires}").as_bytes());
    let full = hex::encode(m.finalize().into_bytes());
    full[..SIGNATURE_HEX].to_owned()
}

impl DecisionLink {
    pub fn sign(&self, key: &[u8]) -> String {
        let sig = mac(
            key,
            self.workspace.0,
            self.item.0,
            self.action.as_str(),
            self.expires_at,
        );
        format!(
            "{}-{}-{}-{}-{sig}",
            self.workspace.0,
            self.item.0,
            self.action.as_str(),
            self.expires_at
        )
    }

    /// Check the signature first (in constant time), then the expiry.
    pub fn verify(token: &str, key: &[u8], now: Millis) -> Result<DecisionLink, LinkError> {
        let parts: Vec<&str> = token.split('-').collect();
        let [ws, item, action, expires, sig] = parts.as_slice() else {
            return Err(LinkError::Invalid);
        };
        let (Ok(ws), Ok(item), Some(action), Ok(expires)) = (
            ws.parse::<i64>(),
            item.parse::<i64>(),
            LinkAction::parse(action),
            expires.parse::<i64>(),
        ) else {
            return Err(LinkError::Invalid);
        };
        let expected = mac(key, ws, item, action.as_str(), expires);
        let same = expected.len() == sig.len()
            && expected
                .bytes()
                .zip(sig.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0;
        if !same {
            return Err(LinkError::Invalid);
        }
        let link = DecisionLink {
            workspace: WorkspaceId(ws),
            item: ItemId(item),
            action,
            expires_at: expires,
        };
        if now >= expires {
            return Err(LinkError::Expired(link));
        }
        Ok(link)
    }
}

impl Tandem {
    /// The key decision links are signed with: the configured one, or the one this
    /// database keeps (made by the first instance that needed it).
    pub async fn link_key(&self) -> ServiceResult<Vec<u8>> {
        let key = self
            .link_key
            .get_or_try_init(|| async {
                if let Some(s) = &self.settings.inbox.link_secret {
                    return Ok::<_, ServiceError>(s.as_bytes().to_vec());
                }
                let candidate = crate::auth::new_secret("");
                let stored = self
                    .store
                    .server_secret("decision_link_key", &candidate, self.now())
                    .await?;
                Ok(stored.into_bytes())
            })
            .await?;
        Ok(key.clone())
    }

    /// A signed link (full URL) that offers `action` on `item` until the link TTL passes.
    pub async fn decision_link(
        &self,
        ws: WorkspaceId,
        item: ItemId,
        action: LinkAction,
    ) -> ServiceResult<String> {
        let ttl = i64::try_from(self.settings.inbox.link_ttl.as_millis()).unwrap_or(i64::MAX / 2);
        let link = DecisionLink {
            workspace: ws,
            item,
            action,
            expires_at: self.now().saturating_add(ttl),
        };
        let token = link.sign(&self.link_key().await?);
        Ok(format!(
            "{}/decide/{token}",
            self.settings.public_url.trim_end_matches('/')
        ))
    }

    /// Read a link's token. A link for another workspace than the reader's is refused
    /// as not found, so a link never reveals another team's item.
    pub async fn read_link(
        &self,
        ws: WorkspaceId,
        token: &str,
    ) -> ServiceResult<Result<DecisionLink, LinkError>> {
        let key = self.link_key().await?;
        let read = DecisionLink::verify(token, &key, self.now());
        let link_ws = match &read {
            Ok(l) | Err(LinkError::Expired(l)) => Some(l.workspace),
            Err(LinkError::Invalid) => None,
        };
        if link_ws.is_some_and(|w| w != ws) {
            return Err(ServiceError::NotFound("item"));
        }
        Ok(read)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link() -> DecisionLink {
        DecisionLink {
            workspace: WorkspaceId(3),
            item: ItemId(42),
            action: LinkAction::Approve,
            expires_at: 1_000,
        }
    }

    #[test]
    fn a_signed_link_verifies_until_it_expires() {
        let token = link().sign(b"key");
        assert_eq!(DecisionLink::verify(&token, b"key", 999), Ok(link()));
        assert_eq!(
            DecisionLink::verify(&token, b"key", 1_000),
            Err(LinkError::Expired(link()))
        );
    }

    #[test]
    fn any_change_breaks_the_signature() {
        let token = link().sign(b"key");
        assert_eq!(DecisionLink::verify(&token, b"other", 0), Err(LinkError::Invalid));
        for (from, to) in [
            ("-42-", "-43-"),
            ("approve", "reject"),
            ("-1000-", "-9999-"),
            ("3-", "4-"),
        ] {
            let forged = token.replacen(from, to, 1);
            assert_ne!(forged, token);
            assert_eq!(
                DecisionLink::verify(&forged, b"key", 0),
                Err(LinkError::Invalid),
                "{forged}"
            );
        }
        assert_eq!(
            DecisionLink::verify("3-42-approve-1000", b"key", 0),
            Err(LinkError::Invalid)
        );
        assert_eq!(DecisionLink::verify("", b"key", 0), Err(LinkError::Invalid));
    }
}
