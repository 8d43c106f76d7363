package aws.dynamodb

// Amazon DynamoDB tables. Conventions: see docs/schemas.md.

/// A DynamoDB table (ListTables, DescribeTable, plus DescribeContinuousBackups and ListTagsOfResource); `id` is the table name.
schema aws.dynamodb.table {
  /// The table's name.
  table_name: string?
  /// The table's ARN.
  table_arn: string?
  /// `ACTIVE`, `CREATING`, `UPDATING`, …
  table_status: string?
  /// When the table was created.
  creation_date_time: timestamp?
  /// Items in the table (updated about every six hours).
  item_count: int?
  /// The table's size in bytes.
  table_size_bytes: int?
  /// `PROVISIONED` or `PAY_PER_REQUEST`; absent on tables that were always provisioned.
  billing_mode: string?
  /// Encryption at rest with a KMS key: `ENABLED`, …; absent with the AWS-owned key (the default).
  sse_status: string?
  /// `KMS` when a KMS key (AWS-managed or yours) encrypts the table.
  sse_type: string?
  /// The KMS key's ARN.
  kms_master_key_arn: string?
  /// Whether the table is protected from deletion.
  deletion_protection_enabled: bool?
  /// Point-in-time recovery: `ENABLED` or `DISABLED` (DescribeContinuousBackups).
  point_in_time_recovery_status: string?
  /// The table's tags.
  tags: map<string>
}
