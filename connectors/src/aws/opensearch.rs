//! OpenSearch Service domains (OpenSearch and Elasticsearch engines):
//! ListDomainNames, DescribeDomains (five names a call, the API's limit;
//! the access policy comes with it), and ListTags per domain when the plan
//! reads `tags`.

use aws_sdk_opensearch::types::DomainStatus;
use futures::FutureExt;
use serde_json::{Value as Json, json};

use super::json::{ToJson, put};
use super::regional::{Regional, policy_fields, tag_map};
use super::{CallError, call_error};

const TYPE: &str = "aws.opensearch.domain";
/// DescribeDomains takes at most five names.
const DESCRIBE_BATCH: usize = 5;

pub(crate) async fn domains(r: &Regional<'_, '_>) -> Result<(), CallError> {
    let c = r.run.source.opensearch(r.sdk(), r.region, &r.run.stats);
    let names: Vec<String> = c
        .list_domain_names()
        .send()
        .await
        .map_err(|e| call_error("opensearch:ListDomainNames", e))?
        .domain_names()
        .iter()
        .filter_map(|d| d.domain_name().map(str::to_owned))
        .collect();
    let mut all = Vec::new();
    for batch in names.chunks(DESCRIBE_BATCH) {
        let out = c
            .describe_domains()
            .set_domain_names(Some(batch.to_vec()))
            .send()
            .await
            .map_err(|e| call_error("opensearch:DescribeDomains", e))?;
        all.extend(out.domain_status_list().iter().cloned());
    }
    let futs: Vec<_> = all
        .iter()
        .map(|d| domain(r, &c, d).map(|doc| doc.map(Some)).boxed())
        .collect();
    r.emit_all(TYPE, futs).await
}

async fn domain(
    r: &Regional<'_, '_>,
    c: &aws_sdk_opensearch::Client,
    d: &DomainStatus,
) -> Result<(String, Json), CallError> {
    let name = d.domain_name();
    let mut m = serde_json::Map::new();
    put(&mut m, "domain_name", name.to_json());
    put(&mut m, "domain_id", d.domain_id().to_json());
    put(&mut m, "arn", d.arn().to_json());
    put(&mut m, "engine_version", d.engine_version().to_json());
    put(
        &mut m,
        "endpoint",
        d.endpoint().filter(|e| !e.is_empty()).to_json(),
    );
    put(
        &mut m,
        "endpoint_v2",
        d.endpoint_v2().filter(|e| !e.is_empty()).to_json(),
    );
    m.insert(
        "endpoints".into(),
        tag_map(
            d.endpoints()
                .into_iter()
                .flatten()
                .map(|(k, v)| (k.as_str(), v.as_str())),
        ),
    );
    // A public domain has no VPC options, or options without a VPC.
    if let Some(v) = d.vpc_options().filter(|v| v.vpc_id().is_some()) {
        m.insert(
            "vpc_options".into(),
            json!({
                "vpc_id": v.vpc_id(),
                "subnet_ids": v.subnet_ids(),
                "security_group_ids": v.security_group_ids(),
            }),
        );
    }
    if let Some(e) = d.encryption_at_rest_options() {
        let mut em = serde_json::Map::new();
        put(&mut em, "enabled", e.enabled().to_json());
        put(&mut em, "kms_key_id", e.kms_key_id().to_json());
        m.insert("encryption_at_rest_options".into(), Json::Object(em));
    }
    if let Some(n) = d.node_to_node_encryption_options() {
        let mut nm = serde_json::Map::new();
        put(&mut nm, "enabled", n.enabled().to_json());
        m.insert("node_to_node_encryption_options".into(), Json::Object(nm));
    }
    if let Some(e) = d.domain_endpoint_options() {
        let mut em = serde_json::Map::new();
        put(&mut em, "enforce_https", e.enforce_https().to_json());
        put(
            &mut em,
            "tls_security_policy",
            e.tls_security_policy().map(|x| x.as_str()).to_json(),
        );
        put(
            &mut em,
            "custom_endpoint_enabled",
            e.custom_endpoint_enabled().to_json(),
        );
        put(&mut em, "custom_endpoint", e.custom_endpoint().to_json());
        m.insert("domain_endpoint_options".into(), Json::Object(em));
    }
    if let Some(a) = d.advanced_security_options() {
        let mut am = serde_json::Map::new();
        put(&mut am, "enabled", a.enabled().to_json());
        put(
            &mut am,
            "internal_user_database_enabled",
            a.internal_user_database_enabled().to_json(),
        );
        put(
            &mut am,
            "anonymous_auth_enabled",
            a.anonymous_auth_enabled().to_json(),
        );
        m.insert("advanced_security_options".into(), Json::Object(am));
    }
    m.extend(policy_fields(d.access_policies()));
    let mut logs: Vec<&str> = d
        .log_publishing_options()
        .into_iter()
        .flatten()
        .filter(|(_, o)| o.enabled() == Some(true))
        .map(|(t, _)| t.as_str())
        .collect();
    logs.sort_unstable();
    m.insert("enabled_log_types".into(), json!(logs));
    let mut tags = json!({});
    if r.wants(TYPE, "tags") {
        let t = c
            .list_tags()
            .arn(d.arn())
            .send()
            .await
            .map_err(|e| call_error(&format!("opensearch:ListTags {name}"), e))?;
        tags = tag_map(t.tag_list().iter().map(|t| (t.key(), t.value())));
    }
    m.insert("tags".into(), tags);
    Ok((name.to_owned(), Json::Object(m)))
}
