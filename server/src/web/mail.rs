//! Mail built from the portal's own template components: the e-mail digest
//! (`digest.html` and `digest.txt`, using `_figs.html`, `_issues.html` and
//! `_exceptions.html` as the pages do) and the auto-fix notification of
//! one owner (`mail_fixes.html` and `mail_fixes.txt`). HTML is escaped by
//! askama as on the pages; links are absolute (the portal's address), and
//! the portal's stylesheet is embedded, since a mail loads nothing.

use askama::Template;

use crate::digest::DigestData;
use crate::store::JobRow;

/// What the shared components ask of `ctx`: the links' base and group.
pub struct MailCtx {
    pub base: String,
    pub group: Option<String>,
}

impl MailCtx {
    pub fn gq(&self) -> String {
        let g = self.group.as_deref().unwrap_or(crate::auth::ALL_GROUPS);
        format!("group={}", super::enc(g))
    }
}

/// The stylesheet, inlined in the mail's `<style>`.
pub fn css() -> &'static str {
    super::CSS
}

#[derive(Template)]
#[template(path = "digest.html")]
struct DigestHtml<'a> {
    ctx: MailCtx,
    d: &'a DigestData,
    exceptions: &'a [super::lists::ExceptionV],
    unsubscribe: &'a str,
}

#[derive(Template)]
#[template(path = "digest.txt")]
struct DigestText<'a> {
    ctx: MailCtx,
    d: &'a DigestData,
    unsubscribe: &'a str,
}

/// The digest's HTML and plain text.
/// `unsubscribe`: the recipient's own link.
pub fn digest(base: &str, d: &DigestData, unsubscribe: &str) -> Result<(String, String), String> {
    let ctx = || MailCtx {
        base: base.to_string(),
        group: d.group.clone(),
    };
    let html = DigestHtml {
        ctx: ctx(),
        d,
        exceptions: &d.expiring,
        unsubscribe,
    }
    .render()
    .map_err(|e| format!("rendering the digest: {e}"))?;
    let text = DigestText {
        ctx: ctx(),
        d,
        unsubscribe,
    }
    .render()
    .map_err(|e| format!("rendering the digest: {e}"))?;
    Ok((html, text))
}

#[derive(Template)]
#[template(path = "mail_fixes.html")]
struct FixesHtml<'a> {
    ctx: MailCtx,
    owner: &'a str,
    jobs: &'a [&'a JobRow],
}

#[derive(Template)]
#[template(path = "mail_fixes.txt")]
struct FixesText<'a> {
    ctx: MailCtx,
    owner: &'a str,
    jobs: &'a [&'a JobRow],
}

/// One owner's notification of the auto-fix jobs a scan scheduled.
pub fn fixes(base: &str, owner: &str, jobs: &[&JobRow]) -> Result<(String, String), String> {
    let ctx = || MailCtx {
        base: base.to_string(),
        group: None,
    };
    let html = FixesHtml {
        ctx: ctx(),
        owner,
        jobs,
    }
    .render()
    .map_err(|e| format!("rendering the auto-fix notification: {e}"))?;
    let text = FixesText {
        ctx: ctx(),
        owner,
        jobs,
    }
    .render()
    .map_err(|e| format!("rendering the auto-fix notification: {e}"))?;
    Ok((html, text))
}
