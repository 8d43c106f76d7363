//! ACM certificates: ListCertificates (all pages, every key type: without
//! a filter ACM lists RSA 2048 keys only).

use aws_sdk_acm::types::{Filters, KeyAlgorithm};
use serde_json::{Value as Json, json};

use super::json::{ToJson, put};
use super::regional::Regional;
use super::{CallError, call_error};

const TYPE: &str = "aws.acm.certificate";

pub(crate) async fn certificates(r: &Regional<'_, '_>) -> Result<(), CallError> {
    let c = r.run.source.acm(r.sdk(), r.region, &r.run.stats);
    let every_key = Filters::builder()
        .set_key_types(Some(vec![
            KeyAlgorithm::Rsa1024,
            KeyAlgorithm::Rsa2048,
            KeyAlgorithm::Rsa3072,
            KeyAlgorithm::Rsa4096,
            KeyAlgorithm::EcPrime256v1,
            KeyAlgorithm::EcSecp384r1,
            KeyAlgorithm::EcSecp521r1,
        ]))
        .build();
    let mut pages = c
        .list_certificates()
        .includes(every_key)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| call_error("acm:ListCertificates", e))?;
        for s in page.certificate_summary_list() {
            let Some(arn) = s.certificate_arn() else {
                continue;
            };
            let mut m = serde_json::Map::new();
            put(&mut m, "certificate_arn", arn.to_json());
            put(&mut m, "domain_name", s.domain_name().to_json());
            put(&mut m, "status", s.status().map(|x| x.as_str()).to_json());
            put(
                &mut m,
                "certificate_type",
                s.r#type().map(|x| x.as_str()).to_json(),
            );
            put(
                &mut m,
                "key_algorithm",
                s.key_algorithm().map(|x| x.as_str()).to_json(),
            );
            put(&mut m, "in_use", s.in_use().to_json());
            put(
                &mut m,
                "renewal_eligibility",
                s.renewal_eligibility().map(|x| x.as_str()).to_json(),
            );
            put(&mut m, "not_before", s.not_before().to_json());
            put(&mut m, "not_after", s.not_after().to_json());
            put(&mut m, "created_at", s.created_at().to_json());
            m.insert(
                "subject_alternative_names".into(),
                json!(s.subject_alternative_name_summaries()),
            );
            r.emit(TYPE, arn, Json::Object(m)).await?;
        }
    }
    Ok(())
}
