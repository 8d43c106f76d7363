package policies.aws.storage

// EBS volumes, EBS snapshots and AMIs: encryption, exposure and cost.
// Each policy's tests follow it.

// ---------------------------------------------------------------------------
// Encryption
// ---------------------------------------------------------------------------

/// Data at rest on EBS must be encrypted (KMS), so that a copied or leaked
/// volume or snapshot is unreadable without the key.
policy ebs_volume_unencrypted {
  title "EBS volume is not encrypted"
  description "The volume's `encrypted` flag is false. Encryption cannot be turned on for an existing volume: snapshot it, copy the snapshot with encryption, and create a new volume. The auto-fix turns on EBS encryption by default for the account and region so that no new unencrypted volume appears; the finding itself stays open until the volume is replaced."
  severity high
  category security
  remediation "Snapshot the volume, copy the snapshot with encryption (KMS), create an encrypted volume from it and swap it in; enable EBS encryption by default in every region."
  tags ["cis-aws-1.5:2.2.1", "aws-fsbp:EC2.3", "aws-fsbp:EC2.7"]

  rule on aws.ec2.volume {
    violation when not (encrypted ?? false)
    message "{id} ({size} GiB {volume_type}, {state}, {availability_zone}) is not encrypted"
  }

  autofix enable_ebs_encryption_by_default() after 1d notify tags["owner"] ?? "secops@example.com"
}

test "an unencrypted volume fails, a KMS-encrypted one passes" {
  given aws.ec2.volume plain {
    volume_id: "vol-0plain",
    size: 100,
    volume_type: "gp3",
    state: "in-use",
    availability_zone: "us-east-1a",
    create_time: 2026-01-01,
    encrypted: false,
  }
  given aws.ec2.volume kms {
    volume_id: "vol-0kms",
    size: 100,
    volume_type: "gp3",
    state: "in-use",
    availability_zone: "us-east-1a",
    create_time: 2026-01-01,
    encrypted: true,
    kms_key_id: "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
  }
  expect ebs_volume_unencrypted fails plain
  expect ebs_volume_unencrypted passes kms
}

test "a volume that does not report encryption is unencrypted" {
  given aws.ec2.volume unreported {
    volume_id: "vol-0unreported",
    size: 100,
    volume_type: "gp3",
    state: "in-use",
  }
  expect ebs_volume_unencrypted fails unreported
}

/// An unencrypted snapshot can be shared or copied out with its data in the
/// clear.
policy ebs_snapshot_unencrypted {
  title "EBS snapshot is not encrypted"
  description "The snapshot's `encrypted` flag is false, usually because its source volume was unencrypted."
  severity medium
  category security
  remediation "Copy the snapshot with encryption enabled (CopySnapshot with a KMS key), then delete the unencrypted original."
  tags ["cis-aws-1.5:2.2.1"]

  rule on aws.ec2.snapshot {
    violation when not (encrypted ?? false)
    message "{id} (from {volume_id}, {volume_size} GiB, started {start_time}) is not encrypted"
  }
}

test "an unencrypted snapshot fails, an encrypted one passes" {
  given aws.ec2.snapshot plain {
    snapshot_id: "snap-0plain",
    volume_id: "vol-0plain",
    volume_size: 8,
    state: "completed",
    start_time: 2026-03-01,
    owner_id: "111122223333",
    encrypted: false,
  }
  given aws.ec2.snapshot enc {
    snapshot_id: "snap-0enc",
    volume_id: "vol-0kms",
    volume_size: 8,
    state: "completed",
    start_time: 2026-03-01,
    owner_id: "111122223333",
    encrypted: true,
  }
  expect ebs_snapshot_unencrypted fails plain
  expect ebs_snapshot_unencrypted passes enc
}

test "a snapshot that does not report encryption is unencrypted" {
  given aws.ec2.snapshot unreported { snapshot_id: "snap-0unreported", volume_size: 100 }
  expect ebs_snapshot_unencrypted fails unreported
}

// ---------------------------------------------------------------------------
// Public snapshots and AMIs
// ---------------------------------------------------------------------------

/// A public snapshot lets any AWS account create a volume with your data.
policy ebs_snapshot_public {
  title "EBS snapshot is public"
  description "The snapshot has a create-volume permission for the group `all`: every AWS account can restore it."
  severity critical
  category security
  remediation "Remove the public create-volume permission (ModifySnapshotAttribute, remove group `all`); share with specific accounts if needed."
  tags ["aws-fsbp:EC2.1", "pacbot:check-for-ebs-snapshot-with-public-access"]

  rule on aws.ec2.snapshot {
    violation when is_public_snapshot(self)
    message "{id} (from {volume_id}, {volume_size} GiB, encrypted: {encrypted}) can be restored by any AWS account"
  }

  autofix make_snapshot_private() after 1h notify tags["owner"] ?? "secops@example.com"
}

test "a snapshot shared with `all` fails; one shared with an account passes" {
  given aws.ec2.snapshot public {
    snapshot_id: "snap-0public",
    volume_id: "vol-1",
    volume_size: 20,
    state: "completed",
    start_time: 2026-03-01,
    owner_id: "111122223333",
    encrypted: false,
    create_volume_permissions: [{ group: "all" }],
  }
  given aws.ec2.snapshot shared {
    snapshot_id: "snap-0shared",
    volume_id: "vol-2",
    volume_size: 20,
    state: "completed",
    start_time: 2026-03-01,
    owner_id: "111122223333",
    encrypted: true,
    create_volume_permissions: [{ user_id: "210987654321" }],
  }
  expect ebs_snapshot_public fails public
  expect ebs_snapshot_public passes shared
}

/// A public AMI exposes its disks (software, configuration, often secrets)
/// to every AWS account.
policy ami_public {
  title "AMI is public"
  description "The AMI is `public` or has a launch permission for the group `all`. Publishing AMIs on purpose (a vendor image) should be covered by an exception."
  severity critical
  category security
  remediation "Remove the public launch permission (ModifyImageAttribute, remove group `all`), or share the AMI with specific accounts or an organization."
  tags ["public-exposure", "block-public-access:ami"]

  rule on aws.ec2.image {
    let ami_name = name ?? "unnamed"
    violation when (state ?? "available") != "deregistered" and is_public_image(self)
    message "AMI {id} ({ami_name}, created {creation_date}) can be launched by any AWS account"
  }

  autofix make_image_private() after 1d notify tags["owner"] ?? "secops@example.com"
}

test "a public AMI fails, a private AMI passes" {
  given aws.ec2.image public {
    image_id: "ami-0public",
    name: "web-2026-01",
    state: "available",
    owner_id: "111122223333",
    creation_date: 2026-01-15T09:30:00Z,
    public: true,
    architecture: "x86_64",
    image_type: "machine",
    root_device_type: "ebs",
  }
  given aws.ec2.image private {
    image_id: "ami-0private",
    name: "web-2026-02",
    state: "available",
    owner_id: "111122223333",
    creation_date: 2026-02-15T09:30:00Z,
    public: false,
    architecture: "arm64",
    image_type: "machine",
    root_device_type: "ebs",
    launch_permissions: [{ user_id: "210987654321" }],
  }
  expect ami_public fails public
  expect ami_public passes private
}

test "a launch permission for `all` makes an AMI public even when `public` is false" {
  given aws.ec2.image perm {
    image_id: "ami-0perm",
    state: "available",
    owner_id: "111122223333",
    creation_date: 2026-01-15T09:30:00Z,
    public: false,
    architecture: "x86_64",
    image_type: "machine",
    root_device_type: "ebs",
    launch_permissions: [{ group: "all" }],
  }
  expect ami_public fails perm
}

// ---------------------------------------------------------------------------
// Cost
// ---------------------------------------------------------------------------

/// An `available` volume is attached to nothing but is billed every month.
policy ebs_volume_unattached {
  title "EBS volume unattached (available) for more than 30 days"
  description "The volume's state is `available` and it was created more than 30 days ago. EC2 does not report when a volume was detached, so the volume's age (create_time) stands in: a recently detached old volume is reported too. The auto-fix snapshots and deletes the volume after a 7-day notice."
  severity low
  category cost
  remediation "Attach the volume if it is still needed; otherwise snapshot it (or not) and delete it."
  tags ["pacbot:check-for-unused-ebs-rule", "pacbot:check-for-unused-or-untagged-ebs-rule"]

  rule on aws.ec2.volume {
    let age_days = in_days(age(create_time ?? now))
    violation when is_unattached(self) and has(create_time) and older_than(create_time, 30d)
    message "{id} ({size} GiB {volume_type}, {availability_zone}) is unattached and {age_days} days old"
  }

  autofix delete_unattached_volume(snapshot_first: true)
    after 1w
    notify tags["owner"] ?? "finops@example.com"
}

test "an old available volume fails; a new one and an attached one pass" {
  now 2026-11-01
  given aws.ec2.volume orphan {
    volume_id: "vol-0orphan",
    size: 500,
    volume_type: "gp2",
    state: "available",
    availability_zone: "us-east-1b",
    create_time: 2026-01-01,
    encrypted: true,
  }
  given aws.ec2.volume fresh {
    volume_id: "vol-0fresh",
    size: 50,
    volume_type: "gp3",
    state: "available",
    availability_zone: "us-east-1b",
    create_time: 2026-10-20,
    encrypted: true,
  }
  given aws.ec2.volume attached {
    volume_id: "vol-0attached",
    size: 50,
    volume_type: "gp3",
    state: "in-use",
    availability_zone: "us-east-1b",
    create_time: 2025-01-01,
    encrypted: true,
    attachments: [
      {
        volume_id: "vol-0attached",
        instance_id: "i-0abc",
        device: "/dev/xvda",
        state: "attached",
        attach_time: 2025-01-01T00:05:00Z,
        delete_on_termination: true,
      },
    ],
  }
  expect ebs_volume_unattached fails orphan
  expect ebs_volume_unattached passes fresh
  expect ebs_volume_unattached passes attached
}

test "an available volume that does not report its creation time is not judged old" {
  now 2026-11-01
  given aws.ec2.volume undated { volume_id: "vol-0undated", size: 8, state: "available" }
  expect ebs_volume_unattached passes undated
}

/// gp3 gives a 3,000 IOPS / 125 MiB/s baseline regardless of size and costs
/// about 20% less per GiB than gp2.
policy ebs_volume_gp2 {
  title "EBS volume uses gp2; migrate to gp3"
  description "The volume type is `gp2`. ModifyVolume changes it to `gp3` online, without detaching."
  severity low
  category cost
  remediation "Modify the volume to gp3 (aws ec2 modify-volume --volume-type gp3); for gp2 volumes above 1 TiB, set gp3 IOPS to match the gp2 baseline (3 IOPS per GiB)."
  tags ["aws-compute-optimizer:ebs-gp3", "finops"]

  rule on aws.ec2.volume {
    // A volume whose type is not reported is not judged.
    let volume_type = self.volume_type ?? ""
    let gp2_iops = min_of(max_of(100, 3 * (size ?? 0)), 16000)
    violation when volume_type == "gp2"
    message "{id} ({size} GiB, {state}) is gp2 with a {gp2_iops} IOPS baseline; gp3 includes 3000 IOPS and is about 20% cheaper per GiB"
  }
}

test "a gp2 volume fails, gp3 and io2 volumes pass" {
  given aws.ec2.volume old_type {
    volume_id: "vol-0gp2",
    size: 200,
    volume_type: "gp2",
    state: "in-use",
    iops: 600,
    availability_zone: "us-east-1a",
    create_time: 2024-01-01,
    encrypted: true,
  }
  given aws.ec2.volume new_type {
    volume_id: "vol-0gp3",
    size: 200,
    volume_type: "gp3",
    state: "in-use",
    iops: 3000,
    throughput: 125,
    availability_zone: "us-east-1a",
    create_time: 2024-01-01,
    encrypted: true,
  }
  given aws.ec2.volume provisioned {
    volume_id: "vol-0io2",
    size: 200,
    volume_type: "io2",
    state: "in-use",
    iops: 10000,
    availability_zone: "us-east-1a",
    create_time: 2024-01-01,
    encrypted: true,
  }
  expect ebs_volume_gp2 fails old_type
  expect ebs_volume_gp2 passes new_type
  expect ebs_volume_gp2 passes provisioned
}

/// Snapshots accumulate: without a retention decision they are paid for
/// forever.
policy ebs_snapshot_stale {
  title "EBS snapshot older than one year without a retention tag"
  description "The snapshot was started more than 365 days ago and has no `retention` tag recording why it is kept. Snapshots managed by AWS Backup or Data Lifecycle Manager should carry such a tag (or be excepted)."
  severity low
  category cost
  remediation "Delete the snapshot, archive it (storage tier `archive`), or tag it `retention` with the reason and end date."
  tags ["finops", "aws-backup"]

  rule on aws.ec2.snapshot {
    let age_days = in_days(age(start_time ?? now))
    let tier = storage_tier ?? "standard"
    violation when has(start_time) and older_than(start_time, 365d) and "retention" not in tags
    message "{id} (from {volume_id}, {volume_size} GiB, {tier} tier) is {age_days} days old and has no retention tag"
  }
}

test "an untagged two-year-old snapshot fails; a tagged one and a recent one pass" {
  now 2026-11-01
  given aws.ec2.snapshot old {
    snapshot_id: "snap-0old",
    volume_id: "vol-1",
    volume_size: 100,
    state: "completed",
    start_time: 2024-10-01,
    owner_id: "111122223333",
    encrypted: true,
  }
  given aws.ec2.snapshot kept {
    snapshot_id: "snap-0kept",
    volume_id: "vol-1",
    volume_size: 100,
    state: "completed",
    start_time: 2024-10-01,
    owner_id: "111122223333",
    encrypted: true,
    tags: { retention: "legal-hold-2030" },
  }
  given aws.ec2.snapshot recent {
    snapshot_id: "snap-0recent",
    volume_id: "vol-1",
    volume_size: 100,
    state: "completed",
    start_time: 2026-06-01,
    owner_id: "111122223333",
    encrypted: true,
  }
  expect ebs_snapshot_stale fails old
  expect ebs_snapshot_stale passes kept
  expect ebs_snapshot_stale passes recent
}
