//! API Gateway REST APIs: GetRestApis (all pages; the resource policy and
//! tags come with it), then per API and only for the fields the plan
//! reads: GetStages, and GetResources with `embed=methods` (at most
//! [`MAX_RESOURCES`] resources) for the methods without authorization.

use aws_sdk_apigateway::types::{RestApi, Stage};
use futures::FutureExt;
use serde_json::{Value as Json, json};

use super::json::{ToJson, put};
use super::regional::{Regional, policy_fields, tag_map};
use super::{CallError, call_error};

const TYPE: &str = "aws.apigateway.rest_api";
/// The most resources read from one API for its methods; beyond them the
/// document says `methods_truncated`.
const MAX_RESOURCES: usize = 500;

fn tags(map: Option<&std::collections::HashMap<String, String>>) -> Json {
    tag_map(
        map.into_iter()
            .flatten()
            .map(|(k, v)| (k.as_str(), v.as_str())),
    )
}

/// The resource policy's statements. API Gateway returns the policy with
/// its quotes escaped (`{\"Version\":…}`); both forms are read.
fn rest_api_policy(text: Option<&str>) -> serde_json::Map<String, Json> {
    match text {
        Some(t) if serde_json::from_str::<Json>(t).is_err() && t.contains("\\\"") => {
            let unescaped = t.replace("\\\"", "\"").replace("\\/", "/");
            policy_fields(Some(&unescaped))
        }
        _ => policy_fields(text),
    }
}

pub(crate) async fn rest_apis(r: &Regional<'_, '_>) -> Result<(), CallError> {
    let c = r.run.source.apigateway(r.sdk(), r.region, &r.run.stats);
    let mut all = Vec::new();
    let mut pages = c.get_rest_apis().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| call_error("apigateway:GetRestApis", e))?;
        all.extend(page.items().iter().cloned());
    }
    let futs: Vec<_> = all.iter().map(|a| rest_api(r, &c, a).boxed()).collect();
    r.emit_all(TYPE, futs).await
}

fn stage_json(s: &Stage) -> Json {
    let mut m = serde_json::Map::new();
    put(&mut m, "stage_name", s.stage_name().to_json());
    put(&mut m, "deployment_id", s.deployment_id().to_json());
    put(
        &mut m,
        "description",
        s.description().filter(|d| !d.is_empty()).to_json(),
    );
    put(&mut m, "tracing_enabled", s.tracing_enabled().to_json());
    put(
        &mut m,
        "cache_cluster_enabled",
        s.cache_cluster_enabled().to_json(),
    );
    // The stage-wide method settings (`*/*`).
    if let Some(all) = s.method_settings().and_then(|ms| ms.get("*/*")) {
        put(
            &mut m,
            "cache_data_encrypted",
            all.cache_data_encrypted().to_json(),
        );
        put(&mut m, "logging_level", all.logging_level().to_json());
    }
    put(
        &mut m,
        "access_log_destination_arn",
        s.access_log_settings()
            .and_then(|a| a.destination_arn())
            .filter(|a| !a.is_empty())
            .to_json(),
    );
    put(
        &mut m,
        "client_certificate_id",
        s.client_certificate_id().to_json(),
    );
    put(&mut m, "web_acl_arn", s.web_acl_arn().to_json());
    put(&mut m, "created_date", s.created_date().to_json());
    m.insert("tags".into(), tags(s.tags()));
    Json::Object(m)
}

async fn rest_api(
    r: &Regional<'_, '_>,
    c: &aws_sdk_apigateway::Client,
    a: &RestApi,
) -> Result<Option<(String, Json)>, CallError> {
    let Some(id) = a.id() else {
        return Ok(None);
    };
    let mut m = serde_json::Map::new();
    put(&mut m, "name", a.name().to_json());
    put(
        &mut m,
        "description",
        a.description().filter(|d| !d.is_empty()).to_json(),
    );
    put(&mut m, "created_date", a.created_date().to_json());
    let types: Vec<Json> = a
        .endpoint_configuration()
        .map(|e| e.types())
        .unwrap_or_default()
        .iter()
        .map(|t| json!(t.as_str()))
        .collect();
    m.insert("endpoint_types".into(), Json::Array(types));
    put(
        &mut m,
        "api_key_source",
        a.api_key_source().map(|x| x.as_str()).to_json(),
    );
    put(
        &mut m,
        "disable_execute_api_endpoint",
        a.disable_execute_api_endpoint().to_json(),
    );
    m.extend(rest_api_policy(a.policy()));
    m.insert("tags".into(), tags(a.tags()));
    let mut stages = Vec::new();
    if r.wants(TYPE, "stages") {
        let out = c
            .get_stages()
            .rest_api_id(id)
            .send()
            .await
            .map_err(|e| call_error(&format!("apigateway:GetStages {id}"), e))?;
        stages.extend(out.item().iter().map(stage_json));
    }
    m.insert("stages".into(), Json::Array(stages));
    let mut open = Vec::new();
    if r.wants(TYPE, "methods_without_authorization") || r.wants(TYPE, "methods_truncated") {
        let mut read = 0usize;
        let mut truncated = false;
        let mut pages = c
            .get_resources()
            .rest_api_id(id)
            .embed("methods")
            .limit(MAX_RESOURCES as i32)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| call_error(&format!("apigateway:GetResources {id}"), e))?;
            for res in page.items() {
                if read == MAX_RESOURCES {
                    truncated = true;
                    break;
                }
                read += 1;
                let path = res.path().unwrap_or("/");
                for (verb, method) in res.resource_methods().into_iter().flatten() {
                    let none = method
                        .authorization_type()
                        .is_some_and(|a| a.eq_ignore_ascii_case("NONE"));
                    if verb != "OPTIONS" && none {
                        open.push(format!("{verb} {path}"));
                    }
                }
            }
            if truncated {
                break;
            }
        }
        open.sort();
        put(&mut m, "methods_truncated", json!(truncated));
    }
    m.insert("methods_without_authorization".into(), json!(open));
    Ok(Some((id.to_owned(), Json::Object(m))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_escaped_resource_policy_is_read_like_a_plain_one() {
        let plain = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"execute-api:Invoke","Resource":"arn:aws:execute-api:us-east-1:1:a\/*"}]}"#;
        let escaped = plain.replace('"', "\\\"");
        for text in [plain, escaped.as_str()] {
            let f = rest_api_policy(Some(text));
            assert_eq!(f["policy_statements"][0]["principals"][0], "*", "{text}");
            assert!(f.get("policy_error").is_none(), "{text}");
        }
        assert_eq!(rest_api_policy(None)["policy_statements"], json!([]));
    }
}
