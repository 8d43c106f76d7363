//! CloudFront distributions: once per account (CloudFront is global;
//! documents carry the source's first region). ListDistributions (all
//! pages), then per distribution and only for the fields the plan reads:
//! GetDistributionConfig (standard access logging) and
//! ListTagsForResource.

use aws_sdk_cloudfront::types::{CacheBehavior, DefaultCacheBehavior, DistributionSummary, Origin};
use futures::{FutureExt, StreamExt};
use serde_json::{Value as Json, json};

use super::json::{ToJson, document, put};
use super::regional::tag_map;
use super::{AccountCtx, CallError, JobOutcome, Run, call_error, scope};

pub(crate) const TYPE: &str = "aws.cloudfront.distribution";
const SUB_CALLS: usize = 8;

/// `""` (the API's "none") as absent.
fn non_empty(s: Option<&str>) -> Json {
    s.filter(|s| !s.is_empty()).to_json()
}

pub(crate) async fn collect(run: &Run<'_>, acct: &AccountCtx) -> JobOutcome {
    let region = run.source.home_region();
    let s = scope(&acct.id, Some(region), Some(TYPE));
    match distributions(run, acct, region).await {
        Ok(()) => JobOutcome {
            complete: vec![s],
            errors: vec![],
        },
        Err(e) => JobOutcome {
            complete: vec![],
            errors: vec![(s, e)],
        },
    }
}

async fn distributions(run: &Run<'_>, acct: &AccountCtx, region: &str) -> Result<(), CallError> {
    let c = run.source.cloudfront(&acct.sdk, &run.stats);
    let mut all = Vec::new();
    let mut pages = c.list_distributions().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| call_error("cloudfront:ListDistributions", e))?;
        if let Some(list) = page.distribution_list() {
            all.extend(list.items().iter().cloned());
        }
    }
    let futs: Vec<_> = all
        .iter()
        .map(|d| distribution(run, &c, d).boxed())
        .collect();
    let mut docs = futures::stream::iter(futs).buffered(SUB_CALLS);
    while let Some(doc) = docs.next().await {
        let (id, attrs) = doc?;
        run.emit(document(TYPE, &id, &acct.id, region, attrs))
            .await?;
    }
    Ok(())
}

fn default_behavior(b: &DefaultCacheBehavior) -> Json {
    json!({
        "target_origin_id": b.target_origin_id(),
        "viewer_protocol_policy": b.viewer_protocol_policy().as_str(),
    })
}

fn behavior(b: &CacheBehavior) -> Json {
    json!({
        "path_pattern": b.path_pattern(),
        "target_origin_id": b.target_origin_id(),
        "viewer_protocol_policy": b.viewer_protocol_policy().as_str(),
    })
}

fn origin(o: &Origin) -> Json {
    let mut m = serde_json::Map::new();
    put(&mut m, "id", o.id().to_json());
    put(&mut m, "domain_name", o.domain_name().to_json());
    put(&mut m, "origin_path", non_empty(o.origin_path()));
    put(&mut m, "s3_origin", json!(o.s3_origin_config().is_some()));
    put(
        &mut m,
        "origin_access_identity",
        non_empty(o.s3_origin_config().map(|s| s.origin_access_identity())),
    );
    put(
        &mut m,
        "origin_access_control_id",
        non_empty(o.origin_access_control_id()),
    );
    put(
        &mut m,
        "origin_protocol_policy",
        o.custom_origin_config()
            .map(|c| c.origin_protocol_policy().as_str())
            .to_json(),
    );
    Json::Object(m)
}

async fn distribution(
    run: &Run<'_>,
    c: &aws_sdk_cloudfront::Client,
    d: &DistributionSummary,
) -> Result<(String, Json), CallError> {
    let id = d.id();
    let mut m = serde_json::Map::new();
    put(&mut m, "arn", d.arn().to_json());
    put(&mut m, "status", non_empty(Some(d.status())));
    put(&mut m, "domain_name", d.domain_name().to_json());
    let aliases = d.aliases().map(|a| a.items()).unwrap_or_default();
    m.insert("aliases".into(), aliases.to_json());
    put(&mut m, "enabled", d.enabled().to_json());
    put(&mut m, "comment", non_empty(Some(d.comment())));
    put(
        &mut m,
        "price_class",
        non_empty(Some(d.price_class().as_str())),
    );
    put(&mut m, "web_acl_id", non_empty(Some(d.web_acl_id())));
    put(
        &mut m,
        "http_version",
        non_empty(Some(d.http_version().as_str())),
    );
    put(&mut m, "is_ipv6_enabled", d.is_ipv6_enabled().to_json());
    if let Some(b) = d.default_cache_behavior() {
        m.insert("default_cache_behavior".into(), default_behavior(b));
    }
    let behaviors: Vec<Json> = d
        .cache_behaviors()
        .map(|b| b.items())
        .unwrap_or_default()
        .iter()
        .map(behavior)
        .collect();
    m.insert("cache_behaviors".into(), Json::Array(behaviors));
    if let Some(v) = d.viewer_certificate() {
        let mut vm = serde_json::Map::new();
        put(
            &mut vm,
            "cloud_front_default_certificate",
            v.cloud_front_default_certificate().to_json(),
        );
        put(
            &mut vm,
            "acm_certificate_arn",
            non_empty(v.acm_certificate_arn()),
        );
        put(
            &mut vm,
            "iam_certificate_id",
            non_empty(v.iam_certificate_id()),
        );
        put(
            &mut vm,
            "ssl_support_method",
            v.ssl_support_method().map(|x| x.as_str()).to_json(),
        );
        put(
            &mut vm,
            "minimum_protocol_version",
            v.minimum_protocol_version().map(|x| x.as_str()).to_json(),
        );
        m.insert("viewer_certificate".into(), Json::Object(vm));
    }
    let origins: Vec<Json> = d
        .origins()
        .map(|o| o.items())
        .unwrap_or_default()
        .iter()
        .map(origin)
        .collect();
    m.insert("origins".into(), Json::Array(origins));
    let wants = |f: &str| run.plan.wants_field(TYPE, f);
    if wants("logging_enabled") || wants("logging_bucket") {
        let out = c
            .get_distribution_config()
            .id(id)
            .send()
            .await
            .map_err(|e| call_error(&format!("cloudfront:GetDistributionConfig {id}"), e))?;
        let logging = out.distribution_config().and_then(|c| c.logging());
        put(
            &mut m,
            "logging_enabled",
            json!(logging.is_some_and(|l| l.enabled())),
        );
        put(
            &mut m,
            "logging_bucket",
            non_empty(logging.filter(|l| l.enabled()).map(|l| l.bucket())),
        );
    }
    let mut tags = json!({});
    if wants("tags") {
        let t = c
            .list_tags_for_resource()
            .resource(d.arn())
            .send()
            .await
            .map_err(|e| call_error(&format!("cloudfront:ListTagsForResource {id}"), e))?;
        if let Some(t) = t.tags() {
            tags = tag_map(t.items().iter().map(|t| (t.key(), t.value().unwrap_or(""))));
        }
    }
    m.insert("tags".into(), tags);
    Ok((id.to_owned(), Json::Object(m)))
}
