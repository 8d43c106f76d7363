//! A tiny policy set and estate for the stages' unit tests: one resource
//! type, one policy with an auto-fix, one group and one exception.

use std::collections::HashSet;
use std::sync::Arc;

use pac_runtime::{Env, EvalReport, Incoming, Inventory};
use serde_json::{Value, json};

use super::evaluate::Estate;
use super::{Warm, resource_key};
use crate::program::{self, Loaded};
use crate::store::{IssueState, ScanBase};

/// The scans' clock: 2027-01-15.
pub const NOW: i64 = 1_800_000_000;

pub const POLICIES: &str = r#"package t

schema t.box {
  name: string
  owner: string?
}

action ping_owner(note: string) on t.box

policy named {
  title "Boxes are named"
  severity high
  category governance
  rule on t.box {
    violation when name == ""
    message "{id} has no name"
  }
  autofix ping_owner(note: "unnamed") after 1h notify owner ?? "ops@example.com"
}

group web {
  t.box where name == "web"
}

exception "LEGACY" for named {
  resources ["b-legacy"]
  expires 2099-01-01
  reason "kept unnamed on purpose"
}
"#;

pub struct Fixture {
    pub loaded: Arc<Loaded>,
}

/// A `t.box` document of account 1, region r.
pub fn doc(id: &str, name: &str, owner: Option<&str>) -> Value {
    let mut attributes = json!({ "name": name });
    if let Some(o) = owner {
        attributes["owner"] = json!(o);
    }
    json!({"type": "t.box", "id": id, "account": "1", "region": "r", "attributes": attributes})
}

/// The key of the `t.box` `id` of account 1, region r.
pub fn key(id: &str) -> String {
    resource_key("t.box", "1", "r", id)
}

/// An issue's stored state.
pub fn issue(id: i64, status: &str, exception: Option<&str>) -> IssueState {
    IssueState {
        id,
        status: *crate::store::IssueStatus::ALL
            .iter()
            .find(|s| s.as_str() == status)
            .expect("an issue status"),
        message: String::new(),
        exception: exception.map(str::to_string),
    }
}

impl Fixture {
    pub fn new() -> Fixture {
        let files = vec![("t.pac".to_string(), POLICIES.to_string())];
        let loaded = program::load(&files, &[], &[])
            .unwrap_or_else(|e| panic!("the fixture's policies: {}", e.0.join("; ")));
        Fixture {
            loaded: Arc::new(loaded),
        }
    }

    /// The documents, read as resources (all must be valid).
    pub fn inventory(&self, docs: &[Value]) -> Inventory {
        let items = docs
            .iter()
            .enumerate()
            .map(|(i, d)| Incoming::Text(i + 1, d.to_string()))
            .collect();
        let (inv, errs) = Inventory::from_incoming(&self.loaded.program().schemas, "test", items);
        assert!(errs.is_empty(), "{errs:?}");
        inv
    }

    /// An estate of fresh resources; those of `unknown` (ids) count as
    /// unknown (their scope could not be read).
    pub fn estate(&self, docs: &[Value], unknown: &[&str]) -> Estate {
        let inv = self.inventory(docs);
        let keys: Vec<String> = inv
            .resources
            .iter()
            .map(|r| resource_key(&r.type_name, &r.account, &r.region, &r.id))
            .collect();
        let unknown_keys: HashSet<String> = unknown.iter().map(|id| key(id)).collect();
        Estate {
            fresh: inv.len(),
            same_as: vec![None; inv.len()],
            unknown: keys.iter().map(|k| unknown_keys.contains(k)).collect(),
            unknown_keys,
            keys,
            inv,
            ingest: Vec::new(),
        }
    }

    /// Evaluates every rule on `inv` in full.
    pub fn report(&self, inv: &Inventory) -> EvalReport {
        let p = self.loaded.program();
        let env = Env::for_program(p, inv, NOW);
        pac_runtime::evaluate_from(p, &env, false, None, None)
    }

    /// What a committed scan of `inv` (with `keys`) would leave.
    pub fn warm(&self, inv: Inventory, keys: Vec<String>, base: ScanBase) -> Warm {
        let report = self.report(&inv);
        Warm {
            generation: 0,
            program: self.loaded.clone(),
            base,
            inv,
            keys,
            report,
            layout: None,
        }
    }
}
