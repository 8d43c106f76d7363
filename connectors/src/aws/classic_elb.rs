//! Classic load balancers (the `elasticloadbalancing` API, before ELBv2):
//! DescribeLoadBalancers (all pages), then, only for the fields the plan
//! reads, DescribeLoadBalancerAttributes per load balancer and DescribeTags
//! for up to 20 names per call.

use std::collections::HashMap;

use futures::FutureExt;
use serde_json::{Value as Json, json};

use super::json::{ToJson, put};
use super::regional::{Regional, tag_map};
use super::{CallError, call_error};

const TYPE: &str = "aws.elb.load_balancer";
/// DescribeTags takes at most 20 load balancer names.
const TAG_BATCH: usize = 20;

pub(crate) async fn load_balancers(r: &Regional<'_, '_>) -> Result<(), CallError> {
    let c = r.run.source.elb(r.sdk(), r.region, &r.run.stats);
    let mut all = Vec::new();
    let mut pages = c.describe_load_balancers().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| call_error("elb:DescribeLoadBalancers", e))?;
        all.extend(page.load_balancer_descriptions().iter().cloned());
    }
    let names: Vec<String> = all
        .iter()
        .filter_map(|lb| lb.load_balancer_name().map(str::to_owned))
        .collect();
    let mut tags: HashMap<String, Json> = HashMap::new();
    if r.wants(TYPE, "tags") {
        for chunk in names.chunks(TAG_BATCH) {
            let out = c
                .describe_tags()
                .set_load_balancer_names(Some(chunk.to_vec()))
                .send()
                .await
                .map_err(|e| call_error("elb:DescribeTags", e))?;
            for d in out.tag_descriptions() {
                if let Some(name) = d.load_balancer_name() {
                    let pairs = d.tags().iter().map(|t| (t.key(), t.value().unwrap_or("")));
                    tags.insert(name.to_owned(), tag_map(pairs));
                }
            }
        }
    }
    let want_attrs = [
        "access_log",
        "cross_zone_load_balancing",
        "connection_draining",
    ]
    .iter()
    .any(|f| r.wants(TYPE, f));
    let tags = &tags;
    let futs: Vec<_> = all
        .iter()
        .map(|lb| {
            let c = &c;
            async move {
                let Some(name) = lb.load_balancer_name() else {
                    return Ok(None);
                };
                let mut m = description(lb);
                if want_attrs {
                    let out = c
                        .describe_load_balancer_attributes()
                        .load_balancer_name(name)
                        .send()
                        .await
                        .map_err(|e| {
                            call_error(&format!("elb:DescribeLoadBalancerAttributes {name}"), e)
                        })?;
                    if let Some(a) = out.load_balancer_attributes() {
                        if let Some(l) = a.access_log() {
                            let mut log = serde_json::Map::new();
                            log.insert("enabled".into(), json!(l.enabled()));
                            put(&mut log, "s3_bucket_name", l.s3_bucket_name().to_json());
                            put(&mut log, "s3_bucket_prefix", l.s3_bucket_prefix().to_json());
                            put(&mut log, "emit_interval", l.emit_interval().to_json());
                            m.insert("access_log".into(), Json::Object(log));
                        }
                        put(
                            &mut m,
                            "cross_zone_load_balancing",
                            a.cross_zone_load_balancing().map(|x| x.enabled()).to_json(),
                        );
                        put(
                            &mut m,
                            "connection_draining",
                            a.connection_draining().map(|x| x.enabled()).to_json(),
                        );
                    }
                }
                let t = tags.get(name).cloned().unwrap_or_else(|| json!({}));
                m.insert("tags".into(), t);
                Ok::<_, CallError>(Some((name.to_owned(), Json::Object(m))))
            }
            .boxed()
        })
        .collect();
    r.emit_all(TYPE, futs).await
}

/// The fields DescribeLoadBalancers gives.
fn description(
    lb: &aws_sdk_elasticloadbalancing::types::LoadBalancerDescription,
) -> serde_json::Map<String, Json> {
    let mut m = serde_json::Map::new();
    put(
        &mut m,
        "load_balancer_name",
        lb.load_balancer_name().to_json(),
    );
    put(&mut m, "dns_name", lb.dns_name().to_json());
    put(&mut m, "scheme", lb.scheme().to_json());
    put(&mut m, "vpc_id", lb.vpc_id().to_json());
    put(&mut m, "created_time", lb.created_time().to_json());
    m.insert("availability_zones".into(), json!(lb.availability_zones()));
    m.insert("subnets".into(), json!(lb.subnets()));
    m.insert("security_groups".into(), json!(lb.security_groups()));
    let instances: Vec<Json> = lb
        .instances()
        .iter()
        .filter_map(|i| i.instance_id())
        .map(|i| json!(i))
        .collect();
    m.insert("instances".into(), Json::Array(instances));
    let listeners: Vec<Json> = lb
        .listener_descriptions()
        .iter()
        .filter_map(|d| d.listener())
        .map(|l| {
            let mut v = serde_json::Map::new();
            v.insert("protocol".into(), json!(l.protocol()));
            v.insert("load_balancer_port".into(), json!(l.load_balancer_port()));
            put(&mut v, "instance_protocol", l.instance_protocol().to_json());
            v.insert("instance_port".into(), json!(l.instance_port()));
            put(
                &mut v,
                "ssl_certificate_id",
                l.ssl_certificate_id().to_json(),
            );
            Json::Object(v)
        })
        .collect();
    m.insert("listeners".into(), Json::Array(listeners));
    m
}
