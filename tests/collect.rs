//! `pacc collect` against a real moto server (EC2, S3, IAM) and real
//! plugin sources (files, a child process, a local HTTP server).

mod moto_server;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;

use moto_server::*;
use serde_json::Value as Json;

fn collect(dir: &Path, config: &str, policies: Option<&Path>) -> (i32, Json, Vec<Json>, String) {
    let cfg = dir.join("pac.toml");
    std::fs::write(&cfg, config).unwrap();
    let out = dir.join("inventory.ndjson");
    let mut cmd = pacc();
    cmd.arg("collect")
        .arg("--config")
        .arg(&cfg)
        .arg("--out")
        .arg(&out)
        .args(["--format", "json"]);
    if let Some(p) = policies {
        cmd.arg("--policies").arg(p);
    }
    let (code, stdout, stderr) = run(&mut cmd);
    let summary: Json = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("summary is not JSON ({e}): {stdout}\n{stderr}"));
    let docs = if out.exists() {
        read_ndjson(&out)
    } else {
        vec![]
    };
    (code, summary, docs, stderr)
}

fn of_type<'a>(docs: &'a [Json], t: &str) -> Vec<&'a Json> {
    docs.iter().filter(|d| d["type"] == t).collect()
}

fn find<'a>(docs: &'a [Json], id: &str) -> &'a Json {
    docs.iter()
        .find(|d| d["id"] == id)
        .unwrap_or_else(|| panic!("no document {id}"))
}

fn write_policies(dir: &Path, exempt: &str) -> std::path::PathBuf {
    let p = dir.join("policies.pac");
    std::fs::write(&p, POLICIES.replace("{EXEMPT}", exempt)).unwrap();
    p
}

#[test]
fn an_estate_in_two_regions_is_collected_validated_and_evaluated() {
    let moto = Moto::start();
    let rt = runtime();
    let e = rt.block_on(seed(&moto));
    let dir = tempfile::tempdir().unwrap();
    let (code, summary, docs, stderr) = collect(dir.path(), &aws_config(&moto, ""), None);
    assert_eq!(code, 0, "{summary:#}\n{stderr}");
    assert_eq!(summary["errors"], Json::Array(vec![]), "{summary:#}");
    assert_eq!(summary["rejected"], Json::Array(vec![]), "{summary:#}");
    assert!(
        summary["api_calls_total"].as_u64().unwrap() > 20,
        "{summary:#}"
    );

    // Every document is stamped with the account and its region.
    for d in &docs {
        assert_eq!(d["account"], ACCOUNT, "{d}");
    }
    let instances = of_type(&docs, "aws.ec2.instance");
    assert_eq!(instances.len(), 3);
    let west = find(&docs, &e.unowned_instance);
    assert_eq!(west["region"], "eu-west-1");
    assert_eq!(west["attributes"]["state"]["name"], "running");
    assert_eq!(west["attributes"]["image_id"], AMI);
    let east = find(&docs, &e.owned_instances[0]);
    assert_eq!(east["region"], "us-east-1");
    assert_eq!(east["attributes"]["tags"][0]["key"], "owner");
    assert!(east["attributes"]["block_device_mappings"][0]["ebs"]["volume_id"].is_string());

    let open = find(&docs, &e.open_west);
    assert_eq!(open["region"], "eu-west-1");
    let perm = &open["attributes"]["ip_permissions"][0];
    assert_eq!(
        (perm["from_port"].as_i64(), perm["ip_protocol"].as_str()),
        (Some(22), Some("tcp"))
    );
    assert_eq!(perm["ip_ranges"][0]["cidr_ip"], "0.0.0.0/0");
    assert_eq!(
        find(&docs, &e.internal)["attributes"]["ip_permissions"][0]["ip_ranges"][0]["cidr_ip"],
        "10.0.0.0/8"
    );

    let vol = find(&docs, &e.loose_east);
    assert_eq!(vol["attributes"]["encrypted"], false);
    assert_eq!(vol["attributes"]["state"], "available");
    // Root volumes come with the instances.
    assert!(of_type(&docs, "aws.ec2.volume").len() >= 5);

    let snap = find(&docs, &e.snapshot);
    assert_eq!(
        snap["attributes"]["create_volume_permissions"][0]["group"],
        "all"
    );
    let img = find(&docs, &e.image);
    assert_eq!(img["attributes"]["launch_permissions"][0]["group"], "all");
    assert_eq!(
        of_type(&docs, "aws.ec2.image").len(),
        1,
        "only the account's own images"
    );

    let public = find(&docs, &e.public_bucket);
    assert_eq!(public["region"], "us-east-1");
    let grants = public["attributes"]["acl"]["grants"].as_array().unwrap();
    assert!(
        grants
            .iter()
            .any(|g| g["grantee"]["uri"] == "http://acs.amazonaws.com/groups/global/AllUsers"),
        "{grants:?}"
    );
    assert!(public["attributes"].get("public_access_block").is_none());
    assert_eq!(find(&docs, &e.private_bucket)["region"], "eu-west-1");

    let key = find(&docs, &e.access_key);
    assert_eq!(key["attributes"]["user_name"], "alice");
    assert_eq!(key["attributes"]["status"], "Active");
    assert_eq!(find(&docs, "alice")["type"], "aws.iam.user");
    assert_eq!(of_type(&docs, "aws.iam.account_summary").len(), 1);
    assert_eq!(
        of_type(&docs, "aws.ec2.vpc").len(),
        2,
        "the default VPC of each region"
    );
    assert!(of_type(&docs, "aws.ec2.subnet").len() >= 2);
    let west_docs = docs.iter().filter(|d| d["region"] == "eu-west-1").count() as u64;
    assert_eq!(summary["by_region"]["eu-west-1"].as_u64(), Some(west_docs));

    // Every scope was reported complete.
    let complete = summary["complete"].as_array().unwrap();
    assert!(complete.iter().any(|c| c["scope"]["region"] == "eu-west-1"
        && c["scope"]["resource_type"] == "aws.ec2.instance"));

    // The collected inventory evaluates, and the seeded problems are found.
    let policies = write_policies(dir.path(), &e.bastion);
    let (code, stdout, stderr) = run(pacc()
        .arg("eval")
        .arg("--policies")
        .arg(&policies)
        .arg("--inventory")
        .arg(dir.path().join("inventory.ndjson"))
        .args(["--format", "json", "--now", "2028-06-01"]));
    assert_eq!(code, 1, "{stderr}");
    assert!(!stderr.contains("warning"), "{stderr}");
    let report: Json = serde_json::from_str(&stdout).unwrap();
    let mut failing: BTreeMap<String, Vec<(String, bool)>> = BTreeMap::new();
    for v in report["violations"].as_array().unwrap() {
        failing
            .entry(v["policy"].as_str().unwrap().to_owned())
            .or_default()
            .push((
                v["resource"]["id"].as_str().unwrap().to_owned(),
                v["exempted_by"].is_string(),
            ));
    }
    let ids = |p: &str| -> Vec<&str> {
        let mut v: Vec<&str> = failing
            .get(p)
            .map(|x| x.iter().map(|(i, _)| i.as_str()).collect())
            .unwrap_or_default();
        v.sort();
        v
    };
    let mut ssh = vec![
        e.open_east.as_str(),
        e.open_west.as_str(),
        e.bastion.as_str(),
    ];
    ssh.sort();
    assert_eq!(ids("ssh_world"), ssh);
    assert!(
        failing["ssh_world"]
            .iter()
            .any(|(i, ex)| *i == e.bastion && *ex)
    );
    assert_eq!(ids("public_snapshot"), vec![e.snapshot.as_str()]);
    assert_eq!(ids("public_image"), vec![e.image.as_str()]);
    assert_eq!(ids("public_bucket_acl"), vec![e.public_bucket.as_str()]);
    assert_eq!(ids("old_access_key"), vec![e.access_key.as_str()]);
    assert_eq!(ids("unowned_running"), vec![e.unowned_instance.as_str()]);
    let mut loose = vec![e.loose_east.as_str(), e.loose_west.as_str()];
    loose.sort();
    assert_eq!(ids("unattached_volume"), loose);
}

#[test]
fn the_policies_read_set_skips_types_and_sub_calls() {
    let moto = Moto::start();
    let rt = runtime();
    let e = rt.block_on(seed(&moto));
    let full_dir = tempfile::tempdir().unwrap();
    let (code, full, _, stderr) = collect(full_dir.path(), &aws_config(&moto, ""), None);
    assert_eq!(code, 0, "{stderr}");

    // Policies that read only security groups and bucket ACLs.
    let dir = tempfile::tempdir().unwrap();
    let policies = dir.path().join("p.pac");
    std::fs::write(
        &policies,
        r#"package narrow

policy ssh_world {
  title "SSH open to the world"
  severity critical
  category security
  rule on aws.ec2.security_group {
    violation when any p in ip_permissions: covers_port(p, 22) and any r in p.ip_ranges: has(r.cidr_ip) and r.cidr_ip == 0.0.0.0/0
  }
}

policy public_bucket {
  title "Public bucket ACL"
  severity critical
  category security
  rule on aws.s3.bucket {
    violation when any g in acl.grants: (g.grantee?.uri ?? "") == "http://acs.amazonaws.com/groups/global/AllUsers"
  }
}
"#,
    )
    .unwrap();
    let (code, narrow, docs, stderr) = collect(dir.path(), &aws_config(&moto, ""), Some(&policies));
    assert_eq!(code, 0, "{narrow:#}\n{stderr}");
    let types: Vec<&String> = narrow["by_type"].as_object().unwrap().keys().collect();
    assert_eq!(types, ["aws.ec2.security_group", "aws.s3.bucket"]);
    let calls = |s: &Json| -> BTreeMap<String, u64> {
        serde_json::from_value(s["api_calls"]["moto"].clone()).unwrap()
    };
    let (f, n) = (calls(&full), calls(&narrow));
    for skipped in [
        "EC2:DescribeInstances",
        "EC2:DescribeVolumes",
        "S3:GetBucketVersioning",
        "S3:GetBucketEncryption",
        "IAM:ListUsers",
    ] {
        assert!(
            f.contains_key(skipped),
            "the full collection calls {skipped}: {f:?}"
        );
        assert!(!n.contains_key(skipped), "the narrow one does not: {n:?}");
    }
    assert_eq!(n["S3:GetBucketAcl"], 2);
    let (ft, nt) = (
        full["api_calls_total"].as_u64().unwrap(),
        narrow["api_calls_total"].as_u64().unwrap(),
    );
    assert!(nt * 3 < ft, "narrow {nt} vs full {ft}");
    eprintln!("API calls: full {ft}, with the read set {nt}");

    // The bucket says what was not collected, and still validates.
    let b = find(&docs, &e.public_bucket);
    let nc: Vec<&str> = b["not_collected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap())
        .collect();
    assert!(nc.contains(&"versioning") && !nc.contains(&"acl"), "{nc:?}");
    let (code, stdout, stderr) = run(pacc()
        .arg("eval")
        .arg("--policies")
        .arg(&policies)
        .arg("--inventory")
        .arg(dir.path().join("inventory.ndjson"))
        .args(["--format", "json"]));
    assert_eq!(code, 1, "{stderr}");
    let report: Json = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        report["violations"].as_array().unwrap().len(),
        4,
        "{stdout}"
    );
}

#[test]
fn every_page_is_read() {
    let moto = Moto::start();
    let rt = runtime();
    // Separate launches: moto pages DescribeInstances by reservation.
    let ids = rt.block_on(async {
        let ec2 = moto.ec2("us-east-1").await;
        let mut ids = Vec::new();
        for _ in 0..13 {
            ids.extend(launch(&ec2, 1, &[]).await);
        }
        ids
    });
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "[[source]]\nkind = \"aws\"\nname = \"moto\"\nregions = [\"us-east-1\"]\nendpoint_url = \"{}\"\npage_size = 5\ntypes = [\"aws.ec2.instance\", \"aws.ec2.volume\"]\n",
        moto.url
    );
    let (code, summary, docs, stderr) = collect(dir.path(), &config, None);
    assert_eq!(code, 0, "{stderr}");
    let mut got: Vec<&str> = of_type(&docs, "aws.ec2.instance")
        .iter()
        .map(|d| d["id"].as_str().unwrap())
        .collect();
    got.sort();
    let mut want: Vec<&str> = ids.iter().map(String::as_str).collect();
    want.sort();
    assert_eq!(got, want);
    assert_eq!(
        summary["api_calls"]["moto"]["EC2:DescribeInstances"], 3,
        "13 reservations in pages of 5"
    );
    assert_eq!(
        of_type(&docs, "aws.ec2.volume").len(),
        13,
        "one root volume each"
    );
}

#[test]
fn an_unreachable_region_is_reported_and_the_others_are_collected() {
    let moto = Moto::start();
    let rt = runtime();
    let id = rt.block_on(async { launch(&moto.ec2("us-east-1").await, 1, &[]).await.remove(0) });
    let closed = free_port();
    let dir = tempfile::tempdir().unwrap();
    let config = aws_config(
        &moto,
        &format!("region_endpoints = {{ \"eu-west-1\" = \"http://127.0.0.1:{closed}\" }}"),
    );
    let (code, summary, docs, stderr) = collect(dir.path(), &config, None);
    assert_eq!(code, 1, "partial collection exits 1: {summary:#}\n{stderr}");
    let errors = summary["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "one error for the region: {errors:#?}");
    assert_eq!(errors[0]["scope"]["region"], "eu-west-1");
    assert_eq!(errors[0]["scope"]["account"], ACCOUNT);
    let msg = errors[0]["message"].as_str().unwrap();
    assert!(msg.contains("unreachable"), "{msg}");
    assert_eq!(find(&docs, &id)["region"], "us-east-1");
    assert!(docs.iter().all(|d| d["region"] != "eu-west-1"));
    assert!(of_type(&docs, "aws.iam.account_summary").len() == 1);
    // The text summary names it too.
    let cfg = dir.path().join("pac.toml");
    let (_, text, _) = run(pacc()
        .arg("collect")
        .arg("--config")
        .arg(&cfg)
        .arg("--out")
        .arg(dir.path().join("t.ndjson")));
    assert!(
        text.contains("1 error(s):") && text.contains("eu-west-1"),
        "{text}"
    );
}

#[test]
fn a_role_per_account_is_assumed() {
    let moto = Moto::start();
    let rt = runtime();
    // moto keeps one estate per account; AssumeRole credentials act in the
    // role's account.
    let other = "111111111111";
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "[[source]]\nkind = \"aws\"\nname = \"moto\"\nregions = [\"us-east-1\"]\nendpoint_url = \"{}\"\ntypes = [\"aws.ec2.vpc\"]\n\n[[source.accounts]]\n\n[[source.accounts]]\nrole_arn = \"arn:aws:iam::{other}:role/pac-reader\"\n",
        moto.url
    );
    let _ = &rt;
    let (code, summary, docs, stderr) = collect(dir.path(), &config, None);
    assert_eq!(code, 0, "{summary:#}\n{stderr}");
    let accounts: Vec<&str> = docs
        .iter()
        .map(|d| d["account"].as_str().unwrap())
        .collect();
    assert!(
        accounts.contains(&ACCOUNT) && accounts.contains(&other),
        "{accounts:?}"
    );
    assert!(
        summary["api_calls"]["moto"]["STS:AssumeRole"]
            .as_u64()
            .unwrap_or(0)
            >= 1
            || summary["api_calls"]["moto"]["STS:GetCallerIdentity"]
                .as_u64()
                .unwrap_or(0)
                >= 1,
        "{summary:#}"
    );
}

/// A tiny HTTP server on 127.0.0.1 serving fixed JSON bodies by path and
/// query; returns its base URL.
fn http_server(pages: Vec<(&'static str, String)>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let mut reader = BufReader::new(s.try_clone().unwrap());
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            let target = line.split_whitespace().nth(1).unwrap_or("").to_owned();
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                    break;
                }
            }
            let (status, body) = match pages.iter().find(|(p, _)| *p == target) {
                Some((_, b)) => ("200 OK", b.clone()),
                None => ("404 Not Found", format!("{{\"error\": \"no {target}\"}}")),
            };
            let _ = write!(
                s,
                "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    format!("http://{addr}")
}

fn finding(id: &str, cvss: &str) -> String {
    format!(
        r#"{{"finding_id": "{id}", "resource_id": "i-1", "cve": "CVE-2024-1", "title": "t", "cvss": {cvss}, "severity": "high", "first_seen": "2026-01-01T00:00:00Z", "scanner": "test", "acct": "123456789012"}}"#
    )
}

#[test]
fn plugins_read_files_a_child_process_and_an_http_endpoint() {
    let dir = tempfile::tempdir().unwrap();
    let files = dir.path().join("findings");
    std::fs::create_dir(&files).unwrap();
    std::fs::write(
        files.join("a.ndjson"),
        format!(
            "{}\n\n{}\n",
            finding("f-1", "9.8"),
            finding("f-2", "\"high\"")
        ),
    )
    .unwrap();
    std::fs::write(files.join("b.json"), format!("[{}]", finding("f-3", "5.0"))).unwrap();
    std::fs::write(files.join("notes.txt"), "ignored").unwrap();
    // A document in the inventory format passes as it is.
    let script = dir.path().join("export.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\necho '{}'\necho '{}'\necho \"$PAC_TEST_GREETING\" >&2\n",
            finding("c-1", "7.5"),
            r#"{"type": "aws.ec2.key_pair", "id": "key-1", "account": "123456789012", "region": "us-east-1", "attributes": {"key_pair_id": "key-1", "key_name": "k", "key_fingerprint": "f", "key_type": "rsa"}}"#
        ),
    )
    .unwrap();
    let base = http_server(vec![
        (
            "/v1/findings",
            format!(
                r#"{{"results": [{}, {}], "next": "/v1/findings?page=2"}}"#,
                finding("h-1", "8.0"),
                finding("h-2", "8.1")
            ),
        ),
        (
            "/v1/findings?page=2",
            format!(
                r#"{{"results": [{}], "next": null}}"#,
                finding("h-3", "8.2")
            ),
        ),
        (
            "/v2/findings",
            format!(
                r#"{{"items": [{}], "cursor": "abc"}}"#,
                finding("k-1", "3.0")
            ),
        ),
        (
            "/v2/findings?cursor=abc",
            format!(r#"{{"items": [{}], "cursor": ""}}"#, finding("k-2", "3.1")),
        ),
    ]);
    let config = format!(
        r#"
[[source]]
kind = "file"
name = "scanner-files"
path = "{files}"
type = "vuln.finding"
id_field = "finding_id"
account_field = "acct"
region = "us-east-1"

[[source]]
kind = "command"
name = "scanner-cmd"
command = ["sh", "{script}"]
env = {{ PAC_TEST_GREETING = "hello" }}
type = "vuln.finding"
id_field = "finding_id"

[[source]]
kind = "http"
name = "scanner-api"
url = "{base}/v1/findings"
items = "/results"
next_link = "/next"
type = "vuln.finding"
id_field = "finding_id"

[[source]]
kind = "http"
name = "scanner-cursor"
url = "{base}/v2/findings"
cursor = "/cursor"
type = "vuln.finding"
id_field = "finding_id"

[[source]]
kind = "http"
name = "broken"
url = "{base}/nope"
type = "vuln.finding"
"#,
        files = files.display(),
        script = script.display(),
    );
    let (code, summary, docs, stderr) = collect(dir.path(), &config, None);
    assert_eq!(
        code, 1,
        "a rejected document and a failed source: {summary:#}\n{stderr}"
    );
    let mut ids: Vec<&str> = docs.iter().map(|d| d["id"].as_str().unwrap()).collect();
    ids.sort();
    assert_eq!(
        ids,
        [
            "c-1", "f-1", "f-3", "h-1", "h-2", "h-3", "k-1", "k-2", "key-1"
        ]
    );
    let f1 = find(&docs, "f-1");
    assert_eq!(
        (f1["account"].as_str(), f1["region"].as_str()),
        (Some(ACCOUNT), Some("us-east-1"))
    );
    assert!(
        f1["origin"].as_str().unwrap().ends_with("a.ndjson:1"),
        "{f1}"
    );
    assert!(
        find(&docs, "f-3")["origin"]
            .as_str()
            .unwrap()
            .ends_with("b.json[0]")
    );
    assert_eq!(
        find(&docs, "h-3")["origin"].as_str().unwrap(),
        format!("{base}/v1/findings?page=2 #2")
    );
    // f-2's cvss is a string: rejected by the schema, with where it came from.
    let rejected = summary["rejected"].as_array().unwrap();
    assert_eq!(rejected.len(), 1, "{rejected:#?}");
    assert_eq!(rejected[0]["id"], "f-2");
    assert_eq!(rejected[0]["field"], "cvss");
    assert_eq!(rejected[0]["source"], "scanner-files");
    let errors = summary["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_eq!(errors[0]["source"], "broken");
    assert!(
        errors[0]["message"].as_str().unwrap().contains("404"),
        "{errors:?}"
    );

    // A failing command is reported with its standard error.
    let config = format!(
        "[[source]]\nkind = \"command\"\nname = \"failing\"\ncommand = [\"sh\", \"-c\", \"echo '{}'; echo 'scanner: licence expired' >&2; exit 3\"]\ntype = \"vuln.finding\"\nid_field = \"finding_id\"\n",
        finding("z-1", "1.0").replace('"', "\\\"")
    );
    let (code, summary, docs, _) = collect(dir.path(), &config, None);
    assert_eq!(code, 1);
    assert_eq!(docs.len(), 1, "what it printed before failing is kept");
    let msg = summary["errors"][0]["message"].as_str().unwrap();
    assert!(
        msg.contains("licence expired") && msg.contains("exit status: 3"),
        "{msg}"
    );
}

#[test]
fn a_bad_config_names_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("pac.toml");
    std::fs::write(
        &cfg,
        "[[source]]\nkind = \"aws\"\nname = \"x\"\nregoins = [\"us-east-1\"]\n",
    )
    .unwrap();
    let (code, _, stderr) = run(pacc()
        .arg("collect")
        .arg("--config")
        .arg(&cfg)
        .arg("--out")
        .arg(dir.path().join("o.ndjson")));
    assert_eq!(code, 2);
    assert!(
        stderr.contains("pac.toml:4") && stderr.contains("did you mean `regions`"),
        "{stderr}"
    );
}
