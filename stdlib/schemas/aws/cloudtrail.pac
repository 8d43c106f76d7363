package aws.cloudtrail

// AWS CloudTrail trails. A multi-region trail is one resource, in its home
// region. Conventions: see docs/schemas.md.

/// A CloudTrail trail (DescribeTrails without shadow trails, plus GetTrailStatus); `id` is the trail ARN.
schema aws.cloudtrail.trail {
  /// The trail's name, e.g. `management-events`.
  name: string?
  /// The trail's ARN.
  trail_arn: string?
  /// The region the trail was created in.
  home_region: string?
  /// The bucket the log files go to.
  s3_bucket_name: string?
  /// The key prefix of the log files in the bucket.
  s3_key_prefix: string?
  /// The SNS topic notified of new log files.
  sns_topic_arn: string?
  /// Whether global services' events (IAM, STS, CloudFront) are logged.
  include_global_service_events: bool?
  /// Whether the trail logs every region (CIS 3.1).
  is_multi_region_trail: bool?
  /// Whether the trail is an AWS Organizations trail.
  is_organization_trail: bool?
  /// Whether log file integrity validation is on (CIS 3.2).
  log_file_validation_enabled: bool?
  /// The CloudWatch Logs log group the trail delivers to (CIS 3.4); absent when none.
  cloud_watch_logs_log_group_arn: string?
  /// The KMS key encrypting the log files (CIS 3.7); absent when SSE-S3 is used.
  kms_key_id: string?
  /// Whether the trail has custom event selectors.
  has_custom_event_selectors: bool?
  /// Whether the trail is logging now (GetTrailStatus `IsLogging`).
  is_logging: bool?
  /// The last error delivering log files to the bucket (GetTrailStatus).
  latest_delivery_error: string?
}
