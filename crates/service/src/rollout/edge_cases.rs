//! The team's edge cases: inputs with their expected results, added from an item ("add as
//! edge case"), imported from JSONL, or proposed automatically from inbox corrections
//! (one case per input). The champion accepts or declines each proposal; the accepted
//! ones are a regression suite that runs on every new version and on demand
//! (`tandem test SLUG`).

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use tandem_domain::{AutomationDef, AutomationId, ItemId, Role, VersionId, WorkspaceId};
use tandem_engine::pipeline::{Outcome, normalize};
use tandem_store::{Automation, EdgeCase, EdgeCaseStatus, Item, NewEdgeCase, NewEdgeCaseResult};

use crate::auth::Actor;
use crate::{ServiceError, ServiceResult, Tandem};

/// What a person sends to add a case.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct EdgeCaseInput {
    /// The expected result, `{"fields": {...}, "route": "..."}`; from an item, its
    /// accepted result when omitted.
    #[serde(default)]
    pub expected: Option<Value>,
    #[serde(default)]
    pub note: String,
}

/// One case's run on a version.
#[derive(Debug, Clone, Serialize)]
pub struct CaseRun {
    pub id: i64,
    pub note: String,
    /// `pass`, `fail`, or `changed` (passes, but the output differs from the last run on
    /// another version).
    pub status: String,
    /// For a failure, what differs (`field: expected X, got Y`); for a change, what moved.
    pub diff: Vec<String>,
    pub output: Value,
}

#[derive(Debug, Clone, Serialize)]
pub struct SuiteReport {
    pub automation: String,
    pub version: i64,
    pub cases: Vec<CaseRun>,
    pub passed: usize,
    pub failed: usize,
    pub changed: usize,
}

impl SuiteReport {
    /// A failing accepted case is a regression: the suite gates the version.
    pub fn is_regression(&self) -> bool {
        self.failed > 0
    }
}

/// A proposed case for `input`, deduplicated on the input's hash.
fn new_case(
    automation: AutomationId,
    input: &BTreeMap<String, String>,
    expected: &Value,
    note: String,
    origin: &str,
    source_item: Option<ItemId>,
) -> ServiceResult<NewEdgeCase> {
    Ok(NewEdgeCase {
        automation_id: automation,
        input: serde_json::to_string(input).map_err(|e| ServiceError::Internal(e.to_string()))?,
        input_hash: input_hash(input),
        expected: expected.to_string(),
        note,
        origin: origin.into(),
        source_item,
        added_by: None,
        status: EdgeCaseStatus::Proposed,
    })
}

fn input_hash(input: &BTreeMap<String, String>) -> String {
    let mut h = Sha256::new();
    for (k, v) in input {
        h.update(k.as_bytes());
        h.update([0u8]);
        h.update(v.as_bytes());
        h.update([1u8]);
    }
    hex::encode(h.finalize())
}

/// Check an expected result against the definition and write its values the way the
/// engine writes them, so "9" and "9.00" compare equal.
pub fn normalize_expected(def: &AutomationDef, expected: &Value) -> Result<Value, Vec<String>> {
    let mut errors = Vec::new();
    let Some(obj) = expected.as_object() else {
        return Err(vec![
            "expected must be an object like {\"fields\": {...}, \"route\": \"...\"}".into(),
        ]);
    };
    for k in obj.keys() {
        if k != "fields" && k != "route" {
            errors.push(format!("expected.{k}: unknown key; expected fields or route"));
        }
    }
    let mut fields = Map::new();
    if let Some(f) = obj.get("fields") {
        match f.as_object() {
            None => errors.push("expected.fields must be an object of field values".into()),
            Some(f) => {
                for (name, raw) in f {
                    let Some(field) = def.field(name) else {
                        errors.push(format!("expected.fields.{name}: there is no field of that name"));
                        continue;
                    };
                    let opts = field.pattern_options();
                    let one = |s: &str| normalize(field.kind, s, &opts).map_err(|e| e.to_string());
                    let v = match raw {
                        Value::Null => Ok(Value::Null),
                        Value::String(s) if !field.multi => one(s).map(Value::String),
                        Value::Number(n) if !field.multi => one(&n.to_string()).map(Value::String),
                        Value::Array(xs) if field.multi => xs
                            .iter()
                            .map(|x| {
                                x.as_str()
                                    .ok_or_else(|| "each value must be text".to_owned())
                                    .and_then(one)
                                    .map(Value::String)
                            })
                            .collect::<Result<Vec<_>, _>>()
                            .map(Value::Array),
                        _ if field.multi => Err("expected a list of values".into()),
                        _ => Err("expected text".into()),
                    };
                    match v {
                        Ok(v) => {
                            fields.insert(name.clone(), v);
                        }
                        Err(e) => errors.push(format!("expected.fields.{name}: {e}")),
                    }
                }
            }
        }
    }
    let mut out = serde_json::json!({ "fields": fields });
    if let Some(r) = obj.get("route") {
        let labels = def.route_labels();
        match r {
            _ if def.route.is_none() => errors.push("expected.route: this automation does not route".into()),
            Value::String(s) if labels.is_empty() || labels.contains(s) => out["route"] = r.clone(),
            Value::String(s) => errors.push(format!(
                "expected.route: {s:?} is not one of {}",
                labels.join(", ")
            )),
            Value::Null => out["route"] = Value::Null,
            _ => errors.push("expected.route must be text".into()),
        }
    }
    if obj.get("fields").is_none() && obj.get("route").is_none() {
        errors.push("expected names no field and no route: there is nothing to check".into());
    }
    if errors.is_empty() { Ok(out) } else { Err(errors) }
}

/// What differs between the expected result and an output, for the keys the case names.
pub fn compare(expected: &Value, output: &Value) -> Vec<String> {
    let mut diff = Vec::new();
    if let Some(fields) = expected["fields"].as_object() {
        for (name, want) in fields {
            let got = &output["fields"][name];
            if got != want {
                diff.push(format!("{name}: expected {want}, got {got}"));
            }
        }
    }
    if let Some(want) = expected.get("route") {
        let got = &output["route"];
        if got != want {
            diff.push(format!("route: expected {want}, got {got}"));
        }
    }
    diff
}

impl Tandem {
    fn parse_input(def: &AutomationDef, input: &Value) -> ServiceResult<BTreeMap<String, String>> {
        let parsed = tandem_domain::ItemInput::parse(def, input)?;
        Ok(parsed.fields().clone())
    }

    /// Store a case; the champion's own cases are accepted at once, others proposed.
    async fn add_case(
        &self,
        actor: &Actor,
        ws: WorkspaceId,
        a: &Automation,
        mut new: NewEdgeCase,
    ) -> ServiceResult<(EdgeCase, bool)> {
        let is_champion = self
            .require_champion(actor, a.id, "accept edge cases")
            .await
            .is_ok();
        new.added_by = Some(actor.user.id);
        new.status = if is_champion {
            EdgeCaseStatus::Accepted
        } else {
            EdgeCaseStatus::Proposed
        };
        Ok(self.store.add_edge_case(ws, &new, self.now()).await?)
    }

    /// "Add as edge case" from an item: its input, the expected result (the item's
    /// accepted result unless given), and a note saying why it is tricky.
    pub async fn add_edge_case_from_item(
        &self,
        actor: &Actor,
        id: ItemId,
        add: EdgeCaseInput,
    ) -> ServiceResult<(EdgeCase, bool)> {
        actor.require(Role::Reviewer, "add edge cases")?;
        let ws = actor.workspace();
        let note = add.note.trim().to_owned();
        if note.is_empty() {
            return Err(ServiceError::invalid("say why this case is tricky (note)"));
        }
        let item = self.store.item(ws, id).await?;
        let a = self.store.automation(ws, item.automation_id).await?;
        let version = item
            .version_id
            .or(a.active_version_id)
            .ok_or(ServiceError::Conflict("the automation has no version".into()))?;
        let c = self.compiled(ws, version).await?;
        let expected = match add.expected {
            Some(e) => e,
            None => item
                .final_result
                .as_deref()
                .and_then(|r| serde_json::from_str(r).ok())
                .ok_or_else(|| {
                    ServiceError::invalid(
                        "this item has no accepted result yet: give the expected result, or decide the item first",
                    )
                })?,
        };
        let expected = normalize_expected(&c.def, &expected)
            .map_err(|errs| ServiceError::invalid_with("the expected result is not valid", errs))?;
        let input: BTreeMap<String, String> = serde_json::from_str(&item.input)
            .map_err(|e| ServiceError::Internal(format!("stored input is not readable: {e}")))?;
        let new = new_case(a.id, &input, &expected, note, "manual", Some(id))?;
        self.add_case(actor, ws, &a, new).await
    }

    /// Import cases from JSONL: one `{"input": {...}, "expected": {...}, "note": "..."}` a
    /// line. Nothing is imported when any line is wrong; every wrong line is reported.
    pub async fn import_edge_cases(
        &self,
        actor: &Actor,
        slug: &str,
        jsonl: &str,
    ) -> ServiceResult<(usize, usize)> {
        actor.require(Role::Reviewer, "import edge cases")?;
        let ws = actor.workspace();
        let (a, c) = self.active(ws, slug).await?;
        let mut rows = Vec::new();
        let mut errors = Vec::new();
        for (n, line) in jsonl.lines().enumerate() {
            let line_no = n + 1;
            if line.trim().is_empty() {
                continue;
            }
            let v: Value = match serde_json::from_str(line) {
                Ok(v) => v,
                Err(e) => {
                    errors.push(format!("line {line_no}, column {}: {e}", e.column()));
                    continue;
                }
            };
            let input = match v.get("input") {
                Some(i) => Self::parse_input(&c.def, i).map_err(|e| e.to_string()),
                None => Err("input is required".into()),
            };
            let expected = match v.get("expected") {
                Some(e) => normalize_expected(&c.def, e).map_err(|es| es.join("; ")),
                None => Err("expected is required".into()),
            };
            let note = v
                .get("note")
                .and_then(Value::as_str)
                .unwrap_or("")
                .trim()
                .to_owned();
            match (input, expected) {
                (Ok(i), Ok(e)) => rows.push((i, e, if note.is_empty() { "imported".into() } else { note })),
                (i, e) => {
                    for msg in [i.err(), e.err()].into_iter().flatten() {
                        errors.push(format!("line {line_no}: {msg}"));
                    }
                }
            }
        }
        if !errors.is_empty() {
            return Err(ServiceError::invalid_with(
                format!(
                    "{} line(s) are not valid edge cases; nothing was imported",
                    errors.len()
                ),
                reported(errors),
            ));
        }
        let (mut added, mut duplicates) = (0, 0);
        for (input, expected, note) in rows {
            let (_, created) = self
                .add_case(
                    actor,
                    ws,
                    &a,
                    new_case(a.id, &input, &expected, note, "import", None)?,
                )
                .await?;
            if created {
                added += 1;
            } else {
                duplicates += 1;
            }
        }
        Ok((added, duplicates))
    }

    /// A correction in the inbox becomes a proposed case (once per input).
    pub(crate) async fn propose_from_correction(&self, item: &Item) -> ServiceResult<()> {
        let ws = item.workspace_id;
        let a = self.store.automation(ws, item.automation_id).await?;
        let Some(expected) = item
            .final_result
            .as_deref()
            .and_then(|r| serde_json::from_str::<Value>(r).ok())
        else {
            return Ok(());
        };
        let input: BTreeMap<String, String> = serde_json::from_str(&item.input)
            .map_err(|e| ServiceError::Internal(format!("stored input is not readable: {e}")))?;
        let mut new = new_case(
            a.id,
            &input,
            &expected,
            format!("corrected in the inbox (item {})", item.id),
            "correction",
            Some(item.id),
        )?;
        new.added_by = item.decided_by;
        self.store.add_edge_case(ws, &new, self.now()).await?;
        Ok(())
    }

    pub async fn edge_cases(
        &self,
        actor: &Actor,
        slug: &str,
        status: Option<EdgeCaseStatus>,
    ) -> ServiceResult<Vec<EdgeCase>> {
        let ws = actor.workspace();
        let a = self.automation_named(ws, slug).await?;
        Ok(self.store.list_edge_cases(ws, a.id, status).await?)
    }

    /// The champion accepts or declines a proposed case.
    pub async fn decide_edge_case(&self, actor: &Actor, id: i64, accept: bool) -> ServiceResult<EdgeCase> {
        let ws = actor.workspace();
        let case = self.store.edge_case(ws, id).await?;
        self.require_champion(actor, case.automation_id, "accept or decline edge cases")
            .await?;
        let status = if accept {
            EdgeCaseStatus::Accepted
        } else {
            EdgeCaseStatus::Declined
        };
        Ok(self
            .store
            .decide_edge_case(ws, id, status, actor.user.id, self.now())
            .await?)
    }

    /// Run the accepted cases on the active version, or on version `number`.
    pub async fn run_suite(
        &self,
        actor: &Actor,
        slug: &str,
        number: Option<i64>,
    ) -> ServiceResult<SuiteReport> {
        let ws = actor.workspace();
        let a = self.automation_named(ws, slug).await?;
        let version = match number {
            Some(n) => self.version_numbered(ws, &a, n).await?.id,
            None => a
                .active_version_id
                .ok_or(ServiceError::Conflict(format!("{slug} has no version yet")))?,
        };
        self.run_suite_on(ws, &a, version).await
    }

    pub(crate) async fn run_suite_on(
        &self,
        ws: WorkspaceId,
        a: &Automation,
        version: VersionId,
    ) -> ServiceResult<SuiteReport> {
        let c = self.compiled(ws, version).await?;
        let cases = self
            .store
            .list_edge_cases(ws, a.id, Some(EdgeCaseStatus::Accepted))
            .await?;
        let previous = self.store.latest_edge_case_results(ws, a.id, None).await?;
        let compiled = c.clone();
        let outputs: Vec<(EdgeCase, Value)> = tokio::task::spawn_blocking(move || {
            cases
                .into_iter()
                .map(|case| {
                    let input: BTreeMap<String, String> =
                        serde_json::from_str(&case.input).unwrap_or_default();
                    let outcome: Outcome =
                        tandem_engine::pipeline::run(&compiled.spec, &compiled.models, &input);
                    (case, outcome.result())
                })
                .collect()
        })
        .await
        .map_err(|e| ServiceError::Internal(format!("edge-case suite stopped: {e}")))?;
        let mut report = SuiteReport {
            automation: a.slug.clone(),
            version: c.version.number,
            cases: Vec::new(),
            passed: 0,
            failed: 0,
            changed: 0,
        };
        let mut results = Vec::new();
        for (case, output) in outputs {
            let expected: Value = serde_json::from_str(&case.expected).unwrap_or(Value::Null);
            let diff = compare(&expected, &output);
            let before = previous
                .iter()
                .find(|r| r.edge_case_id == case.id && r.version_id != version)
                .and_then(|r| serde_json::from_str::<Value>(&r.output).ok());
            let (status, diff) = if !diff.is_empty() {
                report.failed += 1;
                ("fail", diff)
            } else if let Some(before) = before.filter(|b| *b != output) {
                report.changed += 1;
                (
                    "changed",
                    compare(&before, &output)
                        .into_iter()
                        .map(|d| d.replacen("expected", "was", 1))
                        .collect(),
                )
            } else {
                report.passed += 1;
                ("pass", Vec::new())
            };
            results.push(NewEdgeCaseResult {
                edge_case_id: case.id,
                version_id: version,
                status: status.into(),
                output: output.to_string(),
            });
            report.cases.push(CaseRun {
                id: case.id,
                note: case.note,
                status: status.into(),
                diff,
                output,
            });
        }
        self.store
            .record_edge_case_results(ws, a.id, &results, self.now())
            .await?;
        Ok(report)
    }
}

/// The first errors of an import, each cut to a readable length: a few megabytes of bad
/// lines must not answer tens of megabytes of messages (issue 21).
fn reported(errors: Vec<String>) -> Vec<String> {
    const SHOWN: usize = 20;
    const CHARS: usize = 300;
    let more = errors.len().saturating_sub(SHOWN);
    let mut out: Vec<String> = errors
        .into_iter()
        .take(SHOWN)
        .map(|e| match e.char_indices().nth(CHARS) {
            Some((at, _)) => format!("{}…", &e[..at]),
            None => e,
        })
        .collect();
    if more > 0 {
        out.push(format!("… and {more} more line(s) with errors"));
    }
    out
}
