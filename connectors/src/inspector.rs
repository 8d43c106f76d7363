//! Amazon Inspector (v2) findings as `vuln.finding` documents: what `pacc
//! import-findings` writes (docs/inventory.md, "Vulnerability findings").
//! Reads the output of `aws inspector2 list-findings` (`{"findings":
//! [...]}`), a JSON array of findings, or one finding per line, with
//! timestamps as the CLI prints them (ISO 8601) or as the API sends them
//! (epoch seconds). Only active package-vulnerability findings become
//! documents: a closed or suppressed finding is no open vulnerability, and
//! a network-reachability or code finding has no CVE.

use serde_json::{Map, Value, json};

/// What a conversion made and left out.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Converted {
    pub documents: Vec<Value>,
    /// (finding ARN or position, why it was left out).
    pub skipped: Vec<(String, String)>,
}

/// Converts Inspector findings in `text`; an error when the text holds no
/// findings at all in a form this reads.
pub fn convert(text: &str) -> Result<Converted, String> {
    let findings = findings_of(text)?;
    let mut out = Converted::default();
    for (i, f) in findings.iter().enumerate() {
        let name = f
            .get("findingArn")
            .and_then(Value::as_str)
            .map_or_else(|| format!("finding #{}", i + 1), str::to_string);
        match document(f) {
            Ok(d) => out.documents.push(d),
            Err(why) => out.skipped.push((name, why)),
        }
    }
    Ok(out)
}

fn findings_of(text: &str) -> Result<Vec<Value>, String> {
    let trimmed = text.trim_start();
    if (trimmed.starts_with('{') || trimmed.starts_with('['))
        && let Ok(v) = serde_json::from_str::<Value>(text)
    {
        return match v {
            Value::Array(a) => Ok(a),
            Value::Object(mut o) => match o.remove("findings") {
                Some(Value::Array(a)) => Ok(a),
                // One finding on its own.
                _ if o.contains_key("findingArn") => Ok(vec![Value::Object(o)]),
                _ => Err("a JSON object without a `findings` list: expected the output of `aws inspector2 list-findings`".into()),
            },
            _ => Err("expected Inspector findings as a JSON object or array".into()),
        };
    }
    // One finding per line.
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(n, l)| {
            serde_json::from_str(l).map_err(|e| format!("line {}: not a JSON finding: {e}", n + 1))
        })
        .collect()
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    let mut cur = v;
    for p in path {
        cur = cur.get(p)?;
    }
    cur.as_str().filter(|s| !s.is_empty())
}

/// An Inspector timestamp as RFC 3339: ISO 8601 text as the CLI prints it,
/// or epoch seconds as the API sends them.
fn time(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => chrono::DateTime::parse_from_rfc3339(s).ok().map(|t| {
            t.to_utc()
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        }),
        Value::Number(n) => {
            let secs = n.as_f64()?;
            chrono::DateTime::from_timestamp(secs.floor() as i64, 0)
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        }
        _ => None,
    }
}

/// Inspector's resource types as Pac's (those the stdlib has).
fn resource_type(t: &str) -> Option<&'static str> {
    match t {
        "AWS_EC2_INSTANCE" => Some("aws.ec2.instance"),
        _ => None,
    }
}

fn document(f: &Value) -> Result<Value, String> {
    let status = str_at(f, &["status"]).unwrap_or("ACTIVE");
    if status != "ACTIVE" {
        return Err(format!(
            "status {status} (only active findings are open vulnerabilities)"
        ));
    }
    let details = f.get("packageVulnerabilityDetails").ok_or_else(|| {
        format!(
            "a {} finding, not a package vulnerability (no CVE)",
            str_at(f, &["type"]).unwrap_or("non-package")
        )
    })?;
    let cve = str_at(details, &["vulnerabilityId"])
        .ok_or("no `packageVulnerabilityDetails.vulnerabilityId` (the CVE)")?;
    let arn = str_at(f, &["findingArn"]).ok_or("no `findingArn`")?;
    // arn:aws:inspector2:REGION:ACCOUNT:finding/ID
    let parts: Vec<&str> = arn.split(':').collect();
    let id = arn.rsplit('/').next().unwrap_or(arn);
    let resource = f
        .get("resources")
        .and_then(Value::as_array)
        .and_then(|r| r.first())
        .ok_or("no `resources`")?;
    let resource_id = str_at(resource, &["id"]).ok_or("no `resources[0].id`")?;
    let account = str_at(f, &["awsAccountId"])
        .or_else(|| parts.get(4).copied().filter(|s| !s.is_empty()))
        .ok_or("no `awsAccountId`")?;
    let region = str_at(resource, &["region"])
        .or_else(|| parts.get(3).copied().filter(|s| !s.is_empty()))
        .ok_or("no region (neither `resources[0].region` nor the ARN's)")?;
    let first_seen = time(f.get("firstObservedAt")).ok_or("no readable `firstObservedAt`")?;
    // CVSS: the v3 base score of any source first, else any, else
    // Inspector's own score.
    let scores: Vec<&Value> = details
        .get("cvss")
        .and_then(Value::as_array)
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    let v3 = scores
        .iter()
        .find(|s| str_at(s, &["version"]).is_some_and(|v| v.starts_with('3')));
    let cvss = v3
        .or(scores.first())
        .and_then(|s| s.get("baseScore"))
        .and_then(Value::as_f64)
        .or_else(|| f.get("inspectorScore").and_then(Value::as_f64))
        .ok_or("no CVSS score and no `inspectorScore`")?;
    let severity = match str_at(f, &["severity"]).unwrap_or("") {
        "CRITICAL" => "critical",
        "HIGH" => "high",
        "MEDIUM" => "medium",
        // LOW, INFORMATIONAL, UNTRIAGED (no vendor severity yet).
        _ => "low",
    };
    let package = details
        .get("vulnerablePackages")
        .and_then(Value::as_array)
        .and_then(|p| p.first());
    let pkg = |k: &str| {
        package
            .and_then(|p| str_at(p, &[k]))
            .filter(|v| *v != "NotAvailable")
            .map(str::to_string)
    };
    let mut attrs = Map::new();
    attrs.insert("resource_id".into(), json!(resource_id));
    if let Some(t) = str_at(resource, &["type"]).and_then(resource_type) {
        attrs.insert("resource_type".into(), json!(t));
    }
    attrs.insert("cve".into(), json!(cve));
    attrs.insert("title".into(), json!(str_at(f, &["title"]).unwrap_or(cve)));
    attrs.insert("cvss".into(), json!(cvss));
    attrs.insert("severity".into(), json!(severity));
    attrs.insert("first_seen".into(), json!(first_seen));
    if let Some(t) = time(f.get("lastObservedAt")) {
        attrs.insert("last_seen".into(), json!(t));
    }
    for (k, v) in [
        ("package_name", pkg("name")),
        ("installed_version", pkg("version")),
        ("fixed_version", pkg("fixedInVersion")),
    ] {
        if let Some(v) = v {
            attrs.insert(k.into(), json!(v));
        }
    }
    attrs.insert("scanner".into(), json!("inspector"));
    Ok(json!({
        "type": "vuln.finding",
        "id": id,
        "account": account,
        "region": region,
        "attributes": attrs,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    const FINDING: &str = r#"{
      "awsAccountId": "111122223333",
      "findingArn": "arn:aws:inspector2:eu-west-1:111122223333:finding/0123456789abcdef0123456789abcdef",
      "type": "PACKAGE_VULNERABILITY",
      "title": "CVE-2024-6387 - openssh-server",
      "description": "regreSSHion",
      "severity": "CRITICAL",
      "status": "ACTIVE",
      "inspectorScore": 8.1,
      "firstObservedAt": "2026-10-01T08:00:00.123000+02:00",
      "lastObservedAt": 1793491200.5,
      "packageVulnerabilityDetails": {
        "vulnerabilityId": "CVE-2024-6387",
        "source": "UBUNTU_CVE",
        "cvss": [
          {"baseScore": 7.0, "scoringVector": "…", "source": "NVD", "version": "2.0"},
          {"baseScore": 8.1, "scoringVector": "CVSS:3.1/AV:N/…", "source": "NVD", "version": "3.1"}
        ],
        "vulnerablePackages": [
          {"name": "openssh-server", "version": "8.9p1", "fixedInVersion": "1:8.9p1-3ubuntu0.10", "packageManager": "OS"}
        ]
      },
      "resources": [{"id": "i-0abc123def4567890", "type": "AWS_EC2_INSTANCE", "region": "eu-west-1"}]
    }"#;

    #[test]
    fn an_active_package_finding_becomes_a_vuln_finding() {
        let c = convert(&format!(
            r#"{{"findings": [{FINDING}], "nextToken": null}}"#
        ))
        .unwrap();
        assert!(c.skipped.is_empty(), "{:?}", c.skipped);
        let d = &c.documents[0];
        assert_eq!(d["type"], "vuln.finding");
        assert_eq!(d["id"], "0123456789abcdef0123456789abcdef");
        assert_eq!(d["account"], "111122223333");
        assert_eq!(d["region"], "eu-west-1");
        let a = &d["attributes"];
        assert_eq!(a["resource_id"], "i-0abc123def4567890");
        assert_eq!(a["resource_type"], "aws.ec2.instance");
        assert_eq!(a["cve"], "CVE-2024-6387");
        assert_eq!(a["cvss"], 8.1, "the v3 score, not the v2 one");
        assert_eq!(a["severity"], "critical");
        assert_eq!(a["first_seen"], "2026-10-01T06:00:00Z");
        assert_eq!(a["last_seen"], "2026-11-01T00:00:00Z");
        assert_eq!(a["package_name"], "openssh-server");
        assert_eq!(a["fixed_version"], "1:8.9p1-3ubuntu0.10");
        assert_eq!(a["scanner"], "inspector");
    }

    #[test]
    fn arrays_lines_and_what_is_left_out() {
        let mut closed: Value = serde_json::from_str(FINDING).unwrap();
        closed["status"] = "CLOSED".into();
        let mut network: Value = serde_json::from_str(FINDING).unwrap();
        network["type"] = "NETWORK_REACHABILITY".into();
        network
            .as_object_mut()
            .unwrap()
            .remove("packageVulnerabilityDetails");
        let mut untriaged: Value = serde_json::from_str(FINDING).unwrap();
        untriaged["severity"] = "UNTRIAGED".into();
        untriaged["packageVulnerabilityDetails"]["cvss"] = json!([]);
        untriaged["packageVulnerabilityDetails"]["vulnerablePackages"][0]["fixedInVersion"] =
            "NotAvailable".into();
        let array = json!([closed, network, untriaged]).to_string();
        let lines = [&closed, &network, &untriaged]
            .iter()
            .map(|v| v.to_string())
            .collect::<Vec<_>>()
            .join("\n");
        for text in [array, lines] {
            let c = convert(&text).unwrap();
            assert_eq!(c.documents.len(), 1, "{c:?}");
            assert_eq!(c.skipped.len(), 2);
            assert!(c.skipped[0].1.contains("CLOSED"), "{:?}", c.skipped);
            assert!(
                c.skipped[1].1.contains("NETWORK_REACHABILITY"),
                "{:?}",
                c.skipped
            );
            let a = &c.documents[0]["attributes"];
            assert_eq!(a["severity"], "low");
            assert_eq!(a["cvss"], 8.1, "Inspector's own score without a CVSS one");
            assert!(
                a.get("fixed_version").is_none(),
                "NotAvailable is no version"
            );
        }
        assert!(
            convert(r#"{"items": []}"#)
                .unwrap_err()
                .contains("findings")
        );
        assert!(convert("not json").is_err());
    }
}
