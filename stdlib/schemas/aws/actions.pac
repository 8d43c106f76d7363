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
  aws.iam.account_summary, aws.iam.password_policy, vuln.finding
