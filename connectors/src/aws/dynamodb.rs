//! DynamoDB tables: ListTables (all pages), DescribeTable, and, for the
//! fields the plan reads, DescribeContinuousBackups (point-in-time
//! recovery) and ListTagsOfResource.

use futures::FutureExt;
use serde_json::{Value as Json, json};

use super::json::{ToJson, put};
use super::regional::{Regional, tag_map};
use super::{CallError, call_error};

const TYPE: &str = "aws.dynamodb.table";

pub(crate) async fn tables(r: &Regional<'_, '_>) -> Result<(), CallError> {
    let c = r.run.source.dynamodb(r.sdk(), r.region, &r.run.stats);
    let mut names = Vec::new();
    let mut pages = c.list_tables().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| call_error("dynamodb:ListTables", e))?;
        names.extend(page.table_names().iter().cloned());
    }
    let futs: Vec<_> = names
        .iter()
        .map(|n| table(r, &c, n).map(|doc| doc.map(Some)).boxed())
        .collect();
    r.emit_all(TYPE, futs).await
}

/// The table's point-in-time recovery status (`ENABLED`, `DISABLED`).
pub(crate) async fn pitr_status(
    c: &aws_sdk_dynamodb::Client,
    name: &str,
) -> Result<Option<String>, CallError> {
    let out = c
        .describe_continuous_backups()
        .table_name(name)
        .send()
        .await
        .map_err(|e| call_error(&format!("dynamodb:DescribeContinuousBackups {name}"), e))?;
    Ok(out
        .continuous_backups_description()
        .and_then(|d| d.point_in_time_recovery_description())
        .and_then(|p| p.point_in_time_recovery_status())
        .map(|s| s.as_str().to_owned()))
}

async fn table(
    r: &Regional<'_, '_>,
    c: &aws_sdk_dynamodb::Client,
    name: &str,
) -> Result<(String, Json), CallError> {
    let out = c
        .describe_table()
        .table_name(name)
        .send()
        .await
        .map_err(|e| call_error(&format!("dynamodb:DescribeTable {name}"), e))?;
    let mut m = serde_json::Map::new();
    put(&mut m, "table_name", json!(name));
    if let Some(t) = out.table() {
        put(&mut m, "table_arn", t.table_arn().to_json());
        put(
            &mut m,
            "table_status",
            t.table_status().map(|s| s.as_str()).to_json(),
        );
        put(
            &mut m,
            "creation_date_time",
            t.creation_date_time().to_json(),
        );
        put(&mut m, "item_count", t.item_count().to_json());
        put(&mut m, "table_size_bytes", t.table_size_bytes().to_json());
        put(
            &mut m,
            "billing_mode",
            t.billing_mode_summary()
                .and_then(|b| b.billing_mode())
                .map(|b| b.as_str())
                .to_json(),
        );
        if let Some(s) = t.sse_description() {
            put(
                &mut m,
                "sse_status",
                s.status().map(|x| x.as_str()).to_json(),
            );
            put(
                &mut m,
                "sse_type",
                s.sse_type().map(|x| x.as_str()).to_json(),
            );
            put(
                &mut m,
                "kms_master_key_arn",
                s.kms_master_key_arn().to_json(),
            );
        }
        put(
            &mut m,
            "deletion_protection_enabled",
            t.deletion_protection_enabled().to_json(),
        );
    }
    if r.wants(TYPE, "point_in_time_recovery_status") {
        put(
            &mut m,
            "point_in_time_recovery_status",
            pitr_status(c, name).await?.to_json(),
        );
    }
    let mut tags = json!({});
    if r.wants(TYPE, "tags")
        && let Some(arn) = m.get("table_arn").and_then(Json::as_str).map(str::to_owned)
    {
        let t = c
            .list_tags_of_resource()
            .resource_arn(arn)
            .send()
            .await
            .map_err(|e| call_error(&format!("dynamodb:ListTagsOfResource {name}"), e))?;
        tags = tag_map(t.tags().iter().map(|t| (t.key(), t.value())));
    }
    m.insert("tags".into(), tags);
    Ok((name.to_owned(), Json::Object(m)))
}
