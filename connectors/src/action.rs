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
    /// The rule whose failure asked for the fix, and its policy (for
    /// custom actions and records; no built-in action reads them).
    #[serde(default)]
    pub rule: Option<String>,
    #[serde(default)]
    pub policy: Option<String>,
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

/// What one run of an action changes: one resource, or a setting of the
/// target's region or account (turning on EBS encryption by default acts
/// on the region whichever of its volumes failed). Requests with the same
/// action, arguments and [`FixRequest::once_key`] are run once.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionScope {
    #[default]
    Resource,
    Region,
    Account,
}

impl FixRequest {
    /// Requests with equal keys do the same thing: one run serves them all
    /// (two rules binding the same fix to a resource, or every volume of a
    /// region asking for the region's setting).
    pub fn once_key(&self, scope: ActionScope) -> String {
        let args = serde_json::to_string(&self.args).unwrap_or_default();
        format!("{}\u{1f}{args}\u{1f}{}", self.action, self.changes(scope))
    }

    /// What the request changes: its resource, or its region or account
    /// for an action of that scope (the blast radius counts these).
    pub fn changes(&self, scope: ActionScope) -> String {
        let t = &self.target;
        match scope {
            ActionScope::Resource => {
                serde_json::to_string(&[&t.resource_type, &t.id, &t.account, &t.region])
            }
            ActionScope::Region => serde_json::to_string(&["region", &t.account, &t.region]),
            ActionScope::Account => serde_json::to_string(&["account", &t.account]),
        }
        .unwrap_or_default()
    }
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

    /// What `action` changes when it runs. Default: the one resource.
    fn scope(&self, action: &str) -> ActionScope {
        let _ = action;
        ActionScope::Resource
    }

    async fn run(&self, request: &FixRequest) -> Result<FixOutcome, ActionError>;
}

/// The built-in `notify_only` action: the notification is the fix, so it
/// changes nothing (the server sends the notification when it schedules
/// the job; `pacc fix` sends none).
pub struct NotifyOnly;

#[async_trait]
impl Action for NotifyOnly {
    fn names(&self) -> &[&'static str] {
        &["notify_only"]
    }
    async fn run(&self, request: &FixRequest) -> Result<FixOutcome, ActionError> {
        Ok(FixOutcome {
            status: FixStatus::AlreadyFixed,
            summary: format!(
                "`notify_only` changes nothing on {}: the notification is the fix",
                request.target.id
            ),
            before: serde_json::Value::Null,
            after: serde_json::Value::Null,
        })
    }
}

/// What running one request came to.
#[derive(Debug)]
pub enum FixResult {
    /// An executor ran it (or, in a dry run, said what it would do).
    Ran(FixOutcome),
    /// No executor both runs the action and reaches the target's account.
    NoExecutor,
    /// The executor ran it and failed.
    Failed(ActionError),
}

/// The executors one process can use: `notify_only` and those it was
/// configured with. `pacc fix` and the server both run every fix through
/// [`Executors::run`], so a request means the same in both: the first
/// executor that names the action and reaches the target runs it.
#[derive(Clone)]
pub struct Executors(Vec<std::sync::Arc<dyn Action>>);

impl Default for Executors {
    fn default() -> Self {
        Executors(vec![std::sync::Arc::new(NotifyOnly)])
    }
}

impl Executors {
    /// `notify_only` and `actions`, tried in that order.
    pub fn new(actions: impl IntoIterator<Item = std::sync::Arc<dyn Action>>) -> Executors {
        let mut e = Executors::default();
        e.0.extend(actions);
        e
    }

    pub fn add(&mut self, action: std::sync::Arc<dyn Action>) {
        self.0.push(action);
    }

    /// Whether some executor runs `action` at all (whatever the account).
    pub fn knows(&self, action: &str) -> bool {
        self.0.iter().any(|a| a.names().contains(&action))
    }

    /// The executor for `request`: the first that names its action and
    /// reaches its target.
    pub fn find(&self, request: &FixRequest) -> Option<&dyn Action> {
        self.0
            .iter()
            .find(|a| a.names().contains(&request.action.as_str()) && a.handles(&request.target))
            .map(|a| &**a)
    }

    /// What `request` changes, as its executor says (a resource when none
    /// runs it).
    pub fn scope(&self, request: &FixRequest) -> ActionScope {
        self.find(request)
            .map_or(ActionScope::Resource, |a| a.scope(&request.action))
    }

    /// Runs `request` on its executor.
    pub async fn run(&self, request: &FixRequest) -> FixResult {
        match self.find(request) {
            None => FixResult::NoExecutor,
            Some(a) => match a.run(request).await {
                Ok(o) => FixResult::Ran(o),
                Err(e) => FixResult::Failed(e),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Stops instances in one account; says which account it was.
    struct Stopper(&'static str);

    #[async_trait]
    impl Action for Stopper {
        fn names(&self) -> &[&'static str] {
            &["stop_instance"]
        }
        fn handles(&self, target: &Target) -> bool {
            target.account == self.0
        }
        async fn run(&self, request: &FixRequest) -> Result<FixOutcome, ActionError> {
            if request.target.id == "i-broken" {
                return Err(ActionError::Failed("throttled".into()));
            }
            Ok(FixOutcome {
                status: if request.dry_run {
                    FixStatus::WouldChange
                } else {
                    FixStatus::Changed
                },
                summary: format!("stopped by the executor of {}", self.0),
                before: serde_json::Value::Null,
                after: serde_json::Value::Null,
            })
        }
    }

    fn request(action: &str, id: &str, account: &str) -> FixRequest {
        FixRequest {
            action: action.into(),
            args: BTreeMap::new(),
            target: Target {
                resource_type: "aws.ec2.instance".into(),
                id: id.into(),
                account: account.into(),
                region: "us-east-1".into(),
                document: serde_json::Value::Null,
            },
            dry_run: false,
            rule: None,
            policy: None,
        }
    }

    fn summary(r: FixResult) -> String {
        match r {
            FixResult::Ran(o) => o.summary,
            FixResult::NoExecutor => "no executor".into(),
            FixResult::Failed(e) => format!("failed: {e}"),
        }
    }

    #[tokio::test]
    async fn a_request_goes_to_the_first_executor_that_reaches_its_account() {
        let e = Executors::new([
            std::sync::Arc::new(Stopper("111")) as std::sync::Arc<dyn Action>,
            std::sync::Arc::new(Stopper("222")),
        ]);
        assert!(e.knows("stop_instance") && e.knows("notify_only"));
        assert!(!e.knows("delete_everything"));
        let run = |id: &'static str, account: &'static str| {
            let e = e.clone();
            async move { summary(e.run(&request("stop_instance", id, account)).await) }
        };
        assert_eq!(run("i-1", "222").await, "stopped by the executor of 222");
        assert_eq!(run("i-1", "111").await, "stopped by the executor of 111");
        assert_eq!(run("i-1", "333").await, "no executor");
        assert_eq!(run("i-broken", "111").await, "failed: throttled");
        assert_eq!(
            summary(e.run(&request("delete_everything", "i-1", "111")).await),
            "no executor"
        );
    }

    #[tokio::test]
    async fn notify_only_is_built_in_and_changes_nothing() {
        let e = Executors::default();
        match e.run(&request("notify_only", "i-1", "any")).await {
            FixResult::Ran(o) => {
                assert_eq!(o.status, FixStatus::AlreadyFixed);
                assert!(
                    o.summary.contains("changes nothing on i-1"),
                    "{}",
                    o.summary
                );
            }
            other => panic!("{other:?}"),
        }
    }
}
