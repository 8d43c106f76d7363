//! What the index holds: one [`SearchDoc`] per resource, policy, rule,
//! issue or exception, built by the caller from its own records. A
//! resource's attributes are flattened here ([`SearchDoc::add_attributes`])
//! into `path = value` pairs, with limits, because its document comes from
//! a source and is hostile.

use serde_json::Value;

/// What a document is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Resource,
    Policy,
    Rule,
    Issue,
    Exception,
}

impl Kind {
    pub const ALL: [Kind; 5] = [
        Kind::Resource,
        Kind::Policy,
        Kind::Rule,
        Kind::Issue,
        Kind::Exception,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Kind::Resource => "resource",
            Kind::Policy => "policy",
            Kind::Rule => "rule",
            Kind::Issue => "issue",
            Kind::Exception => "exception",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == s)
    }
}

/// The group every principal's scope covers: policies and rules, and what a
/// caller with roles on some groups only may see whatever they are.
pub const VISIBLE_TO_ALL: &str = "*";

/// Deeper attributes than this are not indexed (a document nested 100,000
/// deep must cost nothing).
pub const MAX_DEPTH: usize = 12;
/// At most this many attribute values per document.
pub const MAX_ATTRIBUTES: usize = 2_000;
/// Longer string values are searchable as free text only (truncated).
pub const MAX_VALUE: usize = 512;

/// A scalar attribute value.
#[derive(Clone, Debug, PartialEq)]
pub enum Scalar {
    Str(String),
    Num(f64),
    Bool(bool),
}

/// One document of the index. `key` is unique across kinds (an update
/// replaces the document with the same key).
#[derive(Clone, Debug, PartialEq)]
pub struct SearchDoc {
    pub key: String,
    pub kind: Kind,
    /// What users call it: a resource id, a policy or rule name, an issue
    /// number, an exception name.
    pub id: String,
    /// The line a result shows.
    pub title: String,
    /// Where it is shown in the portal (a path under the portal's root).
    pub link: String,
    pub rtype: Option<String>,
    pub account: Option<String>,
    pub region: Option<String>,
    /// failing / exempted / passing (resources), open / exempted / closed
    /// (issues), active / expired / deleted (exceptions).
    pub status: Option<String>,
    pub severity: Option<String>,
    /// Policies and rules (`policy.rule`) it concerns: for a resource, the
    /// ones with an open or exempted issue on it.
    pub policies: Vec<String>,
    /// The asset groups it belongs to; [`VISIBLE_TO_ALL`] for what every
    /// scope covers. None: only an unrestricted scope sees it.
    pub groups: Vec<String>,
    pub tags: Vec<(String, String)>,
    pub attributes: Vec<(String, Scalar)>,
    /// Further free text (descriptions, remediation, reasons, messages).
    pub text: Vec<String>,
}

impl SearchDoc {
    pub fn new(kind: Kind, key: impl Into<String>, id: impl Into<String>) -> SearchDoc {
        SearchDoc {
            key: key.into(),
            kind,
            id: id.into(),
            title: String::new(),
            link: String::new(),
            rtype: None,
            account: None,
            region: None,
            status: None,
            severity: None,
            policies: Vec::new(),
            groups: Vec::new(),
            tags: Vec::new(),
            attributes: Vec::new(),
            text: Vec::new(),
        }
    }

    /// A resource from its inventory document (`{"type", "id", "account",
    /// "region", "attributes": {…}}`, docs/inventory.md), under `key`, with
    /// the title `id (Name tag)`. `None` when the header is not there.
    /// Status, severity, policies, groups and link are the caller's.
    pub fn resource(key: impl Into<String>, doc: &Value) -> Option<SearchDoc> {
        let field = |k: &str| doc.get(k).and_then(Value::as_str);
        let id = field("id")?;
        let mut d = SearchDoc::new(Kind::Resource, key, id);
        d.rtype = Some(field("type")?.to_string());
        d.account = field("account").map(str::to_string);
        d.region = field("region").map(str::to_string);
        let attributes = doc.get("attributes").unwrap_or(&Value::Null);
        d.add_attributes(attributes);
        let name = d
            .tags
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("name"))
            .map(|(_, v)| v.clone());
        d.title = match name {
            Some(n) if !n.is_empty() => format!("{id} ({n})"),
            _ => id.to_string(),
        };
        Some(d)
    }

    /// Flattens a resource document: every scalar under its path (dots
    /// between object keys; array elements share their array's path), and
    /// `tags` (an object of strings, or AWS's list of `{Key, Value}`) as
    /// tags. Iterative, bounded in depth and count.
    pub fn add_attributes(&mut self, doc: &Value) {
        let mut stack: Vec<(String, &Value, usize)> = vec![(String::new(), doc, 0)];
        while let Some((path, v, depth)) = stack.pop() {
            if self.attributes.len() >= MAX_ATTRIBUTES {
                return;
            }
            match v {
                Value::Object(m) => {
                    if depth >= MAX_DEPTH {
                        continue;
                    }
                    // Reversed so that the stack pops them in document order.
                    for (k, child) in m.iter().rev() {
                        if depth == 0 && k == "tags" && self.take_tags(child) {
                            continue;
                        }
                        let p = if path.is_empty() {
                            k.clone()
                        } else {
                            format!("{path}.{k}")
                        };
                        stack.push((p, child, depth + 1));
                    }
                }
                Value::Array(items) => {
                    if depth >= MAX_DEPTH {
                        continue;
                    }
                    for child in items.iter().rev() {
                        stack.push((path.clone(), child, depth + 1));
                    }
                }
                Value::String(s) => self.attributes.push((path, Scalar::Str(s.clone()))),
                Value::Number(n) => {
                    if let Some(f) = n.as_f64() {
                        self.attributes.push((path, Scalar::Num(f)));
                    }
                }
                Value::Bool(b) => self.attributes.push((path, Scalar::Bool(*b))),
                Value::Null => {}
            }
        }
    }

    /// Tags as an object of strings, or as a list of `{key, value}` (Pac's
    /// schemas) or `{Key, Value}` (AWS's APIs). False when `v` is neither.
    fn take_tags(&mut self, v: &Value) -> bool {
        let pair = |t: &Value, k: &str| -> Option<String> {
            let upper = format!("{}{}", k[..1].to_uppercase(), &k[1..]);
            t.get(k)
                .or_else(|| t.get(upper.as_str()))
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        match v {
            Value::Object(m) if m.values().all(|x| x.is_string()) => {
                for (k, x) in m {
                    self.tags
                        .push((k.clone(), x.as_str().unwrap_or_default().to_string()));
                }
                true
            }
            Value::Array(items) if items.iter().all(|t| pair(t, "key").is_some()) => {
                for t in items {
                    let k = pair(t, "key").unwrap_or_default();
                    self.tags.push((k, pair(t, "value").unwrap_or_default()));
                }
                true
            }
            _ => false,
        }
    }
}

/// A number as the index writes it: integers without a fraction.
pub fn number_text(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{}", f as i64)
    } else {
        format!("{f}")
    }
}

/// Seconds since the epoch of an RFC 3339 time or a `YYYY-MM-DD` date, so
/// that times compare as numbers.
pub fn time_value(s: &str) -> Option<f64> {
    if s.len() < 10 || !s.as_bytes()[0].is_ascii_digit() {
        return None;
    }
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Some(t.timestamp() as f64);
    }
    if s.len() == 10 {
        let d = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()?;
        return Some(d.and_hms_opt(0, 0, 0)?.and_utc().timestamp() as f64);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn attributes_are_flattened_by_path_and_tags_taken_apart() {
        let mut d = SearchDoc::new(Kind::Resource, "k", "i-1");
        d.add_attributes(&json!({
            "id": "i-1",
            "state": {"name": "running", "code": 16},
            "tags": {"Owner": "alice"},
            "ingress": [{"port": 22}, {"port": 443}],
            "public": true,
            "gone": null
        }));
        assert_eq!(d.tags, vec![("Owner".to_string(), "alice".to_string())]);
        let mut got = d.attributes.clone();
        got.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(
            got,
            vec![
                ("id".into(), Scalar::Str("i-1".into())),
                ("ingress.port".into(), Scalar::Num(22.0)),
                ("ingress.port".into(), Scalar::Num(443.0)),
                ("public".into(), Scalar::Bool(true)),
                ("state.code".into(), Scalar::Num(16.0)),
                ("state.name".into(), Scalar::Str("running".into())),
            ]
        );
    }

    #[test]
    fn a_resource_from_its_inventory_document() {
        let d = SearchDoc::resource(
            "k",
            &json!({"type": "aws.ec2.instance", "id": "i-1", "account": "1", "region": "r",
                    "attributes": {"tags": {"Name": "web"}, "state": {"name": "running"}}}),
        )
        .unwrap();
        assert_eq!(d.title, "i-1 (web)");
        assert_eq!(d.rtype.as_deref(), Some("aws.ec2.instance"));
        assert_eq!(
            d.attributes,
            vec![("state.name".into(), Scalar::Str("running".into()))]
        );
        assert!(SearchDoc::resource("k", &json!({"id": "x"})).is_none());
    }

    #[test]
    fn aws_tag_lists_are_tags_too() {
        let mut d = SearchDoc::new(Kind::Resource, "k", "x");
        d.add_attributes(&json!({"tags": [{"Key": "env", "Value": "prod"}]}));
        assert_eq!(d.tags, vec![("env".to_string(), "prod".to_string())]);
        let mut d = SearchDoc::new(Kind::Resource, "k", "x");
        d.add_attributes(&json!({"tags": [{"key": "Name", "value": "web"}]}));
        assert_eq!(d.tags, vec![("Name".to_string(), "web".to_string())]);
        assert!(d.attributes.is_empty());
    }

    #[test]
    fn deep_and_wide_documents_are_bounded() {
        let mut v = json!("bottom");
        // serde_json's parser stops at 128 levels; a value built in code
        // can go deeper.
        for _ in 0..1_000 {
            v = json!({ "a": v });
        }
        let mut d = SearchDoc::new(Kind::Resource, "k", "x");
        d.add_attributes(&v);
        assert!(d.attributes.is_empty(), "nothing below the depth limit");

        let wide = Value::Array((0..10_000).map(|i| json!(i)).collect());
        let mut d = SearchDoc::new(Kind::Resource, "k", "x");
        d.add_attributes(&json!({ "many": wide }));
        assert_eq!(d.attributes.len(), MAX_ATTRIBUTES);
    }

    #[test]
    fn times_and_numbers() {
        assert_eq!(time_value("2026-01-01"), Some(1_767_225_600.0));
        assert_eq!(time_value("2026-01-01T00:00:00Z"), Some(1_767_225_600.0));
        assert_eq!(
            time_value("2026-01-01T01:00:00+01:00"),
            Some(1_767_225_600.0)
        );
        assert_eq!(time_value("sg-2026-01-01"), None);
        assert_eq!(time_value("12345678901"), None);
        assert_eq!(number_text(22.0), "22");
        assert_eq!(number_text(0.5), "0.5");
    }
}
