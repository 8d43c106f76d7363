//! E-mail digests (docs/portal.md, "E-mail digests"): per subscriber of a
//! `[[digest]]` table, daily or weekly, the compliance now against the
//! previous period, the issues opened and closed in the period, the top
//! failing policies, the fixes due in the next 24 hours and the exceptions
//! expiring within 14 days. The HTML part is rendered by the portal's own
//! template components (`web::mail`), with a plain-text part beside it,
//! and sent through the server's notifier (`[notify]`, lettre).
//!
//! Confinement: a digest reads through the same helpers as the pages
//! (`api::check_group`, `exception_items` with a scope, the store's group
//! filter), with the scope of its subscriber: a user's is what the user's
//! `[[auth.grant]]`s give its address, an address list's is its group.
//! Each period is recorded in the store once sent (or tried), so a restart
//! never sends a period twice.
//!
//! Besides the configuration's tables, users subscribe themselves in the
//! portal (`/digests`) or the API (`/api/v1/digests`): such a digest reads
//! with the grants of the user's claims at their last sign-in. Every mail
//! goes to one recipient, with its own unsubscribe link (and RFC 8058
//! one-click `List-Unsubscribe` headers), signed by the server's key.

use std::sync::Arc;

use crate::Server;
use crate::auth::scope::Scope;
use crate::auth::{Principal, PrincipalKind, UserClaims};
use crate::config::{DigestConfig, DigestEvery};
use crate::notify::Notification;
use crate::store::{DigestScope, IssueRow, JobRow, SubscriptionRow};
use crate::web::dashboard::{Compliance, Fig};
use crate::web::lists::ExceptionV;

pub const DAY: i64 = 86_400;
/// At most this many rows per list in a mail (the totals are given).
pub const LIST_ROWS: i64 = 25;
/// Top failing policies shown.
const TOP_POLICIES: usize = 5;
/// Exceptions expiring within this many days are listed.
pub const EXPIRING_DAYS: i64 = 14;

/// The period a digest sent at or after `now` covers: `[start, end)`, where
/// `end` is the last `hour` o'clock (UTC) at or before `now` (on a Monday
/// for weekly digests).
pub fn period(every: DigestEvery, hour: u32, now: i64) -> (i64, i64) {
    let h = i64::from(hour) * 3600;
    let today = (now - h).div_euclid(DAY) * DAY + h;
    match every {
        DigestEvery::Daily => (today - DAY, today),
        DigestEvery::Weekly => {
            // 1970-01-01 was a Thursday: days since a Monday.
            let since_monday = ((today - h).div_euclid(DAY) + 3).rem_euclid(7);
            let end = today - since_monday * DAY;
            (end - 7 * DAY, end)
        }
    }
}

/// The headline figures: now, and at the end of the previous period.
pub struct Figures {
    pub now: Option<f64>,
    pub before: Option<f64>,
    pub coverage: Option<f64>,
    pub unknown: i64,
    pub open: i64,
    pub exempt: i64,
}

impl Figures {
    /// The change in percentage points, signed, or "n/a".
    pub fn change(&self) -> String {
        match (self.now, self.before) {
            (Some(n), Some(b)) => format!("{:+.1} points", n - b),
            _ => "n/a".into(),
        }
    }
}

/// One compliance domain's figure now and at the end of the previous
/// period.
pub struct DomainFigures {
    pub name: String,
    pub title: String,
    pub figures: Figures,
}

/// Everything one digest mail shows.
pub struct DigestData {
    pub name: String,
    pub every: &'static str,
    /// Who it is for, in words ("asset group production", …).
    pub subscriber: String,
    pub start: i64,
    pub end: i64,
    /// The group figures and lists are confined to (`None`: everything).
    pub group: Option<String>,
    pub owner: Option<String>,
    /// `None` for an owner digest without a group: figures are rolled up
    /// per asset group, not per owner.
    pub figures: Option<Figures>,
    /// Each declared domain's figures (none for an owner digest).
    pub domains: Vec<DomainFigures>,
    pub opened: Vec<IssueRow>,
    pub opened_total: i64,
    pub closed: Vec<IssueRow>,
    pub closed_total: i64,
    pub top: Vec<Fig>,
    pub fixes: Vec<JobRow>,
    pub fixes_total: i64,
    pub expiring: Vec<ExceptionV>,
    /// Why exceptions are not listed, when they are not.
    pub exceptions_note: Option<String>,
    /// A user's own subscription (not a `[[digest]]` table).
    pub subscribed: bool,
}

impl DigestData {
    /// Whether more issues opened than the mail lists.
    pub fn opened_cut(&self) -> bool {
        self.opened_total > self.opened.len() as i64
    }
    pub fn closed_cut(&self) -> bool {
        self.closed_total > self.closed.len() as i64
    }
    pub fn subject(&self) -> String {
        let what = match &self.figures {
            Some(f) => format!("compliance {} ({})", crate::web::pct(&f.now), f.change()),
            None => format!("{} new issue(s)", self.opened_total),
        };
        format!(
            "[pac] {} digest for {}: {what}",
            self.every, self.subscriber
        )
    }
}

/// The scope of a subscriber, and the group its figures are of.
async fn subscriber_scope(s: &Server, d: &DigestConfig) -> Result<(Scope, Option<String>), String> {
    let scope = match &d.user {
        Some(email) => {
            // A user's own subscription: the claims of their last sign-in;
            // a `[[digest]]` table's user: the grants on their address.
            let claims = d.claims.clone().unwrap_or_else(|| UserClaims {
                sub: String::new(),
                email: Some(email.clone()),
                ..Default::default()
            });
            let p = Principal {
                kind: PrincipalKind::User,
                id: format!("digest:{email}"),
                name: email.clone(),
                grants: crate::auth::grants_for(&s.auth.grants, &claims),
                session: None,
                claims: None,
            };
            let scope = crate::api::read_scope(&p);
            if scope.groups().is_some_and(<[String]>::is_empty) {
                return Err(if d.claims.is_some() {
                    format!(
                        "digest `{}`: user {email} holds no role any more (no `[[auth.grant]]` matches their claims): grant one or remove the subscription",
                        d.name
                    )
                } else {
                    format!(
                        "digest `{}`: user {email} holds no role (no `[[auth.grant]]` with claim = \"email\" and value = \"{email}\"): grant one or remove the digest",
                        d.name
                    )
                });
            }
            scope
        }
        None => Scope::All,
    };
    let group = match (&d.group, &scope) {
        (Some(g), _) => Some(g.clone()),
        (None, Scope::All) => None,
        (None, Scope::Groups(gs)) => gs.first().cloned(),
    };
    crate::api::check_group(s, &scope, &group)
        .await
        .map_err(|e| format!("digest `{}`: {}", d.name, e.message))?;
    // What the lists are read with: the group's members only.
    let scope = match &group {
        Some(g) => Scope::Groups(vec![g.clone()]),
        None => scope,
    };
    Ok((scope, group))
}

/// Gathers what the digest of `d` shows for the period ending at or
/// before `now`.
pub async fn build(s: &Server, d: &DigestConfig, now: i64) -> Result<DigestData, String> {
    let e = |x: crate::store::StoreError| x.to_string();
    let (start, end) = period(d.every, d.hour, now);
    let (scope, group) = subscriber_scope(s, d).await?;
    let owner_only = d.owner.is_some() && group.is_none();
    let lists = DigestScope {
        groups: scope.groups().map(<[String]>::to_vec),
        owner: d.owner.clone(),
    };
    // The figure at the end of the previous period: the last daily roll-up
    // on or before the period's first day.
    let first_day = chrono::DateTime::from_timestamp(start, 0)
        .map(|t| t.format("%Y-%m-%d").to_string())
        .unwrap_or_default();
    let before_of = |rows: Vec<crate::store::HistoryRow>| {
        rows.into_iter()
            .rfind(|r| r.day <= first_day)
            .and_then(|r| r.compliance.map(|c| c as f64))
    };
    let figures_of = |c: &Compliance, before: Option<f64>| Figures {
        now: c.overall,
        before,
        coverage: c.coverage.percent,
        unknown: c.coverage.unknown,
        open: c.open(),
        exempt: c.exempt(),
    };
    let stored = |v: Option<(i64, i64, serde_json::Value)>| -> Compliance {
        v.and_then(|(_, _, body)| serde_json::from_value(body).ok())
            .unwrap_or_default()
    };
    let g = group.as_deref().unwrap_or("");
    let (figures, top, domains) = if owner_only {
        (None, Vec::new(), Vec::new())
    } else {
        let c = stored(s.store.compliance(g).await.map_err(e)?);
        let before = before_of(s.store.history(g, "").await.map_err(e)?);
        let mut top: Vec<Fig> = c.policies.iter().filter(|f| f.open > 0).cloned().collect();
        top.sort_by(|a, b| b.open.cmp(&a.open).then(a.name.cmp(&b.name)));
        top.truncate(TOP_POLICIES);
        let loaded = s.current_program().await?;
        let mut domains = Vec::new();
        for d in &loaded.program().domains {
            let dc = stored(s.store.domain_compliance(g, &d.name).await.map_err(e)?);
            let before = before_of(s.store.domain_history(g, &d.name).await.map_err(e)?);
            domains.push(DomainFigures {
                name: d.name.clone(),
                title: d.title.clone().unwrap_or_else(|| d.name.clone()),
                figures: figures_of(&dc, before),
            });
        }
        (Some(figures_of(&c, before)), top, domains)
    };
    let (opened, opened_total) = s
        .store
        .issues_since(&lists, start, false, LIST_ROWS)
        .await
        .map_err(e)?;
    let (closed, closed_total) = s
        .store
        .issues_since(&lists, start, true, LIST_ROWS)
        .await
        .map_err(e)?;
    let (fixes, fixes_total) = s
        .store
        .jobs_due_between(&lists, now, now + DAY, LIST_ROWS)
        .await
        .map_err(e)?;
    let (expiring, exceptions_note) = if owner_only {
        (
            Vec::new(),
            Some("exceptions are confined to asset groups, not owners: add `group` to this digest to list the group's".to_string()),
        )
    } else {
        let expiring = crate::web::lists::expiring(s, &scope, now + EXPIRING_DAYS * DAY)
            .await
            .map_err(|x| x.message)?;
        (expiring, None)
    };
    let subscriber = match (&d.user, &group, &d.owner) {
        (Some(u), Some(g), _) => format!("{u} (asset group {g})"),
        (Some(u), None, _) => format!("{u} (all resources)"),
        (None, Some(g), Some(o)) => format!("owner {o} in asset group {g}"),
        (None, Some(g), None) => format!("asset group {g}"),
        (None, None, Some(o)) => format!("owner {o}"),
        (None, None, None) => "all resources".into(),
    };
    Ok(DigestData {
        name: d.name.clone(),
        every: d.every.name(),
        subscriber,
        start,
        end,
        group,
        owner: d.owner.clone(),
        figures,
        domains,
        opened,
        opened_total,
        closed,
        closed_total,
        top,
        fixes,
        fixes_total,
        expiring,
        exceptions_note,
        subscribed: d.claims.is_some(),
    })
}

/// The prefix of a user subscription's digest name (a `[[digest]]`
/// table's name cannot hold `:`).
pub const SUBSCRIPTION_PREFIX: &str = "subscription:";

/// The digest of a user's subscription.
pub fn of_subscription(r: &SubscriptionRow) -> DigestConfig {
    DigestConfig {
        name: format!("{SUBSCRIPTION_PREFIX}{}", r.id),
        every: DigestEvery::from_name(&r.every).unwrap_or(DigestEvery::Weekly),
        hour: r.hour.clamp(0, 23) as u32,
        user: Some(r.address.clone()),
        to: Vec::new(),
        group: r.grp.clone(),
        owner: None,
        // Unreadable claims read as none: no grant, no digest (the log
        // says so), never more than the user had.
        claims: Some(serde_json::from_str(&r.claims).unwrap_or_default()),
    }
}

/// Every digest: the configuration's tables, then users' subscriptions.
pub async fn all(s: &Server) -> Result<Vec<DigestConfig>, String> {
    let mut out = s.settings.digests.clone();
    for r in s
        .store
        .subscriptions(None)
        .await
        .map_err(|e| e.to_string())?
    {
        out.push(of_subscription(&r));
    }
    Ok(out)
}

/// The mail of a digest to one recipient: HTML and plain text, each with
/// the recipient's unsubscribe link.
pub fn mail(s: &Server, to: &str, data: &DigestData) -> Result<Notification, String> {
    let unsubscribe = unsubscribe::link(s, &data.name, to);
    let (html, text) = crate::web::mail::digest(&s.settings.portal_url, data, &unsubscribe)?;
    Ok(Notification {
        to: vec![to.to_string()],
        subject: data.subject(),
        body: text,
        html: Some(html),
        unsubscribe: Some(unsubscribe),
    })
}

/// What sending one digest did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sent {
    pub name: String,
    pub period_end: i64,
    /// `sent`, `skipped: …` or `failed: …`.
    pub result: String,
}

/// Sends every digest whose latest period has not gone out yet (one that
/// was missed while the server was down goes out late, once), one mail
/// per recipient who has not unsubscribed.
pub async fn send_due(s: &Arc<Server>) -> Result<Vec<Sent>, String> {
    let e = |x: crate::store::StoreError| x.to_string();
    // Nothing to report before the first scan.
    if s.store.compliance("").await.map_err(e)?.is_none() {
        return Ok(Vec::new());
    }
    let now = s.clock.now();
    let mut out = Vec::new();
    for d in all(s).await? {
        let (_, end) = period(d.every, d.hour, now);
        if s.store.digest_sent(&d.name, end).await.map_err(e)? {
            continue;
        }
        let gone = s.store.opted_out(&d.name).await.map_err(e)?;
        let to: Vec<String> = d
            .recipients()
            .into_iter()
            .filter(|a| !gone.iter().any(|g| g.eq_ignore_ascii_case(a)))
            .collect();
        let result = if to.is_empty() {
            "skipped: every recipient unsubscribed".to_string()
        } else {
            match build(s, &d, now).await {
                Ok(data) => {
                    let mut failed = Vec::new();
                    for a in &to {
                        let sent = match mail(s, a, &data) {
                            Ok(n) => s.notifier.send(&n).await,
                            Err(x) => Err(x),
                        };
                        if let Err(x) = sent {
                            failed.push(format!("{a}: {x}"));
                        }
                    }
                    if failed.is_empty() {
                        "sent".to_string()
                    } else {
                        format!("failed: {}", failed.join("; "))
                    }
                }
                Err(x) => format!("failed: {x}"),
            }
        };
        if result == "sent" {
            tracing::info!(digest = %d.name, "digest sent to {}", to.join(", "));
        } else if result.starts_with("skipped") {
            tracing::info!(digest = %d.name, "digest not sent: {result}");
        } else {
            tracing::error!(digest = %d.name, "digest not sent: {result}");
        }
        s.store
            .record_digest(&d.name, end, s.clock.now(), &result)
            .await
            .map_err(e)?;
        out.push(Sent {
            name: d.name.clone(),
            period_end: end,
            result,
        });
    }
    Ok(out)
}

/// Unsubscribe links: `/digests/unsubscribe?d=DIGEST&a=ADDRESS&t=TOKEN`,
/// where the token is an HMAC of the digest's name and the address under
/// the server's key (kept in the store, so links outlive restarts). The
/// link needs no sign-in (it is opened from a mail, where the session
/// cookie does not come along); the token is what allows it, and it only
/// ever takes that address off that digest.
pub mod unsubscribe {
    use hmac::{Hmac, Mac};
    use sha2::Sha256;

    use crate::Server;

    fn mac(s: &Server, digest: &str, address: &str) -> Hmac<Sha256> {
        // HMAC accepts a key of any length.
        let mut m = Hmac::<Sha256>::new_from_slice(&s.auth.csrf_key).expect("any key length");
        m.update(b"pac digest unsubscribe\0");
        m.update(digest.as_bytes());
        m.update(b"\0");
        m.update(address.to_ascii_lowercase().as_bytes());
        m
    }

    pub fn token(s: &Server, digest: &str, address: &str) -> String {
        mac(s, digest, address)
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// Whether `token` is the one of (digest, address); constant time.
    pub fn valid(s: &Server, digest: &str, address: &str, token: &str) -> bool {
        let Some(bytes) = unhex(token) else {
            return false;
        };
        mac(s, digest, address).verify_slice(&bytes).is_ok()
    }

    fn unhex(t: &str) -> Option<Vec<u8>> {
        if t.len() != 64 || !t.is_ascii() {
            return None;
        }
        (0..t.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&t[i..i + 2], 16).ok())
            .collect()
    }

    pub fn link(s: &Server, digest: &str, address: &str) -> String {
        let enc = |x: &str| -> String { form_urlencoded::byte_serialize(x.as_bytes()).collect() };
        format!(
            "{}/digests/unsubscribe?d={}&a={}&t={}",
            s.settings.portal_url,
            enc(digest),
            enc(address),
            token(s, digest, address)
        )
    }

    /// Takes `address` off `digest`: a user's subscription is removed (if
    /// it still goes to that address), a `[[digest]]` table's address is
    /// recorded as opted out. Whether anything changed.
    pub async fn apply(s: &Server, digest: &str, address: &str, at: i64) -> Result<bool, String> {
        let e = |x: crate::store::StoreError| x.to_string();
        if let Some(id) = digest.strip_prefix(super::SUBSCRIPTION_PREFIX) {
            let Ok(id) = id.parse::<i64>() else {
                return Ok(false);
            };
            return match s.store.subscription(id).await.map_err(e)? {
                Some(r) if r.address.eq_ignore_ascii_case(address) => {
                    s.store.unsubscribe(id).await.map_err(e)
                }
                _ => Ok(false),
            };
        }
        if !s.settings.digests.iter().any(|d| d.name == digest) {
            return Ok(false);
        }
        s.store
            .opt_out(digest, &address.to_ascii_lowercase(), at)
            .await
            .map_err(e)?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_end_at_the_hour_and_on_mondays() {
        // 2026-11-04 (a Wednesday) 10:30 UTC.
        let now = 1_793_788_200;
        let (s, e) = period(DigestEvery::Daily, 7, now);
        assert_eq!(e, 1_793_775_600, "2026-11-04 07:00");
        assert_eq!(e - s, DAY);
        let (s, e) = period(DigestEvery::Weekly, 7, now);
        assert_eq!(e, 1_793_602_800, "2026-11-02 07:00, a Monday");
        assert_eq!(e - s, 7 * DAY);
        // Before the hour: the day before's.
        let (_, e) = period(DigestEvery::Daily, 11, now);
        assert_eq!(e, 1_793_703_600, "2026-11-03 11:00");
        // Exactly at the hour: that period is complete.
        assert_eq!(
            period(DigestEvery::Daily, 7, 1_793_775_600).1,
            1_793_775_600
        );
    }
}
