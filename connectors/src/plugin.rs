//! What the plugin connectors share: turning the JSON records a plugin
//! produces into inventory documents.
//!
//! A record that already is a document (it has `type` and `attributes`) is
//! passed as it is. Any other JSON object is the attributes of a resource of
//! the source's declared `type`; its `id` (and optionally `account` and
//! `region`) are read from the configured fields. Every document gets an
//! `origin` member (file and line, URL and index) so that a document the
//! schemas reject can be traced back.

use serde::{Deserialize, Serialize};
use serde_json::{Value as Json, json};

/// How a plugin's records become documents (the `[[source]]` keys shared by
/// the file, command and http kinds).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Mapping {
    /// The resource type of records that are not whole documents
    /// (`vuln.finding`).
    #[serde(rename = "type", default)]
    pub resource_type: Option<String>,
    /// The record field holding the resource's id (default `id`).
    #[serde(default)]
    pub id_field: Option<String>,
    /// The record field holding the account (default: the `account` value).
    #[serde(default)]
    pub account_field: Option<String>,
    /// The account of records without one (default `""`).
    #[serde(default)]
    pub account: Option<String>,
    /// The record field holding the region (default: the `region` value).
    #[serde(default)]
    pub region_field: Option<String>,
    /// The region of records without one (default `""`).
    #[serde(default)]
    pub region: Option<String>,
}

fn text(v: &Json) -> Option<String> {
    match v {
        Json::String(s) => Some(s.clone()),
        Json::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

impl Mapping {
    /// The document for one record; `Err` says why the record cannot be one.
    pub fn document(&self, record: Json, origin: &str) -> Result<Json, String> {
        let Json::Object(obj) = record else {
            return Err(format!("{origin}: a record must be a JSON object"));
        };
        if obj.contains_key("type") && obj.contains_key("attributes") {
            let mut doc = Json::Object(obj);
            doc["origin"] = json!(origin);
            return Ok(doc);
        }
        let Some(rtype) = &self.resource_type else {
            return Err(format!(
                "{origin}: the record is not a document (no `type` and `attributes`) and the source declares no `type`; add type = \"…\" to the source"
            ));
        };
        let id_field = self.id_field.as_deref().unwrap_or("id");
        let id = obj.get(id_field).and_then(text).ok_or_else(|| {
            format!("{origin}: the record has no `{id_field}` (its id; set id_field to the field that holds it)")
        })?;
        let pick = |field: &Option<String>, default: &Option<String>| {
            field
                .as_ref()
                .and_then(|f| obj.get(f))
                .and_then(text)
                .or_else(|| default.clone())
                .unwrap_or_default()
        };
        let account = pick(&self.account_field, &self.account);
        let region = pick(&self.region_field, &self.region);
        Ok(json!({
            "type": rtype,
            "id": id,
            "account": account,
            "region": region,
            "attributes": Json::Object(obj),
            "origin": origin,
        }))
    }

    /// The scope errors of this source are about.
    pub fn scope(&self) -> crate::Scope {
        crate::Scope {
            resource_type: self.resource_type.clone(),
            ..crate::Scope::default()
        }
    }
}

/// Splits JSON text into records: a JSON array's elements, or one record
/// per non-blank line (NDJSON); each with its 1-based line. A line that is
/// not JSON is an `Err` with its line.
pub fn records(text: &str) -> Vec<(usize, Result<Json, String>)> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim_start().starts_with('[') {
        return match serde_json::from_str::<Vec<Json>>(text) {
            Ok(items) => items
                .into_iter()
                .enumerate()
                .map(|(i, v)| (i + 1, Ok(v)))
                .collect(),
            Err(e) => vec![(e.line(), Err(format!("not a JSON array of records: {e}")))],
        };
    }
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            (
                i + 1,
                serde_json::from_str(l).map_err(|e| format!("not a JSON record: {e}")),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_become_documents() {
        let m = Mapping {
            resource_type: Some("vuln.finding".into()),
            id_field: Some("finding_id".into()),
            account_field: Some("acct".into()),
            region: Some("us-east-1".into()),
            ..Mapping::default()
        };
        let doc = m
            .document(
                json!({"finding_id": 7, "acct": "123", "cvss": 9.8}),
                "f.ndjson:2",
            )
            .unwrap();
        assert_eq!(doc["type"], "vuln.finding");
        assert_eq!(doc["id"], "7");
        assert_eq!(doc["account"], "123");
        assert_eq!(doc["region"], "us-east-1");
        assert_eq!(doc["attributes"]["cvss"], 9.8);
        assert_eq!(doc["origin"], "f.ndjson:2");
        let full = json!({"type": "t", "id": "1", "account": "", "region": "", "attributes": {}});
        assert_eq!(m.document(full, "x").unwrap()["type"], "t");
        let err = m.document(json!({"cvss": 1}), "f.ndjson:3").unwrap_err();
        assert!(
            err.contains("f.ndjson:3") && err.contains("finding_id"),
            "{err}"
        );
        assert!(
            Mapping::default()
                .document(json!({"id": "1"}), "o")
                .is_err()
        );
    }

    #[test]
    fn arrays_and_ndjson_split_with_lines() {
        let r = records("{\"a\":1}\n\n{bad\n{\"b\":2}\n");
        assert_eq!(r.len(), 3);
        assert_eq!(r[0].0, 1);
        assert!(r[1].1.is_err() && r[1].0 == 3);
        assert_eq!(r[2].0, 4);
        let r = records("[{\"a\":1},{\"b\":2}]");
        assert_eq!(r.len(), 2);
        assert!(records("[1,").first().unwrap().1.is_err());
    }
}
