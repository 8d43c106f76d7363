//! The auto-fix interface: an action changes one resource at its source,
//! can say what it would do without doing it, and is idempotent.

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

/// The resource an action acts on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Target {
    pub resource_type: String,
    pub id: String,
    pub account: String,
    pub region: String,
    /// The resource document as last collected (for context and "before").
    pub document: serde_json::Value,
}

/// One request to run an action, as bound by a policy's `autofix`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FixRequest {
    /// The action's name as declared in the stdlib (`stop_instance`).
    pub action: String,
    /// The bound arguments by parameter name.
    pub args: BTreeMap<String, serde_json::Value>,
    pub target: Target,
    /// Only say what would change.
    pub dry_run: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FixStatus {
    /// The resource was changed.
    Changed,
    /// Dry run: the resource would be changed.
    WouldChange,
    /// Nothing to do: the resource is already in the fixed state.
    AlreadyFixed,
}

/// What an action did, for the audit log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FixOutcome {
    pub status: FixStatus,
    /// One line a person reads: "revoked tcp/22 from 0.0.0.0/0 on sg-…".
    pub summary: String,
    /// The relevant state before and after (after = before when nothing
    /// changed).
    pub before: serde_json::Value,
    pub after: serde_json::Value,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum ActionError {
    #[error("unknown action `{0}`")]
    Unknown(String),
    #[error("action `{action}` does not apply to {resource_type}")]
    WrongType {
        action: String,
        resource_type: String,
    },
    #[error("bad argument `{name}`: {message}")]
    BadArgument { name: String, message: String },
    #[error("{0}")]
    Failed(String),
}

/// An executor of fixes: one implementation per cloud (or a notifier).
#[async_trait]
pub trait Action: Send + Sync {
    /// The action names this executor runs.
    fn names(&self) -> &[&'static str];

    /// Whether this executor can reach the target (its account is one of
    /// those it was configured with). Default: yes.
    fn handles(&self, target: &Target) -> bool {
        let _ = target;
        true
    }

    async fn run(&self, request: &FixRequest) -> Result<FixOutcome, ActionError>;
}
