//! The connector interface: a source streams resource documents in the
//! inventory format (docs/inventory.md), progress and per-scope errors.

use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

/// One resource document in the inventory format: a JSON object with
/// `type`, `id`, `account`, `region` and the type's fields.
pub type Document = serde_json::Value;

/// The part of a source a completion or an error is about: an account, a
/// region, a resource type (or service), or any combination. A field left
/// `None` means "all of them". The server uses scopes to know what a scan
/// actually saw: issues of resources in a failed scope are left as they are.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Scope {
    pub account: Option<String>,
    pub region: Option<String>,
    /// A resource type (`aws.ec2.instance`) or a service (`s3`).
    pub resource_type: Option<String>,
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<&str> = [&self.account, &self.region, &self.resource_type]
            .into_iter()
            .filter_map(|p| p.as_deref())
            .collect();
        if parts.is_empty() {
            f.write_str("the whole source")
        } else {
            f.write_str(&parts.join("/"))
        }
    }
}

/// A failure of one part of a source; the other parts go on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{source_name}: {scope}: {message}")]
pub struct SourceError {
    /// The configured source's name.
    pub source_name: String,
    pub scope: Scope,
    /// What went wrong and, where possible, what to do about it.
    pub message: String,
}

/// What a connector sends while it collects.
#[derive(Clone, Debug)]
pub enum Event {
    /// A resource document, not yet validated against the schemas (the
    /// inventory reader does that, and reports bad documents itself).
    Document(Document),
    /// Progress within the source: `done` units of `total` (when known).
    Progress {
        source_name: String,
        done: u64,
        total: Option<u64>,
        what: String,
    },
    /// A scope was collected completely: every resource of it was sent.
    Complete(Scope),
    /// A scope could not be collected; its resources are missing.
    Error(SourceError),
}

/// What the policies read, so that a connector can skip whole resource
/// types and per-resource sub-calls nobody needs. `None` collects all.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CollectPlan {
    /// Resource type name → the top-level fields read; a type absent from
    /// the map is not needed at all.
    pub types: Option<BTreeMap<String, BTreeSet<String>>>,
}

impl CollectPlan {
    /// Collect every type and every field.
    pub fn everything() -> CollectPlan {
        CollectPlan { types: None }
    }

    pub fn wants_type(&self, resource_type: &str) -> bool {
        match &self.types {
            None => true,
            Some(types) => types.contains_key(resource_type),
        }
    }

    pub fn wants_field(&self, resource_type: &str, field: &str) -> bool {
        match &self.types {
            None => true,
            Some(types) => types
                .get(resource_type)
                .is_some_and(|fields| fields.contains(field)),
        }
    }
}

/// A source of resource documents.
#[async_trait]
pub trait Connector: Send + Sync {
    /// The configured name, used in errors, progress and scan records.
    fn name(&self) -> &str;

    /// The API calls made so far, per `Service:Operation` (for the summary
    /// and the read-set benchmark); empty for sources that make none.
    fn api_calls(&self) -> BTreeMap<String, u64> {
        BTreeMap::new()
    }

    /// Collects the documents `plan` asks for and sends them to `out`,
    /// with progress, `Complete` for every scope fully read and `Error` for
    /// every scope that failed. Returns `Err` only when nothing at all could
    /// be collected (bad configuration, no credentials); partial failures
    /// are `Event::Error`s and the call still returns `Ok`.
    async fn collect(
        &self,
        plan: &CollectPlan,
        out: mpsc::Sender<Event>,
    ) -> Result<(), SourceError>;
}
