//! ECR repositories (DescribeRepositories, GetRepositoryPolicy,
//! ListTagsForResource) and EKS clusters (ListClusters, DescribeCluster).

use futures::{FutureExt, StreamExt};
use serde_json::{Value as Json, json};

use super::json::{ToJson, put};
use super::regional::{Regional, policy_fields, tag_map};
use super::{CallError, call_error, error_code};

const REPOSITORY: &str = "aws.ecr.repository";
const CLUSTER: &str = "aws.eks.cluster";
const SUB_CALLS: usize = 8;

pub(crate) async fn repositories(r: &Regional<'_, '_>) -> Result<(), CallError> {
    let c = r.run.source.ecr(r.sdk(), r.region, &r.run.stats);
    let mut all = Vec::new();
    let mut pages = c.describe_repositories().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| call_error("ecr:DescribeRepositories", e))?;
        all.extend(page.repositories().iter().cloned());
    }
    let futs: Vec<_> = all.iter().map(|x| repository(r, &c, x).boxed()).collect();
    r.emit_all(REPOSITORY, futs).await
}

/// A repository's attributes from DescribeRepositories (also the actions'
/// before/after).
pub(crate) fn repository_json(x: &aws_sdk_ecr::types::Repository) -> serde_json::Map<String, Json> {
    let mut m = serde_json::Map::new();
    put(&mut m, "repository_name", x.repository_name().to_json());
    put(&mut m, "repository_arn", x.repository_arn().to_json());
    put(&mut m, "repository_uri", x.repository_uri().to_json());
    put(&mut m, "registry_id", x.registry_id().to_json());
    put(&mut m, "created_at", x.created_at().to_json());
    put(
        &mut m,
        "image_tag_mutability",
        x.image_tag_mutability().map(|v| v.as_str()).to_json(),
    );
    put(
        &mut m,
        "scan_on_push",
        x.image_scanning_configuration()
            .map(|s| s.scan_on_push())
            .to_json(),
    );
    if let Some(e) = x.encryption_configuration() {
        put(
            &mut m,
            "encryption_type",
            e.encryption_type().as_str().to_json(),
        );
        put(&mut m, "kms_key", e.kms_key().to_json());
    }
    m
}

async fn repository(
    r: &Regional<'_, '_>,
    c: &aws_sdk_ecr::Client,
    x: &aws_sdk_ecr::types::Repository,
) -> Result<Option<(String, Json)>, CallError> {
    let (Some(name), Some(arn)) = (x.repository_name(), x.repository_arn()) else {
        return Ok(None);
    };
    let mut m = repository_json(x);
    if r.wants(REPOSITORY, "policy_statements") {
        match c.get_repository_policy().repository_name(name).send().await {
            Ok(p) => m.extend(policy_fields(p.policy_text())),
            Err(e) if error_code(&e).as_deref() == Some("RepositoryPolicyNotFoundException") => {
                m.extend(policy_fields(None))
            }
            Err(e) => return Err(call_error(&format!("ecr:GetRepositoryPolicy {name}"), e)),
        }
    }
    let mut tags = json!({});
    if r.wants(REPOSITORY, "tags") {
        let t = c
            .list_tags_for_resource()
            .resource_arn(arn)
            .send()
            .await
            .map_err(|e| call_error(&format!("ecr:ListTagsForResource {name}"), e))?;
        tags = tag_map(t.tags().iter().map(|t| (t.key(), t.value())));
    }
    m.insert("tags".into(), tags);
    Ok(Some((name.to_owned(), Json::Object(m))))
}

pub(crate) async fn clusters(r: &Regional<'_, '_>) -> Result<(), CallError> {
    let c = r.run.source.eks(r.sdk(), r.region, &r.run.stats);
    let mut names = Vec::new();
    let mut pages = c.list_clusters().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| call_error("eks:ListClusters", e))?;
        names.extend(page.clusters().iter().cloned());
    }
    let futs: Vec<_> = names
        .iter()
        .map(|n| {
            let c = &c;
            async move {
                c.describe_cluster()
                    .name(n)
                    .send()
                    .await
                    .map_err(|e| call_error(&format!("eks:DescribeCluster {n}"), e))
            }
            .boxed()
        })
        .collect();
    let mut answers = futures::stream::iter(futs).buffered(SUB_CALLS);
    while let Some(out) = answers.next().await {
        let out = out?;
        let Some(k) = out.cluster() else { continue };
        let Some(name) = k.name() else { continue };
        r.emit(CLUSTER, name, cluster_json(k)).await?;
    }
    Ok(())
}

fn cluster_json(k: &aws_sdk_eks::types::Cluster) -> Json {
    let mut m = serde_json::Map::new();
    put(&mut m, "name", k.name().to_json());
    put(&mut m, "arn", k.arn().to_json());
    put(&mut m, "version", k.version().to_json());
    put(&mut m, "status", k.status().map(|s| s.as_str()).to_json());
    put(&mut m, "role_arn", k.role_arn().to_json());
    put(&mut m, "platform_version", k.platform_version().to_json());
    put(&mut m, "created_at", k.created_at().to_json());
    if let Some(v) = k.resources_vpc_config() {
        put(
            &mut m,
            "endpoint_public_access",
            json!(v.endpoint_public_access()),
        );
        put(
            &mut m,
            "endpoint_private_access",
            json!(v.endpoint_private_access()),
        );
        put(&mut m, "vpc_id", v.vpc_id().to_json());
    }
    let cidrs = k
        .resources_vpc_config()
        .map(|v| v.public_access_cidrs().to_vec())
        .unwrap_or_default();
    m.insert("public_access_cidrs".into(), json!(cidrs));
    // The control-plane log types that are on.
    let logs: Vec<Json> = k
        .logging()
        .map(|l| {
            l.cluster_logging()
                .iter()
                .filter(|s| s.enabled() == Some(true))
                .flat_map(|s| s.types().iter().map(|t| json!(t.as_str())))
                .collect()
        })
        .unwrap_or_default();
    m.insert("enabled_log_types".into(), Json::Array(logs));
    // Envelope encryption with the customer's KMS key (EKS encrypts API data
    // with its own keys regardless; a provider key is the extra layer).
    let secrets = k
        .encryption_config()
        .iter()
        .any(|e| e.provider().and_then(|p| p.key_arn()).is_some());
    m.insert("secrets_encrypted".into(), json!(secrets));
    let tags = k
        .tags()
        .map(|t| tag_map(t.iter().map(|(k, v)| (k.as_str(), v.as_str()))))
        .unwrap_or_else(|| json!({}));
    m.insert("tags".into(), tags);
    Json::Object(m)
}
