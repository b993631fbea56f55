//! The `[rollout]` and `[gate]` sections of a definition: how a new automation starts,
//! when the correction-rate guard pauses it, and the evidence it needs before going live.
//!
//! ```toml
//! [rollout]
//! start = "shadow"              # draft (default) or shadow; without [rollout] it starts live
//! guard_window = 50             # the live version's last N reviewed items ...
//! guard_correction_rate = 0.25  # ... pause automatic acceptance above this share corrected
//!
//! [gate]
//! min_shadow_decided = 200      # shadow items decided by people
//! min_field_agreement = 0.95    # on each required field
//! min_route_agreement = 0.95
//! edge_cases_must_pass = true
//! team_hours_per_week = 6       # the review time the team says it has
//! ```

use serde::{Deserialize, Serialize};

use super::walk::{Table, Walker};
use crate::stage::Stage;

const CARD_KEYS: &[&str] = &["why", "asked_by", "when_wrong"];
const ROLLOUT_KEYS: &[&str] = &["start", "guard_window", "guard_correction_rate", "modes"];
const GATE_KEYS: &[&str] = &[
    "min_shadow_decided",
    "min_field_agreement",
    "min_route_agreement",
    "edge_cases_must_pass",
    "team_hours_per_week",
];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RolloutDef {
    /// The stage a newly created automation starts in.
    pub start: Stage,
    pub guard_window: u32,
    pub guard_correction_rate: f64,
    /// Per field (or `route`): how far it is trusted while the automation is live.
    pub modes: std::collections::BTreeMap<String, FieldMode>,
}

/// How far one field (or the route) is trusted, step by step: in `shadow` the reviewer
/// fills it in without seeing the automation's value (which is still measured); in
/// `suggest` the value is pre-filled for the reviewer; `automatic` accepts it on its own
/// inside the reliable range. A field short of automatic sends every item to a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldMode {
    Shadow,
    Suggest,
    Automatic,
}

impl FieldMode {
    pub fn parse(s: &str) -> Option<FieldMode> {
        match s {
            "shadow" => Some(FieldMode::Shadow),
            "suggest" => Some(FieldMode::Suggest),
            "automatic" => Some(FieldMode::Automatic),
            _ => None,
        }
    }

    /// The reason code an item carries when this mode holds it for a person.
    pub fn reason_code(self) -> Option<&'static str> {
        match self {
            FieldMode::Shadow => Some("field_shadow"),
            FieldMode::Suggest => Some("field_suggest"),
            FieldMode::Automatic => None,
        }
    }
}

pub const DEFAULT_GUARD_WINDOW: u32 = 50;
pub const DEFAULT_GUARD_CORRECTION_RATE: f64 = 0.25;

impl Default for RolloutDef {
    fn default() -> Self {
        Self {
            start: Stage::Draft,
            guard_window: DEFAULT_GUARD_WINDOW,
            guard_correction_rate: DEFAULT_GUARD_CORRECTION_RATE,
            modes: std::collections::BTreeMap::new(),
        }
    }
}

/// The thresholds of the readiness gate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GateDef {
    pub min_shadow_decided: u32,
    pub min_field_agreement: f64,
    pub min_route_agreement: f64,
    pub edge_cases_must_pass: bool,
    /// Review hours a week the team says it can give; the gate needs it to judge volume.
    pub team_hours_per_week: Option<f64>,
}

impl Default for GateDef {
    fn default() -> Self {
        Self {
            min_shadow_decided: 200,
            min_field_agreement: 0.95,
            min_route_agreement: 0.95,
            edge_cases_must_pass: true,
            team_hours_per_week: None,
        }
    }
}

/// The words on the automation card that only people can write (`[card]`); the rest of
/// the card is computed from the data.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CardDef {
    /// Why the automation exists (defaults to the description).
    pub why: Option<String>,
    /// Who asked for it.
    pub asked_by: Option<String>,
    /// What to do when it is wrong, beyond the usual.
    pub when_wrong: Option<String>,
}

pub(super) fn parse_card(w: &mut Walker<'_>, top: &Table<'_>) -> CardDef {
    let Some(t) = w.table(top, "card", "") else {
        return CardDef::default();
    };
    w.check_keys(t, CARD_KEYS, "card");
    CardDef {
        why: w.string(t, "why", "card"),
        asked_by: w.string(t, "asked_by", "card"),
        when_wrong: w.string(t, "when_wrong", "card"),
    }
}

pub(super) fn parse_rollout(w: &mut Walker<'_>, top: &Table<'_>, targets: &[&str]) -> Option<RolloutDef> {
    let t = w.table(top, "rollout", "")?;
    w.check_keys(t, ROLLOUT_KEYS, "rollout");
    let start = match w.string(t, "start", "rollout") {
        None => Stage::Draft,
        Some(s) => match s.parse::<Stage>() {
            Ok(st @ (Stage::Draft | Stage::Shadow | Stage::Live)) => st,
            _ => {
                let at = Walker::offset_of(t, "start").unwrap_or(0);
                w.error_at(
                    at,
                    "rollout.start",
                    format!("{s:?} is not a starting stage; expected draft, shadow or live"),
                );
                Stage::Draft
            }
        },
    };
    let mut modes = std::collections::BTreeMap::new();
    if let Some(m) = w.table(t, "modes", "rollout") {
        for key in m.keys() {
            let name: &str = key.get_ref();
            let path = format!("rollout.modes.{name}");
            if !targets.contains(&name) {
                w.error_at(
                    key.span().start,
                    &path,
                    format!(
                        "not a field of this automation; expected one of: {}",
                        targets.join(", ")
                    ),
                );
                continue;
            }
            let at = Walker::offset_of(m, name).unwrap_or(0);
            match w
                .string(m, name, "rollout.modes")
                .as_deref()
                .map(|v| (v, FieldMode::parse(v)))
            {
                Some((_, Some(mode))) => {
                    modes.insert(name.to_owned(), mode);
                }
                Some((v, None)) => w.error_at(
                    at,
                    &path,
                    format!("{v:?} is not a mode; expected shadow, suggest or automatic"),
                ),
                None => {}
            }
        }
    }
    Some(RolloutDef {
        modes,
        start,
        guard_window: w
            .number(t, "guard_window", "rollout", 1.0, 100_000.0)
            .map_or(DEFAULT_GUARD_WINDOW, |n| n as u32),
        guard_correction_rate: w
            .number(t, "guard_correction_rate", "rollout", 0.0, 1.0)
            .unwrap_or(DEFAULT_GUARD_CORRECTION_RATE),
    })
}

pub(super) fn parse_gate(w: &mut Walker<'_>, top: &Table<'_>) -> GateDef {
    let Some(t) = w.table(top, "gate", "") else {
        return GateDef::default();
    };
    w.check_keys(t, GATE_KEYS, "gate");
    let d = GateDef::default();
    GateDef {
        min_shadow_decided: w
            .number(t, "min_shadow_decided", "gate", 0.0, 1e9)
            .map_or(d.min_shadow_decided, |n| n as u32),
        min_field_agreement: w
            .number(t, "min_field_agreement", "gate", 0.0, 1.0)
            .unwrap_or(d.min_field_agreement),
        min_route_agreement: w
            .number(t, "min_route_agreement", "gate", 0.0, 1.0)
            .unwrap_or(d.min_route_agreement),
        edge_cases_must_pass: w
            .bool(t, "edge_cases_must_pass", "gate")
            .unwrap_or(d.edge_cases_must_pass),
        team_hours_per_week: w.number(t, "team_hours_per_week", "gate", 0.0, 10_000.0),
    }
}

#[cfg(test)]
mod tests {
    use crate::definition::AutomationDef;
    use crate::stage::Stage;

    const BASE: &str = "name = \"X\"\nslug = \"x\"\n[[fields]]\nname = \"e\"\ntype = \"email\"\n";

    #[test]
    fn without_sections_an_automation_starts_live_with_default_gate() {
        let def = AutomationDef::parse(BASE).unwrap();
        assert!(def.rollout.is_none());
        assert_eq!(def.start_stage(), Stage::Live);
        assert_eq!(def.gate.min_shadow_decided, 200);
        assert_eq!(def.gate.min_field_agreement, 0.95);
        assert!(def.gate.edge_cases_must_pass);
    }

    #[test]
    fn sections_are_read_and_checked_with_positions() {
        let src = format!(
            "{BASE}[rollout]\nstart = \"shadow\"\nguard_window = 20\n[gate]\nmin_shadow_decided = 10\nteam_hours_per_week = 4\n"
        );
        let def = AutomationDef::parse(&src).unwrap();
        assert_eq!(def.start_stage(), Stage::Shadow);
        assert_eq!(def.rollout.as_ref().unwrap().guard_window, 20);
        assert_eq!(def.gate.min_shadow_decided, 10);
        assert_eq!(def.gate.team_hours_per_week, Some(4.0));

        let modes = format!("{BASE}[rollout]\n[rollout.modes]\ne = \"suggest\"\n");
        let def = AutomationDef::parse(&modes).unwrap();
        assert_eq!(def.field_mode("e"), super::FieldMode::Suggest);
        assert_eq!(def.field_mode("route"), super::FieldMode::Automatic);
        let errs: Vec<String> =
            AutomationDef::parse(&format!("{BASE}[rollout.modes]\ne = \"later\"\nx = \"shadow\"\n"))
                .unwrap_err()
                .iter()
                .map(ToString::to_string)
                .collect();
        assert_eq!(errs.len(), 2, "{errs:#?}");
        assert!(
            errs[0].contains("rollout.modes.e: \"later\" is not a mode"),
            "{}",
            errs[0]
        );
        assert!(
            errs[1].contains("rollout.modes.x: not a field of this automation; expected one of: e"),
            "{}",
            errs[1]
        );

        let bad = format!(
            "{BASE}[rollout]\nstart = \"paused\"\n[gate]\nmin_field_agreement = 1.5\nmin_shadow = 3\n"
        );
        let errs: Vec<String> = AutomationDef::parse(&bad)
            .unwrap_err()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(errs.len(), 3, "{errs:#?}");
        assert!(
            errs[0].starts_with("line 7, column 9: rollout.start: \"paused\" is not a starting stage"),
            "{}",
            errs[0]
        );
        assert!(
            errs[1].starts_with("line 9, column 23: gate.min_field_agreement: expected a number from 0 to 1"),
            "{}",
            errs[1]
        );
        assert!(
            errs[2].starts_with("line 10, column 1: gate.min_shadow: unknown key"),
            "{}",
            errs[2]
        );
    }
}
