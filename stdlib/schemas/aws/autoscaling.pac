package aws.autoscaling

// Amazon EC2 Auto Scaling. Conventions: see docs/schemas.md.

/// An Auto Scaling group (DescribeAutoScalingGroups); `id` is its name.
schema aws.autoscaling.group {
  /// The name, e.g. `shop-web`.
  auto_scaling_group_name: string?
  /// The ARN.
  auto_scaling_group_arn: string?
  /// The launch configuration it launches from, if it uses one.
  launch_configuration_name: string?
  /// The launch template it launches from, if it uses one.
  launch_template_name: string?
  /// The fewest instances.
  min_size: int?
  /// The most instances.
  max_size: int?
  /// The instances it aims for.
  desired_capacity: int?
  /// `EC2` or `ELB` (and `VPC_LATTICE`, `EBS`).
  health_check_type: string?
  /// When it was created.
  created_time: timestamp?
  /// Its subnets, comma-separated (`VPCZoneIdentifier`); absent outside a VPC.
  vpc_zone_identifier: string?
  /// Its Availability Zones.
  availability_zones: list<string>
  /// The classic load balancers it registers with.
  load_balancer_names: list<string>
  /// The ELBv2 target groups it registers with.
  target_group_arns: list<string>
  /// How many instances it has now.
  instance_count: int
  /// Its tags.
  tags: map<string>
}

/// A launch configuration (DescribeLaunchConfigurations); `id` is its name.
schema aws.autoscaling.launch_configuration {
  /// The name.
  launch_configuration_name: string?
  /// The ARN.
  launch_configuration_arn: string?
  /// The AMI it launches.
  image_id: string?
  /// The instance type.
  instance_type: string?
  /// The key pair its instances get.
  key_name: string?
  /// When it was created.
  created_time: timestamp?
  /// Whether its instances get a public IPv4 address.
  associate_public_ip_address: bool?
  /// `optional` (IMDSv1 allowed) or `required` (IMDSv2 only); absent when unset (then `optional`).
  http_tokens: string?
  /// The security groups of its instances.
  security_groups: list<string>
}
