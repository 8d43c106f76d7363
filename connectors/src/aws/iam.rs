//! IAM users, their access keys, the account summary and the account's
//! password policy: once per account (IAM is global; documents carry the
//! source's first region).

use aws_sdk_iam::Client;
use aws_sdk_iam::types::User;
use futures::{FutureExt, StreamExt};
use serde_json::{Value as Json, json};

use super::json::{ToJson, document};
use super::{AccountCtx, CallError, JobOutcome, Run, call_error, error_code, scope};

pub(crate) const TYPES: &[&str] = &[
    "aws.iam.user",
    "aws.iam.access_key",
    "aws.iam.account_summary",
    "aws.iam.password_policy",
];
const SUB_CALLS: usize = 8;

struct Ctx<'a, 'r> {
    run: &'a Run<'r>,
    client: Client,
    account: &'a str,
    region: &'a str,
}

impl Ctx<'_, '_> {
    fn wants(&self, rtype: &str, field: &str) -> bool {
        self.run.plan.wants_field(rtype, field)
    }
    async fn emit(
        &self,
        rtype: &str,
        id: &str,
        attrs: Json,
        not_collected: Vec<&str>,
    ) -> Result<(), CallError> {
        let mut doc = document(rtype, id, self.account, self.region, attrs);
        if !not_collected.is_empty() {
            doc["not_collected"] = json!(not_collected);
        }
        self.run.emit(doc).await
    }
}

pub(crate) async fn collect(run: &Run<'_>, acct: &AccountCtx) -> JobOutcome {
    let region = run.source.home_region();
    let ctx = Ctx {
        run,
        client: run.source.iam(&acct.sdk, &run.stats),
        account: &acct.id,
        region,
    };
    let mut outcome = JobOutcome::default();
    let src = run.source;
    let want_users = src.wants(run.plan, "aws.iam.user");
    let want_keys = src.wants(run.plan, "aws.iam.access_key");
    if want_users || want_keys {
        let s = |t: &str| scope(&acct.id, Some(region), Some(t));
        match users(&ctx, want_users, want_keys).await {
            Ok(()) => {
                if want_users {
                    outcome.complete.push(s("aws.iam.user"));
                }
                if want_keys {
                    outcome.complete.push(s("aws.iam.access_key"));
                }
            }
            Err(e) => outcome.errors.push((
                scope(
                    &acct.id,
                    Some(region),
                    Some(if want_users {
                        "aws.iam.user"
                    } else {
                        "aws.iam.access_key"
                    }),
                ),
                e,
            )),
        }
    }
    if src.wants(run.plan, "aws.iam.password_policy") {
        let s = scope(&acct.id, Some(region), Some("aws.iam.password_policy"));
        match password_policy(&ctx).await {
            Ok(()) => outcome.complete.push(s),
            Err(e) => outcome.errors.push((s, e)),
        }
    }
    if src.wants(run.plan, "aws.iam.account_summary") {
        let s = scope(&acct.id, Some(region), Some("aws.iam.account_summary"));
        match summary(&ctx).await {
            Ok(()) => outcome.complete.push(s),
            Err(e) => outcome.errors.push((s, e)),
        }
    }
    outcome
}

/// The password policy as a document's attributes: `present` and the
/// settings (an account without one is `present: false`).
pub(crate) fn password_policy_json(p: Option<&aws_sdk_iam::types::PasswordPolicy>) -> Json {
    match p {
        None => json!({"present": false}),
        Some(p) => json!({
            "present": true,
            "minimum_password_length": p.minimum_password_length(),
            "require_symbols": p.require_symbols(),
            "require_numbers": p.require_numbers(),
            "require_uppercase_characters": p.require_uppercase_characters(),
            "require_lowercase_characters": p.require_lowercase_characters(),
            "allow_users_to_change_password": p.allow_users_to_change_password(),
            "expire_passwords": p.expire_passwords(),
            "max_password_age": p.max_password_age(),
            "password_reuse_prevention": p.password_reuse_prevention(),
            "hard_expiry": p.hard_expiry(),
        }),
    }
}

/// Reads the account's password policy (`None`: it has none).
pub(crate) async fn read_password_policy(
    client: &Client,
) -> Result<Option<aws_sdk_iam::types::PasswordPolicy>, CallError> {
    match client.get_account_password_policy().send().await {
        Ok(out) => Ok(out.password_policy),
        Err(e) if error_code(&e).as_deref() == Some("NoSuchEntity") => Ok(None),
        Err(e) => Err(call_error("iam:GetAccountPasswordPolicy", e)),
    }
}

async fn password_policy(ctx: &Ctx<'_, '_>) -> Result<(), CallError> {
    let p = read_password_policy(&ctx.client).await?;
    let mut attrs = password_policy_json(p.as_ref());
    // Unset numbers are absent, not null.
    if let Some(m) = attrs.as_object_mut() {
        m.retain(|_, v| !v.is_null());
    }
    ctx.emit("aws.iam.password_policy", ctx.account, attrs, vec![])
        .await
}

async fn summary(ctx: &Ctx<'_, '_>) -> Result<(), CallError> {
    let out = ctx
        .client
        .get_account_summary()
        .send()
        .await
        .map_err(|e| call_error("iam:GetAccountSummary", e))?;
    let mut attrs = serde_json::Map::new();
    if let Some(m) = out.summary_map() {
        for (k, v) in m {
            // PascalCase keys (`AccountMFAEnabled`): the reader maps them.
            attrs.insert(k.as_str().to_owned(), json!(v));
        }
    }
    ctx.emit(
        "aws.iam.account_summary",
        ctx.account,
        Json::Object(attrs),
        vec![],
    )
    .await
}

async fn users(ctx: &Ctx<'_, '_>, want_users: bool, want_keys: bool) -> Result<(), CallError> {
    let mut all: Vec<User> = Vec::new();
    let mut pages = ctx.client.list_users().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| call_error("iam:ListUsers", e))?;
        all.extend(page.users().iter().cloned());
    }
    type UserDocs = Result<(Option<Doc>, Vec<Doc>), CallError>;
    let futs: Vec<futures::future::BoxFuture<'_, UserDocs>> = all
        .iter()
        .map(|u| {
            async move {
                let user = if want_users {
                    Some(user(ctx, u).await?)
                } else {
                    None
                };
                let keys = if want_keys {
                    keys(ctx, u.user_name()).await?
                } else {
                    vec![]
                };
                Ok::<_, CallError>((user, keys))
            }
            .boxed()
        })
        .collect();
    let mut results = futures::stream::iter(futs).buffered(SUB_CALLS);
    while let Some(r) = results.next().await {
        let (user, keys) = r?;
        if let Some((id, attrs, nc)) = user {
            ctx.emit("aws.iam.user", &id, attrs, nc).await?;
        }
        for (id, attrs, nc) in keys {
            ctx.emit("aws.iam.access_key", &id, attrs, nc).await?;
        }
    }
    Ok(())
}

type Doc = (String, Json, Vec<&'static str>);

async fn user(ctx: &Ctx<'_, '_>, u: &User) -> Result<Doc, CallError> {
    const T: &str = "aws.iam.user";
    let name = u.user_name();
    let c = &ctx.client;
    let mut attrs = u.to_json();
    let mut nc = Vec::new();
    let call = |op: &str| format!("iam:{op} {name}");
    if ctx.wants(T, "mfa_devices") {
        let mut all = Vec::new();
        let mut pages = c.list_mfa_devices().user_name(name).into_paginator().send();
        while let Some(p) = pages.next().await {
            let p = p.map_err(|e| call_error(&call("ListMFADevices"), e))?;
            all.extend(p.mfa_devices().iter().map(|d| d.to_json()));
        }
        attrs["mfa_devices"] = Json::Array(all);
    } else {
        nc.push("mfa_devices");
    }
    if ctx.wants(T, "attached_policies") {
        let mut all = Vec::new();
        let mut pages = c
            .list_attached_user_policies()
            .user_name(name)
            .into_paginator()
            .send();
        while let Some(p) = pages.next().await {
            let p = p.map_err(|e| call_error(&call("ListAttachedUserPolicies"), e))?;
            all.extend(p.attached_policies().iter().map(|d| d.to_json()));
        }
        attrs["attached_policies"] = Json::Array(all);
    } else {
        nc.push("attached_policies");
    }
    if ctx.wants(T, "policy_names") {
        let mut all = Vec::new();
        let mut pages = c
            .list_user_policies()
            .user_name(name)
            .into_paginator()
            .send();
        while let Some(p) = pages.next().await {
            let p = p.map_err(|e| call_error(&call("ListUserPolicies"), e))?;
            all.extend(p.policy_names().iter().map(|d| json!(d)));
        }
        attrs["policy_names"] = Json::Array(all);
    } else {
        nc.push("policy_names");
    }
    if ctx.wants(T, "password_enabled") {
        let enabled = match c.get_login_profile().user_name(name).send().await {
            Ok(_) => true,
            Err(e) if error_code(&e).as_deref() == Some("NoSuchEntity") => false,
            Err(e) => return Err(call_error(&call("GetLoginProfile"), e)),
        };
        attrs["password_enabled"] = json!(enabled);
    } else {
        nc.push("password_enabled");
    }
    if ctx.wants(T, "tags") {
        let mut all = Vec::new();
        let mut pages = c.list_user_tags().user_name(name).into_paginator().send();
        while let Some(p) = pages.next().await {
            let p = p.map_err(|e| call_error(&call("ListUserTags"), e))?;
            all.extend(p.tags().iter().map(|d| d.to_json()));
        }
        attrs["tags"] = Json::Array(all);
    } else {
        nc.push("tags");
    }
    Ok((name.to_owned(), attrs, nc))
}

async fn keys(ctx: &Ctx<'_, '_>, user: &str) -> Result<Vec<Doc>, CallError> {
    const T: &str = "aws.iam.access_key";
    let c = &ctx.client;
    let mut out = Vec::new();
    let last_used = ["last_used_date", "last_used_service", "last_used_region"]
        .iter()
        .any(|f| ctx.wants(T, f));
    let mut pages = c.list_access_keys().user_name(user).into_paginator().send();
    while let Some(p) = pages.next().await {
        let p = p.map_err(|e| call_error(&format!("iam:ListAccessKeys {user}"), e))?;
        for k in p.access_key_metadata() {
            let id = k.access_key_id().unwrap_or_default().to_owned();
            let mut attrs = k.to_json();
            let mut nc = Vec::new();
            if last_used {
                let lu = c
                    .get_access_key_last_used()
                    .access_key_id(&id)
                    .send()
                    .await
                    .map_err(|e| call_error(&format!("iam:GetAccessKeyLastUsed {id}"), e))?;
                if let Some(u) = lu.access_key_last_used() {
                    // AWS sends `N/A` for a key never used.
                    let known = |s: &str| (s != "N/A" && !s.is_empty()).then(|| json!(s));
                    if let Some(d) = u.last_used_date() {
                        attrs["last_used_date"] = d.to_json();
                    }
                    if let Some(s) = known(u.service_name()) {
                        attrs["last_used_service"] = s;
                    }
                    if let Some(r) = known(u.region()) {
                        attrs["last_used_region"] = r;
                    }
                }
            } else {
                nc.extend(["last_used_date", "last_used_service", "last_used_region"]);
            }
            out.push((id, attrs, nc));
        }
    }
    Ok(out)
}
