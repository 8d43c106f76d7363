//! `pacc search` and `pacc bench-search`, the real binary end to end, on
//! the demo inventory: every kind of query, what each answer holds, the
//! text and JSON formats, paging and exit codes. Expected counts are
//! computed from the inventory file itself.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(&std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"))
}

fn pacc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pacc"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("pacc runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

const NOW: &str = "2026-11-01";
const DEMO: &str = "examples/demo/inventory.json";

/// `pacc search QUERY` on the demo with `extra` arguments: exit code and
/// the JSON answer.
fn search_json(query: &str, extra: &[&str]) -> (i32, Value) {
    let mut args = vec![
        "search",
        query,
        "--inventory",
        DEMO,
        "--now",
        NOW,
        "--format",
        "json",
    ];
    if !extra.contains(&"--limit") {
        args.extend(["--limit", "1000"]);
    }
    args.extend_from_slice(extra);
    let out = pacc(&args);
    let code = out.status.code().unwrap_or(-1);
    assert!(
        code == 0 || code == 1,
        "{query}: exit {code}: {}",
        text(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{query}: not JSON ({e}): {}", text(&out.stdout)));
    (code, v)
}

fn hits(v: &Value) -> &Vec<Value> {
    v["hits"].as_array().expect("hits")
}

/// The ids of the resource hits, sorted.
fn resource_ids(v: &Value) -> Vec<String> {
    let mut ids: Vec<String> = hits(v)
        .iter()
        .filter(|h| h["kind"] == "resource")
        .map(|h| h["id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

/// The demo inventory's documents.
fn demo() -> Vec<Value> {
    let s = std::fs::read_to_string(root().join(DEMO)).unwrap();
    serde_json::from_str(&s).unwrap()
}

/// Ids of the demo's documents for which `f` holds, sorted.
fn demo_ids(f: impl Fn(&Value) -> bool) -> Vec<String> {
    let mut ids: Vec<String> = demo()
        .iter()
        .filter(|d| f(d))
        .map(|d| d["id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

/// A demo document's tag, whatever way the file spells tags.
fn tag<'a>(d: &'a Value, key: &str) -> Option<&'a str> {
    match &d["attributes"]["tags"] {
        Value::Object(m) => m.get(key).and_then(Value::as_str),
        Value::Array(items) => items.iter().find_map(|t| {
            let k = t.get("key").or_else(|| t.get("Key"))?.as_str()?;
            let v = t.get("value").or_else(|| t.get("Value"))?.as_str()?;
            (k == key).then_some(v)
        }),
        _ => None,
    }
}

#[test]
fn free_text_finds_a_resource_by_a_word_of_its_attributes() {
    let (code, v) = search_json("alice", &[]);
    assert_eq!(code, 0);
    let first = &hits(&v)[0];
    assert_eq!(first["id"], "alice.admin", "{v:#}");
    assert_eq!(first["type"], "aws.iam.user");
    let marked: Vec<&str> = first["highlight"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["matched"] == true)
        .map(|p| p["text"].as_str().unwrap())
        .collect();
    assert!(
        marked.iter().any(|m| m.eq_ignore_ascii_case("alice")),
        "{first:#}"
    );
    // A resource's link is where its document is in the file.
    assert!(
        first["link"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{DEMO}:")),
        "{first:#}"
    );
}

#[test]
fn a_typo_is_forgiven() {
    let (code, v) = search_json("alcie", &[]);
    assert_eq!(code, 0);
    assert!(
        resource_ids(&v).contains(&"alice.admin".to_string()),
        "{v:#}"
    );
    let (_, v) = search_json("prodcution", &[]);
    assert!(
        hits(&v).iter().any(|h| h["kind"] == "policy"),
        "policies about production: {v:#}"
    );
}

#[test]
fn type_tag_attribute_path_and_range_match_what_the_file_holds() {
    let (_, v) = search_json("type:aws.s3.bucket", &[]);
    let want = demo_ids(|d| d["type"] == "aws.s3.bucket");
    assert!(!want.is_empty());
    assert_eq!(resource_ids(&v), want);
    // Policies and rules on buckets have the type too.
    assert!(hits(&v).iter().any(|h| h["kind"] == "rule"));
    let (_, v) = search_json("type:aws.s3.bucket kind:resource", &[]);
    assert_eq!(v["total"], want.len());

    let (_, v) = search_json("tag:env=prod", &[]);
    let want = demo_ids(|d| tag(d, "env").is_some_and(|e| e.eq_ignore_ascii_case("prod")));
    assert!(want.len() > 10);
    assert_eq!(resource_ids(&v), want);

    let (_, v) = search_json("state.name:running type:aws.ec2.instance", &[]);
    let want = demo_ids(|d| {
        d["type"] == "aws.ec2.instance" && d["attributes"]["state"]["name"] == "running"
    });
    assert!(!want.is_empty());
    assert_eq!(resource_ids(&v), want);

    let (_, v) = search_json("type:aws.ec2.volume size:>=100", &[]);
    let want = demo_ids(|d| {
        d["type"] == "aws.ec2.volume"
            && d["attributes"]["size"].as_f64().is_some_and(|s| s >= 100.0)
    });
    assert!(!want.is_empty());
    assert_eq!(resource_ids(&v), want);

    // Times compare as times.
    let (_, v) = search_json("type:aws.ec2.volume create_time:<2021-01-01", &[]);
    let want = demo_ids(|d| {
        d["type"] == "aws.ec2.volume"
            && d["attributes"]["create_time"]
                .as_str()
                .is_some_and(|t| t < "2021-01-01")
    });
    assert!(!want.is_empty());
    assert_eq!(resource_ids(&v), want);
}

#[test]
fn compliance_filters_agree_with_pacc_eval() {
    let out = pacc(&[
        "eval",
        "--inventory",
        DEMO,
        "--now",
        NOW,
        "--format",
        "json",
    ]);
    let report: Value = serde_json::from_slice(&out.stdout).expect("eval JSON");
    let violations = report["violations"].as_array().unwrap();
    let open: BTreeSet<String> = violations
        .iter()
        .filter(|x| x["exempted_by"].is_null())
        .map(|x| x["resource"]["id"].as_str().unwrap().to_string())
        .collect();
    assert!(!open.is_empty());

    let (code, v) = search_json("status:failing", &[]);
    assert_eq!(code, 0);
    let failing: BTreeSet<String> = resource_ids(&v).into_iter().collect();
    assert_eq!(failing, open);
    assert!(hits(&v).iter().all(|h| h["status"] == "failing"));

    // Every resource has a status.
    let total = |q: &str| search_json(q, &[]).1["total"].as_u64().unwrap();
    let resources = total("kind:resource");
    assert_eq!(
        total("status:failing") + total("status:passing") + total("status:exempted"),
        resources
    );

    let (_, v) = search_json("status:failing severity:critical", &[]);
    assert!(!hits(&v).is_empty());
    assert!(
        hits(&v).iter().all(|h| h["severity"] == "critical"),
        "{v:#}"
    );

    let (_, v) = search_json("policy:sg_ssh_open_to_world kind:resource", &[]);
    let want: BTreeSet<String> = violations
        .iter()
        .filter(|x| x["policy"] == "sg_ssh_open_to_world")
        .map(|x| x["resource"]["id"].as_str().unwrap().to_string())
        .collect();
    assert!(!want.is_empty());
    assert_eq!(resource_ids(&v).into_iter().collect::<BTreeSet<_>>(), want);
}

#[test]
fn policies_and_rules_are_found_too() {
    let (_, v) = search_json("ssh world kind:policy", &[]);
    let ids: Vec<&str> = hits(&v).iter().map(|h| h["id"].as_str().unwrap()).collect();
    assert!(ids.contains(&"sg_ssh_open_to_world"), "{ids:?}");
    // Linked to where the policy is declared.
    let link = hits(&v)[0]["link"].as_str().unwrap();
    assert!(link.contains(".pac:"), "{link}");
}

#[test]
fn json_answers_have_hits_facets_and_pages() {
    let (_, all) = search_json("type:aws.ec2.volume", &[]);
    let (code, page1) = search_json("type:aws.ec2.volume", &["--limit", "5"]);
    assert_eq!(code, 0);
    let (_, page2) = search_json("type:aws.ec2.volume", &["--limit", "5", "--page", "2"]);
    assert_eq!(hits(&page1).len(), 5);
    assert_eq!(hits(&page2).len(), 5);
    assert_eq!(page1["total"], all["total"]);
    let keys = |v: &Value| -> Vec<String> {
        hits(v)
            .iter()
            .map(|h| h["key"].as_str().unwrap().to_string())
            .collect()
    };
    let (k1, k2, ka) = (keys(&page1), keys(&page2), keys(&all));
    assert!(k1.iter().all(|k| !k2.contains(k)), "pages do not overlap");
    assert_eq!(
        &ka[..10],
        &[k1, k2].concat()[..],
        "pages follow the ranking"
    );
    for facet in ["kind", "type", "account", "region", "status", "severity"] {
        assert!(page1["facets"].get(facet).is_some(), "facet {facet}");
    }
    let types = page1["facets"]["type"].as_array().unwrap();
    assert_eq!(types.len(), 1);
    assert_eq!(types[0]["value"], "aws.ec2.volume");
    assert_eq!(types[0]["count"], all["total"]);
}

#[test]
fn nothing_found_exits_1() {
    let out = pacc(&["search", "zzqqxxnothinghere", "--now", NOW]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).starts_with("no results for"),
        "{}",
        text(&out.stdout)
    );
    let (code, v) = search_json("zzqqxxnothinghere", &[]);
    assert_eq!(code, 1);
    assert_eq!(v["total"], 0);
}

#[test]
fn a_query_the_language_refuses_exits_2_saying_where_and_what_to_do() {
    let out = pacc(&["search", "type:aws.ec2.volume size:>big", "--now", NOW]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = text(&out.stderr);
    assert!(err.contains("neither a number nor a date"), "{err}");
    assert!(err.contains("at character 20"), "{err}");
    // The caret is under the clause.
    let caret = err.lines().find(|l| l.trim() == "^").expect("a caret line");
    assert_eq!(caret.find('^'), Some(2 + 20), "{err}");

    let out = pacc(&["search", "web \"open", "--now", NOW]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("closing"),
        "{}",
        text(&out.stderr)
    );

    // Ranges only apply to attributes: said by the index, exit 2 too.
    let out = pacc(&["search", "type:>5", "--now", NOW]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("ranges"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_negation_is_a_query_not_an_option() {
    let (code, v) = search_json("-status:passing", &["--limit", "5"]);
    assert_eq!(code, 0);
    assert!(hits(&v).iter().all(|h| h["status"] != "passing"));
}

#[test]
fn inventory_errors_name_the_file_and_exit_2() {
    let out = pacc(&["search", "x", "--inventory", "no/such.json", "--now", NOW]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("no/such.json"),
        "{}",
        text(&out.stderr)
    );

    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("inv.ndjson");
    std::fs::write(
        &f,
        "{\"type\": \"aws.ec2.volume\", \"id\": \"vol-1\", \"account\": \"1\", \"region\": \"r\", \"attributes\": {\"size\": \"big\"}}\n",
    )
    .unwrap();
    let f = f.display().to_string();
    let out = pacc(&["search", "zzqqxx", "--inventory", &f, "--now", NOW]);
    let err = text(&out.stderr);
    assert!(err.contains(&format!("{f}:1")), "file and line: {err}");
    assert_eq!(
        out.status.code(),
        Some(1),
        "the bad document is skipped: {err}"
    );
    let out = pacc(&[
        "search",
        "zzqqxx",
        "--inventory",
        &f,
        "--now",
        NOW,
        "--strict",
    ]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn help_documents_the_exit_codes() {
    let out = pacc(&["search", "--help"]);
    let help = text(&out.stdout);
    assert!(
        help.contains("Exit status: 0 something matched, 1 nothing matched, 2"),
        "{help}"
    );
}

#[test]
fn the_text_answer() {
    let out = pacc(&["search", "alice", "--now", NOW]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    insta::assert_snapshot!(text(&out.stdout));
}

#[test]
fn the_search_benchmark_runs_at_a_tiny_size() {
    let out = pacc(&[
        "bench-search",
        "--count",
        "2000",
        "--seconds",
        "1",
        "--clients",
        "4",
    ]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    for row in [
        "| build the index",
        "| index size",
        "| 1% update (20 documents",
        "| query p99",
        "| queries/s",
        "| scoped: `status:failing` in production, sandbox_resources",
    ] {
        assert!(stdout.contains(row), "{row}: {stdout}");
    }
    // Every query of the mix finds something in the estate.
    let mix = stdout
        .split("| --- | ---: | ---: | ---: | ---: |")
        .nth(1)
        .unwrap();
    for line in mix.lines().filter(|l| l.starts_with('|')) {
        let results = line.split('|').nth(2).unwrap().trim();
        assert_ne!(results, "0", "{line}");
    }
}
