//! The demo's automation in shadow: "Support requests" routes the same kind of requests
//! as the live "Customer requests", trained on two thirds of the CLINC150 training sample;
//! requests from the other third (which it never saw) run through shadow. Its champion
//! has decided the first of them with their true team, so the rollout page shows real
//! agreement and a readiness gate with part of its evidence; the rest wait in the inbox.

use serde::Deserialize;
use tandem_domain::{Decision, DecisionAction, ItemId, WorkspaceId};
use tandem_service::Tandem;
use tandem_service::auth::Actor;
use tandem_service::automations::TrainingFiles;
use tandem_service::intake::Submission;
use tandem_store::ItemFilter;

const SOURCE: &str = include_str!("../../../../examples/support-requests.toml");
const EXAMPLES: &str = include_str!("../../../../examples/data/customer-requests.train.jsonl");
/// Requests replayed through shadow, and how many of them the champion decides.
const ITEMS: usize = 60;
const DECIDED: usize = 40;

pub struct Shadow {
    pub name: String,
    pub slug: String,
    pub decided: u32,
    pub green: bool,
}

#[derive(Deserialize)]
struct Example {
    text: String,
    label: String,
}

/// (training lines, held-out in-scope examples): every third example is held out.
fn split() -> anyhow::Result<(String, Vec<Example>)> {
    let mut train = String::new();
    let mut held = Vec::new();
    for (n, line) in EXAMPLES.lines().enumerate() {
        if n % 3 == 2 {
            let e: Example = serde_json::from_str(line)?;
            if e.label != "oos" {
                held.push(e);
            }
        } else {
            train.push_str(line);
            train.push('\n');
        }
    }
    // Spread the replayed requests over every team, not the first few in file order.
    let step = (held.len() / ITEMS).max(1);
    let held = held.into_iter().step_by(step).take(ITEMS).collect();
    Ok((train, held))
}

pub async fn seed(tandem: &Tandem, ws: WorkspaceId, admin: &Actor, champion: &str) -> anyhow::Result<Shadow> {
    let (train, held) = split()?;
    let spinner = crate::progress::spinner("training support-requests.toml");
    let applied = tandem
        .apply_definition(
            ws,
            SOURCE,
            TrainingFiles {
                route_examples: Some(("data/customer-requests.train.jsonl".into(), train)),
                documents: None,
            },
            "support-requests.toml",
            None,
        )
        .await;
    spinner.finish_and_clear();
    let applied = applied.map_err(|e| anyhow::anyhow!("{e}"))?;
    println!(
        "{}: version {}{}, in shadow",
        applied.automation.name,
        applied.version.number,
        if applied.created { " (trained)" } else { "" }
    );
    let slug = applied.automation.slug.clone();
    let existing = tandem
        .store
        .list_items(
            ws,
            &ItemFilter {
                automation: Some(applied.automation.id),
                limit: 1,
                ..Default::default()
            },
        )
        .await?;
    if existing.is_empty() {
        let subs = held
            .iter()
            .map(|e| Submission {
                input: serde_json::json!({ "text": e.text }),
                idempotency_key: None,
            })
            .collect();
        let items = tandem
            .submit(admin, &slug, subs)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        super::import::process_all(tandem, ws, items.len() as u64).await?;
        tandem
            .set_champion(admin, &slug, Some(champion))
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let (user, _) = tandem
            .store
            .user_credentials(champion)
            .await?
            .ok_or_else(|| anyhow::anyhow!("demo reviewer missing"))?;
        let rita = Actor { user };
        // The champion knows this automation: she asked for it.
        tandem
            .acknowledge_card(&rita, &slug)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        for (item, truth) in items.iter().zip(&held).take(DECIDED) {
            decide(tandem, &rita, item.item.id, &truth.label).await?;
        }
    }
    let view = tandem
        .rollout(admin, &slug)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(Shadow {
        name: applied.automation.name,
        slug,
        decided: view.shadow.decided,
        green: view.gate.green,
    })
}

/// Approve the automation's route when it is the true team, else correct it to that team.
async fn decide(tandem: &Tandem, rita: &Actor, item: ItemId, truth: &str) -> anyhow::Result<()> {
    let view = tandem
        .item_view(rita, item)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let said = view.route.as_ref().and_then(|r| r.label.clone());
    let right = said.as_deref() == Some(truth);
    tandem
        .decide(
            rita,
            item,
            Decision {
                action: if right {
                    DecisionAction::Approve
                } else {
                    DecisionAction::Correct
                },
                fields: Default::default(),
                route: (!right).then(|| truth.to_owned()),
                reason: None,
                seconds: None,
            },
        )
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(())
}
