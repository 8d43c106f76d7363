//! CloudTrail trails: DescribeTrails of the region's own trails (a
//! multi-region trail is read once, in its home region), and GetTrailStatus
//! when a policy reads `is_logging`.

use serde_json::Value as Json;

use super::json::{ToJson, put};
use super::regional::Regional;
use super::{CallError, call_error};

const TYPE: &str = "aws.cloudtrail.trail";

pub(crate) async fn trails(r: &Regional<'_, '_>) -> Result<(), CallError> {
    let c = r.run.source.cloudtrail(r.sdk(), r.region, &r.run.stats);
    let out = c
        .describe_trails()
        .include_shadow_trails(false)
        .send()
        .await
        .map_err(|e| call_error("cloudtrail:DescribeTrails", e))?;
    for t in out.trail_list() {
        let Some(arn) = t.trail_arn() else { continue };
        let mut m = serde_json::Map::new();
        put(&mut m, "name", t.name().to_json());
        put(&mut m, "trail_arn", arn.to_json());
        put(&mut m, "home_region", t.home_region().to_json());
        put(&mut m, "s3_bucket_name", t.s3_bucket_name().to_json());
        put(&mut m, "s3_key_prefix", t.s3_key_prefix().to_json());
        put(&mut m, "sns_topic_arn", t.sns_topic_arn().to_json());
        put(
            &mut m,
            "include_global_service_events",
            t.include_global_service_events().to_json(),
        );
        put(
            &mut m,
            "is_multi_region_trail",
            t.is_multi_region_trail().to_json(),
        );
        put(
            &mut m,
            "is_organization_trail",
            t.is_organization_trail().to_json(),
        );
        put(
            &mut m,
            "log_file_validation_enabled",
            t.log_file_validation_enabled().to_json(),
        );
        put(
            &mut m,
            "cloud_watch_logs_log_group_arn",
            t.cloud_watch_logs_log_group_arn().to_json(),
        );
        put(&mut m, "kms_key_id", t.kms_key_id().to_json());
        put(
            &mut m,
            "has_custom_event_selectors",
            t.has_custom_event_selectors().to_json(),
        );
        if r.wants(TYPE, "is_logging") || r.wants(TYPE, "latest_delivery_error") {
            let s = c
                .get_trail_status()
                .name(arn)
                .send()
                .await
                .map_err(|e| call_error(&format!("cloudtrail:GetTrailStatus {arn}"), e))?;
            put(&mut m, "is_logging", s.is_logging().to_json());
            put(
                &mut m,
                "latest_delivery_error",
                s.latest_delivery_error().to_json(),
            );
        }
        r.emit(TYPE, arn, Json::Object(m)).await?;
    }
    Ok(())
}

/// Sends CloudTrail's JSON target in its long form
/// (`com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.CreateTrail`).
/// The SDK sends the short form, which AWS accepts and moto answers with a
/// 404; AWS also accepts the long form (botocore sends it), so the request
/// is rewritten before signing, for every endpoint.
#[derive(Debug)]
pub struct CloudTrailTargetCompat;

const SHORT_TARGET: &str = "CloudTrail_20131101.";
const LONG_TARGET: &str = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.";

impl aws_smithy_runtime_api::client::interceptors::Intercept for CloudTrailTargetCompat {
    fn name(&self) -> &'static str {
        "pac-cloudtrail-target"
    }

    fn modify_before_signing(
        &self,
        context: &mut aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextMut<'_>,
        _rc: &aws_smithy_runtime_api::client::runtime_components::RuntimeComponents,
        _cfg: &mut aws_smithy_types::config_bag::ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        let headers = context.request_mut().headers_mut();
        let long = headers
            .get("x-amz-target")
            .and_then(|t| t.strip_prefix(SHORT_TARGET))
            .map(|op| format!("{LONG_TARGET}{op}"));
        if let Some(t) = long {
            headers.insert("x-amz-target", t);
        }
        Ok(())
    }
}
