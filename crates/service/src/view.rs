//! Items as people and API clients see them: the stored outcome turned into values,
//! confidences, evidence with its text, and reasons in words.

use std::collections::BTreeMap;

use serde::Serialize;
use tandem_domain::{ItemId, ItemStatus, Millis, Role};
use tandem_engine::pipeline::{Outcome, Reason};
use tandem_store::{AuditEvent, Delivery, DeliveryFilter, Item};

use crate::auth::Actor;
use crate::{ServiceResult, Tandem};

#[derive(Debug, Clone, Serialize)]
pub struct ReasonView {
    pub code: String,
    pub message: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct EvidenceView {
    pub input: String,
    pub start: usize,
    pub end: usize,
    pub text: String,
    /// Where the text sits on the document's pages (one box per line), when the item came
    /// from a document with pages.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub boxes: Vec<tandem_engine::layout::PageBox>,
}

/// The document an item was made from.
#[derive(Debug, Clone, Serialize)]
pub struct DocumentView {
    pub file_name: String,
    pub media_type: String,
    pub size_bytes: i64,
    pub sha256: String,
    pub pages: Vec<PageView>,
    /// The input field that holds the document's text.
    pub input: Option<String>,
    /// Whether the original is still kept (retention removes it; text and boxes stay).
    pub original_kept: bool,
    /// The item this one came with (an attachment's message).
    pub parent_item: Option<ItemId>,
    /// The items that came with this one (a message's attachments).
    pub attachments: Vec<LinkedView>,
    /// What in the file could not be read (an attachment of a kind Tandem does not read).
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LinkedView {
    pub item: ItemId,
    pub file_name: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct PageView {
    /// 1-based.
    pub number: usize,
    pub width: f64,
    pub height: f64,
    pub reading: tandem_engine::layout::Reading,
}

#[derive(Debug, Clone, Serialize)]
pub struct FieldView {
    pub name: String,
    pub kind: String,
    pub required: bool,
    pub multi: bool,
    pub threshold: f64,
    pub value: Option<serde_json::Value>,
    pub confidence: f64,
    pub evidence: Vec<EvidenceView>,
    pub reasons: Vec<ReasonView>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RouteChoiceView {
    pub label: String,
    pub confidence: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct RouteView {
    pub label: Option<String>,
    pub confidence: f64,
    pub threshold: f64,
    pub top: Vec<RouteChoiceView>,
    pub out_of_scope: bool,
    pub reasons: Vec<ReasonView>,
    /// Every route a reviewer may choose.
    pub labels: Vec<String>,
    /// The inputs that weighed most in the model's choice, in words, strongest first.
    pub contributions: Vec<String>,
    /// The definition's rule that decided, narrowed or flagged the route, in words.
    pub rule: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AutomationRef {
    pub slug: String,
    pub name: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ItemView {
    pub id: ItemId,
    pub automation: AutomationRef,
    pub status: ItemStatus,
    pub status_label: &'static str,
    /// The version number whose engine produced the outcome.
    pub version: Option<i64>,
    pub revision: i64,
    pub created_at: Millis,
    pub processed_at: Option<Millis>,
    pub decided_at: Option<Millis>,
    pub input: BTreeMap<String, String>,
    pub fields: Vec<FieldView>,
    pub route: Option<RouteView>,
    /// Every reason, with the field it is about.
    pub reasons: Vec<ReasonView>,
    /// The accepted result, once there is one.
    pub result: Option<serde_json::Value>,
    /// Why processing failed, for a failed item.
    pub error: Option<String>,
    /// The file the item was made from, if any.
    pub document: Option<DocumentView>,
    /// The latest "this looks wrong" report that sent it back to the inbox: who, when, why.
    pub report: Option<tandem_store::EscapedError>,
}

fn reason_view(r: &Reason, subject: &str) -> ReasonView {
    ReasonView {
        code: r.code().to_owned(),
        message: r.describe(subject),
    }
}

impl Tandem {
    pub async fn item_view(&self, actor: &Actor, id: ItemId) -> ServiceResult<ItemView> {
        actor.require(Role::Viewer, "see items")?;
        let ws = actor.workspace();
        let item = self.store.item(ws, id).await?;
        self.view_of(item).await
    }

    pub(crate) async fn view_of(&self, item: Item) -> ServiceResult<ItemView> {
        let ws = item.workspace_id;
        let automation = self.store.automation(ws, item.automation_id).await?;
        let compiled = match item.version_id.or(automation.active_version_id) {
            Some(v) => Some(self.compiled(ws, v).await?),
            None => None,
        };
        let input: BTreeMap<String, String> = serde_json::from_str(&item.input).unwrap_or_default();
        let document = self.store.item_document(ws, item.id).await?;
        let linked = match &document {
            Some(_) => self.store.linked_documents(ws, item.id).await?,
            None => Vec::new(),
        };
        let layout = document
            .as_ref()
            .and_then(|d| d.layout.as_deref())
            .and_then(crate::documents::parse_layout);
        let boxes_of = |e: &tandem_engine::pipeline::Evidence| match &layout {
            Some((name, l)) if *name == e.input => l.boxes(e.span),
            _ => Vec::new(),
        };
        let stored: Option<serde_json::Value> =
            item.outcome.as_deref().and_then(|o| serde_json::from_str(o).ok());
        let error = stored
            .as_ref()
            .and_then(|v| v.get("error"))
            .and_then(|e| e.as_str())
            .map(String::from);
        let outcome: Option<Outcome> = stored.and_then(|v| serde_json::from_value(v).ok());
        let mut fields = Vec::new();
        let mut reasons = Vec::new();
        let mut route = None;
        if let (Some(c), Some(o)) = (&compiled, &outcome) {
            for f in &o.fields {
                let def = c.def.field(&f.name);
                let hidden = item.status.is_open()
                    && c.def.field_mode(&f.name) == tandem_domain::definition::FieldMode::Shadow;
                let rs: Vec<ReasonView> = f.reasons.iter().map(|r| reason_view(r, &f.name)).collect();
                reasons.extend(rs.iter().cloned());
                fields.push(FieldView {
                    name: f.name.clone(),
                    kind: def.map_or("text", |d| d.kind.as_str()).to_owned(),
                    required: def.is_some_and(|d| d.required),
                    multi: def.is_some_and(|d| d.multi),
                    threshold: def.map_or(0.0, |d| d.threshold),
                    // A field in shadow is filled in by the reviewer without a hint.
                    value: f.value.clone().filter(|_| !hidden),
                    confidence: f.confidence,
                    evidence: f
                        .evidence
                        .iter()
                        .filter(|_| !hidden)
                        .map(|e| EvidenceView {
                            input: e.input.clone(),
                            start: e.span.start,
                            end: e.span.end,
                            text: input
                                .get(&e.input)
                                .and_then(|t| e.span.slice(t))
                                .unwrap_or("")
                                .to_owned(),
                            boxes: boxes_of(e),
                        })
                        .collect(),
                    reasons: rs,
                });
            }
            if let Some(r) = &o.route {
                let rs: Vec<ReasonView> = r.reasons.iter().map(|x| reason_view(x, "the route")).collect();
                reasons.extend(rs.iter().cloned());
                route = Some(RouteView {
                    label: r.label.clone().filter(|_| {
                        !(item.status.is_open()
                            && c.def.field_mode("route") == tandem_domain::definition::FieldMode::Shadow)
                    }),
                    confidence: r.confidence,
                    threshold: c.def.route.as_ref().map_or(0.0, |d| d.threshold),
                    top: r
                        .top
                        .iter()
                        .map(|t| RouteChoiceView {
                            label: t.label.clone(),
                            confidence: t.confidence,
                        })
                        .collect(),
                    out_of_scope: r.out_of_scope,
                    reasons: rs,
                    contributions: r.contributions.iter().map(|c| c.what.clone()).collect(),
                    rule: r.rule.clone(),
                    labels: c.def.route_labels(),
                });
            }
        } else if let Some(c) = &compiled {
            // Not processed yet, or failed: show the fields empty so a reviewer can fill them.
            for d in &c.def.fields {
                fields.push(FieldView {
                    name: d.name.clone(),
                    kind: d.kind.as_str().to_owned(),
                    required: d.required,
                    multi: d.multi,
                    threshold: d.threshold,
                    value: None,
                    confidence: 0.0,
                    evidence: Vec::new(),
                    reasons: Vec::new(),
                });
            }
            if let Some(r) = &c.def.route {
                route = Some(RouteView {
                    label: None,
                    confidence: 0.0,
                    threshold: r.threshold,
                    top: Vec::new(),
                    out_of_scope: false,
                    reasons: Vec::new(),
                    contributions: Vec::new(),
                    rule: None,
                    labels: c.def.route_labels(),
                });
            }
        }
        let codes = self.store.item_reasons(ws, item.id).await?;
        let report = if codes.iter().any(|c| c == crate::inbox::REPORTED_WRONG) {
            self.store.wrong_reports(ws, &[item.id]).await?.pop()
        } else {
            None
        };
        for code in codes {
            if let Some(message) = crate::rollout::stage_reason_message(&code) {
                reasons.insert(
                    0,
                    ReasonView {
                        code,
                        message: message.to_owned(),
                    },
                );
            }
        }
        if let Some(e) = &error {
            reasons.push(ReasonView {
                code: "engine_error".into(),
                message: format!("Processing failed: {e}"),
            });
        }
        Ok(ItemView {
            id: item.id,
            automation: AutomationRef {
                slug: automation.slug,
                name: automation.name,
            },
            status: item.status,
            status_label: item.status.label(),
            version: compiled
                .as_ref()
                .filter(|_| item.version_id.is_some())
                .map(|c| c.version.number),
            revision: item.revision,
            created_at: item.created_at,
            processed_at: item.processed_at,
            decided_at: item.decided_at,
            input,
            fields,
            route,
            reasons,
            report,
            result: item
                .final_result
                .as_deref()
                .and_then(|r| serde_json::from_str(r).ok()),
            error,
            document: document.map(|d| DocumentView {
                pages: layout
                    .as_ref()
                    .map(|(_, l)| {
                        l.pages
                            .iter()
                            .enumerate()
                            .map(|(i, p)| PageView {
                                number: i + 1,
                                width: p.width,
                                height: p.height,
                                reading: p.reading,
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
                input: layout.as_ref().map(|(i, _)| i.clone()),
                original_kept: d.purged_at.is_none(),
                parent_item: d.parent_item_id,
                attachments: linked
                    .into_iter()
                    .map(|l| LinkedView {
                        item: l.item_id,
                        file_name: l.file_name,
                    })
                    .collect(),
                notes: d
                    .notes
                    .as_deref()
                    .and_then(|n| serde_json::from_str(n).ok())
                    .unwrap_or_default(),
                file_name: d.file_name,
                media_type: d.media_type,
                size_bytes: d.size_bytes,
                sha256: d.sha256,
            }),
        })
    }

    pub async fn item_history(
        &self,
        actor: &Actor,
        id: ItemId,
    ) -> ServiceResult<(Vec<AuditEvent>, Vec<Delivery>)> {
        actor.require(Role::Viewer, "see items")?;
        let ws = actor.workspace();
        let events = self.store.audit_events(ws, id).await?;
        let deliveries = self
            .store
            .list_deliveries(
                ws,
                &DeliveryFilter {
                    item: Some(id),
                    ..Default::default()
                },
            )
            .await?;
        Ok((events, deliveries))
    }
}

/// A piece of an input text, marked with the fields whose evidence covers it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Segment {
    pub text: String,
    pub fields: Vec<String>,
}

/// Split `text` at every evidence boundary so each piece can be shown marked with the
/// fields it belongs to. Spans that do not fit the text are ignored.
pub fn highlight(text: &str, spans: &[(usize, usize, String)]) -> Vec<Segment> {
    let valid: Vec<&(usize, usize, String)> = spans
        .iter()
        .filter(|(s, e, _)| {
            s < e && *e <= text.len() && text.is_char_boundary(*s) && text.is_char_boundary(*e)
        })
        .collect();
    let mut cuts: Vec<usize> = vec![0, text.len()];
    for (s, e, _) in &valid {
        cuts.push(*s);
        cuts.push(*e);
    }
    cuts.sort_unstable();
    cuts.dedup();
    cuts.windows(2)
        .map(|w| {
            let (a, b) = (w[0], w[1]);
            let fields = valid
                .iter()
                .filter(|(s, e, _)| *s <= a && b <= *e)
                .map(|(_, _, f)| f.clone())
                .collect();
            Segment {
                text: text[a..b].to_owned(),
                fields,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn highlight_splits_at_overlapping_spans() {
        let segs = highlight(
            "Total: 9.00 RM",
            &[
                (7, 11, "total".into()),
                (0, 11, "line".into()),
                (5, 99, "bad".into()),
            ],
        );
        let flat: Vec<(&str, Vec<&str>)> = segs
            .iter()
            .map(|s| (s.text.as_str(), s.fields.iter().map(String::as_str).collect()))
            .collect();
        assert_eq!(
            flat,
            vec![
                ("Total: ", vec!["line"]),
                ("9.00", vec!["total", "line"]),
                (" RM", vec![])
            ]
        );
    }
}
