//! Topic pages: tagging compliance (`/tagging`) and vulnerability
//! compliance (`/vulnerabilities`, instances with critical findings). Each
//! shows the figures of the policies of its topic from the stored roll-up
//! of the group in view, and each policy's open issues (the first
//! [`SHOWN`], with a link to the tracker for all), read with the API's
//! issue filter and group confinement.

use askama::Template;
use axum::Extension;
use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use serde::Deserialize;

use super::dashboard::{Fig, compliance_of};
use super::{Ctx, PageResult, St, context, query};
use crate::api::params::Check;
use crate::auth::Principal;
use crate::store::{IssueFilter, IssueRow, IssueStatus};

/// Open issues listed per policy (the tracker has them all).
const SHOWN: i64 = 20;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopicQuery {
    group: Option<String>,
}
impl Check for TopicQuery {}

/// One policy of a topic: its figure and its first open issues.
pub struct TopicPolicy {
    pub title: String,
    pub fig: Fig,
    pub issues: Vec<IssueRow>,
    pub total: i64,
}

impl TopicPolicy {
    /// Whether more are open than listed.
    pub fn cut(&self) -> bool {
        self.total > self.issues.len() as i64
    }
}

/// A headline card.
pub struct Card {
    pub label: &'static str,
    pub value: String,
    pub band: &'static str,
    pub sub: String,
    pub figure: &'static str,
}

#[derive(Template)]
#[template(path = "topic.html")]
struct TopicPage {
    ctx: Ctx,
    intro: &'static str,
    cards: Vec<Card>,
    policies: Vec<TopicPolicy>,
    figs: Vec<Fig>,
}

/// The policies of the loaded program that `pick` selects: (name, title).
async fn pick_policies(
    s: &crate::Server,
    pick: impl Fn(&pac_compiler::Program, &pac_compiler::ir::Policy) -> bool,
) -> Result<Vec<(String, String)>, super::WebError> {
    let loaded = s
        .current_program()
        .await
        .map_err(crate::api::error::ApiError::internal)?;
    let p = loaded.program();
    let mut out: Vec<(String, String)> = p
        .policies
        .iter()
        .filter(|x| pick(p, x))
        .map(|x| (x.name.clone(), x.title.clone()))
        .collect();
    out.sort();
    Ok(out)
}

/// Figures and first open issues of `names` in the group in view.
async fn topic_policies(
    s: &crate::Server,
    caller: &Principal,
    ctx: &Ctx,
    names: &[(String, String)],
    figs: &[Fig],
) -> Result<Vec<TopicPolicy>, super::WebError> {
    let groups =
        crate::api::list_groups(s, &crate::api::read_scope(caller), ctx.group.clone()).await?;
    let mut out = Vec::new();
    for (name, title) in names {
        let f = IssueFilter {
            policy: Some(name.clone()),
            status: Some(IssueStatus::Open),
            groups: groups.clone(),
            ..Default::default()
        };
        let (issues, total) = s.store.issues(&f, SHOWN, 0).await?;
        let fig = figs
            .iter()
            .find(|x| &x.name == name)
            .cloned()
            .unwrap_or_else(|| Fig {
                name: name.clone(),
                ..Default::default()
            });
        out.push(TopicPolicy {
            title: title.clone(),
            fig,
            issues,
            total,
        });
    }
    Ok(out)
}

/// `/tagging`: the tagging figure and the policies of category `tagging`.
pub async fn tagging(
    State(s): St,
    Extension(caller): Extension<Principal>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> PageResult {
    let q: TopicQuery = query(raw.as_deref())?;
    let ctx = context(
        &s,
        &caller,
        &headers,
        q.group.as_deref(),
        "Tagging compliance",
        "tagging",
        "/tagging",
    )
    .await?;
    let (c, _) = compliance_of(&s, ctx.group.as_deref()).await?;
    let names = pick_policies(&s, |_, p| p.category == "tagging").await?;
    let policies = topic_policies(&s, &caller, &ctx, &names, &c.policies).await?;
    let cards = vec![
        Card {
            label: "Tagging compliance",
            value: super::pct(&c.tagging.compliance),
            band: super::band(&c.tagging.compliance),
            sub: format!(
                "{} of {} taggable resources carry the mandatory tags",
                c.tagging.tagged, c.tagging.taggable
            ),
            figure: "tagging",
        },
        Card {
            label: "Untagged resources",
            value: (c.tagging.taggable - c.tagging.tagged).to_string(),
            band: "none",
            sub: format!("coverage {}", super::pct(&c.coverage.percent)),
            figure: "untagged",
        },
    ];
    let figs = policies.iter().map(|p| p.fig.clone()).collect();
    let page = TopicPage {
        ctx,
        intro: "Resources missing the mandatory tags, per tagging policy (category `tagging`). The figure counts every taggable resource in view; a resource whose tags could not be read is unknown, never tagged.",
        cards,
        policies,
        figs,
    };
    Ok(page.ctx.respond(&page))
}

/// Whether a policy is about vulnerabilities: a rule on a `vuln.*` type,
/// or the word in its name or tags.
fn is_vulnerability(p: &pac_compiler::Program, x: &pac_compiler::ir::Policy) -> bool {
    x.name.contains("vulnerabilit")
        || x.tags.iter().any(|t| t.contains("vulnerabilit"))
        || x.rules
            .iter()
            .any(|r| p.rules[*r].resource_type.starts_with("vuln."))
}

/// `/vulnerabilities`: instances with critical findings, and every
/// vulnerability policy's figures and open issues.
pub async fn vulnerabilities(
    State(s): St,
    Extension(caller): Extension<Principal>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> PageResult {
    let q: TopicQuery = query(raw.as_deref())?;
    let ctx = context(
        &s,
        &caller,
        &headers,
        q.group.as_deref(),
        "Vulnerability compliance",
        "vulnerabilities",
        "/vulnerabilities",
    )
    .await?;
    let (c, _) = compliance_of(&s, ctx.group.as_deref()).await?;
    let names = pick_policies(&s, is_vulnerability).await?;
    // Critical policies on instances first: their issues are the instances
    // with critical findings.
    let critical = pick_policies(&s, |p, x| {
        is_vulnerability(p, x)
            && x.severity == pac_compiler::ir::Severity::Critical
            && x.rules
                .iter()
                .all(|r| p.rules[*r].resource_type == "aws.ec2.instance")
    })
    .await?;
    let mut ordered = critical.clone();
    ordered.extend(names.into_iter().filter(|n| !critical.contains(n)));
    let policies = topic_policies(&s, &caller, &ctx, &ordered, &c.policies).await?;
    let crit: Vec<&TopicPolicy> = policies.iter().take(critical.len()).collect();
    let instances: std::collections::BTreeSet<&str> = crit
        .iter()
        .flat_map(|p| p.issues.iter().map(|i| i.resource_key.as_str()))
        .collect();
    let complete = crit.iter().all(|p| p.total <= p.issues.len() as i64);
    let assessed = crit.iter().map(|p| p.fig.assets).max().unwrap_or(0);
    let cards = vec![
        Card {
            label: "Instances with critical findings",
            value: if complete {
                instances.len().to_string()
            } else {
                format!(
                    "≥ {}",
                    crit.iter().map(|p| p.total).max().unwrap_or_default()
                )
            },
            band: if instances.is_empty() { "good" } else { "bad" },
            sub: format!("of {assessed} instances assessed"),
            figure: "critical_instances",
        },
        Card {
            label: "Vulnerability policies",
            value: policies.len().to_string(),
            band: "none",
            sub: format!(
                "{} open issues",
                policies.iter().map(|p| p.total).sum::<i64>()
            ),
            figure: "vuln_policies",
        },
    ];
    let figs = policies.iter().map(|p| p.fig.clone()).collect();
    let page = TopicPage {
        ctx,
        intro: "Instances with critical scanner findings first, then every vulnerability policy (a rule on vuln.* findings, or the word in its name or tags) with its open issues. Findings come from the vulnerability source at the last scan.",
        cards,
        policies,
        figs,
    };
    Ok(page.ctx.respond(&page))
}
