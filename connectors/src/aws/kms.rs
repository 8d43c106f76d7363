//! KMS keys: ListKeys (all pages), then per key DescribeKey and, for the
//! fields the plan reads, GetKeyRotationStatus, GetKeyPolicy and
//! ListResourceTags.

use futures::FutureExt;
use serde_json::{Value as Json, json};

use super::json::{ToJson, put};
use super::regional::{Regional, policy_fields, tag_map};
use super::{CallError, call_error, error_code};

const TYPE: &str = "aws.kms.key";

/// Errors that mean "not applicable to this key" (an asymmetric key, one
/// pending deletion or gone meanwhile), not a failed read. Access denied is
/// not among them: a key policy that could not be read must not look like
/// one that grants nothing.
fn not_applicable(code: Option<&str>) -> bool {
    matches!(
        code,
        Some("UnsupportedOperationException" | "KMSInvalidStateException" | "NotFoundException")
    )
}

pub(crate) async fn keys(r: &Regional<'_, '_>) -> Result<(), CallError> {
    let c = r.run.source.kms(r.sdk(), r.region, &r.run.stats);
    let mut ids = Vec::new();
    let mut pages = c.list_keys().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| call_error("kms:ListKeys", e))?;
        ids.extend(
            page.keys()
                .iter()
                .filter_map(|k| k.key_id().map(str::to_owned)),
        );
    }
    let futs: Vec<_> = ids
        .iter()
        .map(|id| key(r, &c, id).map(|doc| doc.map(Some)).boxed())
        .collect();
    r.emit_all(TYPE, futs).await
}

async fn key(
    r: &Regional<'_, '_>,
    c: &aws_sdk_kms::Client,
    id: &str,
) -> Result<(String, Json), CallError> {
    let out = c
        .describe_key()
        .key_id(id)
        .send()
        .await
        .map_err(|e| call_error(&format!("kms:DescribeKey {id}"), e))?;
    let Some(k) = out.key_metadata() else {
        return Err(CallError {
            message: format!("kms:DescribeKey {id}: no key metadata in the answer"),
            unreachable: false,
        });
    };
    let mut m = serde_json::Map::new();
    put(&mut m, "key_id", k.key_id().to_json());
    put(&mut m, "arn", k.arn().to_json());
    put(&mut m, "description", k.description().to_json());
    put(&mut m, "creation_date", k.creation_date().to_json());
    put(&mut m, "enabled", k.enabled().to_json());
    put(
        &mut m,
        "key_state",
        k.key_state().map(|s| s.as_str()).to_json(),
    );
    put(
        &mut m,
        "key_manager",
        k.key_manager().map(|s| s.as_str()).to_json(),
    );
    put(
        &mut m,
        "key_usage",
        k.key_usage().map(|s| s.as_str()).to_json(),
    );
    put(
        &mut m,
        "key_spec",
        k.key_spec().map(|s| s.as_str()).to_json(),
    );
    put(&mut m, "origin", k.origin().map(|s| s.as_str()).to_json());
    put(&mut m, "multi_region", k.multi_region().to_json());
    put(&mut m, "deletion_date", k.deletion_date().to_json());
    let customer = k.key_manager().map(|s| s.as_str()) == Some("CUSTOMER");
    if r.wants(TYPE, "key_rotation_enabled") || r.wants(TYPE, "rotation_period_in_days") {
        match c.get_key_rotation_status().key_id(id).send().await {
            Ok(rot) => {
                put(
                    &mut m,
                    "key_rotation_enabled",
                    json!(rot.key_rotation_enabled()),
                );
                put(
                    &mut m,
                    "rotation_period_in_days",
                    rot.rotation_period_in_days().to_json(),
                );
            }
            Err(e) if not_applicable(error_code(&e).as_deref()) => {}
            Err(e) => return Err(call_error(&format!("kms:GetKeyRotationStatus {id}"), e)),
        }
    }
    if r.wants(TYPE, "policy_statements") {
        match c
            .get_key_policy()
            .key_id(id)
            .policy_name("default")
            .send()
            .await
        {
            Ok(p) => m.extend(policy_fields(p.policy())),
            Err(e) if not_applicable(error_code(&e).as_deref()) => {
                m.extend(policy_fields(None));
            }
            Err(e) => return Err(call_error(&format!("kms:GetKeyPolicy {id}"), e)),
        }
    }
    let mut tags = json!({});
    if customer && r.wants(TYPE, "tags") {
        match c.list_resource_tags().key_id(id).send().await {
            Ok(t) => tags = tag_map(t.tags().iter().map(|t| (t.tag_key(), t.tag_value()))),
            Err(e) if not_applicable(error_code(&e).as_deref()) => {}
            Err(e) => return Err(call_error(&format!("kms:ListResourceTags {id}"), e)),
        }
    }
    m.insert("tags".into(), tags);
    Ok((id.to_owned(), Json::Object(m)))
}
