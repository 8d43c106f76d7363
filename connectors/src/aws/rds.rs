//! RDS: DB instances (DescribeDBInstances, all pages) and the account's
//! manual DB snapshots (DescribeDBSnapshots) with who may restore them
//! (DescribeDBSnapshotAttributes, when a policy reads `restore_by`).

use futures::{FutureExt, StreamExt};
use serde_json::{Value as Json, json};

use super::json::{ToJson, put};
use super::regional::{Regional, tag_map};
use super::{CallError, call_error};

const INSTANCE: &str = "aws.rds.db_instance";
const SNAPSHOT: &str = "aws.rds.db_snapshot";
const SUB_CALLS: usize = 8;

fn tags(list: &[aws_sdk_rds::types::Tag]) -> Json {
    tag_map(
        list.iter()
            .filter_map(|t| Some((t.key()?, t.value().unwrap_or("")))),
    )
}

pub(crate) async fn instances(r: &Regional<'_, '_>) -> Result<(), CallError> {
    let c = r.run.source.rds(r.sdk(), r.region, &r.run.stats);
    let mut pages = c.describe_db_instances().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| call_error("rds:DescribeDBInstances", e))?;
        for d in page.db_instances() {
            let Some(id) = d.db_instance_identifier() else {
                continue;
            };
            r.emit(INSTANCE, id, instance_json(d)).await?;
        }
    }
    Ok(())
}

/// A DB instance's document attributes (also the actions' before/after).
pub(crate) fn instance_json(d: &aws_sdk_rds::types::DbInstance) -> Json {
    let mut m = serde_json::Map::new();
    put(
        &mut m,
        "db_instance_identifier",
        d.db_instance_identifier().to_json(),
    );
    put(&mut m, "db_instance_arn", d.db_instance_arn().to_json());
    put(&mut m, "db_instance_class", d.db_instance_class().to_json());
    put(
        &mut m,
        "db_instance_status",
        d.db_instance_status().to_json(),
    );
    put(&mut m, "engine", d.engine().to_json());
    put(&mut m, "engine_version", d.engine_version().to_json());
    put(
        &mut m,
        "publicly_accessible",
        d.publicly_accessible().to_json(),
    );
    put(&mut m, "storage_encrypted", d.storage_encrypted().to_json());
    put(&mut m, "kms_key_id", d.kms_key_id().to_json());
    put(
        &mut m,
        "backup_retention_period",
        d.backup_retention_period().to_json(),
    );
    put(&mut m, "multi_az", d.multi_az().to_json());
    put(
        &mut m,
        "auto_minor_version_upgrade",
        d.auto_minor_version_upgrade().to_json(),
    );
    put(
        &mut m,
        "deletion_protection",
        d.deletion_protection().to_json(),
    );
    put(
        &mut m,
        "iam_database_authentication_enabled",
        d.iam_database_authentication_enabled().to_json(),
    );
    put(
        &mut m,
        "enabled_cloudwatch_logs_exports",
        d.enabled_cloudwatch_logs_exports().to_json(),
    );
    put(&mut m, "availability_zone", d.availability_zone().to_json());
    if let Some(e) = d.endpoint() {
        let mut em = serde_json::Map::new();
        put(&mut em, "address", e.address().to_json());
        put(&mut em, "port", e.port().to_json());
        m.insert("endpoint".into(), Json::Object(em));
    }
    let groups: Vec<Json> = d
        .vpc_security_groups()
        .iter()
        .filter_map(|g| g.vpc_security_group_id())
        .map(|g| json!(g))
        .collect();
    m.insert("vpc_security_groups".into(), Json::Array(groups));
    put(
        &mut m,
        "db_subnet_group_name",
        d.db_subnet_group()
            .and_then(|g| g.db_subnet_group_name())
            .to_json(),
    );
    m.insert("tags".into(), tags(d.tag_list()));
    Json::Object(m)
}

pub(crate) async fn snapshots(r: &Regional<'_, '_>) -> Result<(), CallError> {
    let c = r.run.source.rds(r.sdk(), r.region, &r.run.stats);
    let mut all = Vec::new();
    let mut pages = c
        .describe_db_snapshots()
        .snapshot_type("manual")
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| call_error("rds:DescribeDBSnapshots", e))?;
        all.extend(page.db_snapshots().iter().cloned());
    }
    let want_restore = r.wants(SNAPSHOT, "restore_by");
    let futs: Vec<_> = all
        .iter()
        .map(|s| {
            let c = &c;
            async move {
                let mut attrs = snapshot_json(s);
                if want_restore && let Some(id) = s.db_snapshot_identifier() {
                    let who = restore_by(c, id).await?;
                    attrs["restore_by"] = json!(who);
                }
                Ok::<_, CallError>((s.db_snapshot_identifier().unwrap_or("").to_owned(), attrs))
            }
            .boxed()
        })
        .collect();
    let mut docs = futures::stream::iter(futs).buffered(SUB_CALLS);
    while let Some(doc) = docs.next().await {
        let (id, attrs) = doc?;
        if !id.is_empty() {
            r.emit(SNAPSHOT, &id, attrs).await?;
        }
    }
    Ok(())
}

fn snapshot_json(s: &aws_sdk_rds::types::DbSnapshot) -> Json {
    let mut m = serde_json::Map::new();
    put(
        &mut m,
        "db_snapshot_identifier",
        s.db_snapshot_identifier().to_json(),
    );
    put(&mut m, "db_snapshot_arn", s.db_snapshot_arn().to_json());
    put(
        &mut m,
        "db_instance_identifier",
        s.db_instance_identifier().to_json(),
    );
    put(
        &mut m,
        "snapshot_create_time",
        s.snapshot_create_time().to_json(),
    );
    put(&mut m, "snapshot_type", s.snapshot_type().to_json());
    put(&mut m, "status", s.status().to_json());
    put(&mut m, "engine", s.engine().to_json());
    put(&mut m, "encrypted", s.encrypted().to_json());
    put(&mut m, "kms_key_id", s.kms_key_id().to_json());
    m.insert("tags".into(), tags(s.tag_list()));
    Json::Object(m)
}

/// Who may restore a manual snapshot: the `restore` attribute's values
/// (account IDs, or `all` for everyone).
pub(crate) async fn restore_by(
    c: &aws_sdk_rds::Client,
    id: &str,
) -> Result<Vec<String>, CallError> {
    let out = c
        .describe_db_snapshot_attributes()
        .db_snapshot_identifier(id)
        .send()
        .await
        .map_err(|e| call_error(&format!("rds:DescribeDBSnapshotAttributes {id}"), e))?;
    Ok(out
        .db_snapshot_attributes_result()
        .map(|res| {
            res.db_snapshot_attributes()
                .iter()
                .filter(|a| a.attribute_name() == Some("restore"))
                .flat_map(|a| a.attribute_values().iter().cloned())
                .collect()
        })
        .unwrap_or_default())
}
