//! What the item page shows of the LLM step and the shadow extractors.

use serde::Serialize;
use tandem_domain::{ItemId, Role};
use tandem_store::{FieldRole, FieldRun, LlmRun};

use crate::auth::Actor;
use crate::{ServiceResult, Tandem};

/// The LLM's cost on an item and each shadow extractor's answer.
#[derive(Debug, Clone, Serialize)]
pub struct ItemLlmView {
    pub run: Option<LlmRun>,
    /// Primary and shadow answers of the fields that run side by side (or use the LLM).
    pub fields: Vec<FieldRun>,
}

impl ItemLlmView {
    pub fn shadows(&self) -> impl Iterator<Item = &FieldRun> {
        self.fields.iter().filter(|f| f.role == FieldRole::Shadow)
    }
}

impl Tandem {
    /// `None` when the item's automation neither uses the LLM nor runs a shadow.
    pub async fn item_llm_view(&self, actor: &Actor, id: ItemId) -> ServiceResult<Option<ItemLlmView>> {
        actor.require(Role::Viewer, "see items")?;
        let ws = actor.workspace();
        let run = self.store.llm_run(ws, id).await?;
        let fields = self.store.field_runs(ws, id).await?;
        if run.is_none() && fields.is_empty() {
            return Ok(None);
        }
        Ok(Some(ItemLlmView { run, fields }))
    }
}
