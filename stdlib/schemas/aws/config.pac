package aws.config

// AWS Config, once per account and region. Conventions: see
// docs/schemas.md.

/// AWS Config in one account and region (DescribeConfigurationRecorders, DescribeConfigurationRecorderStatus); `id` is the region, so that a region without a recorder is a resource too (`present: false`).
schema aws.config.recorder {
  /// Whether the region has a configuration recorder.
  present: bool
  /// The recorder's name.
  name: string?
  /// The role the recorder uses.
  role_arn: string?
  /// Whether it records every supported resource type.
  all_supported: bool?
  /// Whether it records global resources (IAM) too.
  include_global_resource_types: bool?
  /// Whether it is recording now.
  recording: bool?
  /// The last delivery status: `Success`, `Failure` or `Pending`.
  last_status: string?
}
