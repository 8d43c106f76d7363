//! `pacc review`: the command-line side of `pac-review` (arguments, the
//! git sides, the inventory, output files, exit codes).

use std::path::{Path, PathBuf};

use clap::ValueEnum;
use pac_review::gate::FailOn;
use pac_review::{Gate, Review, Thresholds};

use crate::cli::{Format, parse_now, print_diagnostics};

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum ReviewFormat {
    /// For a pull-request comment.
    Markdown,
    /// The full review (docs/review.md documents the schema).
    Json,
    /// SARIF 2.1.0, for code scanning.
    Sarif,
    /// GitHub Actions workflow commands (annotations).
    Github,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum FailOnArg {
    /// A failure newly opens (newly failing, or un-exempted) on a
    /// critical rule.
    NewCritical,
    /// The same on a high or critical rule.
    NewHigh,
    /// The review raised a warning.
    Warnings,
}

/// Where the inventory comes from.
pub enum InventoryFrom {
    File(PathBuf),
    /// A running server's export, with the API token (else `PAC_TOKEN`).
    Server {
        url: String,
        token: Option<String>,
        group: Option<String>,
    },
}

impl InventoryFrom {
    /// (name for messages, text).
    fn read(&self) -> Result<(String, String), String> {
        match self {
            InventoryFrom::File(path) => {
                let name = pac_bundle::inventory_display(path);
                pac_bundle::read_inventory(path)
                    .map(|t| (name.clone(), t))
                    .map_err(|e| format!("{name}: cannot read the inventory: {e}"))
            }
            InventoryFrom::Server { url, token, group } => {
                let token = match token {
                    Some(t) => t.clone(),
                    None => std::env::var(pac_server::auth::cli::TOKEN_ENV).map_err(|_| {
                        format!(
                            "--server {url}: set {} (or --token) to an API token that may read resources",
                            pac_server::auth::cli::TOKEN_ENV
                        )
                    })?,
                };
                let text = pac_server::remote::fetch_inventory(url, &token, group.as_deref())?;
                let name = match group {
                    Some(g) => format!("{} (asset group {g})", url.trim_end_matches('/')),
                    None => url.trim_end_matches('/').to_string(),
                };
                Ok((name, text))
            }
        }
    }
}

pub struct ReviewArgs<'a> {
    pub base: &'a str,
    pub head: &'a str,
    pub policies: &'a [PathBuf],
    pub inventory: InventoryFrom,
    pub format: ReviewFormat,
    pub outputs: &'a [String],
    pub now: Option<&'a str>,
    pub sample: usize,
    pub fail_on: &'a [FailOnArg],
    pub max_new_failures: Option<usize>,
    pub thresholds: Thresholds,
}

/// `markdown=review.md` → (format, path).
fn parse_output(spec: &str) -> Result<(ReviewFormat, PathBuf), String> {
    let (f, path) = spec.split_once('=').ok_or_else(|| {
        format!("--output {spec:?}: write FORMAT=FILE, e.g. --output sarif=review.sarif")
    })?;
    let format = ReviewFormat::from_str(f, true).map_err(|_| {
        format!("--output {spec:?}: unknown format `{f}` (markdown, json, sarif or github)")
    })?;
    if path.is_empty() {
        return Err(format!("--output {spec:?}: no file after `=`"));
    }
    Ok((format, PathBuf::from(path)))
}

/// The review in one format.
pub fn render(review: &Review, format: ReviewFormat) -> String {
    match format {
        ReviewFormat::Markdown => pac_review::markdown::render(review),
        ReviewFormat::Json => {
            serde_json::to_string_pretty(review).unwrap_or_else(|_| "{}".into()) + "\n"
        }
        ReviewFormat::Sarif => {
            pac_review::sarif::render(
                "pacc-review/",
                &pac_review::findings::review_kinds(),
                &pac_review::findings::review_findings(review),
            ) + "\n"
        }
        ReviewFormat::Github => {
            pac_review::github::render(&pac_review::findings::review_findings(review))
        }
    }
}

/// A review that could not be made, in one format.
pub fn render_broken(broken: &pac_review::Broken, format: ReviewFormat) -> String {
    match format {
        ReviewFormat::Markdown => broken.markdown(),
        ReviewFormat::Json => broken.json(),
        ReviewFormat::Sarif => broken.sarif(),
        ReviewFormat::Github => broken.github(),
    }
}

pub fn run(args: &ReviewArgs) -> i32 {
    let now = match parse_now(args.now) {
        Ok(n) => n,
        Err(code) => return code,
    };
    let outputs: Vec<(ReviewFormat, PathBuf)> =
        match args.outputs.iter().map(|s| parse_output(s)).collect() {
            Ok(o) => o,
            Err(e) => {
                eprintln!("error: {e}");
                return 2;
            }
        };
    let (base, head) =
        match pac_review::git::sources(Path::new("."), args.base, args.head, args.policies) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("error: {e}");
                return 2;
            }
        };
    let (inventory_name, inventory_text) = match args.inventory.read() {
        Ok(x) => x,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    let gate = Gate {
        fail_on: args
            .fail_on
            .iter()
            .map(|f| match f {
                FailOnArg::NewCritical => FailOn::NewCritical,
                FailOnArg::NewHigh => FailOn::NewHigh,
                FailOnArg::Warnings => FailOn::Warnings,
            })
            .collect(),
        max_new_failures: args.max_new_failures,
    };
    let review = match pac_review::review(pac_review::Input {
        base,
        head,
        inventory_text: &inventory_text,
        inventory_name: &inventory_name,
        now,
        sample: args.sample,
        thresholds: args.thresholds,
        gate,
        head_in_full: false,
    }) {
        Ok(r) => r,
        Err(pac_review::Error::Compile { broken, compiled }) => {
            let errors = compiled.errors();
            print_diagnostics(&compiled, &errors, Format::Text);
            eprintln!(
                "error: the {} (`{}`) does not compile ({} error(s)); a review needs both sides to compile",
                broken.side,
                broken.reference,
                errors.len()
            );
            // The outputs still say so (the PR comment, annotations on the
            // lines at fault), so a workflow shows why there is no review.
            for (format, path) in &outputs {
                if let Err(e) = std::fs::write(path, render_broken(&broken, *format)) {
                    eprintln!("error: {}: {e}", path.display());
                    return 2;
                }
            }
            print!("{}", render_broken(&broken, args.format));
            // A broken head fails the gate; a broken base means no review
            // can be made at all.
            return if broken.side == "head" { 1 } else { 2 };
        }
    };
    if review.impact.skipped_documents > 0 {
        eprintln!(
            "warning: {} document(s) of {inventory_name} did not match their schema and were skipped (`pacc eval` lists them)",
            review.impact.skipped_documents
        );
    }
    for (format, path) in &outputs {
        if let Err(e) = std::fs::write(path, render(&review, *format)) {
            eprintln!("error: {}: {e}", path.display());
            return 2;
        }
    }
    print!("{}", render(&review, args.format));
    for r in &review.gate.reasons {
        eprintln!("gate: {r}");
    }
    i32::from(!review.gate.passed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_are_format_equals_file() {
        assert_eq!(
            parse_output("sarif=out/r.sarif").unwrap(),
            (ReviewFormat::Sarif, PathBuf::from("out/r.sarif"))
        );
        assert!(parse_output("sarif").is_err());
        assert!(parse_output("pdf=x").is_err());
        assert!(parse_output("json=").is_err());
    }
}
