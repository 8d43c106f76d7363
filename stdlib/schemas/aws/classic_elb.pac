package aws.elb

// Classic load balancers (Elastic Load Balancing, the API before ELBv2).
// Conventions: see docs/schemas.md.

/// A classic load balancer (DescribeLoadBalancers, plus DescribeLoadBalancerAttributes and DescribeTags when read); `id` is its name.
schema aws.elb.load_balancer {
  /// The name, e.g. `shop-web`.
  load_balancer_name: string?
  /// The DNS name clients connect to.
  dns_name: string?
  /// `internet-facing` or `internal`.
  scheme: string?
  /// The VPC; absent for an EC2-Classic load balancer.
  vpc_id: string?
  /// When it was created.
  created_time: timestamp?
  /// Its Availability Zones.
  availability_zones: list<string>
  /// Its subnets.
  subnets: list<string>
  /// Its security groups.
  security_groups: list<string>
  /// The IDs of the instances registered with it.
  instances: list<string>
  /// Its listeners.
  listeners: list<ClassicListener>
  /// Access logging (DescribeLoadBalancerAttributes `AccessLog`).
  access_log: ClassicAccessLog?
  /// Whether cross-zone load balancing is on.
  cross_zone_load_balancing: bool?
  /// Whether connection draining is on.
  connection_draining: bool?
  /// Its tags.
  tags: map<string>
}

/// A listener of a classic load balancer (Listener).
record ClassicListener {
  /// `HTTP`, `HTTPS`, `TCP` or `SSL`.
  protocol: string
  /// The port clients connect to.
  load_balancer_port: int
  /// The protocol to the instances.
  instance_protocol: string?
  /// The port on the instances.
  instance_port: int
  /// The certificate's ARN for HTTPS and SSL listeners.
  ssl_certificate_id: string?
}

/// A classic load balancer's access logging (AccessLog).
record ClassicAccessLog {
  /// Whether access logs are written.
  enabled: bool
  /// The bucket they are written to.
  s3_bucket_name: string?
  /// The prefix within the bucket.
  s3_bucket_prefix: string?
  /// Minutes between log files (5 or 60).
  emit_interval: int?
}
