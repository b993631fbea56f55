//! Accepting items: validated against the automation's inputs, durable (with their
//! processing queued) before the caller hears "accepted".

use tandem_domain::{ItemInput, Role};
use tandem_store::{Inserted, NewItem};

use crate::auth::Actor;
use crate::{ServiceError, ServiceResult, Tandem};

/// Most items accepted in one request.
pub const MAX_BATCH: usize = 1000;

#[derive(Debug, Clone)]
pub struct Submission {
    pub input: serde_json::Value,
    /// A retry with the same key returns the first item instead of making a second.
    pub idempotency_key: Option<String>,
}

/// The plain-text excerpt shown in lists: the first input's first 200 characters.
pub(crate) fn preview(input: &ItemInput) -> String {
    let text = input.fields().values().next().map_or("", String::as_str);
    let mut out = String::new();
    for word in text.split_whitespace() {
        if out.chars().count() >= 200 {
            break;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out.chars().take(200).collect()
}

impl Tandem {
    /// Accept items for the automation `slug`. All or nothing: when any item is invalid,
    /// none is accepted and the error lists each bad item by its position.
    pub async fn submit(
        &self,
        actor: &Actor,
        slug: &str,
        items: Vec<Submission>,
    ) -> ServiceResult<Vec<Inserted>> {
        actor.require(Role::Builder, "submit items")?;
        if items.is_empty() {
            return Err(ServiceError::invalid("no items: send at least one"));
        }
        if items.len() > MAX_BATCH {
            return Err(ServiceError::TooLarge(format!(
                "{} items in one request; send at most {MAX_BATCH} at a time",
                items.len()
            )));
        }
        let ws = actor.workspace();
        let (automation, compiled) = self.active(ws, slug).await?;
        let mut new = Vec::with_capacity(items.len());
        let mut errors = Vec::new();
        let mut too_large = None;
        for (i, s) in items.iter().enumerate() {
            if let Some(k) = &s.idempotency_key
                && (k.is_empty() || k.len() > 200)
            {
                errors.push(format!(
                    "item {i}: the idempotency key must be 1 to 200 characters"
                ));
                continue;
            }
            match ItemInput::parse(&compiled.def, &s.input) {
                Ok(input) => new.push(NewItem {
                    preview: preview(&input),
                    input: input.to_json(),
                    idempotency_key: s.idempotency_key.clone(),
                }),
                Err(e) => {
                    if e.is_too_large() {
                        too_large.get_or_insert_with(|| e.to_string());
                    }
                    errors.push(if items.len() == 1 {
                        e.to_string()
                    } else {
                        format!("item {i}: {e}")
                    });
                }
            }
        }
        if let Some(msg) = too_large
            && errors.len() == 1
        {
            return Err(ServiceError::TooLarge(msg));
        }
        if !errors.is_empty() {
            let message = if errors.len() == 1 {
                errors[0].clone()
            } else {
                format!("{} items are invalid; none was accepted", errors.len())
            };
            return Err(ServiceError::invalid_with(message, errors));
        }
        let inserted = self
            .store
            .insert_items(ws, automation.id, &new, self.now())
            .await?;
        self.work_ready.notify_waiters();
        Ok(inserted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preview_is_short_single_spaced_text() {
        let def = tandem_domain::AutomationDef::parse(
            "name = \"x\"\nslug = \"x\"\n[[fields]]\nname = \"e\"\ntype = \"email\"\n",
        )
        .unwrap();
        let long = format!("Hello\n\n  there {}", "word ".repeat(100));
        let input = ItemInput::parse(&def, &serde_json::json!({ "text": long })).unwrap();
        let p = preview(&input);
        assert!(p.starts_with("Hello there word"));
        assert!(p.chars().count() <= 200);
    }
}
