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

const ROLLOUT_KEYS: &[&str] = &["start", "guard_window", "guard_correction_rate"];
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
}

pub const DEFAULT_GUARD_WINDOW: u32 = 50;
pub const DEFAULT_GUARD_CORRECTION_RATE: f64 = 0.25;

impl Default for RolloutDef {
    fn default() -> Self {
        Self {
            start: Stage::Draft,
            guard_window: DEFAULT_GUARD_WINDOW,
            guard_correction_rate: DEFAULT_GUARD_CORRECTION_RATE,
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

pub(super) fn parse_rollout(w: &mut Walker<'_>, top: &Table<'_>) -> Option<RolloutDef> {
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
    Some(RolloutDef {
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
