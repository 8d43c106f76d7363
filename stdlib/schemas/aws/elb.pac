package aws.elbv2

// Elastic Load Balancing v2: application, network and gateway load
// balancers. Conventions: see docs/schemas.md.

/// A load balancer (DescribeLoadBalancers, plus DescribeListeners, DescribeLoadBalancerAttributes and DescribeTags); `id` is its name.
schema aws.elbv2.load_balancer {
  /// The load balancer's name.
  load_balancer_name: string?
  /// The load balancer's ARN.
  load_balancer_arn: string?
  /// The public or private DNS name.
  dns_name: string?
  /// `internet-facing` or `internal`.
  scheme: string?
  /// `application`, `network` or `gateway` (API member `Type`).
  load_balancer_type: string?
  /// The VPC.
  vpc_id: string?
  /// `active`, `provisioning`, `failed`, …
  state: string?
  /// When the load balancer was created.
  created_time: timestamp?
  /// `ipv4`, `dualstack`, …
  ip_address_type: string?
  /// The security groups (application load balancers, and network ones that have any).
  security_groups: list<string>
  /// The Availability Zones it serves.
  availability_zones: list<string>
  /// Its listeners (DescribeListeners).
  listeners: list<Listener>
  /// Whether access logs go to S3 (attribute `access_logs.s3.enabled`).
  access_logs_enabled: bool?
  /// The bucket access logs go to (`access_logs.s3.bucket`); absent when none.
  access_logs_bucket: string?
  /// Whether deletion protection is on (`deletion_protection.enabled`).
  deletion_protection: bool?
  /// Whether invalid HTTP header fields are dropped (`routing.http.drop_invalid_header_fields.enabled`; application load balancers).
  drop_invalid_header_fields: bool?
  /// The load balancer's tags.
  tags: map<string>
}

/// A listener of a load balancer (Listener).
record Listener {
  /// The listener's ARN.
  listener_arn: string?
  /// The port, e.g. `443`.
  port: int?
  /// `HTTP`, `HTTPS`, `TCP`, `TLS`, `UDP`, …
  protocol: string?
  /// The TLS negotiation policy of HTTPS and TLS listeners, e.g. `ELBSecurityPolicy-TLS13-1-2-2021-06`.
  ssl_policy: string?
  /// The ARNs of the listener's certificates.
  certificate_arns: list<string>
  /// Whether the default action redirects to HTTPS.
  redirects_to_https: bool
}
