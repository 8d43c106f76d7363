package policies.aws.cloudtrail

// CloudTrail trails: every region recorded, global services included,
// logs validated, encrypted, delivered to CloudWatch Logs, and the trail
// actually logging and delivering. Each policy's tests follow it.

/// A single-region trail leaves every other region's API activity
/// unrecorded, and attackers use the regions nobody watches.
policy cloudtrail_not_multi_region {
  title "CloudTrail trail does not cover all regions"
  description "A trail records one region only (is_multi_region_trail is false)."
  severity high
  category security
  remediation "Make the trail multi-region: aws cloudtrail update-trail --name <trail> --is-multi-region-trail (or create one multi-region trail for the account)."
  tags ["cis-aws-1.5:3.1", "aws-fsbp:CloudTrail.1", "pacbot:check-cloudtrail-multiRegion-enabled"]

  rule on aws.cloudtrail.trail {
    violation when not (is_multi_region_trail ?? false)
    message "trail {name ?? id} records {home_region ?? region} only"
  }
}

test "a multi-region trail passes; a single-region trail fails" {
  given aws.cloudtrail.trail all_regions {
    name: "management-events",
    is_multi_region_trail: true,
    home_region: "us-east-1",
  }
  given aws.cloudtrail.trail one_region {
    name: "legacy",
    is_multi_region_trail: false,
    home_region: "eu-west-1",
  }
  expect cloudtrail_not_multi_region passes all_regions
  expect cloudtrail_not_multi_region fails one_region
}

/// Without digest files nobody can tell whether log files were changed or
/// deleted after CloudTrail delivered them.
policy cloudtrail_log_validation_disabled {
  title "CloudTrail log file validation is off"
  description "The trail does not write digest files (log_file_validation_enabled is false), so tampering with its logs cannot be detected."
  severity medium
  category security
  remediation "aws cloudtrail update-trail --name <trail> --enable-log-file-validation"
  tags ["cis-aws-1.5:3.2", "aws-fsbp:CloudTrail.4"]

  rule on aws.cloudtrail.trail {
    violation when not (log_file_validation_enabled ?? false)
    message "trail {name ?? id} does not validate its log files"
  }

  autofix enable_cloudtrail_log_validation() after 1d notify "secops@example.com"
}

test "validation on passes; off or unknown fails" {
  given aws.cloudtrail.trail validated { name: "a", log_file_validation_enabled: true }
  given aws.cloudtrail.trail unvalidated { name: "b", log_file_validation_enabled: false }
  given aws.cloudtrail.trail unknown { name: "c" }
  expect cloudtrail_log_validation_disabled passes validated
  expect cloudtrail_log_validation_disabled fails unvalidated
  expect cloudtrail_log_validation_disabled fails unknown
}

/// SSE-KMS adds a second permission check (kms:Decrypt) between a reader
/// of the log bucket and the logs.
policy cloudtrail_not_kms_encrypted {
  title "CloudTrail logs are not encrypted with a KMS key"
  description "The trail has no KMS key (kms_key_id), so its log files are encrypted with S3-managed keys only."
  severity medium
  category security
  remediation "aws cloudtrail update-trail --name <trail> --kms-key-id <key-arn> (the key policy must let CloudTrail use it)."
  tags ["cis-aws-1.5:3.7", "aws-fsbp:CloudTrail.2"]

  rule on aws.cloudtrail.trail {
    violation when not has(kms_key_id)
    message "trail {name ?? id} writes log files without a KMS key"
  }
}

test "a trail with a KMS key passes; without one fails" {
  given aws.cloudtrail.trail kms {
    name: "a",
    kms_key_id: "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
  }
  given aws.cloudtrail.trail sse_s3 { name: "b" }
  expect cloudtrail_not_kms_encrypted passes kms
  expect cloudtrail_not_kms_encrypted fails sse_s3
}

/// CloudWatch Logs delivery is what the CIS metric filters and alarms
/// (root use, console sign-in without MFA, policy changes) are built on.
policy cloudtrail_no_cloudwatch_logs {
  title "CloudTrail trail is not sent to CloudWatch Logs"
  description "The trail delivers to S3 only (no cloud_watch_logs_log_group_arn), so no metric filter or alarm can watch its events in real time."
  severity low
  category security
  remediation "aws cloudtrail update-trail --name <trail> --cloud-watch-logs-log-group-arn <arn> --cloud-watch-logs-role-arn <role-arn>"
  tags ["cis-aws-1.5:3.4", "aws-fsbp:CloudTrail.5"]

  rule on aws.cloudtrail.trail {
    violation when not has(cloud_watch_logs_log_group_arn)
    message "trail {name ?? id} is not delivered to CloudWatch Logs"
  }
}

test "a trail with a log group passes; without fails" {
  given aws.cloudtrail.trail watched {
    name: "a",
    cloud_watch_logs_log_group_arn: "arn:aws:logs:us-east-1:111122223333:log-group:cloudtrail:*",
  }
  given aws.cloudtrail.trail unwatched { name: "b" }
  expect cloudtrail_no_cloudwatch_logs passes watched
  expect cloudtrail_no_cloudwatch_logs fails unwatched
}

/// A trail that was stopped records nothing, while everything else about it
/// still looks compliant.
policy cloudtrail_not_logging {
  title "CloudTrail trail is not logging"
  description "The trail exists but is stopped (GetTrailStatus IsLogging is false)."
  severity high
  category security
  remediation "aws cloudtrail start-logging --name <trail>, and find out who stopped it (StopLogging events)."
  tags ["cis-aws-1.5:3.1", "pacbot:check-cloudtrail-multiRegion-enabled"]

  rule on aws.cloudtrail.trail {
    violation when has(is_logging) and not is_logging
    message "trail {name ?? id} is stopped"
  }

  autofix start_cloudtrail_logging() after 1h notify "secops@example.com"
}

test "a stopped trail fails; a logging trail passes; an unread status is not a violation" {
  given aws.cloudtrail.trail stopped { name: "a", is_logging: false }
  given aws.cloudtrail.trail running { name: "b", is_logging: true }
  given aws.cloudtrail.trail unread { name: "c" }
  expect cloudtrail_not_logging fails stopped
  expect cloudtrail_not_logging passes running
  expect cloudtrail_not_logging passes unread
}

/// A trail that cannot write to its bucket (a changed bucket policy, a
/// deleted bucket, a KMS key it may no longer use) records nothing while
/// still looking healthy in the console.
policy cloudtrail_delivery_failing {
  title "CloudTrail cannot deliver log files to its bucket"
  description "GetTrailStatus reports a LatestDeliveryError for the trail (e.g. AccessDenied, NoSuchBucket): its latest log files did not reach S3."
  severity high
  category security
  remediation "Fix what the error names: the bucket policy must let cloudtrail.amazonaws.com PutObject (with the aws:SourceArn of the trail), the bucket must exist, and the trail's KMS key policy must let CloudTrail use it; then check aws cloudtrail get-trail-status --name <trail>."
  tags ["cloudtrail-health"]

  rule on aws.cloudtrail.trail {
    violation when has(latest_delivery_error) and latest_delivery_error != ""
    message "trail {name ?? id} cannot deliver to bucket {s3_bucket_name}: {latest_delivery_error}"
  }
}

test "a trail with a delivery error fails" {
  given aws.cloudtrail.trail broken {
    name: "management-events",
    s3_bucket_name: "acme-cloudtrail",
    is_logging: true,
    latest_delivery_error: "AccessDenied",
  }
  expect cloudtrail_delivery_failing fails broken
}

test "a trail without a delivery error passes, and so does an unread status" {
  given aws.cloudtrail.trail healthy {
    name: "management-events",
    s3_bucket_name: "acme-cloudtrail",
    is_logging: true,
  }
  given aws.cloudtrail.trail cleared {
    name: "org-trail",
    s3_bucket_name: "acme-org-cloudtrail",
    latest_delivery_error: "",
  }
  expect cloudtrail_delivery_failing passes healthy
  expect cloudtrail_delivery_failing passes cleared
}

/// IAM, STS and CloudFront are global services: their events (a new
/// access key, an assumed role, a changed policy) reach only trails that
/// include global service events.
policy cloudtrail_global_events_excluded {
  title "Multi-region CloudTrail trail leaves out global service events"
  description "A multi-region trail has include_global_service_events false, so IAM, STS and CloudFront API calls are not in its logs."
  severity medium
  category security
  remediation "aws cloudtrail update-trail --name <trail> --include-global-service-events"
  tags ["cloudtrail-coverage"]

  rule on aws.cloudtrail.trail {
    violation when (is_multi_region_trail ?? false) and not (include_global_service_events ?? true)
    message "multi-region trail {name ?? id} does not record IAM, STS and CloudFront events"
  }
}

test "a multi-region trail without global service events fails" {
  given aws.cloudtrail.trail no_global {
    name: "all-regions",
    is_multi_region_trail: true,
    include_global_service_events: false,
  }
  expect cloudtrail_global_events_excluded fails no_global
}

test "a multi-region trail with global service events passes; a single-region trail is left to cloudtrail_not_multi_region" {
  given aws.cloudtrail.trail with_global {
    name: "all-regions",
    is_multi_region_trail: true,
    include_global_service_events: true,
  }
  given aws.cloudtrail.trail regional {
    name: "eu-only",
    is_multi_region_trail: false,
    include_global_service_events: false,
  }
  expect cloudtrail_global_events_excluded passes with_global
  expect cloudtrail_global_events_excluded passes regional
}

/// The log bucket holds the record of everything the account did: public,
/// it tells an attacker what was noticed, and lets anyone read it.
policy cloudtrail_bucket_public {
  title "The S3 bucket of a CloudTrail trail is public"
  description "The bucket the trail delivers to (s3_bucket_name, an aws.s3.bucket of the inventory) is public through its ACL or its bucket policy. A bucket in another account is not in the inventory and not judged."
  severity critical
  category security
  remediation "Turn on Block Public Access for the log bucket and remove public grants and statements."
  tags ["cis-aws-1.5:3.3"]

  rule on aws.cloudtrail.trail {
    violation when any b in aws.s3.bucket: b.name == (s3_bucket_name ?? "") and is_public_bucket(b)
    message "trail {name ?? id} delivers to the public bucket {s3_bucket_name}"
  }
}

test "a trail whose bucket has a public ACL fails; a private bucket passes" {
  given aws.cloudtrail.trail to_public { name: "a", s3_bucket_name: "logs-public" }
  given aws.cloudtrail.trail to_private { name: "b", s3_bucket_name: "logs-private" }
  given aws.s3.bucket logs_public {
    name: "logs-public",
    creation_date: 2025-01-01,
    versioning: {},
    acl: {
      owner: { id: "owner" },
      grants: [
        {
          grantee: { type: "Group", uri: "http://acs.amazonaws.com/groups/global/AllUsers" },
          permission: "READ",
        },
      ],
    },
  }
  given aws.s3.bucket logs_private {
    name: "logs-private",
    creation_date: 2025-01-01,
    versioning: {},
    acl: { owner: { id: "owner" }, grants: [] },
  }
  expect cloudtrail_bucket_public fails to_public
  expect cloudtrail_bucket_public passes to_private
}

/// Access logs on the log bucket show who read or deleted the trail's
/// files.
policy cloudtrail_bucket_not_logged {
  title "The S3 bucket of a CloudTrail trail has no access logging"
  description "The bucket the trail delivers to (an aws.s3.bucket of the inventory) has server access logging off. A bucket in another account is not judged."
  severity low
  category security
  remediation "Turn on server access logging for the log bucket: aws s3api put-bucket-logging --bucket <bucket> --bucket-logging-status …"
  tags ["cis-aws-1.5:3.6"]

  rule on aws.cloudtrail.trail {
    violation when any b in aws.s3.bucket: b.name == (s3_bucket_name ?? "") and not has(b.logging)
    message "trail {name ?? id} delivers to {s3_bucket_name}, which has no access logging"
  }
}

test "a trail whose bucket logs passes; one whose bucket does not fails" {
  given aws.cloudtrail.trail to_logged { name: "a", s3_bucket_name: "logs-logged" }
  given aws.cloudtrail.trail to_unlogged { name: "b", s3_bucket_name: "logs-unlogged" }
  given aws.s3.bucket logs_logged {
    name: "logs-logged",
    creation_date: 2025-01-01,
    versioning: {},
    acl: { owner: { id: "owner" }, grants: [] },
    logging: { target_bucket: "access-logs", target_prefix: "trail/" },
  }
  given aws.s3.bucket logs_unlogged {
    name: "logs-unlogged",
    creation_date: 2025-01-01,
    versioning: {},
    acl: { owner: { id: "owner" }, grants: [] },
  }
  expect cloudtrail_bucket_not_logged passes to_logged
  expect cloudtrail_bucket_not_logged fails to_unlogged
}
