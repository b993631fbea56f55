//! How often the automation and the people agree, per field and for the route, over items
//! a person decided. In shadow every item is decided, so this is the evidence for going
//! live; the reviewer's accepted result is the ground truth.

use serde::Serialize;
use serde_json::Value;
use tandem_domain::{AutomationDef, ItemStatus};
use tandem_engine::pipeline::Outcome;
use tandem_store::DecidedItem;

/// Agreement on one field (or the route).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Measure {
    pub name: String,
    pub required: bool,
    /// Items where a person accepted a result, so there is something to compare.
    pub compared: u32,
    /// ... of which the automation's value was the accepted one.
    pub agreed: u32,
}

impl Measure {
    /// `None` until something has been compared.
    pub fn rate(&self) -> Option<f64> {
        (self.compared > 0).then(|| f64::from(self.agreed) / f64::from(self.compared))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Agreement {
    /// Items decided (approved, corrected or rejected).
    pub decided: u32,
    /// Rejected items carry no accepted result and are not compared.
    pub rejected: u32,
    /// Items the engine alone would have sent to the inbox (outside the reliable range).
    pub would_review: u32,
    /// Items the engine would have accepted on its own, and how many of those people
    /// accepted unchanged: the precision of automatic acceptance.
    pub would_accept: u32,
    pub would_accept_agreed: u32,
    pub fields: Vec<Measure>,
    pub route: Option<Measure>,
    /// The median seconds a person spent on one of these items.
    pub median_seconds: Option<f64>,
}

/// Compare what the automation produced with what people accepted.
pub fn agreement(def: &AutomationDef, items: &[DecidedItem]) -> Agreement {
    let mut fields: Vec<Measure> = def
        .fields
        .iter()
        .map(|f| Measure {
            name: f.name.clone(),
            required: f.required,
            compared: 0,
            agreed: 0,
        })
        .collect();
    let mut route = def.route.as_ref().map(|_| Measure {
        name: "route".into(),
        required: true,
        compared: 0,
        agreed: 0,
    });
    let mut out = Agreement {
        decided: 0,
        rejected: 0,
        would_review: 0,
        would_accept: 0,
        would_accept_agreed: 0,
        fields: Vec::new(),
        route: None,
        median_seconds: None,
    };
    let mut seconds: Vec<f64> = Vec::new();
    for item in items {
        out.decided += 1;
        if let Some(s) = item.seconds.filter(|s| s.is_finite()) {
            seconds.push(s);
        }
        let outcome: Option<Outcome> = item.outcome.as_deref().and_then(|o| serde_json::from_str(o).ok());
        let engine_review = outcome.as_ref().is_none_or(Outcome::needs_review);
        if engine_review {
            out.would_review += 1;
        } else {
            out.would_accept += 1;
        }
        if item.status == ItemStatus::Rejected {
            out.rejected += 1;
            continue;
        }
        let Some(accepted) = item
            .final_result
            .as_deref()
            .and_then(|r| serde_json::from_str::<Value>(r).ok())
        else {
            continue;
        };
        let said = outcome.as_ref().map_or(Value::Null, Outcome::result);
        let mut all_agree = true;
        for m in &mut fields {
            m.compared += 1;
            if said["fields"][&m.name] == accepted["fields"][&m.name] {
                m.agreed += 1;
            } else {
                all_agree = false;
            }
        }
        if let Some(m) = &mut route {
            m.compared += 1;
            if said["route"] == accepted["route"] {
                m.agreed += 1;
            } else {
                all_agree = false;
            }
        }
        if !engine_review && all_agree && item.status == ItemStatus::Approved {
            out.would_accept_agreed += 1;
        }
    }
    seconds.sort_by(f64::total_cmp);
    out.median_seconds = match seconds.len() {
        0 => None,
        n if n % 2 == 1 => Some(seconds[n / 2]),
        n => Some((seconds[n / 2 - 1] + seconds[n / 2]) / 2.0),
    };
    out.fields = fields;
    out.route = route;
    out
}
