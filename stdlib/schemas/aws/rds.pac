package aws.rds

// Amazon RDS DB instances and manual DB snapshots. Conventions: see
// docs/schemas.md.

/// An RDS DB instance (DescribeDBInstances); `id` is the DB instance identifier.
schema aws.rds.db_instance {
  /// The DB instance identifier, e.g. `orders-prod`.
  db_instance_identifier: string?
  /// The instance's ARN.
  db_instance_arn: string?
  /// The instance class, e.g. `db.t3.micro`.
  db_instance_class: string?
  /// `available`, `stopped`, `creating`, …
  db_instance_status: string?
  /// The engine, e.g. `postgres`, `mysql`, `aurora-postgresql`.
  engine: string?
  /// The engine version, e.g. `16.3`.
  engine_version: string?
  /// Whether the instance has a public DNS name reachable from the internet.
  publicly_accessible: bool?
  /// Whether the storage is encrypted.
  storage_encrypted: bool?
  /// The KMS key of the storage encryption.
  kms_key_id: string?
  /// Days automated backups are kept; 0 means automated backups are off.
  backup_retention_period: int?
  /// Whether the instance is Multi-AZ.
  multi_az: bool?
  /// Whether minor engine upgrades are applied automatically.
  auto_minor_version_upgrade: bool?
  /// Whether the instance can be deleted only after turning this off.
  deletion_protection: bool?
  /// Whether IAM database authentication is on.
  iam_database_authentication_enabled: bool?
  /// The log types exported to CloudWatch Logs, e.g. `postgresql`.
  enabled_cloudwatch_logs_exports: list<string>
  /// The instance's Availability Zone.
  availability_zone: string?
  /// Where clients connect; absent while the instance is being created.
  endpoint: Endpoint?
  /// The VPC security group IDs of the instance.
  vpc_security_groups: list<string>
  /// The DB subnet group's name.
  db_subnet_group_name: string?
  /// The instance's tags.
  tags: map<string>
}

/// An RDS endpoint (Endpoint).
record Endpoint {
  /// The DNS name, e.g. `orders-prod.abc123.us-east-1.rds.amazonaws.com`.
  address: string?
  /// The port, e.g. `5432`.
  port: int?
}

/// A manual RDS DB snapshot (DescribeDBSnapshots `manual`, plus DescribeDBSnapshotAttributes); `id` is the snapshot identifier.
schema aws.rds.db_snapshot {
  /// The snapshot identifier.
  db_snapshot_identifier: string?
  /// The snapshot's ARN.
  db_snapshot_arn: string?
  /// The instance the snapshot was taken of.
  db_instance_identifier: string?
  /// When the snapshot was taken.
  snapshot_create_time: timestamp?
  /// `manual` (automated snapshots are not read).
  snapshot_type: string?
  /// `available`, `creating`, …
  status: string?
  /// The engine, e.g. `postgres`.
  engine: string?
  /// Whether the snapshot is encrypted.
  encrypted: bool?
  /// The KMS key of the encryption.
  kms_key_id: string?
  /// Who may restore the snapshot (the `restore` attribute): account IDs, or `all` when it is public.
  restore_by: list<string>
  /// The snapshot's tags.
  tags: map<string>
}
