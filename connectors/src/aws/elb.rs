//! Application, network and gateway load balancers (ELBv2):
//! DescribeLoadBalancers (all pages), then per load balancer and only for
//! the fields the plan reads: DescribeListeners, DescribeLoadBalancerAttributes
//! and DescribeTags.

use futures::FutureExt;
use serde_json::{Value as Json, json};

use super::json::{ToJson, put};
use super::regional::{Regional, tag_map};
use super::{CallError, call_error};

const TYPE: &str = "aws.elbv2.load_balancer";

pub(crate) async fn load_balancers(r: &Regional<'_, '_>) -> Result<(), CallError> {
    let c = r.run.source.elbv2(r.sdk(), r.region, &r.run.stats);
    let mut all = Vec::new();
    let mut pages = c.describe_load_balancers().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| call_error("elasticloadbalancing:DescribeLoadBalancers", e))?;
        all.extend(page.load_balancers().iter().cloned());
    }
    let futs: Vec<_> = all
        .iter()
        .map(|lb| load_balancer(r, &c, lb).boxed())
        .collect();
    r.emit_all(TYPE, futs).await
}

async fn load_balancer(
    r: &Regional<'_, '_>,
    c: &aws_sdk_elasticloadbalancingv2::Client,
    lb: &aws_sdk_elasticloadbalancingv2::types::LoadBalancer,
) -> Result<Option<(String, Json)>, CallError> {
    let (Some(name), Some(arn)) = (lb.load_balancer_name(), lb.load_balancer_arn()) else {
        return Ok(None);
    };
    let mut m = serde_json::Map::new();
    put(&mut m, "load_balancer_name", name.to_json());
    put(&mut m, "load_balancer_arn", arn.to_json());
    put(&mut m, "dns_name", lb.dns_name().to_json());
    put(&mut m, "scheme", lb.scheme().map(|s| s.as_str()).to_json());
    put(
        &mut m,
        "load_balancer_type",
        lb.r#type().map(|s| s.as_str()).to_json(),
    );
    put(&mut m, "vpc_id", lb.vpc_id().to_json());
    put(
        &mut m,
        "state",
        lb.state()
            .and_then(|s| s.code())
            .map(|s| s.as_str())
            .to_json(),
    );
    put(&mut m, "created_time", lb.created_time().to_json());
    put(
        &mut m,
        "ip_address_type",
        lb.ip_address_type().map(|s| s.as_str()).to_json(),
    );
    m.insert("security_groups".into(), json!(lb.security_groups()));
    let zones: Vec<Json> = lb
        .availability_zones()
        .iter()
        .filter_map(|z| z.zone_name())
        .map(|z| json!(z))
        .collect();
    m.insert("availability_zones".into(), Json::Array(zones));
    if r.wants(TYPE, "listeners") {
        let mut listeners = Vec::new();
        let mut pages = c
            .describe_listeners()
            .load_balancer_arn(arn)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| {
                call_error(&format!("elasticloadbalancing:DescribeListeners {name}"), e)
            })?;
            listeners.extend(page.listeners().iter().map(listener_json));
        }
        m.insert("listeners".into(), Json::Array(listeners));
    }
    let attrs_wanted = [
        "access_logs_enabled",
        "access_logs_bucket",
        "deletion_protection",
        "drop_invalid_header_fields",
    ]
    .iter()
    .any(|f| r.wants(TYPE, f));
    if attrs_wanted {
        let out = c
            .describe_load_balancer_attributes()
            .load_balancer_arn(arn)
            .send()
            .await
            .map_err(|e| {
                call_error(
                    &format!("elasticloadbalancing:DescribeLoadBalancerAttributes {name}"),
                    e,
                )
            })?;
        let get = |k: &str| {
            out.attributes()
                .iter()
                .find(|a| a.key() == Some(k))
                .and_then(|a| a.value())
        };
        let flag = |k: &str| get(k).map(|v| v == "true").to_json();
        put(
            &mut m,
            "access_logs_enabled",
            flag("access_logs.s3.enabled"),
        );
        put(
            &mut m,
            "access_logs_bucket",
            get("access_logs.s3.bucket")
                .filter(|b| !b.is_empty())
                .to_json(),
        );
        put(
            &mut m,
            "deletion_protection",
            flag("deletion_protection.enabled"),
        );
        put(
            &mut m,
            "drop_invalid_header_fields",
            flag("routing.http.drop_invalid_header_fields.enabled"),
        );
    }
    let mut tags = json!({});
    if r.wants(TYPE, "tags") {
        let out = c
            .describe_tags()
            .resource_arns(arn)
            .send()
            .await
            .map_err(|e| call_error(&format!("elasticloadbalancing:DescribeTags {name}"), e))?;
        tags = tag_map(
            out.tag_descriptions()
                .iter()
                .flat_map(|d| d.tags())
                .filter_map(|t| Some((t.key()?, t.value().unwrap_or("")))),
        );
    }
    m.insert("tags".into(), tags);
    Ok(Some((name.to_owned(), Json::Object(m))))
}

fn listener_json(l: &aws_sdk_elasticloadbalancingv2::types::Listener) -> Json {
    let mut m = serde_json::Map::new();
    put(&mut m, "listener_arn", l.listener_arn().to_json());
    put(&mut m, "port", l.port().to_json());
    put(
        &mut m,
        "protocol",
        l.protocol().map(|p| p.as_str()).to_json(),
    );
    put(&mut m, "ssl_policy", l.ssl_policy().to_json());
    let certs: Vec<Json> = l
        .certificates()
        .iter()
        .filter_map(|c| c.certificate_arn())
        .map(|c| json!(c))
        .collect();
    m.insert("certificate_arns".into(), Json::Array(certs));
    // Whether the default action sends clients to HTTPS.
    let redirects = l.default_actions().iter().any(|a| {
        a.r#type().map(|t| t.as_str()) == Some("redirect")
            && a.redirect_config().and_then(|rc| rc.protocol()) == Some("HTTPS")
    });
    m.insert("redirects_to_https".into(), json!(redirects));
    Json::Object(m)
}
