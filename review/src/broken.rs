//! A side that does not compile. No diff or impact can be computed, so
//! what the pull request shows instead is its compile errors, in every
//! format a review has: a Markdown comment that says what to fix, JSON,
//! SARIF results and GitHub annotations on the lines at fault.

use std::fmt::Write;

use pac_compiler::Compiled;
use serde::Serialize;

use crate::findings::{Finding, Kind, Level, check_findings};
use crate::markdown::{MARKER, code};

/// The most errors listed in the Markdown comment (all are in the other
/// formats).
const LISTED: usize = 50;

#[derive(Clone, Debug, Serialize)]
pub struct Broken {
    /// `base` or `head`.
    pub side: &'static str,
    #[serde(rename = "ref")]
    pub reference: String,
    pub commit: String,
    /// The compile errors (warnings are left out: they do not stop a
    /// review).
    pub errors: Vec<CompileError>,
    #[serde(skip)]
    kinds: Vec<Kind>,
    #[serde(skip)]
    findings: Vec<Finding>,
}

#[derive(Clone, Debug, Serialize)]
pub struct CompileError {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub code: String,
    pub message: String,
}

/// The JSON document of a review that could not be made.
#[derive(Serialize)]
struct Document<'a> {
    schema_version: u32,
    compile_errors: &'a Broken,
}

impl Broken {
    /// The errors of `compiled`, one side of the review.
    pub fn of(side: &'static str, reference: &str, commit: &str, compiled: &Compiled) -> Broken {
        let errors = compiled.errors();
        let (kinds, findings) = check_findings(&compiled.program.files, &errors);
        Broken {
            side,
            reference: reference.to_string(),
            commit: commit.to_string(),
            errors: findings
                .iter()
                .zip(&errors)
                .map(|(f, d)| CompileError {
                    file: f.file.clone().unwrap_or_default(),
                    line: f.line.unwrap_or(0),
                    column: f.column.unwrap_or(0),
                    code: d.code.to_string(),
                    message: d.message.clone(),
                })
                .collect(),
            kinds,
            findings,
        }
    }

    pub fn markdown(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "{MARKER}\n### Pac policy review\n");
        let _ = writeln!(
            out,
            "❌ **The {} ({}, {}) does not compile:** {} error(s). A review (the policy changes and their impact on the estate) needs both sides to compile{}.\n",
            self.side,
            code(&self.reference),
            self.commit.get(..12).unwrap_or(&self.commit),
            self.errors.len(),
            if self.side == "head" {
                "; fix these and push again (`pacc check` shows them locally)"
            } else {
                "; the base branch itself is broken: fix it there first, or review against a base that compiles"
            }
        );
        let _ = writeln!(out, "| where | code | error |\n| --- | --- | --- |");
        for e in self.errors.iter().take(LISTED) {
            let _ = writeln!(
                out,
                "| {} | {} | {} |",
                code(&format!("{}:{}:{}", e.file, e.line, e.column)),
                code(&e.code),
                code(&e.message)
            );
        }
        if self.errors.len() > LISTED {
            let _ = writeln!(
                out,
                "\n… and {} more (`pacc check` lists them all).",
                self.errors.len() - LISTED
            );
        }
        out
    }

    pub fn json(&self) -> String {
        let doc = Document {
            schema_version: crate::SCHEMA_VERSION,
            compile_errors: self,
        };
        serde_json::to_string_pretty(&doc).unwrap_or_else(|_| "{}".into()) + "\n"
    }

    /// SARIF: the compile errors as results (the same rules and
    /// fingerprints as `pacc check --format sarif`).
    pub fn sarif(&self) -> String {
        crate::sarif::render("pacc-review/", &self.kinds, &self.findings) + "\n"
    }

    pub fn github(&self) -> String {
        let mut out = crate::github::render(&self.findings);
        out.push_str(&crate::github::render(&[Finding {
            kind: "pac-review/does-not-compile".into(),
            level: Level::Error,
            title: format!("the {} does not compile", self.side),
            message: format!(
                "the {} (`{}`) has {} compile error(s): no review was made",
                self.side,
                self.reference,
                self.errors.len()
            ),
            file: None,
            line: None,
            column: None,
            end_line: None,
            end_column: None,
            fingerprint: String::new(),
        }]));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_listed_with_hostile_text_in_code_spans() {
        let src = "policy p {\n  title \"t\"\n  severity high\n  category security\n  rule on aws.ec2.volume {\n    violation when not encryptd\n    message \"|<b>x</b>\"\n  }\n}\n";
        let c = pac_compiler::compile_sources(vec![("policies/p.pac".into(), src.into())]);
        let b = Broken::of("head", "HEAD", "0123456789abcdef", &c);
        assert_eq!(b.errors.len(), 1, "{:?}", b.errors);
        assert_eq!(
            (b.errors[0].file.as_str(), b.errors[0].line),
            ("policies/p.pac", 6)
        );
        let md = b.markdown();
        assert!(md.contains("The head (`HEAD`, 0123456789ab) does not compile"));
        assert!(md.contains("| `policies/p.pac:6:24` |"), "{md}");
        let json: serde_json::Value = serde_json::from_str(&b.json()).unwrap();
        assert_eq!(json["compile_errors"]["side"], "head");
        assert_eq!(json["compile_errors"]["errors"][0]["line"], 6);
        assert!(b.github().contains("::error file=policies/p.pac,line=6"));
        assert!(b.sarif().contains("\"startLine\": 6"));
    }
}
