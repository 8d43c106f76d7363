//! SQS queues (ListQueues, GetQueueAttributes, ListQueueTags) and SNS
//! topics (ListTopics, GetTopicAttributes, ListTagsForResource): their
//! access policies and encryption.

use futures::FutureExt;
use serde_json::{Value as Json, json};

use super::json::{ToJson, put};
use super::regional::{Regional, policy_fields, tag_map};
use super::{CallError, call_error};

const QUEUE: &str = "aws.sqs.queue";
const TOPIC: &str = "aws.sns.topic";

fn int(v: Option<&String>) -> Json {
    v.and_then(|s| s.parse::<i64>().ok()).to_json()
}

pub(crate) async fn queues(r: &Regional<'_, '_>) -> Result<(), CallError> {
    let c = r.run.source.sqs(r.sdk(), r.region, &r.run.stats);
    let mut urls = Vec::new();
    let mut pages = c.list_queues().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| call_error("sqs:ListQueues", e))?;
        urls.extend(page.queue_urls().iter().cloned());
    }
    let futs: Vec<_> = urls
        .iter()
        .map(|u| queue(r, &c, u).map(|doc| doc.map(Some)).boxed())
        .collect();
    r.emit_all(QUEUE, futs).await
}

async fn queue(
    r: &Regional<'_, '_>,
    c: &aws_sdk_sqs::Client,
    url: &str,
) -> Result<(String, Json), CallError> {
    use aws_sdk_sqs::types::QueueAttributeName as A;
    let name = url.rsplit('/').next().unwrap_or(url).to_owned();
    let out = c
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(A::All)
        .send()
        .await
        .map_err(|e| call_error(&format!("sqs:GetQueueAttributes {name}"), e))?;
    let empty = Default::default();
    let a = out.attributes().unwrap_or(&empty);
    let mut m = serde_json::Map::new();
    put(&mut m, "queue_name", json!(name));
    put(&mut m, "queue_url", json!(url));
    put(&mut m, "queue_arn", a.get(&A::QueueArn).to_json());
    put(
        &mut m,
        "kms_master_key_id",
        a.get(&A::KmsMasterKeyId).to_json(),
    );
    put(
        &mut m,
        "sqs_managed_sse_enabled",
        a.get(&A::SqsManagedSseEnabled)
            .map(|v| v == "true")
            .to_json(),
    );
    put(
        &mut m,
        "message_retention_period",
        int(a.get(&A::MessageRetentionPeriod)),
    );
    put(
        &mut m,
        "visibility_timeout",
        int(a.get(&A::VisibilityTimeout)),
    );
    // The dead-letter queue, from the redrive policy's JSON.
    let dlq = a
        .get(&A::RedrivePolicy)
        .and_then(|p| serde_json::from_str::<Json>(p).ok())
        .and_then(|p| p.get("deadLetterTargetArn")?.as_str().map(str::to_owned));
    put(&mut m, "dead_letter_target_arn", dlq.to_json());
    m.extend(policy_fields(a.get(&A::Policy).map(String::as_str)));
    let mut tags = json!({});
    if r.wants(QUEUE, "tags") {
        let t = c
            .list_queue_tags()
            .queue_url(url)
            .send()
            .await
            .map_err(|e| call_error(&format!("sqs:ListQueueTags {name}"), e))?;
        if let Some(map) = t.tags() {
            tags = tag_map(map.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        }
    }
    m.insert("tags".into(), tags);
    Ok((name, Json::Object(m)))
}

pub(crate) async fn topics(r: &Regional<'_, '_>) -> Result<(), CallError> {
    let c = r.run.source.sns(r.sdk(), r.region, &r.run.stats);
    let mut arns = Vec::new();
    let mut pages = c.list_topics().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| call_error("sns:ListTopics", e))?;
        arns.extend(
            page.topics()
                .iter()
                .filter_map(|t| t.topic_arn().map(str::to_owned)),
        );
    }
    let futs: Vec<_> = arns
        .iter()
        .map(|a| topic(r, &c, a).map(|doc| doc.map(Some)).boxed())
        .collect();
    r.emit_all(TOPIC, futs).await
}

async fn topic(
    r: &Regional<'_, '_>,
    c: &aws_sdk_sns::Client,
    arn: &str,
) -> Result<(String, Json), CallError> {
    let name = arn.rsplit(':').next().unwrap_or(arn).to_owned();
    let out = c
        .get_topic_attributes()
        .topic_arn(arn)
        .send()
        .await
        .map_err(|e| call_error(&format!("sns:GetTopicAttributes {name}"), e))?;
    let empty = Default::default();
    let a = out.attributes().unwrap_or(&empty);
    let mut m = serde_json::Map::new();
    put(&mut m, "topic_name", json!(name));
    put(&mut m, "topic_arn", json!(arn));
    put(
        &mut m,
        "display_name",
        a.get("DisplayName").filter(|s| !s.is_empty()).to_json(),
    );
    put(
        &mut m,
        "kms_master_key_id",
        a.get("KmsMasterKeyId").to_json(),
    );
    put(
        &mut m,
        "subscriptions_confirmed",
        int(a.get("SubscriptionsConfirmed")),
    );
    m.extend(policy_fields(a.get("Policy").map(String::as_str)));
    let mut tags = json!({});
    if r.wants(TOPIC, "tags") {
        let t = c
            .list_tags_for_resource()
            .resource_arn(arn)
            .send()
            .await
            .map_err(|e| call_error(&format!("sns:ListTagsForResource {name}"), e))?;
        tags = tag_map(t.tags().iter().map(|t| (t.key(), t.value())));
    }
    m.insert("tags".into(), tags);
    Ok((name, Json::Object(m)))
}
