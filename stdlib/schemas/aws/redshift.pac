package aws.redshift

// Amazon Redshift provisioned clusters. Conventions: see docs/schemas.md.

/// A Redshift cluster (DescribeClusters, plus DescribeLoggingStatus and DescribeClusterParameters); `id` is the cluster identifier.
schema aws.redshift.cluster {
  /// The cluster identifier, e.g. `analytics`.
  cluster_identifier: string?
  /// The ARN of the cluster's namespace (DescribeClusters returns no cluster ARN).
  cluster_namespace_arn: string?
  /// The node type, e.g. `ra3.xlplus`.
  node_type: string?
  /// The number of compute nodes.
  number_of_nodes: int?
  /// `available`, `creating`, `paused`, …
  cluster_status: string?
  /// The Redshift engine version, e.g. `1.0`.
  cluster_version: string?
  /// The first database's name.
  db_name: string?
  /// The admin user's name.
  master_username: string?
  /// When the cluster was created.
  cluster_create_time: timestamp?
  /// The DNS name clients connect to.
  endpoint_address: string?
  /// The port clients connect to, e.g. `5439`.
  endpoint_port: int?
  /// Whether the cluster can be reached from outside its VPC.
  publicly_accessible: bool?
  /// Whether the data is encrypted at rest.
  encrypted: bool?
  /// The KMS key of the encryption.
  kms_key_id: string?
  /// The cluster's VPC.
  vpc_id: string?
  /// The VPC security group IDs of the cluster.
  vpc_security_groups: list<string>
  /// The cluster subnet group's name.
  cluster_subnet_group_name: string?
  /// The parameter groups' names.
  cluster_parameter_groups: list<string>
  /// Whether COPY and UNLOAD traffic stays in the VPC (enhanced VPC routing).
  enhanced_vpc_routing: bool?
  /// Days automated snapshots are kept; 0 means automated snapshots are off.
  automated_snapshot_retention_period: int?
  /// Days manual snapshots are kept by default (-1: forever).
  manual_snapshot_retention_period: int?
  /// Whether major version upgrades are applied in the maintenance window.
  allow_version_upgrade: bool?
  /// Whether audit logging is on (DescribeLoggingStatus `LoggingEnabled`).
  logging_enabled: bool?
  /// The bucket audit logs go to, when they go to S3.
  logging_bucket_name: string?
  /// Where audit logs go: `s3` or `cloudwatch`.
  log_destination_type: string?
  /// Whether the cluster accepts only TLS connections (the `require_ssl` parameter of its first parameter group, DescribeClusterParameters); absent when not read.
  require_ssl: bool?
  /// The cluster's tags.
  tags: map<string>
}
