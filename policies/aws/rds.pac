package policies.aws.rds

// RDS DB instances and snapshots: exposure, encryption, backups,
// upgrades, availability, authentication and logging. Each policy's tests
// follow it.

/// True for an Aurora engine (`aurora`, `aurora-mysql`, `aurora-postgresql`):
/// availability and IAM authentication are settings of the cluster there,
/// not of the instance.
fn is_aurora_engine(engine: string) -> bool = starts_with(engine, "aurora")

/// The engines whose DB instances support IAM database authentication.
fn iam_auth_engines() -> list<string> = ["mysql", "mariadb", "postgres"]

/// The port an engine listens on unless told otherwise; 0 for an engine
/// without a well-known default.
fn rds_engine_default_port(engine: string) -> int =
  if engine in ["postgres", "aurora-postgresql"]
    then 5432
    else if engine in ["mysql", "mariadb", "aurora", "aurora-mysql"]
      then 3306
      else if starts_with(engine, "oracle")
        then 1521
        else if starts_with(engine, "sqlserver")
          then 1433
          else if starts_with(engine, "db2") then 50000 else 0

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

/// A single-AZ database goes down with its Availability Zone, and every
/// maintenance reboot is an outage.
policy rds_multi_az_disabled {
  title "Production RDS DB instance is not Multi-AZ"
  description "A DB instance tagged env=prod or env=production (Aurora excluded: its cluster spreads instances over zones) has Multi-AZ off."
  severity medium
  category operations
  remediation "aws rds modify-db-instance --db-instance-identifier <id> --multi-az --apply-immediately (or in the next maintenance window)."
  tags ["aws-fsbp:RDS.5"]

  rule on aws.rds.db_instance {
    violation when
      lower(tags["env"] ?? "") in ["prod", "production"]
      and not is_aurora_engine(engine ?? "")
      and not (multi_az ?? false)
    message "production DB instance {id} ({engine}) runs in one Availability Zone ({availability_zone})"
  }
}

test "a single-AZ production instance fails" {
  given aws.rds.db_instance single {
    engine: "postgres",
    multi_az: false,
    availability_zone: "us-east-1a",
    tags: { env: "prod" },
  }
  expect rds_multi_az_disabled fails single
}

test "a Multi-AZ production instance passes" {
  given aws.rds.db_instance multi {
    engine: "postgres",
    multi_az: true,
    tags: { env: "Production" },
  }
  expect rds_multi_az_disabled passes multi
}

test "single-AZ instances outside production, Aurora instances and untagged ones pass" {
  given aws.rds.db_instance dev_single { engine: "mysql", multi_az: false, tags: { env: "dev" } }
  given aws.rds.db_instance aurora_member {
    engine: "aurora-postgresql",
    multi_az: false,
    tags: { env: "prod" },
  }
  given aws.rds.db_instance untagged { engine: "mysql" }
  expect rds_multi_az_disabled passes dev_single
  expect rds_multi_az_disabled passes aurora_member
  expect rds_multi_az_disabled passes untagged
}

/// IAM authentication replaces long-lived database passwords with
/// 15-minute tokens tied to an IAM identity, revoked with it.
policy rds_iam_auth_disabled {
  title "RDS DB instance does not accept IAM authentication"
  description "A MySQL, MariaDB or PostgreSQL DB instance has IAM database authentication off (IAMDatabaseAuthenticationEnabled is false). Other engines do not support it; Aurora sets it on the cluster."
  severity medium
  category security
  remediation "aws rds modify-db-instance --db-instance-identifier <id> --enable-iam-database-authentication, then create database users mapped to IAM (rds_iam role / AWSAuthenticationPlugin)."
  tags ["aws-fsbp:RDS.10"]

  rule on aws.rds.db_instance {
    violation when
      (engine ?? "") in iam_auth_engines() and not (iam_database_authentication_enabled ?? false)
    message "DB instance {id} ({engine}) accepts only database passwords, not IAM authentication"
  }
}

test "a PostgreSQL instance without IAM authentication fails" {
  given aws.rds.db_instance pg_password {
    engine: "postgres",
    iam_database_authentication_enabled: false,
  }
  expect rds_iam_auth_disabled fails pg_password
}

test "a MySQL instance with IAM authentication passes" {
  given aws.rds.db_instance mysql_iam { engine: "mysql", iam_database_authentication_enabled: true }
  expect rds_iam_auth_disabled passes mysql_iam
}

test "engines without IAM authentication, and an unknown engine, pass" {
  given aws.rds.db_instance oracle {
    engine: "oracle-ee",
    iam_database_authentication_enabled: false,
  }
  given aws.rds.db_instance aurora_member { engine: "aurora-mysql" }
  given aws.rds.db_instance unknown { db_instance_class: "db.t3.micro" }
  expect rds_iam_auth_disabled passes oracle
  expect rds_iam_auth_disabled passes aurora_member
  expect rds_iam_auth_disabled passes unknown
}

/// Database logs left on the instance rotate away within days and are
/// gone with it; in CloudWatch Logs they can be kept, searched and
/// alarmed on.
policy rds_logs_not_exported {
  title "RDS DB instance exports no logs to CloudWatch Logs"
  description "The DB instance exports no log type to CloudWatch Logs (enabled_cloudwatch_logs_exports is empty). FSBP RDS.9 asks for specific types per engine (postgresql; audit, error, general, slowquery; alert, audit, trace, listener; error, agent); exporting any passes here."
  severity medium
  category security
  remediation "aws rds modify-db-instance --db-instance-identifier <id> --cloudwatch-logs-export-configuration EnableLogTypes=postgresql,upgrade (the engine's log types; MySQL audit logs need the MARIADB_AUDIT_PLUGIN option)."
  tags ["aws-fsbp:RDS.9"]

  rule on aws.rds.db_instance {
    violation when len(enabled_cloudwatch_logs_exports) == 0
    message "DB instance {id} ({engine}) exports no logs to CloudWatch Logs"
  }
}

test "an instance exporting nothing fails" {
  given aws.rds.db_instance silent { engine: "mysql" }
  expect rds_logs_not_exported fails silent
}

test "an instance exporting its PostgreSQL log passes" {
  given aws.rds.db_instance logged {
    engine: "postgres",
    enabled_cloudwatch_logs_exports: ["postgresql", "upgrade"],
  }
  expect rds_logs_not_exported passes logged
}

/// Scanners try the default port of every engine first; moving off it
/// removes the database from the cheapest sweeps (it is no substitute for
/// keeping it private).
policy rds_default_port {
  title "RDS DB instance listens on its engine's default port"
  description "The DB instance's endpoint port is its engine's default: 5432 (PostgreSQL), 3306 (MySQL, MariaDB, Aurora MySQL), 1521 (Oracle), 1433 (SQL Server), 50000 (Db2). An instance without an endpoint yet is not judged."
  severity low
  category security
  remediation "Pick another port (aws rds modify-db-instance --db-instance-identifier <id> --db-port-number <port>), then update the security groups and the clients' connection strings."
  tags ["aws-fsbp:RDS.23"]

  rule on aws.rds.db_instance {
    let port = endpoint?.port ?? 0
    let default_port = rds_engine_default_port(engine ?? "")
    violation when port > 0 and port == default_port
    message "DB instance {id} ({engine}) listens on the default port {port}"
  }
}

test "a PostgreSQL instance on 5432 fails" {
  given aws.rds.db_instance pg_default {
    engine: "postgres",
    endpoint: { address: "orders.abc123.us-east-1.rds.amazonaws.com", port: 5432 },
  }
  expect rds_default_port fails pg_default
}

test "a SQL Server instance on 1433 fails" {
  given aws.rds.db_instance mssql_default {
    engine: "sqlserver-se",
    endpoint: { address: "erp.abc123.us-east-1.rds.amazonaws.com", port: 1433 },
  }
  expect rds_default_port fails mssql_default
}

test "Oracle on 1521 and Db2 on 50000 fail" {
  given aws.rds.db_instance oracle_default {
    engine: "oracle-ee",
    endpoint: { address: "ledger.abc123.us-east-1.rds.amazonaws.com", port: 1521 },
  }
  given aws.rds.db_instance db2_default {
    engine: "db2-se",
    endpoint: { address: "core.abc123.us-east-1.rds.amazonaws.com", port: 50000 },
  }
  expect rds_default_port fails oracle_default
  expect rds_default_port fails db2_default
}

test "a MySQL instance on 3310 passes" {
  given aws.rds.db_instance mysql_moved {
    engine: "mysql",
    endpoint: { address: "shop.abc123.us-east-1.rds.amazonaws.com", port: 3310 },
  }
  expect rds_default_port passes mysql_moved
}

test "an instance without an endpoint, or of an engine without a known default, passes" {
  given aws.rds.db_instance creating { engine: "postgres", db_instance_status: "creating" }
  given aws.rds.db_instance custom_engine {
    engine: "custom-engine",
    endpoint: { address: "x.abc123.us-east-1.rds.amazonaws.com", port: 5432 },
  }
  expect rds_default_port passes creating
  expect rds_default_port passes custom_engine
}

/// Manual snapshots are never deleted by RDS: kept past any need, they
/// are storage billed every month and old copies of the data to protect.
policy rds_snapshot_stale {
  title "RDS manual snapshot older than one year without a retention tag"
  description "A manual DB snapshot was taken more than 365 days ago and has no `retention` tag recording why it is kept (the same rule as ebs_snapshot_stale). A snapshot without a creation time (still creating) is not judged."
  severity low
  category cost
  remediation "Delete the snapshot (aws rds delete-db-snapshot --db-snapshot-identifier <id>), export it to S3 for archiving, or tag it `retention` with the reason and end date."
  tags ["finops"]

  rule on aws.rds.db_snapshot {
    let taken = snapshot_create_time ?? now
    let age_days = in_days(age(taken))
    violation when has(snapshot_create_time) and older_than(taken, 365d) and "retention" not in tags
    message "DB snapshot {id} (of {db_instance_identifier}) is {age_days} days old and has no retention tag"
  }
}

test "a two-year-old snapshot without a retention tag fails" {
  now 2026-12-01
  given aws.rds.db_snapshot old_snap {
    db_instance_identifier: "orders",
    snapshot_create_time: 2024-11-01,
  }
  expect rds_snapshot_stale fails old_snap
}

test "a recent snapshot, an old one with a retention tag and one still creating pass" {
  now 2026-12-01
  given aws.rds.db_snapshot recent_snap {
    db_instance_identifier: "orders",
    snapshot_create_time: 2026-10-01,
  }
  given aws.rds.db_snapshot kept_snap {
    db_instance_identifier: "orders",
    snapshot_create_time: 2023-01-01,
    tags: { retention: "SOX audit, until 2030-01-01" },
  }
  given aws.rds.db_snapshot creating_snap { db_instance_identifier: "orders", status: "creating" }
  expect rds_snapshot_stale passes recent_snap
  expect rds_snapshot_stale passes kept_snap
  expect rds_snapshot_stale passes creating_snap
}
