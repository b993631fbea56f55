//! Applying automation definitions (each change a new version, with its trained models)
//! and loading a version's pipeline for the worker, once per version per process.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use sha2::{Digest, Sha256};
use tandem_domain::{AutomationDef, Destination, UserId, VersionId, WorkspaceId};
use tandem_engine::pipeline::{Models, Spec};
use tandem_store::{Automation, NewVersion, Version};

use crate::training;
use crate::{ServiceError, ServiceResult, Tandem};

/// A version ready to run: its definition, the engine's spec, and its loaded models.
#[derive(Debug)]
pub struct Compiled {
    pub version: Version,
    pub def: AutomationDef,
    pub spec: Spec,
    pub models: Models,
}

#[derive(Debug, Default)]
pub(crate) struct PipelineCache {
    versions: Mutex<HashMap<(WorkspaceId, VersionId), Arc<Compiled>>>,
}

/// The result of applying a definition.
#[derive(Debug, Clone)]
pub struct Applied {
    pub automation: Automation,
    pub version: Version,
    /// False when the definition and its training data were unchanged.
    pub created: bool,
}

/// The largest definition file read: a definition is a page of settings, not data.
pub const MAX_DEFINITION_FILE_BYTES: u64 = 1 << 20;
/// The largest training file (route examples, labelled documents) read.
pub const MAX_TRAINING_FILE_BYTES: u64 = 256 << 20;

/// Read a regular file of at most `cap` bytes. A device (`/dev/zero` reads for ever), a
/// FIFO (its open waits for a writer that never comes) or a directory is refused before it
/// is opened, and a file that grows past the cap while read is refused too.
fn read_capped(path: &Path, cap: u64, named_in: Option<&Path>) -> ServiceResult<Vec<u8>> {
    use std::io::Read;
    let at = named_in.map_or_else(String::new, |d| format!(" (named in {})", d.display()));
    let fail = |why: String| ServiceError::invalid(format!("cannot read {}{at}: {why}", path.display()));
    let meta = std::fs::metadata(path).map_err(|e| fail(e.to_string()))?;
    if !meta.is_file() {
        return Err(fail("it is not a regular file".into()));
    }
    if meta.len() > cap {
        return Err(fail(format!("it has {} bytes; the limit is {cap}", meta.len())));
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(cap + 1).read_to_end(&mut bytes))
        .map_err(|e| fail(e.to_string()))?;
    if bytes.len() as u64 > cap {
        return Err(fail(format!("it grew past the limit of {cap} bytes while read")));
    }
    Ok(bytes)
}

/// Refuse JSONL destinations outside the data directory and the allowed directories
/// (see [`crate::delivery::jsonl_path`]), each named by its place in the definition.
pub fn check_destinations(settings: &crate::Settings, def: &AutomationDef) -> ServiceResult<()> {
    let wrong: Vec<String> = def
        .destinations
        .iter()
        .enumerate()
        .filter_map(|(i, d)| match d {
            Destination::Jsonl { path } => crate::delivery::jsonl_path(settings, path)
                .err()
                .map(|e| format!("destinations[{i}].path: {e}")),
            Destination::Webhook { .. } => None,
        })
        .collect();
    if wrong.is_empty() {
        Ok(())
    } else {
        Err(ServiceError::invalid_with(
            "a destination writes where it may not",
            wrong,
        ))
    }
}

/// Read a definition file and the training files it names, relative to it.
pub fn read_definition(path: &Path) -> ServiceResult<(String, TrainingFiles)> {
    let source = String::from_utf8(read_capped(path, MAX_DEFINITION_FILE_BYTES, None)?)
        .map_err(|e| ServiceError::invalid(format!("cannot read {}: {e}", path.display())))?;
    let def = parse_definition(&source, &path.display().to_string())?;
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let read = |name: &str| -> ServiceResult<(String, String)> {
        let full: PathBuf = dir.join(name);
        let bytes = read_capped(&full, MAX_TRAINING_FILE_BYTES, Some(path))?;
        let text = String::from_utf8(bytes).map_err(|e| {
            ServiceError::invalid(format!(
                "{} is not UTF-8 text (first bad byte at offset {})",
                full.display(),
                e.utf8_error().valid_up_to()
            ))
        })?;
        Ok((name.to_owned(), text))
    };
    let files = TrainingFiles {
        route_examples: def
            .route
            .as_ref()
            .and_then(|r| r.examples.as_deref())
            .map(read)
            .transpose()?,
        documents: def.training.documents.as_deref().map(read).transpose()?,
    };
    Ok((source, files))
}

/// Training files named by a definition, as text.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct TrainingFiles {
    pub route_examples: Option<(String, String)>,
    pub documents: Option<(String, String)>,
}

/// Parse a definition, turning every error into `FILE:LINE:COLUMN: message`.
pub fn parse_definition(source: &str, file: &str) -> ServiceResult<AutomationDef> {
    AutomationDef::parse(source).map_err(|errors| {
        let details: Vec<String> = errors
            .iter()
            .map(|e| format!("{file}:{}:{}: {}", e.line, e.column, e.message))
            .collect();
        ServiceError::invalid_with(format!("{file} has {} error(s)", details.len()), details)
    })
}

/// Everything `tandem check` verifies beyond the TOML itself: the training files parse and
/// agree with the definition. Returns a short summary for people.
pub fn check_training(def: &AutomationDef, files: &TrainingFiles) -> ServiceResult<Vec<String>> {
    let data = files.clone();
    let mut summary = Vec::new();
    if def.route.is_some() {
        let examples = training::route_examples(def, &data)?;
        if examples.is_empty() {
            return Err(ServiceError::invalid("the route has no examples to learn from"));
        }
        let mut labels: Vec<&str> = examples.iter().map(|e| e.label.as_str()).collect();
        labels.sort_unstable();
        labels.dedup();
        summary.push(format!(
            "route: {} examples over {} labels",
            examples.len(),
            labels.len()
        ));
    }
    let learned = training::learned_fields(def);
    if !learned.is_empty() {
        let docs = training::documents(&data)?;
        summary.push(format!(
            "learned fields ({}): {} labelled documents",
            learned.len(),
            docs.len()
        ));
    }
    Ok(summary)
}

fn content_hash(source: &str, files: &TrainingFiles) -> String {
    let mut h = Sha256::new();
    h.update(source.as_bytes());
    for (name, text) in files.route_examples.iter().chain(files.documents.iter()) {
        h.update([0u8]);
        h.update(name.as_bytes());
        h.update([0u8]);
        h.update(text.as_bytes());
    }
    hex::encode(h.finalize())
}

impl Tandem {
    /// Apply a definition file: a new version with freshly trained models when anything
    /// changed, the current version otherwise.
    pub async fn apply_definition_file(
        &self,
        ws: WorkspaceId,
        path: &Path,
        by: Option<UserId>,
    ) -> ServiceResult<Applied> {
        let (source, files) = read_definition(path)?;
        self.apply_definition(ws, &source, files, &path.display().to_string(), by)
            .await
    }

    pub async fn apply_definition(
        &self,
        ws: WorkspaceId,
        source: &str,
        files: TrainingFiles,
        file_name: &str,
        by: Option<UserId>,
    ) -> ServiceResult<Applied> {
        let def = parse_definition(source, file_name)?;
        check_destinations(&self.settings, &def)?;
        let hash = content_hash(source, &files);
        // Unchanged: no training, no new version.
        if let Some(a) = self.store.automation_by_slug(ws, def.slug.as_str()).await?
            && let Some(active) = a.active_version_id
        {
            let v = self.store.version(ws, active).await?;
            if v.content_hash == hash {
                self.sync_review_policy(ws, a.id, &def).await?;
                return Ok(Applied {
                    automation: a,
                    version: v,
                    created: false,
                });
            }
        }
        let data = files;
        let def_for_training = def.clone();
        let artifacts = tokio::task::spawn_blocking(move || training::train(&def_for_training, &data))
            .await
            .map_err(|e| ServiceError::Internal(format!("training stopped: {e}")))??;
        let saved = self
            .store
            .save_version(
                ws,
                &NewVersion {
                    slug: def.slug.to_string(),
                    name: def.name.clone(),
                    definition: source.to_owned(),
                    content_hash: hash,
                    artifacts,
                    created_by: by,
                },
                self.now(),
            )
            .await?;
        self.sync_review_policy(ws, saved.automation.id, &def).await?;
        tracing::info!(automation = %def.slug, version = saved.version.number, created = saved.created, "definition applied");
        if saved.created {
            self.after_new_version(&saved.automation, &saved.version, def.start_stage())
                .await?;
        }
        Ok(Applied {
            automation: saved.automation,
            version: saved.version,
            created: saved.created,
        })
    }

    /// The runnable pipeline of a version, loaded once and shared.
    pub async fn compiled(&self, ws: WorkspaceId, version: VersionId) -> ServiceResult<Arc<Compiled>> {
        if let Some(c) = self
            .pipelines
            .versions
            .lock()
            .map_err(poisoned)?
            .get(&(ws, version))
        {
            return Ok(c.clone());
        }
        let v = self.store.version(ws, version).await?;
        let artifacts = self.store.artifacts(ws, version).await?;
        let def = AutomationDef::parse(&v.definition).map_err(|e| {
            ServiceError::Internal(format!(
                "stored definition of version {} no longer parses: {e:?}",
                v.id
            ))
        })?;
        let compiled = tokio::task::spawn_blocking(move || -> ServiceResult<Compiled> {
            let mut models = Models::default();
            let mut held_out = None;
            for a in &artifacts {
                match a.kind.as_str() {
                    training::ROUTER => models.router = Some(Box::new(training::load_router(&a.bytes)?)),
                    training::EXTRACTOR => {
                        models.fields = Some(Box::new(training::load_extractor(&a.bytes)?))
                    }
                    training::INPUT_RANGE => models.ranges = training::load_ranges(&a.bytes)?,
                    training::ROUTE_EVIDENCE => held_out = Some(training::load_route_evidence(&a.bytes)?),
                    training::TRAINING_DATA => {}
                    other => tracing::warn!(kind = other, "ignoring an unknown model artifact"),
                }
            }
            let mut spec = def.pipeline_spec();
            if let Some(route) = spec.route.as_mut() {
                route.evidence = training::route_evidence(&def, held_out.as_deref());
            }
            Ok(Compiled {
                version: v,
                def,
                spec,
                models,
            })
        })
        .await
        .map_err(|e| ServiceError::Internal(format!("loading models stopped: {e}")))??;
        let compiled = Arc::new(compiled);
        self.pipelines
            .versions
            .lock()
            .map_err(poisoned)?
            .insert((ws, version), compiled.clone());
        Ok(compiled)
    }

    /// The automation with this slug and its active version's pipeline.
    pub async fn active(&self, ws: WorkspaceId, slug: &str) -> ServiceResult<(Automation, Arc<Compiled>)> {
        let a = self
            .store
            .automation_by_slug(ws, slug)
            .await?
            .ok_or(ServiceError::NotFound("automation"))?;
        let v = a.active_version_id.ok_or(ServiceError::Conflict(format!(
            "automation {slug} has no version yet"
        )))?;
        let c = self.compiled(ws, v).await?;
        Ok((a, c))
    }
}

fn poisoned<T>(_: T) -> ServiceError {
    ServiceError::Internal("pipeline cache lock poisoned".into())
}
