//! Redshift clusters: DescribeClusters (all pages; tags come with it), then
//! only for the fields the plan reads: DescribeLoggingStatus per cluster,
//! and DescribeClusterParameters once per parameter group (`require_ssl`).

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_redshift::types::Cluster;
use futures::FutureExt;
use serde_json::{Value as Json, json};

use super::json::{ToJson, put};
use super::regional::{Regional, tag_map};
use super::{CallError, call_error};

const TYPE: &str = "aws.redshift.cluster";

pub(crate) async fn clusters(r: &Regional<'_, '_>) -> Result<(), CallError> {
    let c = r.run.source.redshift(r.sdk(), r.region, &r.run.stats);
    let mut all = Vec::new();
    let mut pages = c.describe_clusters().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| call_error("redshift:DescribeClusters", e))?;
        all.extend(page.clusters().iter().cloned());
    }
    // `require_ssl` of each cluster's first parameter group, each group read once.
    let mut require_ssl: BTreeMap<String, Option<bool>> = BTreeMap::new();
    if r.wants(TYPE, "require_ssl") {
        let groups: BTreeSet<&str> = all.iter().filter_map(first_parameter_group).collect();
        for g in groups {
            require_ssl.insert(g.to_owned(), group_require_ssl(&c, g).await?);
        }
    }
    let futs: Vec<_> = all
        .iter()
        .map(|cl| cluster(r, &c, cl, &require_ssl).boxed())
        .collect();
    r.emit_all(TYPE, futs).await
}

fn first_parameter_group(c: &Cluster) -> Option<&str> {
    c.cluster_parameter_groups()
        .first()
        .and_then(|g| g.parameter_group_name())
}

/// The `require_ssl` parameter of a parameter group (`None`: not listed).
async fn group_require_ssl(
    c: &aws_sdk_redshift::Client,
    group: &str,
) -> Result<Option<bool>, CallError> {
    let mut pages = c
        .describe_cluster_parameters()
        .parameter_group_name(group)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page
            .map_err(|e| call_error(&format!("redshift:DescribeClusterParameters {group}"), e))?;
        if let Some(p) = page
            .parameters()
            .iter()
            .find(|p| p.parameter_name() == Some("require_ssl"))
        {
            return Ok(p.parameter_value().map(|v| v.eq_ignore_ascii_case("true")));
        }
    }
    Ok(None)
}

async fn cluster(
    r: &Regional<'_, '_>,
    c: &aws_sdk_redshift::Client,
    cl: &Cluster,
    require_ssl: &BTreeMap<String, Option<bool>>,
) -> Result<Option<(String, Json)>, CallError> {
    let Some(id) = cl.cluster_identifier() else {
        return Ok(None);
    };
    let mut m = serde_json::Map::new();
    put(&mut m, "cluster_identifier", id.to_json());
    put(
        &mut m,
        "cluster_namespace_arn",
        cl.cluster_namespace_arn().to_json(),
    );
    put(&mut m, "node_type", cl.node_type().to_json());
    put(&mut m, "number_of_nodes", cl.number_of_nodes().to_json());
    put(&mut m, "cluster_status", cl.cluster_status().to_json());
    put(&mut m, "cluster_version", cl.cluster_version().to_json());
    put(&mut m, "db_name", cl.db_name().to_json());
    put(&mut m, "master_username", cl.master_username().to_json());
    put(
        &mut m,
        "cluster_create_time",
        cl.cluster_create_time().to_json(),
    );
    if let Some(e) = cl.endpoint() {
        put(&mut m, "endpoint_address", e.address().to_json());
        put(&mut m, "endpoint_port", e.port().to_json());
    }
    put(
        &mut m,
        "publicly_accessible",
        cl.publicly_accessible().to_json(),
    );
    put(&mut m, "encrypted", cl.encrypted().to_json());
    put(&mut m, "kms_key_id", cl.kms_key_id().to_json());
    put(&mut m, "vpc_id", cl.vpc_id().to_json());
    let groups: Vec<Json> = cl
        .vpc_security_groups()
        .iter()
        .filter_map(|g| g.vpc_security_group_id())
        .map(|g| json!(g))
        .collect();
    m.insert("vpc_security_groups".into(), Json::Array(groups));
    put(
        &mut m,
        "cluster_subnet_group_name",
        cl.cluster_subnet_group_name().to_json(),
    );
    let params: Vec<Json> = cl
        .cluster_parameter_groups()
        .iter()
        .filter_map(|g| g.parameter_group_name())
        .map(|g| json!(g))
        .collect();
    m.insert("cluster_parameter_groups".into(), Json::Array(params));
    put(
        &mut m,
        "enhanced_vpc_routing",
        cl.enhanced_vpc_routing().to_json(),
    );
    put(
        &mut m,
        "automated_snapshot_retention_period",
        cl.automated_snapshot_retention_period().to_json(),
    );
    put(
        &mut m,
        "manual_snapshot_retention_period",
        cl.manual_snapshot_retention_period().to_json(),
    );
    put(
        &mut m,
        "allow_version_upgrade",
        cl.allow_version_upgrade().to_json(),
    );
    if let Some(g) = first_parameter_group(cl) {
        put(
            &mut m,
            "require_ssl",
            require_ssl.get(g).copied().flatten().to_json(),
        );
    }
    let wants = |f: &str| r.wants(TYPE, f);
    if wants("logging_enabled") || wants("logging_bucket_name") || wants("log_destination_type") {
        let l = c
            .describe_logging_status()
            .cluster_identifier(id)
            .send()
            .await
            .map_err(|e| call_error(&format!("redshift:DescribeLoggingStatus {id}"), e))?;
        put(&mut m, "logging_enabled", l.logging_enabled().to_json());
        put(
            &mut m,
            "logging_bucket_name",
            l.bucket_name().filter(|b| !b.is_empty()).to_json(),
        );
        put(
            &mut m,
            "log_destination_type",
            l.log_destination_type()
                .map(|x| x.as_str())
                .filter(|x| !x.is_empty())
                .to_json(),
        );
    }
    m.insert(
        "tags".into(),
        tag_map(
            cl.tags()
                .iter()
                .filter_map(|t| Some((t.key()?, t.value().unwrap_or("")))),
        ),
    );
    Ok(Some((id.to_owned(), Json::Object(m))))
}
