//! S3 buckets: ListBuckets (all pages) once per account, then per bucket
//! GetBucketLocation and only the configuration calls the plan asks for.

use std::collections::HashMap;
use std::sync::Mutex;

use aws_sdk_s3::Client;
use futures::{FutureExt, StreamExt};
use serde_json::{Value as Json, json};

use super::json::{ToJson, document};
use super::{AccountCtx, CallError, JobOutcome, Run, call_error, error_code, scope};

const TYPE: &str = "aws.s3.bucket";
const SUB_CALLS: usize = 8;

/// The bucket fields that cost a call each, with the value a document
/// carries when the plan skips a required one (listed in the document's
/// `not_collected`, and read by no policy).
/// A field name and, for a required one, its placeholder value.
type Field = (&'static str, Option<fn() -> Json>);

const FIELDS: &[Field] = &[
    ("acl", Some(|| json!({"owner": {"id": ""}, "grants": []}))),
    ("policy_status", None),
    ("public_access_block", None),
    ("encryption", None),
    ("versioning", Some(|| json!({}))),
    ("logging", None),
    ("tags", None),
    ("website", None),
    ("policy_statements", None),
];

struct Clients<'a, 'r> {
    run: &'a Run<'r>,
    acct: &'a AccountCtx,
    by_region: Mutex<HashMap<String, Client>>,
}

impl Clients<'_, '_> {
    fn get(&self, region: &str) -> Client {
        let mut m = match self.by_region.lock() {
            Ok(m) => m,
            Err(p) => p.into_inner(),
        };
        m.entry(region.to_owned())
            .or_insert_with(|| self.run.source.s3(&self.acct.sdk, region, &self.run.stats))
            .clone()
    }
}

/// `None`/`""` is us-east-1, `EU` is eu-west-1 (GetBucketLocation's legacy
/// answers).
fn bucket_region(constraint: Option<&str>) -> String {
    match constraint {
        None | Some("") => "us-east-1".into(),
        Some("EU") => "eu-west-1".into(),
        Some(r) => r.into(),
    }
}

pub(crate) async fn collect(run: &Run<'_>, acct: &AccountCtx) -> JobOutcome {
    let clients = Clients {
        run,
        acct,
        by_region: Mutex::default(),
    };
    let home = run.source.home_region();
    let list = clients.get(home);
    let mut names = Vec::new();
    let mut pages = list.list_buckets().into_paginator().send();
    while let Some(page) = pages.next().await {
        match page {
            Ok(p) => names.extend(p.buckets().iter().map(|b| {
                (
                    b.name().unwrap_or_default().to_owned(),
                    b.creation_date().to_json(),
                )
            })),
            Err(e) => {
                return JobOutcome {
                    complete: vec![],
                    errors: vec![(
                        scope(&acct.id, Some(home), Some(TYPE)),
                        call_error("s3:ListBuckets", e),
                    )],
                };
            }
        }
    }
    let mut outcome = JobOutcome::default();
    type BucketDoc = Result<(String, Json), (String, CallError)>;
    let futs: Vec<futures::future::BoxFuture<'_, BucketDoc>> = names
        .into_iter()
        .map(|(name, created)| bucket(&clients, &list, name, created).boxed())
        .collect();
    let mut results = futures::stream::iter(futs).buffered(SUB_CALLS);
    let mut failed = false;
    while let Some(r) = results.next().await {
        match r {
            Ok((region, doc)) => {
                let _ = region;
                if !run.send(doc).await {
                    return outcome;
                }
            }
            Err((region, e)) => {
                failed = true;
                outcome
                    .errors
                    .push((scope(&acct.id, Some(&region), Some(TYPE)), e));
            }
        }
    }
    if !failed {
        outcome.complete.push(scope(&acct.id, None, Some(TYPE)));
    }
    outcome
}

async fn bucket(
    clients: &Clients<'_, '_>,
    list: &Client,
    name: String,
    created: Json,
) -> Result<(String, Json), (String, CallError)> {
    let home = clients.run.source.home_region().to_owned();
    let loc = list
        .get_bucket_location()
        .bucket(&name)
        .send()
        .await
        .map_err(|e| {
            (
                home.clone(),
                call_error(&format!("s3:GetBucketLocation {name}"), e),
            )
        })?;
    let region = bucket_region(loc.location_constraint().map(|c| c.as_str()));
    let c = clients.get(&region);
    let plan = clients.run.plan;
    let fail = |call: &str, e: CallError| {
        let _ = call;
        (region.clone(), e)
    };
    let mut attrs = serde_json::Map::new();
    attrs.insert("name".into(), Json::String(name.clone()));
    attrs.insert("creation_date".into(), created);
    let mut not_collected = Vec::new();
    for (field, placeholder) in FIELDS {
        if !plan.wants_field(TYPE, field) {
            not_collected.push(Json::String((*field).into()));
            if let Some(p) = placeholder {
                attrs.insert((*field).into(), p());
            }
            continue;
        }
        let call = |op: &str| format!("s3:{op} {name}");
        let value: Json = match *field {
            "acl" => {
                let out = c
                    .get_bucket_acl()
                    .bucket(&name)
                    .send()
                    .await
                    .map_err(|e| fail("acl", call_error(&call("GetBucketAcl"), e)))?;
                json!({"owner": out.owner().to_json(), "grants": out.grants().to_json()})
            }
            "policy_status" => match c.get_bucket_policy_status().bucket(&name).send().await {
                Ok(out) => out.policy_status().to_json(),
                Err(e) if error_code(&e).as_deref() == Some("NoSuchBucketPolicy") => Json::Null,
                Err(e) => return Err(fail("", call_error(&call("GetBucketPolicyStatus"), e))),
            },
            "public_access_block" => match c.get_public_access_block().bucket(&name).send().await {
                Ok(out) => out.public_access_block_configuration().to_json(),
                Err(e)
                    if error_code(&e).as_deref()
                        == Some("NoSuchPublicAccessBlockConfiguration") =>
                {
                    Json::Null
                }
                Err(e) => return Err(fail("", call_error(&call("GetPublicAccessBlock"), e))),
            },
            "encryption" => match c.get_bucket_encryption().bucket(&name).send().await {
                Ok(out) => out.server_side_encryption_configuration().to_json(),
                Err(e)
                    if error_code(&e).as_deref()
                        == Some("ServerSideEncryptionConfigurationNotFoundError") =>
                {
                    Json::Null
                }
                Err(e) => return Err(fail("", call_error(&call("GetBucketEncryption"), e))),
            },
            "versioning" => {
                let out = c
                    .get_bucket_versioning()
                    .bucket(&name)
                    .send()
                    .await
                    .map_err(|e| fail("", call_error(&call("GetBucketVersioning"), e)))?;
                let mut v = serde_json::Map::new();
                super::json::put(&mut v, "status", out.status().to_json());
                super::json::put(&mut v, "mfa_delete", out.mfa_delete().to_json());
                Json::Object(v)
            }
            "logging" => {
                let out = c
                    .get_bucket_logging()
                    .bucket(&name)
                    .send()
                    .await
                    .map_err(|e| fail("", call_error(&call("GetBucketLogging"), e)))?;
                out.logging_enabled().to_json()
            }
            "website" => match c.get_bucket_website().bucket(&name).send().await {
                Ok(out) => {
                    let mut w = serde_json::Map::new();
                    super::json::put(
                        &mut w,
                        "index_document",
                        out.index_document().map(|d| d.suffix()).to_json(),
                    );
                    super::json::put(
                        &mut w,
                        "redirect_all_requests_to",
                        out.redirect_all_requests_to()
                            .map(|r| r.host_name())
                            .to_json(),
                    );
                    w.insert("routing_rules".into(), json!(out.routing_rules().len()));
                    Json::Object(w)
                }
                Err(e) if error_code(&e).as_deref() == Some("NoSuchWebsiteConfiguration") => {
                    Json::Null
                }
                Err(e) => return Err(fail("", call_error(&call("GetBucketWebsite"), e))),
            },
            "policy_statements" => {
                let text = match c.get_bucket_policy().bucket(&name).send().await {
                    Ok(out) => out.policy,
                    Err(e) if error_code(&e).as_deref() == Some("NoSuchBucketPolicy") => None,
                    Err(e) => return Err(fail("", call_error(&call("GetBucketPolicy"), e))),
                };
                let mut fields = super::regional::policy_fields(text.as_deref());
                if let Some(err) = fields.remove("policy_error") {
                    attrs.insert("policy_error".into(), err);
                }
                fields.remove("policy_statements").unwrap_or(json!([]))
            }
            "tags" => match c.get_bucket_tagging().bucket(&name).send().await {
                Ok(out) => out.tag_set().to_json(),
                Err(e) if error_code(&e).as_deref() == Some("NoSuchTagSet") => json!([]),
                Err(e) => return Err(fail("", call_error(&call("GetBucketTagging"), e))),
            },
            _ => Json::Null,
        };
        if !value.is_null() {
            attrs.insert((*field).into(), value);
        }
    }
    let mut doc = document(TYPE, &name, &clients.acct.id, &region, Json::Object(attrs));
    if !not_collected.is_empty() {
        doc["not_collected"] = Json::Array(not_collected);
    }
    Ok((region, doc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_locations_map_to_regions() {
        assert_eq!(bucket_region(None), "us-east-1");
        assert_eq!(bucket_region(Some("")), "us-east-1");
        assert_eq!(bucket_region(Some("EU")), "eu-west-1");
        assert_eq!(bucket_region(Some("eu-central-1")), "eu-central-1");
    }
}

/// Reads a GetBucketVersioning answer whose XML root is
/// `GetBucketVersioningResponse` instead of S3's `VersioningConfiguration`
/// (moto answers so, and the SDK rejects the whole response). Only a
/// response the SDK failed to read is touched, and only for this call, so
/// real S3 is never affected.
#[derive(Debug)]
pub(crate) struct VersioningRootCompat;

impl aws_smithy_runtime_api::client::interceptors::Intercept for VersioningRootCompat {
    fn name(&self) -> &'static str {
        "pac-s3-versioning-root-compat"
    }

    fn modify_before_attempt_completion(
        &self,
        context: &mut aws_smithy_runtime_api::client::interceptors::context::FinalizerInterceptorContextMut<'_>,
        _rc: &aws_smithy_runtime_api::client::runtime_components::RuntimeComponents,
        cfg: &mut aws_smithy_types::config_bag::ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        use aws_smithy_runtime_api::client::interceptors::context::Output;
        let is_versioning = cfg
            .load::<aws_smithy_runtime_api::client::orchestrator::Metadata>()
            .is_some_and(|m| m.name() == "GetBucketVersioning");
        if !is_versioning || !matches!(context.output_or_error(), Some(Err(_))) {
            return Ok(());
        }
        let Some(body) = context
            .response()
            .filter(|r| r.status().is_success())
            .and_then(|r| r.body().bytes())
            .and_then(|b| std::str::from_utf8(b).ok())
        else {
            return Ok(());
        };
        if !body.contains("<GetBucketVersioningResponse") {
            return Ok(());
        }
        let element = |name: &str| -> Option<String> {
            let open = format!("<{name}>");
            let start = body.find(&open)? + open.len();
            let len = body[start..].find(&format!("</{name}>"))?;
            Some(body[start..start + len].trim().to_string())
        };
        let out =
            aws_sdk_s3::operation::get_bucket_versioning::GetBucketVersioningOutput::builder()
                .set_status(
                    element("Status")
                        .map(|s| aws_sdk_s3::types::BucketVersioningStatus::from(s.as_str())),
                )
                .set_mfa_delete(
                    element("MfaDelete")
                        .map(|s| aws_sdk_s3::types::MfaDeleteStatus::from(s.as_str())),
                )
                .build();
        if let Some(slot) = context.output_or_error_mut() {
            *slot = Ok(Output::erase(out));
        }
        Ok(())
    }
}
