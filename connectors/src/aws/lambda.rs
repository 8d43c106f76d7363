//! Lambda functions: ListFunctions (all pages), then per function and only
//! for the fields the plan reads: GetFunctionUrlConfig (the URL and its
//! auth type), GetPolicy (the resource policy), ListTags, and the execution
//! role's policies through IAM (what the function's code may do).

use futures::FutureExt;
use serde_json::{Value as Json, json};

use super::json::{ToJson, put};
use super::regional::{Regional, policy_fields, tag_map};
use super::{CallError, call_error, error_code};

const TYPE: &str = "aws.lambda.function";

fn missing(code: Option<&str>) -> bool {
    code == Some("ResourceNotFoundException")
}

pub(crate) async fn functions(r: &Regional<'_, '_>) -> Result<(), CallError> {
    let c = r.run.source.lambda(r.sdk(), r.region, &r.run.stats);
    let mut all = Vec::new();
    let mut pages = c.list_functions().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| call_error("lambda:ListFunctions", e))?;
        all.extend(page.functions().iter().cloned());
    }
    let docs = super::iam::ManagedDocs::default();
    let iam = r
        .wants(TYPE, "role_statements")
        .then(|| r.run.source.iam(r.sdk(), &r.run.stats));
    let futs: Vec<_> = all
        .iter()
        .map(|f| function(r, &c, iam.as_ref().map(|i| (i, &docs)), f).boxed())
        .collect();
    r.emit_all(TYPE, futs).await
}

async fn function(
    r: &Regional<'_, '_>,
    c: &aws_sdk_lambda::Client,
    iam: Option<(&aws_sdk_iam::Client, &super::iam::ManagedDocs)>,
    f: &aws_sdk_lambda::types::FunctionConfiguration,
) -> Result<Option<(String, Json)>, CallError> {
    let (Some(name), Some(arn)) = (f.function_name(), f.function_arn()) else {
        return Ok(None);
    };
    let mut m = serde_json::Map::new();
    put(&mut m, "function_name", name.to_json());
    put(&mut m, "function_arn", arn.to_json());
    put(&mut m, "runtime", f.runtime().map(|x| x.as_str()).to_json());
    put(&mut m, "role", f.role().to_json());
    put(&mut m, "handler", f.handler().to_json());
    put(&mut m, "description", f.description().to_json());
    put(&mut m, "timeout", f.timeout().to_json());
    put(&mut m, "memory_size", f.memory_size().to_json());
    put(&mut m, "last_modified", f.last_modified().to_json());
    put(&mut m, "kms_key_arn", f.kms_key_arn().to_json());
    put(
        &mut m,
        "package_type",
        f.package_type().map(|x| x.as_str()).to_json(),
    );
    put(
        &mut m,
        "tracing_mode",
        f.tracing_config()
            .and_then(|t| t.mode())
            .map(|x| x.as_str())
            .to_json(),
    );
    put(
        &mut m,
        "vpc_id",
        f.vpc_config()
            .and_then(|v| v.vpc_id())
            .filter(|v| !v.is_empty())
            .to_json(),
    );
    let archs: Vec<Json> = f
        .architectures()
        .iter()
        .map(|a| json!(a.as_str()))
        .collect();
    m.insert("architectures".into(), Json::Array(archs));
    if r.wants(TYPE, "url_auth_type") || r.wants(TYPE, "function_url") {
        match c.get_function_url_config().function_name(name).send().await {
            Ok(u) => {
                put(&mut m, "function_url", u.function_url().to_json());
                put(&mut m, "url_auth_type", u.auth_type().as_str().to_json());
            }
            Err(e) if missing(error_code(&e).as_deref()) => {}
            Err(e) => {
                return Err(call_error(
                    &format!("lambda:GetFunctionUrlConfig {name}"),
                    e,
                ));
            }
        }
    }
    if r.wants(TYPE, "policy_statements") {
        match c.get_policy().function_name(name).send().await {
            Ok(p) => m.extend(policy_fields(p.policy())),
            Err(e) if missing(error_code(&e).as_deref()) => m.extend(policy_fields(None)),
            Err(e) => return Err(call_error(&format!("lambda:GetPolicy {name}"), e)),
        }
    }
    if let Some((iam, docs)) = iam {
        // The role's statements (a role shared by many functions is read
        // once per function; its managed policies once per collection).
        let role = f.role().and_then(super::iam::role_name_of);
        let perms = match role {
            Some(role) => match super::iam::role_permissions(iam, docs, role).await {
                Ok(p) => Ok(p),
                Err(e) if e.message.contains(": NoSuchEntity:") => {
                    Err(format!("the execution role {role} does not exist"))
                }
                Err(e) => return Err(e),
            },
            None => Err("the function has no execution role ARN".to_owned()),
        };
        match perms {
            Ok(p) => {
                m.insert("role_statements".into(), Json::Array(p.statements));
                put(&mut m, "role_error", p.error.to_json());
            }
            Err(e) => {
                m.insert("role_statements".into(), json!([]));
                put(&mut m, "role_error", e.to_json());
            }
        }
    }
    let mut tags = json!({});
    if r.wants(TYPE, "tags") {
        let t = c
            .list_tags()
            .resource(arn)
            .send()
            .await
            .map_err(|e| call_error(&format!("lambda:ListTags {name}"), e))?;
        if let Some(map) = t.tags() {
            tags = tag_map(map.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        }
    }
    m.insert("tags".into(), tags);
    Ok(Some((name.to_owned(), Json::Object(m))))
}
