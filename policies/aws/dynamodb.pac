package policies.aws.dynamodb

// DynamoDB tables: recovery and deletion protection. Each policy's tests
// follow it.

/// Point-in-time recovery is the undo for a bad write or a deleted item:
/// restore to any second of the last 35 days.
policy dynamodb_pitr_disabled {
  title "DynamoDB table has no point-in-time recovery"
  description "Point-in-time recovery (continuous backups) is off for the table."
  severity medium
  category operations
  remediation "aws dynamodb update-continuous-backups --table-name <name> --point-in-time-recovery-specification PointInTimeRecoveryEnabled=true"
  tags ["aws-fsbp:DynamoDB.2"]

  rule on aws.dynamodb.table {
    violation when (point_in_time_recovery_status ?? "DISABLED") != "ENABLED"
    message "table {id} has no point-in-time recovery"
  }

  autofix enable_dynamodb_pitr() after 1d notify tags["owner"] ?? "platform@example.com"
}

test "ENABLED passes; DISABLED fails" {
  given aws.dynamodb.table on_ { point_in_time_recovery_status: "ENABLED" }
  given aws.dynamodb.table off_ { point_in_time_recovery_status: "DISABLED" }
  expect dynamodb_pitr_disabled passes on_
  expect dynamodb_pitr_disabled fails off_
}

/// Production tables should survive a mistaken delete call.
policy dynamodb_deletion_protection_off {
  title "Production DynamoDB table has no deletion protection"
  description "A table tagged env=prod or env=production has deletion protection off."
  severity medium
  category operations
  remediation "aws dynamodb update-table --table-name <name> --deletion-protection-enabled"
  tags ["aws-fsbp:DynamoDB.6"]

  rule on aws.dynamodb.table {
    violation when
      lower(tags["env"] ?? "") in ["prod", "production"]
      and not (deletion_protection_enabled ?? false)
    message "production table {id} has no deletion protection"
  }
}

test "a production table without protection fails; protected or non-production passes" {
  given aws.dynamodb.table prod_open { tags: { env: "prod" } }
  given aws.dynamodb.table prod_safe { deletion_protection_enabled: true, tags: { env: "prod" } }
  given aws.dynamodb.table dev { tags: { env: "dev" } }
  expect dynamodb_deletion_protection_off fails prod_open
  expect dynamodb_deletion_protection_off passes prod_safe
  expect dynamodb_deletion_protection_off passes dev
}
