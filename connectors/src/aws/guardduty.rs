//! GuardDuty, once per account and region: whether a detector exists and
//! is enabled (ListDetectors, GetDetector). The document's `id` is the
//! region, so that a region without a detector is a resource too.

use serde_json::{Value as Json, json};

use super::json::{ToJson, put};
use super::regional::Regional;
use super::{CallError, call_error};

const TYPE: &str = "aws.guardduty.detector";

/// The region's detector as document attributes (`present: false` without
/// one); also the actions' before/after.
pub(crate) async fn read(c: &aws_sdk_guardduty::Client) -> Result<Json, CallError> {
    let list = c
        .list_detectors()
        .send()
        .await
        .map_err(|e| call_error("guardduty:ListDetectors", e))?;
    let Some(id) = list.detector_ids().first() else {
        return Ok(json!({"present": false}));
    };
    let d = c
        .get_detector()
        .detector_id(id)
        .send()
        .await
        .map_err(|e| call_error(&format!("guardduty:GetDetector {id}"), e))?;
    let mut m = serde_json::Map::new();
    m.insert("present".into(), json!(true));
    put(&mut m, "detector_id", json!(id));
    put(&mut m, "status", d.status().map(|s| s.as_str()).to_json());
    put(
        &mut m,
        "finding_publishing_frequency",
        d.finding_publishing_frequency()
            .map(|s| s.as_str())
            .to_json(),
    );
    put(&mut m, "created_at", d.created_at().to_json());
    Ok(Json::Object(m))
}

pub(crate) async fn detector(r: &Regional<'_, '_>) -> Result<(), CallError> {
    let c = r.run.source.guardduty(r.sdk(), r.region, &r.run.stats);
    let attrs = read(&c).await?;
    r.emit(TYPE, r.region, attrs).await
}
