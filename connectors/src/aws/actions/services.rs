//! The auto-fix actions of the regional services (KMS, CloudTrail, RDS,
//! ECR, DynamoDB, Lambda, GuardDuty) and S3 versioning. Like the others,
//! each reads the live state first (nothing to do is "already fixed"),
//! says what it would change on a dry run, and records before and after.

use serde_json::{Value as Json, json};

use super::{already, change, failed};
use crate::action::{ActionError, FixOutcome, FixRequest};
use crate::aws::{AccountCtx, ApiStats, AwsSource, call_error};

/// The actions of this module and the types each applies to.
pub(super) const ACTIONS: &[(&str, &[&str])] = &[
    ("enable_kms_key_rotation", &["aws.kms.key"]),
    (
        "enable_cloudtrail_log_validation",
        &["aws.cloudtrail.trail"],
    ),
    ("start_cloudtrail_logging", &["aws.cloudtrail.trail"]),
    ("make_rds_instance_private", &["aws.rds.db_instance"]),
    ("make_rds_snapshot_private", &["aws.rds.db_snapshot"]),
    ("enable_ecr_scan_on_push", &["aws.ecr.repository"]),
    ("enable_dynamodb_pitr", &["aws.dynamodb.table"]),
    ("require_lambda_url_auth", &["aws.lambda.function"]),
    ("enable_guardduty", &["aws.guardduty.detector"]),
    ("enable_s3_versioning", &["aws.s3.bucket"]),
];

fn gone(what: &str) -> ActionError {
    ActionError::Failed(format!("{what} no longer exists"))
}

/// Runs one of [`ACTIONS`]; `None` when the action is not one of them.
pub(super) async fn run(
    src: &AwsSource,
    acct: &AccountCtx,
    stats: &std::sync::Arc<ApiStats>,
    req: &FixRequest,
) -> Option<Result<FixOutcome, ActionError>> {
    let t = &req.target;
    let (sdk, region, id, dry) = (&acct.sdk, t.region.as_str(), t.id.as_str(), req.dry_run);
    Some(match req.action.as_str() {
        "enable_kms_key_rotation" => kms_rotation(&src.kms(sdk, region, stats), id, dry).await,
        "enable_cloudtrail_log_validation" => {
            trail_validation(&src.cloudtrail(sdk, region, stats), id, dry).await
        }
        "start_cloudtrail_logging" => {
            trail_logging(&src.cloudtrail(sdk, region, stats), id, dry).await
        }
        "make_rds_instance_private" => rds_private(&src.rds(sdk, region, stats), id, dry).await,
        "make_rds_snapshot_private" => {
            rds_snapshot_private(&src.rds(sdk, region, stats), id, dry).await
        }
        "enable_ecr_scan_on_push" => ecr_scan(&src.ecr(sdk, region, stats), id, dry).await,
        "enable_dynamodb_pitr" => dynamodb_pitr(&src.dynamodb(sdk, region, stats), id, dry).await,
        "require_lambda_url_auth" => lambda_auth(&src.lambda(sdk, region, stats), id, dry).await,
        "enable_guardduty" => guardduty(&src.guardduty(sdk, region, stats), region, dry).await,
        "enable_s3_versioning" => s3_versioning(&src.s3(sdk, region, stats), id, dry).await,
        _ => return None,
    })
}

async fn kms_rotation(
    c: &aws_sdk_kms::Client,
    id: &str,
    dry: bool,
) -> Result<FixOutcome, ActionError> {
    let now = c
        .get_key_rotation_status()
        .key_id(id)
        .send()
        .await
        .map_err(|e| failed(call_error("kms:GetKeyRotationStatus", e)))?;
    let before = json!({"key_rotation_enabled": now.key_rotation_enabled()});
    if now.key_rotation_enabled() {
        return Ok(already(format!("key {id} already rotates"), before));
    }
    let after = json!({"key_rotation_enabled": true});
    if dry {
        return Ok(change(
            true,
            format!("turn on rotation of key {id}"),
            before,
            after,
        ));
    }
    c.enable_key_rotation()
        .key_id(id)
        .send()
        .await
        .map_err(|e| failed(call_error("kms:EnableKeyRotation", e)))?;
    let read = c
        .get_key_rotation_status()
        .key_id(id)
        .send()
        .await
        .map_err(|e| failed(call_error("kms:GetKeyRotationStatus", e)))?;
    Ok(change(
        false,
        format!("turned on rotation of key {id}"),
        before,
        json!({"key_rotation_enabled": read.key_rotation_enabled()}),
    ))
}

/// The trail (by ARN or name) as DescribeTrails gives it.
async fn trail(
    c: &aws_sdk_cloudtrail::Client,
    id: &str,
) -> Result<aws_sdk_cloudtrail::types::Trail, ActionError> {
    let out = c
        .describe_trails()
        .trail_name_list(id)
        .send()
        .await
        .map_err(|e| failed(call_error("cloudtrail:DescribeTrails", e)))?;
    out.trail_list()
        .first()
        .cloned()
        .ok_or_else(|| gone(&format!("trail {id}")))
}

async fn trail_validation(
    c: &aws_sdk_cloudtrail::Client,
    id: &str,
    dry: bool,
) -> Result<FixOutcome, ActionError> {
    let state = |on: Option<bool>| json!({"log_file_validation_enabled": on.unwrap_or(false)});
    let before = state(trail(c, id).await?.log_file_validation_enabled());
    if before["log_file_validation_enabled"] == true {
        return Ok(already(
            format!("trail {id} already validates its log files"),
            before,
        ));
    }
    if dry {
        return Ok(change(
            true,
            format!("turn on log file validation of trail {id}"),
            before,
            state(Some(true)),
        ));
    }
    c.update_trail()
        .name(id)
        .enable_log_file_validation(true)
        .send()
        .await
        .map_err(|e| failed(call_error("cloudtrail:UpdateTrail", e)))?;
    let after = state(trail(c, id).await?.log_file_validation_enabled());
    Ok(change(
        false,
        format!("turned on log file validation of trail {id}"),
        before,
        after,
    ))
}

async fn trail_logging(
    c: &aws_sdk_cloudtrail::Client,
    id: &str,
    dry: bool,
) -> Result<FixOutcome, ActionError> {
    let before = trail_logging_state(c, id).await?;
    if before["is_logging"] == true {
        return Ok(already(format!("trail {id} is already logging"), before));
    }
    if dry {
        return Ok(change(
            true,
            format!("start logging of trail {id}"),
            before,
            json!({"is_logging": true}),
        ));
    }
    c.start_logging()
        .name(id)
        .send()
        .await
        .map_err(|e| failed(call_error("cloudtrail:StartLogging", e)))?;
    let after = trail_logging_state(c, id).await?;
    Ok(change(
        false,
        format!("started logging of trail {id}"),
        before,
        after,
    ))
}

async fn rds_instance(
    c: &aws_sdk_rds::Client,
    id: &str,
) -> Result<aws_sdk_rds::types::DbInstance, ActionError> {
    let out = c
        .describe_db_instances()
        .db_instance_identifier(id)
        .send()
        .await
        .map_err(|e| failed(call_error("rds:DescribeDBInstances", e)))?;
    out.db_instances()
        .first()
        .cloned()
        .ok_or_else(|| gone(&format!("DB instance {id}")))
}

async fn rds_private(
    c: &aws_sdk_rds::Client,
    id: &str,
    dry: bool,
) -> Result<FixOutcome, ActionError> {
    let state = |d: &aws_sdk_rds::types::DbInstance| json!({"publicly_accessible": d.publicly_accessible().unwrap_or(false)});
    let before = state(&rds_instance(c, id).await?);
    if before["publicly_accessible"] == false {
        return Ok(already(
            format!("DB instance {id} is already private"),
            before,
        ));
    }
    if dry {
        return Ok(change(
            true,
            format!("make DB instance {id} not publicly accessible"),
            before,
            json!({"publicly_accessible": false}),
        ));
    }
    c.modify_db_instance()
        .db_instance_identifier(id)
        .publicly_accessible(false)
        .apply_immediately(true)
        .send()
        .await
        .map_err(|e| failed(call_error("rds:ModifyDBInstance", e)))?;
    let after = state(&rds_instance(c, id).await?);
    Ok(change(
        false,
        format!("made DB instance {id} not publicly accessible"),
        before,
        after,
    ))
}

async fn rds_snapshot_private(
    c: &aws_sdk_rds::Client,
    id: &str,
    dry: bool,
) -> Result<FixOutcome, ActionError> {
    let who = crate::aws::rds::restore_by(c, id).await.map_err(failed)?;
    let before = json!({"restore_by": who});
    if !who.iter().any(|w| w == "all") {
        return Ok(already(format!("DB snapshot {id} is not public"), before));
    }
    let kept: Vec<&String> = who.iter().filter(|w| *w != "all").collect();
    if dry {
        return Ok(change(
            true,
            format!("remove public restore from DB snapshot {id} (shared accounts kept)"),
            before,
            json!({"restore_by": kept}),
        ));
    }
    c.modify_db_snapshot_attribute()
        .db_snapshot_identifier(id)
        .attribute_name("restore")
        .values_to_remove("all")
        .send()
        .await
        .map_err(|e| failed(call_error("rds:ModifyDBSnapshotAttribute", e)))?;
    let after = crate::aws::rds::restore_by(c, id).await.map_err(failed)?;
    Ok(change(
        false,
        format!("removed public restore from DB snapshot {id} (shared accounts kept)"),
        before,
        json!({"restore_by": after}),
    ))
}

async fn ecr_scan(c: &aws_sdk_ecr::Client, id: &str, dry: bool) -> Result<FixOutcome, ActionError> {
    let before = scan_on_push_state(c, id).await?;
    if before["scan_on_push"] == true {
        return Ok(already(
            format!("repository {id} already scans on push"),
            before,
        ));
    }
    if dry {
        return Ok(change(
            true,
            format!("turn on scan on push for repository {id}"),
            before,
            json!({"scan_on_push": true}),
        ));
    }
    c.put_image_scanning_configuration()
        .repository_name(id)
        .image_scanning_configuration(
            aws_sdk_ecr::types::ImageScanningConfiguration::builder()
                .scan_on_push(true)
                .build(),
        )
        .send()
        .await
        .map_err(|e| failed(call_error("ecr:PutImageScanningConfiguration", e)))?;
    let after = scan_on_push_state(c, id).await?;
    Ok(change(
        false,
        format!("turned on scan on push for repository {id}"),
        before,
        after,
    ))
}

async fn dynamodb_pitr(
    c: &aws_sdk_dynamodb::Client,
    id: &str,
    dry: bool,
) -> Result<FixOutcome, ActionError> {
    let status = crate::aws::dynamodb::pitr_status(c, id)
        .await
        .map_err(failed)?;
    let before = json!({"point_in_time_recovery_status": status});
    if status.as_deref() == Some("ENABLED") {
        return Ok(already(
            format!("table {id} already has point-in-time recovery"),
            before,
        ));
    }
    if dry {
        return Ok(change(
            true,
            format!("turn on point-in-time recovery for table {id}"),
            before,
            json!({"point_in_time_recovery_status": "ENABLED"}),
        ));
    }
    let spec = aws_sdk_dynamodb::types::PointInTimeRecoverySpecification::builder()
        .point_in_time_recovery_enabled(true)
        .build()
        .map_err(|e| ActionError::Failed(format!("dynamodb:UpdateContinuousBackups: {e}")))?;
    c.update_continuous_backups()
        .table_name(id)
        .point_in_time_recovery_specification(spec)
        .send()
        .await
        .map_err(|e| failed(call_error("dynamodb:UpdateContinuousBackups", e)))?;
    let after = crate::aws::dynamodb::pitr_status(c, id)
        .await
        .map_err(failed)?;
    Ok(change(
        false,
        format!("turned on point-in-time recovery for table {id}"),
        before,
        json!({"point_in_time_recovery_status": after}),
    ))
}

async fn lambda_auth(
    c: &aws_sdk_lambda::Client,
    id: &str,
    dry: bool,
) -> Result<FixOutcome, ActionError> {
    let before = url_auth_state(c, id).await?;
    match before["url_auth_type"].as_str() {
        None => {
            return Ok(already(
                format!("function {id} has no function URL"),
                before,
            ));
        }
        Some("AWS_IAM") => {
            return Ok(already(
                format!("the URL of function {id} already requires IAM auth"),
                before,
            ));
        }
        Some(_) => {}
    }
    if dry {
        return Ok(change(
            true,
            format!("require IAM auth on the URL of function {id}"),
            before,
            json!({"url_auth_type": "AWS_IAM"}),
        ));
    }
    c.update_function_url_config()
        .function_name(id)
        .auth_type(aws_sdk_lambda::types::FunctionUrlAuthType::AwsIam)
        .send()
        .await
        .map_err(|e| failed(call_error("lambda:UpdateFunctionUrlConfig", e)))?;
    let after = url_auth_state(c, id).await?;
    Ok(change(
        false,
        format!("required IAM auth on the URL of function {id}"),
        before,
        after,
    ))
}

async fn guardduty(
    c: &aws_sdk_guardduty::Client,
    region: &str,
    dry: bool,
) -> Result<FixOutcome, ActionError> {
    let before = crate::aws::guardduty::read(c).await.map_err(failed)?;
    if before["status"] == "ENABLED" {
        return Ok(already(
            format!("GuardDuty is already on in {region}"),
            before,
        ));
    }
    let planned = json!({"present": true, "status": "ENABLED"});
    if dry {
        return Ok(change(
            true,
            format!("turn on GuardDuty in {region}"),
            before,
            planned,
        ));
    }
    match before["detector_id"].as_str() {
        Some(d) => {
            c.update_detector()
                .detector_id(d)
                .enable(true)
                .send()
                .await
                .map_err(|e| failed(call_error("guardduty:UpdateDetector", e)))?;
        }
        None => {
            c.create_detector()
                .enable(true)
                .send()
                .await
                .map_err(|e| failed(call_error("guardduty:CreateDetector", e)))?;
        }
    }
    let after = crate::aws::guardduty::read(c).await.map_err(failed)?;
    Ok(change(
        false,
        format!("turned on GuardDuty in {region}"),
        before,
        after,
    ))
}

async fn s3_versioning(
    c: &aws_sdk_s3::Client,
    id: &str,
    dry: bool,
) -> Result<FixOutcome, ActionError> {
    let before = versioning_state(c, id).await?;
    if before["versioning"] == "Enabled" {
        return Ok(already(
            format!("bucket {id} already keeps versions"),
            before,
        ));
    }
    if dry {
        return Ok(change(
            true,
            format!("turn on versioning of bucket {id}"),
            before,
            json!({"versioning": "Enabled"}),
        ));
    }
    c.put_bucket_versioning()
        .bucket(id)
        .versioning_configuration(
            aws_sdk_s3::types::VersioningConfiguration::builder()
                .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .map_err(|e| failed(call_error("s3:PutBucketVersioning", e)))?;
    let after = versioning_state(c, id).await?;
    Ok(change(
        false,
        format!("turned on versioning of bucket {id}"),
        before,
        after,
    ))
}

/// Whether the trail is logging, as GetTrailStatus says.
async fn trail_logging_state(
    c: &aws_sdk_cloudtrail::Client,
    id: &str,
) -> Result<Json, ActionError> {
    c.get_trail_status()
        .name(id)
        .send()
        .await
        .map(|s| json!({"is_logging": s.is_logging().unwrap_or(false)}))
        .map_err(|e| failed(call_error("cloudtrail:GetTrailStatus", e)))
}

/// Whether the repository scans on push, as DescribeRepositories says.
async fn scan_on_push_state(c: &aws_sdk_ecr::Client, id: &str) -> Result<Json, ActionError> {
    let out = c
        .describe_repositories()
        .repository_names(id)
        .send()
        .await
        .map_err(|e| failed(call_error("ecr:DescribeRepositories", e)))?;
    let on = out
        .repositories()
        .first()
        .ok_or_else(|| gone(&format!("repository {id}")))?
        .image_scanning_configuration()
        .is_some_and(|s| s.scan_on_push());
    Ok(json!({"scan_on_push": on}))
}

/// The function URL's auth type (null without a URL).
async fn url_auth_state(c: &aws_sdk_lambda::Client, id: &str) -> Result<Json, ActionError> {
    match c.get_function_url_config().function_name(id).send().await {
        Ok(u) => Ok(json!({"url_auth_type": u.auth_type().as_str()})),
        Err(e) if crate::aws::error_code(&e).as_deref() == Some("ResourceNotFoundException") => {
            Ok(json!({"url_auth_type": null}))
        }
        Err(e) => Err(failed(call_error("lambda:GetFunctionUrlConfig", e))),
    }
}

/// The bucket's versioning status (null when never enabled).
async fn versioning_state(c: &aws_sdk_s3::Client, id: &str) -> Result<Json, ActionError> {
    let v = c
        .get_bucket_versioning()
        .bucket(id)
        .send()
        .await
        .map_err(|e| failed(call_error("s3:GetBucketVersioning", e)))?;
    Ok(json!({"versioning": v.status().map(|s| s.as_str())}))
}
