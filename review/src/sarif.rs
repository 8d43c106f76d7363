//! SARIF 2.1.0 logs (the format code scanning reads) of findings: review
//! results and `pacc check` diagnostics. Tests validate the output against
//! the official schema (`tests/schemas/sarif-schema-2.1.0.json`).

use serde::Serialize;

use crate::findings::{Finding, Kind};

pub const SCHEMA: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

/// The key of our `partialFingerprints` entry.
pub const FINGERPRINT_KEY: &str = "pacFindingHash/v1";

#[derive(Serialize)]
struct Log<'a> {
    #[serde(rename = "$schema")]
    schema: &'static str,
    version: &'static str,
    runs: Vec<Run<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Run<'a> {
    tool: Tool<'a>,
    automation_details: AutomationDetails<'a>,
    results: Vec<SarifResult<'a>>,
}

#[derive(Serialize)]
struct AutomationDetails<'a> {
    id: &'a str,
}

#[derive(Serialize)]
struct Tool<'a> {
    driver: Driver<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Driver<'a> {
    name: &'static str,
    semantic_version: &'static str,
    rules: Vec<Descriptor<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Descriptor<'a> {
    id: &'a str,
    short_description: Text<'a>,
    default_configuration: Configuration,
}

#[derive(Serialize)]
struct Configuration {
    level: &'static str,
}

#[derive(Serialize)]
struct Text<'a> {
    text: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifResult<'a> {
    rule_id: &'a str,
    rule_index: usize,
    level: &'static str,
    message: Text<'a>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    locations: Vec<SarifLocation>,
    partial_fingerprints: std::collections::BTreeMap<&'static str, &'a str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifLocation {
    physical_location: PhysicalLocation,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PhysicalLocation {
    artifact_location: ArtifactLocation,
    #[serde(skip_serializing_if = "Option::is_none")]
    region: Option<Region>,
}

#[derive(Serialize)]
struct ArtifactLocation {
    uri: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Region {
    start_line: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    start_column: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    end_line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    end_column: Option<usize>,
}

/// A relative path as a URI reference: unreserved characters and `/`
/// kept, every other byte percent-encoded.
pub fn uri(path: &str) -> String {
    let path = path.replace('\\', "/");
    let mut out = String::new();
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The SARIF log of `findings` (of the given `kinds`) by one run of
/// `pacc` with `category` as its automation id (`pacc-review/`,
/// `pacc-check/`), pretty-printed.
pub fn render(category: &str, kinds: &[Kind], findings: &[Finding]) -> String {
    let results = findings
        .iter()
        .map(|f| SarifResult {
            rule_id: &f.kind,
            rule_index: kinds.iter().position(|k| k.id == f.kind).unwrap_or(0),
            level: f.level.sarif(),
            message: Text { text: &f.message },
            locations: f
                .file
                .iter()
                .map(|file| SarifLocation {
                    physical_location: PhysicalLocation {
                        artifact_location: ArtifactLocation { uri: uri(file) },
                        region: f.line.map(|l| Region {
                            start_line: l.max(1),
                            start_column: f.column.map(|c| c.max(1)),
                            end_line: f.end_line.map(|e| e.max(l.max(1))),
                            end_column: f.end_column.map(|c| c.max(1)),
                        }),
                    },
                })
                .collect(),
            partial_fingerprints: [(FINGERPRINT_KEY, f.fingerprint.as_str())].into(),
        })
        .collect();
    let log = Log {
        schema: SCHEMA,
        version: "2.1.0",
        runs: vec![Run {
            tool: Tool {
                driver: Driver {
                    name: "pacc",
                    semantic_version: env!("CARGO_PKG_VERSION"),
                    rules: kinds
                        .iter()
                        .map(|k| Descriptor {
                            id: &k.id,
                            short_description: Text {
                                text: &k.description,
                            },
                            default_configuration: Configuration {
                                level: k.level.sarif(),
                            },
                        })
                        .collect(),
                },
            },
            automation_details: AutomationDetails { id: category },
            results,
        }],
    };
    serde_json::to_string_pretty(&log).unwrap_or_else(|_| "{}".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_become_uri_references() {
        assert_eq!(uri("policies/aws/s3.pac"), "policies/aws/s3.pac");
        assert_eq!(uri("<bundled>/a b.pac"), "%3Cbundled%3E/a%20b.pac");
        assert_eq!(uri("dir\\x.pac"), "dir/x.pac");
    }
}
