//! The compiled policy set: the policy files plus the asset groups and
//! exceptions defined through the API, which are written out as Pac source
//! (one synthetic file) and compiled with the rest — so an API exception's
//! condition is checked and compiled exactly like a rule, and files and API
//! share one model.

use std::path::PathBuf;
use std::sync::Arc;

use pac_compiler::{Compiled, Severity, compile_sources};

use crate::store::{ExceptionRow, GroupRow};

/// The name of the synthetic file holding API-defined items.
pub const API_FILE: &str = "<api>/defined-through-the-api.pac";

/// A compiled policy set and its native engine.
pub struct Loaded {
    pub compiled: Compiled,
    pub engine: pac_jit::Engine,
    /// Set when the API-defined items did not compile with the current
    /// policy files (e.g. their target policy was removed): they are left
    /// out and the scan record says so.
    pub api_problem: Option<String>,
}

impl Loaded {
    pub fn program(&self) -> &pac_compiler::Program {
        &self.compiled.program
    }
}

/// Reads the `.pac` files under `paths` as (path, text), sorted.
pub fn read_policy_files(paths: &[PathBuf]) -> Result<Vec<(String, String)>, String> {
    if let Some(p) = paths.iter().find(|p| !p.exists()) {
        return Err(format!(
            "{}: no such policy file or directory (run from the repository root, or set `policies` in the configuration)",
            p.display()
        ));
    }
    let files = pac_compiler::files::pac_files(paths)?;
    pac_compiler::files::read_sources(&files)
}

/// A Pac string literal.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '{' => out.push_str("\\{"),
            '}' => out.push_str("\\}"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Whether `s` is a Pac identifier (asset group names must be).
pub fn is_ident(s: &str) -> bool {
    let mut cs = s.chars();
    cs.next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && cs.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Whether `s` is a date or time the language accepts after `expires`.
pub fn is_expiry(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 10
        && b[..10].iter().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                *c == b'-'
            } else {
                c.is_ascii_digit()
            }
        })
        && pac_lang::lexer::parse_timestamp(s).is_some()
}

/// The Pac source of one API-defined group.
pub fn group_source(g: &GroupRow) -> String {
    let mut s = format!("group {} {{\n", g.name);
    if let Some(t) = &g.title {
        s.push_str(&format!("  title {}\n", quote(t)));
    }
    for m in &g.members {
        match &m.condition {
            Some(c) => s.push_str(&format!("  {} where {}\n", m.rtype, one_line(c))),
            None => s.push_str(&format!("  {}\n", m.rtype)),
        }
    }
    s.push_str("}\n");
    s
}

/// The Pac source of one API-defined exception.
pub fn exception_source(x: &ExceptionRow) -> String {
    let sticky = x.condition.is_some();
    let mut s = format!(
        "{}exception {} for {} {{\n",
        if sticky { "sticky " } else { "" },
        quote(&x.name),
        x.targets.join(", ")
    );
    if let Some(c) = &x.condition {
        s.push_str(&format!("  where {}\n", one_line(c)));
    }
    if !x.resources.is_empty() {
        let ids: Vec<String> = x.resources.iter().map(|r| quote(r)).collect();
        s.push_str(&format!("  resources [{}]\n", ids.join(", ")));
    }
    s.push_str(&format!(
        "  expires {}\n  reason {}\n}}\n",
        x.expires,
        quote(&x.reason)
    ));
    s
}

/// A condition on one line, so that it cannot close the item it sits in.
fn one_line(c: &str) -> String {
    c.replace(['\n', '\r'], " ")
}

/// The synthetic file of API-defined items; each item starts at a line the
/// caller can map diagnostics back to.
pub fn api_source(groups: &[GroupRow], exceptions: &[ExceptionRow]) -> String {
    let mut s = String::from("// Asset groups and exceptions defined through the API.\n");
    for g in groups {
        s.push_str(&group_source(g));
    }
    for x in exceptions {
        s.push_str(&exception_source(x));
    }
    s
}

/// Error diagnostics of the API file, rendered as JSON.
fn api_errors(c: &Compiled) -> Vec<serde_json::Value> {
    let api_index = c
        .program
        .files
        .iter()
        .position(|f| f.path == API_FILE)
        .map(|i| i as u32);
    let mut r = pac_compiler::render::Renderer::new(&c.program.files);
    c.diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error && Some(d.file) == api_index)
        .map(|d| serde_json::to_value(r.to_json(d)).unwrap_or_default())
        .collect()
}

fn policy_errors(c: &Compiled) -> Vec<String> {
    let mut r = pac_compiler::render::Renderer::new(&c.program.files);
    c.diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .filter(|d| {
            c.program
                .files
                .get(d.file as usize)
                .is_none_or(|f| f.path != API_FILE)
        })
        .map(|d| {
            let j = serde_json::to_value(r.to_json(d)).unwrap_or_default();
            let file = j["file"].as_str().unwrap_or("?").to_string();
            let line = j["line"].as_u64().unwrap_or(0);
            format!("{file}:{line}: {}", d.message)
        })
        .collect()
}

/// Compiles the policy files with the API-defined items. Policy compile
/// errors fail the load (the scan records them); API items that no longer
/// compile are left out and reported.
pub fn load(
    files: &[(String, String)],
    groups: &[GroupRow],
    exceptions: &[ExceptionRow],
) -> Result<Arc<Loaded>, String> {
    let mut all = files.to_vec();
    all.push((API_FILE.to_string(), api_source(groups, exceptions)));
    let mut compiled = compile_sources(all);
    let mut api_problem = None;
    let errs = api_errors(&compiled);
    if !errs.is_empty() {
        api_problem = Some(format!(
            "API-defined groups and exceptions left out of this scan, they do not compile with the current policies: {}",
            serde_json::Value::Array(errs)
        ));
        compiled = compile_sources(files.to_vec());
    }
    let perrs = policy_errors(&compiled);
    if !perrs.is_empty() {
        return Err(format!(
            "the policies do not compile ({} error(s)); `pacc check` lists them: {}",
            perrs.len(),
            perrs.join("; ")
        ));
    }
    let engine = pac_jit::Engine::compile(&compiled.program);
    Ok(Arc::new(Loaded {
        compiled,
        engine,
        api_problem,
    }))
}

/// Checks that the API-defined items, with one more, compile; the errors
/// (JSON diagnostics, line numbers in the synthetic file) otherwise.
pub fn validate(
    files: &[(String, String)],
    groups: &[GroupRow],
    exceptions: &[ExceptionRow],
) -> Result<(), Vec<serde_json::Value>> {
    let mut all = files.to_vec();
    all.push((API_FILE.to_string(), api_source(groups, exceptions)));
    let errs = api_errors(&compile_sources(all));
    if errs.is_empty() { Ok(()) } else { Err(errs) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::GroupMemberSpec;

    #[test]
    fn generated_items_compile_and_bad_conditions_are_diagnosed() {
        let g = GroupRow {
            name: "web_tier".into(),
            title: Some("Web \"tier\"".into()),
            members: vec![GroupMemberSpec {
                rtype: "aws.ec2.security_group".into(),
                condition: Some("group_name == \"web\"".into()),
            }],
            created_by: "t".into(),
            created_at: 0,
        };
        let x = ExceptionRow {
            name: "CHG-9".into(),
            targets: vec!["p".into()],
            resources: vec![],
            condition: Some("group_name == \"web\"".into()),
            expires: "2030-01-01".into(),
            reason: "r".into(),
            created_by: "t".into(),
            created_at: 0,
        };
        let pol = (
            "p.pac".to_string(),
            "policy p {\n  title \"t\"\n  severity low\n  category security\n  rule on aws.ec2.security_group {\n    violation when group_name == \"x\"\n  }\n}\n"
                .to_string(),
        );
        let files = vec![pol];
        assert_eq!(
            validate(&files, std::slice::from_ref(&g), std::slice::from_ref(&x)),
            Ok(())
        );
        let loaded = load(&files, std::slice::from_ref(&g), std::slice::from_ref(&x)).unwrap();
        assert!(loaded.api_problem.is_none());
        assert_eq!(loaded.program().groups.len(), 1);
        assert!(loaded.program().exceptions[0].sticky);
        let mut bad = x.clone();
        bad.condition = Some("group_nam == \"web\"".into());
        let errs =
            validate(&files, std::slice::from_ref(&g), std::slice::from_ref(&bad)).unwrap_err();
        assert!(errs[0].to_string().contains("group_nam"), "{errs:?}");
        let loaded = load(&files, &[g], &[bad]).unwrap();
        assert!(loaded.api_problem.is_some());
        assert!(loaded.program().exceptions.is_empty());
    }

    #[test]
    fn names_and_dates() {
        assert!(is_ident("prod_web"));
        assert!(!is_ident("prod-web"));
        assert!(is_expiry("2027-03-31"));
        assert!(!is_expiry("tomorrow"));
        assert_eq!(quote("a\"b{c}"), "\"a\\\"b\\{c\\}\"");
    }
}
