package policies.aws.redshift

// Redshift clusters: exposure, encryption at rest and in transit, audit
// logs, automated snapshots. Each policy's tests follow it.

/// A public cluster whose security group lets the internet in is open to
/// password guessing against the warehouse.
policy redshift_public_and_world_open {
  title "Redshift cluster is publicly accessible through an open security group"
  description "The cluster is publicly accessible and one of its VPC security groups (as collected) lets TCP traffic from 0.0.0.0/0 or ::/0 reach the cluster's port."
  severity critical
  category security
  remediation "aws redshift modify-cluster --cluster-identifier <id> --no-publicly-accessible, and remove the world-open inbound rule from the security group."
  tags ["pacbot:check-for-redshift-public-access"]

  rule on aws.redshift.cluster {
    let port = endpoint_port ?? 5439
    violation when
      (publicly_accessible ?? false)
      and (any sg in vpc_security_groups:
             any g in aws.ec2.security_group: g.id == sg and world_tcp_ingress_on_port(g, port))
    message "Redshift cluster {id} is publicly accessible and its security group is open to the internet on port {port}"
  }
}

test "a public cluster behind a world-open group fails; a private one or a closed group passes" {
  given aws.ec2.security_group open_sg {
    id: "sg-0pen",
    group_id: "sg-0pen",
    group_name: "warehouse",
    description: "warehouse",
    owner_id: "111122223333",
    ip_permissions: [
      { ip_protocol: "tcp", from_port: 5439, to_port: 5439, ip_ranges: [{ cidr_ip: 0.0.0.0/0 }] },
    ],
  }
  given aws.ec2.security_group closed_sg {
    id: "sg-c1osed",
    group_id: "sg-c1osed",
    group_name: "warehouse-internal",
    description: "warehouse",
    owner_id: "111122223333",
    ip_permissions: [
      { ip_protocol: "tcp", from_port: 5439, to_port: 5439, ip_ranges: [{ cidr_ip: 10.0.0.0/8 }] },
    ],
  }
  given aws.redshift.cluster exposed {
    publicly_accessible: true,
    endpoint_port: 5439,
    vpc_security_groups: ["sg-0pen"],
  }
  given aws.redshift.cluster private_ {
    publicly_accessible: false,
    vpc_security_groups: ["sg-0pen"],
  }
  given aws.redshift.cluster fenced {
    publicly_accessible: true,
    vpc_security_groups: ["sg-c1osed"],
  }
  expect redshift_public_and_world_open fails exposed
  expect redshift_public_and_world_open passes private_
  expect redshift_public_and_world_open passes fenced
}

/// A public endpoint is one security-group mistake away from the internet.
policy redshift_cluster_public {
  title "Redshift cluster is publicly accessible"
  description "The cluster has a public endpoint (PubliclyAccessible), whatever its security groups allow today."
  severity high
  category security
  remediation "aws redshift modify-cluster --cluster-identifier <id> --no-publicly-accessible; reach the cluster through the VPC."
  tags ["aws-fsbp:Redshift.1"]

  rule on aws.redshift.cluster {
    violation when (publicly_accessible ?? false)
    message "Redshift cluster {id} is publicly accessible"
  }
}

test "a public cluster fails; a private one passes" {
  given aws.redshift.cluster public_ { publicly_accessible: true }
  given aws.redshift.cluster private_ { publicly_accessible: false }
  expect redshift_cluster_public fails public_
  expect redshift_cluster_public passes private_
}

/// Unencrypted warehouse storage exposes the data in snapshots and
/// discarded disks.
policy redshift_cluster_unencrypted {
  title "Redshift cluster is not encrypted at rest"
  description "The cluster's data is not encrypted at rest (Encrypted is false or unknown)."
  severity high
  category security
  remediation "aws redshift modify-cluster --cluster-identifier <id> --encrypted [--kms-key-id <key>] (the cluster is migrated to encrypted storage)."
  tags ["aws-fsbp:Redshift.10"]

  rule on aws.redshift.cluster {
    violation when not (encrypted ?? false)
    message "Redshift cluster {id} stores its data unencrypted"
  }
}

test "an unencrypted cluster fails; an encrypted one passes" {
  given aws.redshift.cluster plain { encrypted: false }
  given aws.redshift.cluster enc {
    encrypted: true,
    kms_key_id: "arn:aws:kms:us-east-1:111122223333:key/k",
  }
  expect redshift_cluster_unencrypted fails plain
  expect redshift_cluster_unencrypted passes enc
}

/// Without TLS, passwords and query results cross the network in clear.
policy redshift_require_ssl_off {
  title "Redshift cluster accepts unencrypted connections"
  description "The `require_ssl` parameter of the cluster's parameter group is not true, so clients may connect without TLS."
  severity medium
  category security
  remediation "Use a custom parameter group with require_ssl=true (aws redshift modify-cluster-parameter-group), attach it to the cluster and reboot it."
  tags ["aws-fsbp:Redshift.2"]

  rule on aws.redshift.cluster {
    violation when not (require_ssl ?? false)
    message "Redshift cluster {id} accepts connections without TLS"
  }
}

test "require_ssl false fails; true passes" {
  given aws.redshift.cluster lax { require_ssl: false }
  given aws.redshift.cluster strict { require_ssl: true }
  expect redshift_require_ssl_off fails lax
  expect redshift_require_ssl_off passes strict
}

/// Audit logs record connections, users and queries: who read what.
policy redshift_audit_logging_disabled {
  title "Redshift cluster audit logging is off"
  description "The cluster does not deliver audit logs to S3 or CloudWatch Logs (DescribeLoggingStatus LoggingEnabled is false)."
  severity medium
  category security
  remediation "aws redshift enable-logging --cluster-identifier <id> --log-destination-type cloudwatch --log-exports connectionlog userlog useractivitylog (or --bucket-name for S3)."
  tags ["aws-fsbp:Redshift.4"]

  rule on aws.redshift.cluster {
    violation when not (logging_enabled ?? false)
    message "Redshift cluster {id} has no audit logging"
  }
}

test "logging off fails; logging on passes" {
  given aws.redshift.cluster silent { logging_enabled: false }
  given aws.redshift.cluster logged { logging_enabled: true, log_destination_type: "cloudwatch" }
  expect redshift_audit_logging_disabled fails silent
  expect redshift_audit_logging_disabled passes logged
}

/// Automated snapshots are the warehouse's point-in-time recovery.
policy redshift_snapshots_too_short {
  title "Redshift automated snapshots are off or kept under 7 days"
  description "The cluster keeps automated snapshots for fewer than 7 days (0 turns them off)."
  severity medium
  category operations
  remediation "aws redshift modify-cluster --cluster-identifier <id> --automated-snapshot-retention-period 7 (or more)."
  tags ["aws-fsbp:Redshift.3"]

  rule on aws.redshift.cluster {
    let days = automated_snapshot_retention_period ?? 0
    violation when days < 7
    message "Redshift cluster {id} keeps automated snapshots for {days} days"
  }
}

test "0 and 1 days fail; 7 passes" {
  given aws.redshift.cluster off_ { automated_snapshot_retention_period: 0 }
  given aws.redshift.cluster day { automated_snapshot_retention_period: 1 }
  given aws.redshift.cluster week { automated_snapshot_retention_period: 7 }
  expect redshift_snapshots_too_short fails off_
  expect redshift_snapshots_too_short fails day
  expect redshift_snapshots_too_short passes week
}
