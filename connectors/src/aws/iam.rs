//! IAM users, their access keys, roles (with what their policies allow),
//! managed policies, the credential report, the account summary and the
//! account's password policy: once per account (IAM is global; documents
//! carry the source's first region).

use aws_sdk_iam::Client;
use aws_sdk_iam::types::User;
use futures::{FutureExt, StreamExt};
use serde_json::{Value as Json, json};

use std::collections::HashMap;
use std::sync::Arc;

use super::json::{ToJson, document, put};
use super::regional::{Statements, statements};
use super::{AccountCtx, CallError, JobOutcome, Run, call_error, error_code, scope};

pub(crate) const TYPES: &[&str] = &[
    "aws.iam.user",
    "aws.iam.access_key",
    "aws.iam.account_summary",
    "aws.iam.password_policy",
    "aws.iam.role",
    "aws.iam.policy",
    "aws.iam.credential_report",
    "aws.iam.server_certificate",
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
    for (rtype, read) in [
        ("aws.iam.role", roles(&ctx).boxed()),
        ("aws.iam.policy", managed_policies(&ctx).boxed()),
        ("aws.iam.credential_report", credential_report(&ctx).boxed()),
        (
            "aws.iam.server_certificate",
            server_certificates(&ctx).boxed(),
        ),
    ] {
        if src.wants(run.plan, rtype) {
            let s = scope(&acct.id, Some(region), Some(rtype));
            match read.await {
                Ok(()) => outcome.complete.push(s),
                Err(e) => outcome.errors.push((s, e)),
            }
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
    let docs = ManagedDocs::default();
    let docs = &docs;
    let futs: Vec<futures::future::BoxFuture<'_, UserDocs>> = all
        .iter()
        .map(|u| {
            async move {
                let user = if want_users {
                    Some(user(ctx, u, docs).await?)
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

async fn user(ctx: &Ctx<'_, '_>, u: &User, docs: &ManagedDocs) -> Result<Doc, CallError> {
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
    if ctx.wants(T, "permission_statements") {
        let p = user_permissions(c, docs, name).await?;
        attrs["permission_statements"] = Json::Array(p.statements);
        if let Some(e) = p.error {
            attrs["policy_error"] = json!(e);
        }
    } else {
        nc.push("permission_statements");
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

// ---------------------------------------------------------------------------
// Roles, managed policies and the credential report
// ---------------------------------------------------------------------------

/// The most statements kept for one role (every attached and inline
/// policy together); a role over it says so in `policy_error`.
const MAX_ROLE_STATEMENTS: usize = 2_000;

/// IAM returns policy documents URL-encoded (RFC 3986); a text that is
/// already JSON (as some emulators send it) is taken as it is.
fn iam_document(text: &str) -> std::borrow::Cow<'_, str> {
    if text.trim_start().starts_with('{') {
        std::borrow::Cow::Borrowed(text)
    } else {
        percent_encoding::percent_decode_str(text).decode_utf8_lossy()
    }
}

/// A policy document's statements, read from IAM's encoding.
fn document_statements(text: Option<&str>) -> Statements {
    statements(text.map(iam_document).as_deref())
}

/// The statements of a managed policy's default version (or the version
/// given), read once per collection and shared by every role using it.
#[derive(Default)]
pub(crate) struct ManagedDocs {
    cache: std::sync::Mutex<HashMap<String, Arc<Statements>>>,
}

impl ManagedDocs {
    pub(crate) async fn get(
        &self,
        c: &Client,
        arn: &str,
        version: Option<&str>,
    ) -> Result<Arc<Statements>, CallError> {
        if let Some(hit) = self.cache.lock().expect("cache lock").get(arn) {
            return Ok(hit.clone());
        }
        let version = match version {
            Some(v) => v.to_owned(),
            None => c
                .get_policy()
                .policy_arn(arn)
                .send()
                .await
                .map_err(|e| call_error(&format!("iam:GetPolicy {arn}"), e))?
                .policy()
                .and_then(|p| p.default_version_id())
                .unwrap_or("v1")
                .to_owned(),
        };
        let out = c
            .get_policy_version()
            .policy_arn(arn)
            .version_id(&version)
            .send()
            .await
            .map_err(|e| call_error(&format!("iam:GetPolicyVersion {arn} {version}"), e))?;
        let parsed = Arc::new(document_statements(
            out.policy_version().and_then(|v| v.document()),
        ));
        self.cache
            .lock()
            .expect("cache lock")
            .insert(arn.to_owned(), parsed.clone());
        Ok(parsed)
    }
}

/// What a role may do: the statements of its attached managed policies
/// and of its inline policies, with the first problem reading them.
pub(crate) struct RolePermissions {
    pub attached: Vec<Json>,
    pub inline_names: Vec<String>,
    pub statements: Vec<Json>,
    pub error: Option<String>,
}

/// Reads a role's attached and inline policies and their statements.
pub(crate) async fn role_permissions(
    c: &Client,
    docs: &ManagedDocs,
    role: &str,
) -> Result<RolePermissions, CallError> {
    let call = |op: &str| format!("iam:{op} {role}");
    let mut out = RolePermissions {
        attached: vec![],
        inline_names: vec![],
        statements: vec![],
        error: None,
    };
    let mut arns = Vec::new();
    let mut pages = c
        .list_attached_role_policies()
        .role_name(role)
        .into_paginator()
        .send();
    while let Some(p) = pages.next().await {
        let p = p.map_err(|e| call_error(&call("ListAttachedRolePolicies"), e))?;
        for a in p.attached_policies() {
            out.attached.push(a.to_json());
            if let Some(arn) = a.policy_arn() {
                arns.push(arn.to_owned());
            }
        }
    }
    let mut pages = c
        .list_role_policies()
        .role_name(role)
        .into_paginator()
        .send();
    while let Some(p) = pages.next().await {
        let p = p.map_err(|e| call_error(&call("ListRolePolicies"), e))?;
        out.inline_names
            .extend(p.policy_names().iter().map(|n| n.to_owned()));
    }
    for arn in &arns {
        let s = docs.get(c, arn, None).await?;
        out.add(&s, arn);
    }
    for name in out.inline_names.clone() {
        let p = c
            .get_role_policy()
            .role_name(role)
            .policy_name(&name)
            .send()
            .await
            .map_err(|e| call_error(&call(&format!("GetRolePolicy {name}")), e))?;
        out.add(&document_statements(Some(p.policy_document())), &name);
    }
    Ok(out)
}

/// What a user may do through the policies attached to it and its inline
/// policies (not through its groups).
async fn user_permissions(
    c: &Client,
    docs: &ManagedDocs,
    user: &str,
) -> Result<RolePermissions, CallError> {
    let call = |op: &str| format!("iam:{op} {user}");
    let mut out = RolePermissions {
        attached: vec![],
        inline_names: vec![],
        statements: vec![],
        error: None,
    };
    let mut pages = c
        .list_attached_user_policies()
        .user_name(user)
        .into_paginator()
        .send();
    let mut arns = Vec::new();
    while let Some(p) = pages.next().await {
        let p = p.map_err(|e| call_error(&call("ListAttachedUserPolicies"), e))?;
        arns.extend(
            p.attached_policies()
                .iter()
                .filter_map(|a| a.policy_arn().map(str::to_owned)),
        );
    }
    let mut pages = c
        .list_user_policies()
        .user_name(user)
        .into_paginator()
        .send();
    while let Some(p) = pages.next().await {
        let p = p.map_err(|e| call_error(&call("ListUserPolicies"), e))?;
        out.inline_names.extend(p.policy_names().iter().cloned());
    }
    for arn in &arns {
        let s = docs.get(c, arn, None).await?;
        out.add(&s, arn);
    }
    for name in out.inline_names.clone() {
        let p = c
            .get_user_policy()
            .user_name(user)
            .policy_name(&name)
            .send()
            .await
            .map_err(|e| call_error(&call(&format!("GetUserPolicy {name}")), e))?;
        out.add(&document_statements(Some(p.policy_document())), &name);
    }
    Ok(out)
}

impl RolePermissions {
    /// Adds one document's statements, keeping the first problem and at
    /// most `MAX_ROLE_STATEMENTS` statements.
    fn add(&mut self, s: &Statements, what: &str) {
        if let Some(e) = &s.error {
            self.error.get_or_insert_with(|| format!("{what}: {e}"));
        }
        for st in &s.list {
            if self.statements.len() == MAX_ROLE_STATEMENTS {
                self.error.get_or_insert_with(|| {
                    format!("more than {MAX_ROLE_STATEMENTS} statements; the rest were not read")
                });
                return;
            }
            self.statements.push(st.clone());
        }
    }
}

/// The role name of a role ARN (`arn:aws:iam::1:role/path/name` → `name`).
pub(crate) fn role_name_of(arn: &str) -> Option<&str> {
    let rest = arn.split_once(":role/")?.1;
    rest.rsplit('/').next().filter(|n| !n.is_empty())
}

async fn roles(ctx: &Ctx<'_, '_>) -> Result<(), CallError> {
    const T: &str = "aws.iam.role";
    let c = &ctx.client;
    let mut all: Vec<aws_sdk_iam::types::Role> = Vec::new();
    let mut pages = c.list_roles().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| call_error("iam:ListRoles", e))?;
        all.extend(page.roles().iter().cloned());
    }
    let docs = ManagedDocs::default();
    let want_perms = ["attached_policies", "policy_names", "permission_statements"]
        .iter()
        .any(|f| ctx.wants(T, f));
    let futs: Vec<futures::future::BoxFuture<'_, Result<Doc, CallError>>> = all
        .iter()
        .map(|r| role(ctx, r, &docs, want_perms).boxed())
        .collect();
    let mut results = futures::stream::iter(futs).buffered(SUB_CALLS);
    while let Some(r) = results.next().await {
        let (id, attrs, nc) = r?;
        ctx.emit(T, &id, attrs, nc).await?;
    }
    Ok(())
}

async fn role(
    ctx: &Ctx<'_, '_>,
    r: &aws_sdk_iam::types::Role,
    docs: &ManagedDocs,
    want_perms: bool,
) -> Result<Doc, CallError> {
    const T: &str = "aws.iam.role";
    let c = &ctx.client;
    let name = r.role_name();
    let mut m = serde_json::Map::new();
    put(&mut m, "role_name", name.to_json());
    put(&mut m, "role_id", r.role_id().to_json());
    put(&mut m, "arn", r.arn().to_json());
    put(&mut m, "path", r.path().to_json());
    put(&mut m, "create_date", r.create_date().to_json());
    put(&mut m, "description", r.description().to_json());
    put(
        &mut m,
        "max_session_duration",
        r.max_session_duration().to_json(),
    );
    put(
        &mut m,
        "service_linked",
        r.path().starts_with("/aws-service-role/").to_json(),
    );
    let trust = document_statements(r.assume_role_policy_document());
    m.insert("trust_statements".into(), Json::Array(trust.list));
    let mut nc = Vec::new();
    if want_perms {
        let p = role_permissions(c, docs, name).await?;
        m.insert("attached_policies".into(), Json::Array(p.attached));
        m.insert("policy_names".into(), json!(p.inline_names));
        m.insert("permission_statements".into(), Json::Array(p.statements));
        put(&mut m, "policy_error", p.error.to_json());
    } else {
        nc.extend(["attached_policies", "policy_names", "permission_statements"]);
    }
    if ctx.wants(T, "last_used_date") || ctx.wants(T, "last_used_region") {
        let got = c
            .get_role()
            .role_name(name)
            .send()
            .await
            .map_err(|e| call_error(&format!("iam:GetRole {name}"), e))?;
        if let Some(u) = got.role().and_then(|r| r.role_last_used()) {
            put(&mut m, "last_used_date", u.last_used_date().to_json());
            put(&mut m, "last_used_region", u.region().to_json());
        }
    } else {
        nc.extend(["last_used_date", "last_used_region"]);
    }
    let mut tags = serde_json::Map::new();
    if ctx.wants(T, "tags") {
        let mut pages = c.list_role_tags().role_name(name).into_paginator().send();
        while let Some(p) = pages.next().await {
            let p = p.map_err(|e| call_error(&format!("iam:ListRoleTags {name}"), e))?;
            for t in p.tags() {
                tags.insert(t.key().to_owned(), json!(t.value()));
            }
        }
    } else {
        nc.push("tags");
    }
    m.insert("tags".into(), Json::Object(tags));
    Ok((name.to_owned(), Json::Object(m), nc))
}

/// The AWS managed policy CIS 1.17 asks to attach to a support role: read
/// even when attached to nothing, so that its absence has a document.
const SUPPORT_POLICY: &str = "arn:aws:iam::aws:policy/AWSSupportAccess";

async fn managed_policies(ctx: &Ctx<'_, '_>) -> Result<(), CallError> {
    const T: &str = "aws.iam.policy";
    use aws_sdk_iam::types::{Policy, PolicyScopeType};
    let c = &ctx.client;
    let mut all: Vec<Policy> = Vec::new();
    // Every customer managed policy, and the AWS managed ones in use.
    for (scope, only_attached) in [
        (PolicyScopeType::Local, false),
        (PolicyScopeType::Aws, true),
    ] {
        let mut pages = c
            .list_policies()
            .scope(scope)
            .only_attached(only_attached)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| call_error("iam:ListPolicies", e))?;
            all.extend(page.policies().iter().cloned());
        }
    }
    if !all.iter().any(|p| p.arn() == Some(SUPPORT_POLICY)) {
        match c.get_policy().policy_arn(SUPPORT_POLICY).send().await {
            Ok(out) => all.extend(out.policy().cloned()),
            Err(e) if error_code(&e).as_deref() == Some("NoSuchEntity") => {}
            Err(e) => return Err(call_error(&format!("iam:GetPolicy {SUPPORT_POLICY}"), e)),
        }
    }
    let docs = ManagedDocs::default();
    let want_statements = ctx.wants(T, "statements");
    for p in &all {
        let Some(arn) = p.arn() else { continue };
        let mut m = serde_json::Map::new();
        put(&mut m, "policy_name", p.policy_name().to_json());
        put(&mut m, "policy_id", p.policy_id().to_json());
        put(&mut m, "arn", arn.to_json());
        put(&mut m, "path", p.path().to_json());
        put(&mut m, "description", p.description().to_json());
        put(
            &mut m,
            "default_version_id",
            p.default_version_id().to_json(),
        );
        put(&mut m, "attachment_count", p.attachment_count().to_json());
        put(
            &mut m,
            "permissions_boundary_usage_count",
            p.permissions_boundary_usage_count().to_json(),
        );
        put(&mut m, "is_attachable", p.is_attachable().to_json());
        put(&mut m, "create_date", p.create_date().to_json());
        put(&mut m, "update_date", p.update_date().to_json());
        put(
            &mut m,
            "aws_managed",
            arn.starts_with("arn:aws:iam::aws:policy/").to_json(),
        );
        let mut nc = Vec::new();
        if want_statements {
            let s = docs.get(c, arn, p.default_version_id()).await?;
            m.insert("statements".into(), Json::Array(s.list.clone()));
            put(&mut m, "policy_error", s.error.to_json());
        } else {
            nc.push("statements");
        }
        ctx.emit(T, arn, Json::Object(m), nc).await?;
    }
    Ok(())
}

/// Server certificates stored in IAM (ListServerCertificates).
async fn server_certificates(ctx: &Ctx<'_, '_>) -> Result<(), CallError> {
    const T: &str = "aws.iam.server_certificate";
    let mut pages = ctx
        .client
        .list_server_certificates()
        .into_paginator()
        .send();
    while let Some(p) = pages.next().await {
        let p = p.map_err(|e| call_error("iam:ListServerCertificates", e))?;
        for c in p.server_certificate_metadata_list() {
            let mut m = serde_json::Map::new();
            put(
                &mut m,
                "server_certificate_name",
                c.server_certificate_name().to_json(),
            );
            put(
                &mut m,
                "server_certificate_id",
                c.server_certificate_id().to_json(),
            );
            put(&mut m, "arn", c.arn().to_json());
            put(&mut m, "path", c.path().to_json());
            put(&mut m, "upload_date", c.upload_date().to_json());
            put(&mut m, "expiration", c.expiration().to_json());
            ctx.emit(T, c.server_certificate_name(), Json::Object(m), vec![])
                .await?;
        }
    }
    Ok(())
}

/// The credential report: generated (IAM keeps one for four hours), then
/// read as CSV; one document per row, the root user's row included.
async fn credential_report(ctx: &Ctx<'_, '_>) -> Result<(), CallError> {
    const T: &str = "aws.iam.credential_report";
    use aws_sdk_iam::types::ReportStateType;
    let c = &ctx.client;
    let mut ready = false;
    for attempt in 0..20 {
        let out = c
            .generate_credential_report()
            .send()
            .await
            .map_err(|e| call_error("iam:GenerateCredentialReport", e))?;
        if out.state() == Some(&ReportStateType::Complete) {
            ready = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250 * (attempt + 1))).await;
    }
    if !ready {
        return Err(CallError {
            message: "iam:GenerateCredentialReport: the report was not ready after 20 attempts; collect again later".into(),
            unreachable: false,
        });
    }
    let out = c
        .get_credential_report()
        .send()
        .await
        .map_err(|e| call_error("iam:GetCredentialReport", e))?;
    let content = out.content().map(|b| b.as_ref()).unwrap_or_default();
    let rows = parse_credential_report(content).map_err(|e| CallError {
        message: format!("iam:GetCredentialReport: the report is not the expected CSV: {e}"),
        unreachable: false,
    })?;
    let root_virtual_mfa = if ctx.wants(T, "virtual_mfa") {
        Some(root_has_virtual_mfa(c).await?)
    } else {
        None
    };
    for (id, mut attrs) in rows {
        let mut nc = Vec::new();
        if attrs["is_root"] == json!(true) {
            match root_virtual_mfa {
                Some(v) => attrs["virtual_mfa"] = json!(v),
                None => nc.push("virtual_mfa"),
            }
        }
        ctx.emit(T, &id, attrs, nc).await?;
    }
    Ok(())
}

/// Whether the root user's MFA device is a virtual one (a hardware device
/// is not listed among the virtual devices).
async fn root_has_virtual_mfa(c: &Client) -> Result<bool, CallError> {
    use aws_sdk_iam::types::AssignmentStatusType;
    let mut pages = c
        .list_virtual_mfa_devices()
        .assignment_status(AssignmentStatusType::Assigned)
        .into_paginator()
        .send();
    while let Some(p) = pages.next().await {
        let p = p.map_err(|e| call_error("iam:ListVirtualMFADevices", e))?;
        for d in p.virtual_mfa_devices() {
            let root_user = d.user().is_some_and(|u| u.arn().ends_with(":root"));
            if root_user || d.serial_number().ends_with(":mfa/root-account-mfa-device") {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

/// The credential report's rows as documents (id: the user name, or
/// `<root_account>`). Columns are found by name, so a column AWS adds or
/// moves changes nothing; `N/A`, `no_information` and `not_supported` are
/// absent values.
pub(crate) fn parse_credential_report(csv_text: &[u8]) -> Result<Vec<(String, Json)>, String> {
    let mut r = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(csv_text);
    let headers = r.headers().map_err(|e| e.to_string())?.clone();
    if !headers.iter().any(|h| h == "user") {
        return Err("no `user` column".into());
    }
    const BOOLS: &[&str] = &[
        "password_enabled",
        "mfa_active",
        "access_key_1_active",
        "access_key_2_active",
        "cert_1_active",
        "cert_2_active",
    ];
    const TIMES: &[&str] = &[
        "user_creation_time",
        "password_last_used",
        "password_last_changed",
        "password_next_rotation",
        "access_key_1_last_rotated",
        "access_key_1_last_used_date",
        "access_key_2_last_rotated",
        "access_key_2_last_used_date",
        "cert_1_last_rotated",
        "cert_2_last_rotated",
    ];
    const STRINGS: &[&str] = &[
        "user",
        "arn",
        "access_key_1_last_used_region",
        "access_key_1_last_used_service",
        "access_key_2_last_used_region",
        "access_key_2_last_used_service",
    ];
    let mut out = Vec::new();
    for (line, rec) in r.records().enumerate() {
        let rec = rec.map_err(|e| format!("row {}: {e}", line + 2))?;
        let mut m = serde_json::Map::new();
        for (h, v) in headers.iter().zip(rec.iter()) {
            if matches!(v, "" | "N/A" | "no_information" | "not_supported") {
                continue;
            }
            let value = if BOOLS.contains(&h) {
                match v {
                    "true" => json!(true),
                    "false" => json!(false),
                    _ => continue,
                }
            } else if TIMES.contains(&h) {
                match chrono::DateTime::parse_from_rfc3339(v) {
                    Ok(t) => json!(
                        t.with_timezone(&chrono::Utc)
                            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                    ),
                    Err(_) => continue,
                }
            } else if STRINGS.contains(&h) {
                json!(v)
            } else {
                continue;
            };
            m.insert(h.to_owned(), value);
        }
        let Some(user) = m.get("user").and_then(Json::as_str).map(str::to_owned) else {
            continue;
        };
        m.insert("is_root".into(), json!(user == "<root_account>"));
        for b in BOOLS {
            if *b != "password_enabled" {
                m.entry(b.to_string()).or_insert(json!(false));
            }
        }
        out.push((user, Json::Object(m)));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    // The report's shape as AWS documents it, a root row first.
    const REPORT: &str = "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated
<root_account>,arn:aws:iam::123456789012:root,2020-01-01T00:00:00+00:00,not_supported,2026-11-30T08:15:00+00:00,not_supported,not_supported,true,true,2021-05-01T00:00:00+00:00,2026-11-01T10:00:00+00:00,us-east-1,s3,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A
alice,arn:aws:iam::123456789012:user/alice,2024-03-02T09:00:00+02:00,true,no_information,2024-03-02T07:00:00+00:00,N/A,false,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A
";

    #[test]
    fn the_credential_report_reads_as_documents() {
        let rows = parse_credential_report(REPORT.as_bytes()).unwrap();
        assert_eq!(rows.len(), 2);
        let (id, root) = &rows[0];
        assert_eq!(id, "<root_account>");
        assert_eq!(root["is_root"], json!(true));
        assert_eq!(root["mfa_active"], json!(true));
        assert_eq!(root["password_last_used"], json!("2026-11-30T08:15:00Z"));
        assert!(root.get("password_enabled").is_none(), "not_supported");
        assert_eq!(root["access_key_1_active"], json!(true));
        assert_eq!(root["access_key_1_last_used_service"], json!("s3"));
        let (_, alice) = &rows[1];
        assert_eq!(alice["is_root"], json!(false));
        assert_eq!(alice["password_enabled"], json!(true));
        assert!(alice.get("password_last_used").is_none(), "no_information");
        // Offsets are normalised to UTC.
        assert_eq!(alice["user_creation_time"], json!("2024-03-02T07:00:00Z"));
    }

    #[test]
    fn a_report_that_is_not_the_csv_is_an_error_not_an_empty_account() {
        assert!(parse_credential_report(b"<html>oops</html>\n").is_err());
        assert!(parse_credential_report(b"").is_err());
        // Rows without a user are skipped, a quoted comma stays in its field.
        let rows = parse_credential_report(b"user,arn\n\"ops,east\",arn:x\n,arn:y\n").unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].0, "ops,east");
    }

    #[test]
    fn iam_documents_are_url_decoded_and_roles_named_from_their_arns() {
        let encoded = "%7B%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22%2A%22%2C%22Resource%22%3A%22%2A%22%7D%5D%7D";
        let s = document_statements(Some(encoded));
        assert_eq!(s.list.len(), 1);
        assert_eq!(s.list[0]["actions"], json!(["*"]));
        let plain = document_statements(Some(r#"{"Statement":{"Effect":"Deny","Action":"s3:*"}}"#));
        assert_eq!(plain.list[0]["effect"], json!("Deny"));
        assert!(document_statements(Some("%7Bnot json")).error.is_some());
        assert_eq!(role_name_of("arn:aws:iam::1:role/deploy"), Some("deploy"));
        assert_eq!(
            role_name_of("arn:aws:iam::1:role/team/a/deploy"),
            Some("deploy")
        );
        assert_eq!(role_name_of("arn:aws:iam::1:user/alice"), None);
        assert_eq!(role_name_of("arn:aws:iam::1:role/"), None);
    }
}
