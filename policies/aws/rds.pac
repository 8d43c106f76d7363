package policies.aws.rds

// RDS DB instances and snapshots: exposure, encryption, backups and
// upgrades. Each policy's tests follow it.

/// A database with a public endpoint is one security-group mistake away
/// from the internet's password guessers.
policy rds_instance_public {
  title "RDS DB instance is publicly accessible"
  description "The DB instance has a public DNS name (PubliclyAccessible), so any security group rule that lets the internet in reaches the database."
  severity critical
  category security
  remediation "aws rds modify-db-instance --db-instance-identifier <id> --no-publicly-accessible --apply-immediately, and reach the database through the VPC."
  tags ["cis-aws-1.5:2.3.3", "aws-fsbp:RDS.2", "pacbot:check-for-rds-db-public-access"]

  rule on aws.rds.db_instance {
    violation when (publicly_accessible ?? false)
    message "DB instance {id} ({engine}) is publicly accessible"
  }

  autofix make_rds_instance_private() after 1d notify tags["owner"] ?? "secops@example.com"
}

test "a public DB instance fails; a private one passes" {
  given aws.rds.db_instance public_db { engine: "postgres", publicly_accessible: true }
  given aws.rds.db_instance private_db { engine: "postgres", publicly_accessible: false }
  expect rds_instance_public fails public_db
  expect rds_instance_public passes private_db
}

/// Unencrypted storage exposes the data in snapshots, replicas and
/// discarded disks; RDS cannot encrypt an existing instance in place.
policy rds_instance_unencrypted {
  title "RDS DB instance storage is not encrypted"
  description "The DB instance's storage is not encrypted at rest (StorageEncrypted is false)."
  severity high
  category security
  remediation "Snapshot the instance, copy the snapshot with --kms-key-id, restore from the encrypted copy and switch over."
  tags ["cis-aws-1.5:2.3.1", "aws-fsbp:RDS.3"]

  rule on aws.rds.db_instance {
    violation when not (storage_encrypted ?? false)
    message "DB instance {id} stores its data unencrypted"
  }
}

test "encrypted storage passes; unencrypted or unknown fails" {
  given aws.rds.db_instance enc { storage_encrypted: true }
  given aws.rds.db_instance plain { storage_encrypted: false }
  given aws.rds.db_instance unknown { engine: "mysql" }
  expect rds_instance_unencrypted passes enc
  expect rds_instance_unencrypted fails plain
  expect rds_instance_unencrypted fails unknown
}

/// Without automated backups there is no point-in-time restore after a bad
/// migration or a deleted table.
policy rds_backups_too_short {
  title "RDS automated backups are off or kept under 7 days"
  description "The DB instance keeps automated backups for fewer than 7 days (0 turns them off)."
  severity medium
  category operations
  remediation "aws rds modify-db-instance --db-instance-identifier <id> --backup-retention-period 7 (or more)."
  tags ["aws-fsbp:RDS.11"]

  rule on aws.rds.db_instance {
    let days = backup_retention_period ?? 0
    violation when days < 7
    message "DB instance {id} keeps automated backups for {days} days"
  }
}

test "7 days passes; 0 and 1 fail" {
  given aws.rds.db_instance week { backup_retention_period: 7 }
  given aws.rds.db_instance off_ { backup_retention_period: 0 }
  given aws.rds.db_instance day { backup_retention_period: 1 }
  expect rds_backups_too_short passes week
  expect rds_backups_too_short fails off_
  expect rds_backups_too_short fails day
}

/// Minor versions carry the engine's security fixes.
policy rds_minor_upgrades_off {
  title "RDS automatic minor version upgrade is off"
  description "The DB instance does not take minor engine upgrades automatically (AutoMinorVersionUpgrade is false)."
  severity low
  category security
  remediation "aws rds modify-db-instance --db-instance-identifier <id> --auto-minor-version-upgrade"
  tags ["cis-aws-1.5:2.3.2", "aws-fsbp:RDS.13"]

  rule on aws.rds.db_instance {
    violation when not (auto_minor_version_upgrade ?? true)
    message "DB instance {id} does not take minor engine upgrades automatically"
  }
}

test "upgrades on passes; off fails" {
  given aws.rds.db_instance on_ { auto_minor_version_upgrade: true }
  given aws.rds.db_instance off_ { auto_minor_version_upgrade: false }
  expect rds_minor_upgrades_off passes on_
  expect rds_minor_upgrades_off fails off_
}

/// Production databases should survive a mistaken delete call.
policy rds_deletion_protection_off {
  title "Production RDS DB instance can be deleted without protection"
  description "A DB instance tagged env=prod or env=production has deletion protection off."
  severity medium
  category operations
  remediation "aws rds modify-db-instance --db-instance-identifier <id> --deletion-protection"
  tags ["aws-fsbp:RDS.8"]

  rule on aws.rds.db_instance {
    violation when
      lower(tags["env"] ?? "") in ["prod", "production"] and not (deletion_protection ?? false)
    message "production DB instance {id} has no deletion protection"
  }
}

test "a production instance without protection fails; with it, or outside production, passes" {
  given aws.rds.db_instance prod_open { deletion_protection: false, tags: { env: "prod" } }
  given aws.rds.db_instance prod_safe { deletion_protection: true, tags: { env: "production" } }
  given aws.rds.db_instance dev_open { deletion_protection: false, tags: { env: "dev" } }
  expect rds_deletion_protection_off fails prod_open
  expect rds_deletion_protection_off passes prod_safe
  expect rds_deletion_protection_off passes dev_open
}

/// A public snapshot can be restored by any AWS account: the whole database
/// copied out in one call.
policy rds_snapshot_public {
  title "RDS snapshot is public"
  description "A manual DB snapshot can be restored by any AWS account (its restore attribute includes `all`)."
  severity critical
  category security
  remediation "aws rds modify-db-snapshot-attribute --db-snapshot-identifier <id> --attribute-name restore --values-to-remove all"
  tags ["aws-fsbp:RDS.1", "pacbot:check-for-rds-snapshot-with-public-access"]

  rule on aws.rds.db_snapshot {
    violation when "all" in restore_by
    message "DB snapshot {id} (of {db_instance_identifier}) can be restored by any AWS account"
  }

  autofix make_rds_snapshot_private() after 1h notify tags["owner"] ?? "secops@example.com"
}

test "a snapshot shared with all fails; shared with one account or nobody passes" {
  given aws.rds.db_snapshot open { db_instance_identifier: "orders", restore_by: ["all"] }
  given aws.rds.db_snapshot shared {
    db_instance_identifier: "orders",
    restore_by: ["444455556666"],
  }
  given aws.rds.db_snapshot private_snap { db_instance_identifier: "orders" }
  expect rds_snapshot_public fails open
  expect rds_snapshot_public passes shared
  expect rds_snapshot_public passes private_snap
}

/// A copy of encrypted data should stay encrypted.
policy rds_snapshot_unencrypted {
  title "RDS snapshot is not encrypted"
  description "A manual DB snapshot is not encrypted; anyone it is shared with gets the data in the clear."
  severity medium
  category security
  remediation "Copy the snapshot with a KMS key (aws rds copy-db-snapshot --kms-key-id …) and delete the unencrypted one."
  tags ["aws-fsbp:RDS.4"]

  rule on aws.rds.db_snapshot {
    violation when not (encrypted ?? true)
    message "DB snapshot {id} is not encrypted"
  }
}

test "an unencrypted snapshot fails; an encrypted one passes" {
  given aws.rds.db_snapshot plain { encrypted: false }
  given aws.rds.db_snapshot enc { encrypted: true }
  expect rds_snapshot_unencrypted fails plain
  expect rds_snapshot_unencrypted passes enc
}
