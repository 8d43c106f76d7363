package aws.actions

// The auto-fix actions policies can bind with `autofix`. Their execution
// lives in the server and `pacc fix`; here they are only declared, so that
// bindings are type-checked.

/// Closes `ports` of `protocol` (`tcp`, the default, or `udp`) to 0.0.0.0/0 and ::/0 and nothing else: a world-open rule that covers them is revoked and the rest of its range re-authorised for the same source (a rule for 0-1024 becomes 0-21 and 23-1024 when `ports` is [22]); an all-traffic (`-1`) rule keeps the other protocol's ports and ICMP (RevokeSecurityGroupIngress, AuthorizeSecurityGroupIngress).
action revoke_world_ingress(ports: list<int>, protocol: string?) on aws.ec2.security_group

/// Stops an instance (StopInstances); its EBS volumes are kept.
action stop_instance() on aws.ec2.instance

/// Turns on EBS encryption by default in the volume's account and region (EnableEbsEncryptionByDefault); existing volumes stay as they are.
action enable_ebs_encryption_by_default() on aws.ec2.volume

/// Removes the public (`all`) create-volume permission of a snapshot (ModifySnapshotAttribute).
action make_snapshot_private() on aws.ec2.snapshot

/// Removes the public (`all`) launch permission of an AMI (ModifyImageAttribute).
action make_image_private() on aws.ec2.image

/// Sets the tag `key` to `value` on a resource (CreateTags, or TagResource / PutBucketTagging / TagUser).
action tag_resource(key: string, value: string) on
  aws.ec2.instance, aws.ec2.security_group, aws.ec2.volume, aws.ec2.snapshot, aws.ec2.image,
  aws.ec2.vpc, aws.ec2.subnet, aws.ec2.network_acl, aws.ec2.network_interface, aws.ec2.address,
  aws.ec2.key_pair, aws.ec2.flow_log, aws.s3.bucket, aws.iam.user

/// Deletes an unattached (`available`) volume (DeleteVolume), first taking a snapshot of it when `snapshot_first`.
action delete_unattached_volume(snapshot_first: bool) on aws.ec2.volume

/// Turns on all four Block Public Access settings of a bucket (PutPublicAccessBlock).
action block_s3_public_access() on aws.s3.bucket

/// Deactivates an access key (UpdateAccessKey, status `Inactive`); the key is not deleted.
action deactivate_access_key() on aws.iam.access_key

/// Raises the account's IAM password policy to at least `minimum_length` characters and to block reuse of the last `reuse_prevention` passwords, keeping every other setting (UpdateAccountPasswordPolicy); creates the policy when the account has none. A setting of the account: one change per account.
action set_iam_password_policy(minimum_length: int, reuse_prevention: int) on
  aws.iam.password_policy

/// Changes nothing: only notifies (the `notify` recipients) about the violation.
action notify_only() on
  aws.ec2.instance, aws.ec2.security_group, aws.ec2.volume, aws.ec2.snapshot, aws.ec2.image,
  aws.ec2.vpc, aws.ec2.subnet, aws.ec2.network_acl, aws.ec2.network_interface, aws.ec2.address,
  aws.ec2.key_pair, aws.ec2.flow_log, aws.s3.bucket, aws.iam.user, aws.iam.access_key,
  aws.iam.account_summary, aws.iam.password_policy, aws.kms.key, aws.cloudtrail.trail,
  aws.rds.db_instance, aws.rds.db_snapshot, aws.lambda.function, aws.sqs.queue, aws.sns.topic,
  aws.ecr.repository, aws.dynamodb.table, aws.eks.cluster, aws.guardduty.detector,
  aws.elbv2.load_balancer, aws.acm.certificate, aws.config.recorder, aws.ec2.vpn_gateway,
  aws.iam.role, aws.iam.policy, aws.iam.credential_report, aws.iam.server_certificate,
  aws.elb.load_balancer, aws.autoscaling.group, aws.autoscaling.launch_configuration,
  aws.cloudfront.distribution, aws.apigateway.rest_api, aws.redshift.cluster, aws.opensearch.domain,
  vuln.finding

/// Turns on versioning of a bucket (PutBucketVersioning `Enabled`), so that overwritten and deleted objects can be recovered.
action enable_s3_versioning() on aws.s3.bucket

/// Turns on automatic rotation of a KMS key (EnableKeyRotation).
action enable_kms_key_rotation() on aws.kms.key

/// Turns on log file validation of a trail (UpdateTrail `EnableLogFileValidation`), in the trail's home region.
action enable_cloudtrail_log_validation() on aws.cloudtrail.trail

/// Starts a stopped trail (StartLogging).
action start_cloudtrail_logging() on aws.cloudtrail.trail

/// Makes a DB instance not publicly accessible (ModifyDBInstance `PubliclyAccessible=false`, applied immediately).
action make_rds_instance_private() on aws.rds.db_instance

/// Removes `all` from who may restore a manual DB snapshot (ModifyDBSnapshotAttribute `restore`); accounts it is shared with keep it.
action make_rds_snapshot_private() on aws.rds.db_snapshot

/// Turns on scan on push for a repository (PutImageScanningConfiguration).
action enable_ecr_scan_on_push() on aws.ecr.repository

/// Turns on point-in-time recovery for a table (UpdateContinuousBackups).
action enable_dynamodb_pitr() on aws.dynamodb.table

/// Requires IAM authentication on a function's URL (UpdateFunctionUrlConfig `AuthType=AWS_IAM`); a function without a URL is left alone.
action require_lambda_url_auth() on aws.lambda.function

/// Turns on GuardDuty in the region (UpdateDetector `enable`, or CreateDetector when the region has none).
action enable_guardduty() on aws.guardduty.detector
