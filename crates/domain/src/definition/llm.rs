//! The `[llm]` section: which OpenAI-compatible server the LLM step asks, and how. Used
//! by fields with `extractor = "llm"` or `shadow_extractor = "llm"`.
//!
//! The API key itself never appears in a definition (definitions are versioned, shown
//! in the UI and kept in the database): `api_key_env` names the environment variable
//! that holds it, read by the worker when it runs the step.

use serde::{Deserialize, Serialize};

use super::walk::{Table, Walker, join};

const LLM_KEYS: &[&str] = &[
    "base_url",
    "model",
    "api_key_env",
    "timeout",
    "samples",
    "max_concurrency",
    "retries",
    "max_tokens",
];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LlmDef {
    /// The API root, e.g. `http://127.0.0.1:8080/v1`.
    pub base_url: String,
    pub model: String,
    /// The environment variable holding the API key, if the server needs one.
    pub api_key_env: Option<String>,
    /// Seconds to wait for one answer.
    pub timeout_seconds: f64,
    /// Answers compared for confidence when the server gives no log-probabilities.
    pub samples: u32,
    /// Requests in flight at once.
    pub max_concurrency: u32,
    /// Further attempts after a failure that may pass.
    pub retries: u32,
    /// The most tokens an answer may take; unset, the LLM step sizes it from the fields.
    #[serde(default)]
    pub max_tokens: Option<u32>,
}

pub const DEFAULT_LLM_TIMEOUT_SECONDS: f64 = 30.0;
pub const DEFAULT_LLM_SAMPLES: u32 = 3;
pub const DEFAULT_LLM_CONCURRENCY: u32 = 4;
pub const DEFAULT_LLM_RETRIES: u32 = 2;

/// Read `[llm]` (the table at offset `at`), reporting every problem.
pub(super) fn parse_llm(w: &mut Walker<'_>, t: &Table<'_>, at: usize) -> Option<LlmDef> {
    let path = "llm";
    w.check_keys(t, LLM_KEYS, path);
    let base_url = w.required_string(t, "base_url", path, at);
    if let Some(url) = &base_url {
        let ok = (url.starts_with("http://") || url.starts_with("https://"))
            && url.len() > 8
            && !url.contains(char::is_whitespace);
        if !ok {
            let uat = Walker::offset_of(t, "base_url").unwrap_or(at);
            w.error_at(
                uat,
                &join(path, "base_url"),
                format!(
                    "{url:?} is not an http:// or https:// URL (for example \"http://127.0.0.1:8080/v1\")"
                ),
            );
        } else if let Some(why) = super::url_host::forbidden(url) {
            let uat = Walker::offset_of(t, "base_url").unwrap_or(at);
            w.error_at(uat, &join(path, "base_url"), why);
        }
    }
    let model = w.required_string(t, "model", path, at);
    if let Some(m) = &model
        && m.trim().is_empty()
    {
        let mat = Walker::offset_of(t, "model").unwrap_or(at);
        w.error_at(mat, &join(path, "model"), "must not be empty");
    }
    let api_key_env = w.string(t, "api_key_env", path);
    if let Some(name) = &api_key_env
        && !(!name.is_empty()
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            && !name.as_bytes()[0].is_ascii_digit())
    {
        let kat = Walker::offset_of(t, "api_key_env").unwrap_or(at);
        w.error_at(
            kat,
            &join(path, "api_key_env"),
            format!("{name:?} is not an environment variable name; give the variable's name (such as \"OPENAI_API_KEY\"), never the key itself"),
        );
    }
    let timeout_seconds = w
        .number(t, "timeout", path, 0.1, 3600.0)
        .unwrap_or(DEFAULT_LLM_TIMEOUT_SECONDS);
    let samples = whole(w, t, "samples", 1.0, 20.0).unwrap_or(DEFAULT_LLM_SAMPLES);
    let max_concurrency = whole(w, t, "max_concurrency", 1.0, 256.0).unwrap_or(DEFAULT_LLM_CONCURRENCY);
    let retries = whole(w, t, "retries", 0.0, 10.0).unwrap_or(DEFAULT_LLM_RETRIES);
    let max_tokens = whole(w, t, "max_tokens", 16.0, 131_072.0);
    Some(LlmDef {
        base_url: base_url?,
        model: model?,
        api_key_env,
        timeout_seconds,
        samples,
        max_concurrency,
        retries,
        max_tokens,
    })
}

/// A whole number within `[min, max]`.
fn whole(w: &mut Walker<'_>, t: &Table<'_>, key: &str, min: f64, max: f64) -> Option<u32> {
    let n = w.number(t, key, "llm", min, max)?;
    if n.fract() != 0.0 {
        let at = Walker::offset_of(t, key).unwrap_or(0);
        w.error_at(
            at,
            &join("llm", key),
            format!("expected a whole number, found {n}"),
        );
        return None;
    }
    Some(n as u32)
}

/// `source` with field `field`'s `extractor` set to `primary` and its
/// `shadow_extractor` to `shadow` (removed when `None`). Only those values change; the
/// rest of the file (comments, layout) stays as the builder wrote it.
pub(super) fn set_extractors(
    source: &str,
    field: &str,
    primary: super::ExtractorKind,
    shadow: Option<super::ExtractorKind>,
) -> Result<String, String> {
    use toml::de::DeTable;
    let doc =
        DeTable::parse(source).map_err(|e| format!("the definition does not parse: {}", e.message()))?;
    let top = doc.get_ref();
    let tables = Walker::get(top, "fields")
        .and_then(|v| v.get_ref().as_array())
        .ok_or("the definition has no [[fields]]")?;
    let table = tables
        .iter()
        .filter_map(|t| t.get_ref().as_table())
        .find(|t| Walker::get(t, "name").and_then(|n| n.get_ref().as_str()) == Some(field))
        .ok_or_else(|| format!("the definition has no field named {field:?}"))?;
    let name_span = Walker::get(table, "name")
        .map(|v| v.span())
        .ok_or("a field without a name")?;
    // Edits as (start, end, text), applied from the end so earlier offsets stay valid.
    let mut edits: Vec<(usize, usize, String)> = Vec::new();
    // A new key goes on its own line after the field's `name`, or inside the braces of
    // an inline table.
    let inline = !source[..name_span.start].trim_end().ends_with('=')
        || source[name_span.end..].trim_start().starts_with(',')
        || source[name_span.end..].trim_start().starts_with('}');
    let insert_at = if inline {
        name_span.end
    } else {
        source[name_span.end..]
            .find('\n')
            .map_or(source.len(), |i| name_span.end + i)
    };
    let mut set = |key: &str, value: Option<&str>| match (Walker::get(table, key), value) {
        (Some(v), Some(new)) => edits.push((v.span().start, v.span().end, format!("\"{new}\""))),
        (Some(v), None) => {
            // Remove the whole `key = value` line.
            let line_start = source[..v.span().start].rfind('\n').map_or(0, |i| i + 1);
            let line_end = source[v.span().end..]
                .find('\n')
                .map_or(source.len(), |i| v.span().end + i + 1);
            edits.push((line_start, line_end, String::new()));
        }
        (None, Some(new)) if inline => edits.push((insert_at, insert_at, format!(", {key} = \"{new}\""))),
        (None, Some(new)) => edits.push((insert_at, insert_at, format!("\n{key} = \"{new}\""))),
        (None, None) => {}
    };
    set("extractor", Some(primary.as_str()));
    set("shadow_extractor", shadow.map(super::ExtractorKind::as_str));
    edits.sort_by_key(|e| std::cmp::Reverse(e.0));
    let mut out = source.to_owned();
    for (start, end, text) in edits {
        out.replace_range(start..end, &text);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::definition::{AutomationDef, ExtractorKind};

    const DEF: &str = r#"name = "R"
slug = "r"

[[fields]]
name = "company"
extractor = "llm"
shadow_extractor = "learned"

[[fields]]
name = "total"
type = "money"
# the pattern decides
extractor = "pattern"

[llm]
base_url = "http://127.0.0.1:8081/v1"
model = "qwen"
api_key_env = "LLM_KEY"
samples = 5

[training]
documents = "docs.jsonl"
"#;

    fn errors(src: &str) -> Vec<String> {
        AutomationDef::parse(src)
            .unwrap_err()
            .into_iter()
            .map(|e| e.to_string())
            .collect()
    }

    #[test]
    fn the_llm_section_and_shadow_extractors_parse_with_defaults() {
        let def = AutomationDef::parse(DEF).unwrap();
        let llm = def.llm.as_ref().unwrap();
        assert_eq!(
            (llm.base_url.as_str(), llm.model.as_str()),
            ("http://127.0.0.1:8081/v1", "qwen")
        );
        assert_eq!(llm.api_key_env.as_deref(), Some("LLM_KEY"));
        assert_eq!((llm.samples, llm.max_concurrency, llm.retries), (5, 4, 2));
        assert_eq!(llm.timeout_seconds, 30.0);
        assert_eq!(llm.max_tokens, None, "sized from the fields by the LLM step");
        let set = AutomationDef::parse(&DEF.replace("samples = 5", "max_tokens = 300")).unwrap();
        assert_eq!(set.llm.unwrap().max_tokens, Some(300));
        let small = errors(&DEF.replace("samples = 5", "max_tokens = 2"));
        assert!(small[0].contains("llm.max_tokens"), "{small:?}");
        assert_eq!(def.fields[0].extractor, ExtractorKind::Llm);
        assert_eq!(def.fields[0].shadow_extractor, Some(ExtractorKind::Learned));
        assert_eq!(def.fields[1].shadow_extractor, None);
        let shadow = def.shadow_spec();
        assert_eq!(shadow.fields.len(), 1);
        assert_eq!(shadow.fields[0].source, tandem_engine::pipeline::Source::Model);
        assert_eq!(
            def.pipeline_spec().fields[0].source,
            tandem_engine::pipeline::Source::Llm
        );
    }

    #[test]
    fn llm_mistakes_are_reported_with_line_and_column() {
        let src = "name = \"R\"\nslug = \"r\"\n[[fields]]\nname = \"company\"\nextractor = \"llm\"\nshadow_extractor = \"llm\"\n[llm]\nbase_url = \"localhost:8080\"\nsamples = 2.5\napi_key_env = \"sk-123 secret\"\ntimout = 3\n";
        let errs = errors(src);
        assert_eq!(errs.len(), 6, "{errs:#?}");
        assert!(
            errs[0]
                .starts_with("line 6, column 20: fields[0].shadow_extractor: is the same as extractor (llm)"),
            "{}",
            errs[0]
        );
        assert!(
            errs[1].starts_with("line 7, column 1: llm.model: is required"),
            "{}",
            errs[1]
        );
        assert!(
            errs[2].starts_with(
                "line 8, column 12: llm.base_url: \"localhost:8080\" is not an http:// or https:// URL"
            ),
            "{}",
            errs[2]
        );
        assert!(
            errs[3].starts_with("line 9, column 11: llm.samples: expected a whole number, found 2.5"),
            "{}",
            errs[3]
        );
        assert!(
            errs[4].starts_with("line 10, column 15: llm.api_key_env:"),
            "{}",
            errs[4]
        );
        assert!(
            errs[5].contains("line 11, column 1: llm.timout: unknown key (did you mean \"timeout\"?)"),
            "{}",
            errs[5]
        );
    }

    #[test]
    fn a_field_using_the_llm_needs_the_section() {
        let errs = errors(
            "name = \"R\"\nslug = \"r\"\n[[fields]]\nname = \"total\"\ntype = \"money\"\nextractor = \"pattern\"\nshadow_extractor = \"llm\"\n",
        );
        assert_eq!(errs.len(), 1, "{errs:#?}");
        assert!(errs[0].starts_with("line 6, column 13: fields[0].extractor: a field uses the LLM, so the definition needs an [llm] section"), "{}", errs[0]);
        let errs = errors(
            "name = \"R\"\nslug = \"r\"\n[[fields]]\nname = \"total\"\ntype = \"money\"\nshadow_extractor = \"learned\"\n",
        );
        assert!(
            errs[0].contains("needs documents"),
            "a learned shadow needs training data too: {errs:?}"
        );
    }

    #[test]
    fn switching_extractors_keeps_the_rest_of_the_file() {
        let out =
            AutomationDef::set_extractors(DEF, "company", ExtractorKind::Learned, Some(ExtractorKind::Llm))
                .unwrap();
        assert!(
            out.contains("name = \"company\"\nextractor = \"learned\"\nshadow_extractor = \"llm\"\n"),
            "{out}"
        );
        assert!(out.contains("# the pattern decides"), "comments stay");
        let out =
            AutomationDef::set_extractors(&out, "total", ExtractorKind::Llm, Some(ExtractorKind::Pattern))
                .unwrap();
        let def = AutomationDef::parse(&out).unwrap();
        assert_eq!(def.fields[1].extractor, ExtractorKind::Llm);
        assert_eq!(def.fields[1].shadow_extractor, Some(ExtractorKind::Pattern));
        assert_eq!(def.fields[0].extractor, ExtractorKind::Learned);
        let out = AutomationDef::set_extractors(&out, "total", ExtractorKind::Pattern, None).unwrap();
        assert_eq!(
            AutomationDef::parse(&out).unwrap().fields[1].shadow_extractor,
            None
        );
        assert!(AutomationDef::set_extractors(DEF, "nope", ExtractorKind::Llm, None).is_err());
    }
}
