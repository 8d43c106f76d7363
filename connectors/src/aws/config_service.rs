//! AWS Config, once per account and region: whether a configuration
//! recorder exists, records every supported type and is recording
//! (DescribeConfigurationRecorders, DescribeConfigurationRecorderStatus).
//! The document's `id` is the region.

use serde_json::{Value as Json, json};

use super::json::{ToJson, put};
use super::regional::Regional;
use super::{CallError, call_error};

const TYPE: &str = "aws.config.recorder";

pub(crate) async fn recorder(r: &Regional<'_, '_>) -> Result<(), CallError> {
    let c = r.run.source.config(r.sdk(), r.region, &r.run.stats);
    let recorders = c
        .describe_configuration_recorders()
        .send()
        .await
        .map_err(|e| call_error("config:DescribeConfigurationRecorders", e))?;
    let Some(rec) = recorders.configuration_recorders().first() else {
        return r.emit(TYPE, r.region, json!({"present": false})).await;
    };
    let mut m = serde_json::Map::new();
    m.insert("present".into(), json!(true));
    put(&mut m, "name", rec.name().to_json());
    put(&mut m, "role_arn", rec.role_arn().to_json());
    if let Some(g) = rec.recording_group() {
        put(&mut m, "all_supported", json!(g.all_supported()));
        put(
            &mut m,
            "include_global_resource_types",
            json!(g.include_global_resource_types()),
        );
    }
    if r.wants(TYPE, "recording") || r.wants(TYPE, "last_status") {
        let status = c
            .describe_configuration_recorder_status()
            .send()
            .await
            .map_err(|e| call_error("config:DescribeConfigurationRecorderStatus", e))?;
        if let Some(s) = status
            .configuration_recorders_status()
            .iter()
            .find(|s| s.name() == rec.name())
        {
            put(&mut m, "recording", json!(s.recording()));
            put(
                &mut m,
                "last_status",
                s.last_status().map(|x| x.as_str()).to_json(),
            );
        }
    }
    r.emit(TYPE, r.region, Json::Object(m)).await
}
