package policies.aws.instances

// EC2 instances and key pairs: metadata service, exposure, lifecycle and
// governance (instance families, regions). Each policy's tests follow it.
// The asset group `production` is declared in tagging.pac.

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// Previous-generation instance families (AWS "previous generation
/// instances"): slower and often dearer than their successors, and some are
/// being retired.
fn deprecated_instance_families() -> list<string> = [
  "t1",
  "m1",
  "m2",
  "m3",
  "m4",
  "c1",
  "c3",
  "c4",
  "cc1",
  "cc2",
  "cg1",
  "cr1",
  "g2",
  "hi1",
  "hs1",
  "i2",
  "r3",
  "r4",
]

/// The regions the organisation operates in. Edit this list to match yours.
fn approved_regions() -> list<string> = [
  "us-east-1",
  "us-east-2",
  "us-west-2",
  "eu-west-1",
  "eu-central-1",
]

/// The family of an instance type: `m4` for `m4.large`.
fn instance_family(instance_type: string) -> string = split(instance_type, ".")[0] ?? instance_type

/// When the instance was stopped, read from a state transition reason such
/// as `User initiated (2026-01-15 10:00:00 GMT)`; absent when the reason
/// carries no date (e.g. `Server.ScheduledStop`).
fn stop_time_from_reason(reason: string) -> timestamp? =
  parse_time(replace(replace(split(reason, "(")[1] ?? "", " GMT)", "Z"), " ", "T"))

// ---------------------------------------------------------------------------
// Instance metadata service
// ---------------------------------------------------------------------------

/// IMDSv1 answers plain GET requests, so an SSRF bug in any application on
/// the instance can read the instance role's credentials. IMDSv2 requires a
/// session token obtained with a PUT, which SSRF cannot usually send.
policy instance_imdsv1_allowed {
  title "Instance allows IMDSv1 (metadata tokens not required)"
  description "The instance's metadata endpoint is enabled and `metadata_options.http_tokens` is not `required` (or is not reported). Terminated instances are ignored."
  severity high
  category security
  remediation "Require IMDSv2: aws ec2 modify-instance-metadata-options --http-tokens required --http-endpoint enabled; set it in launch templates and make AMIs default to IMDSv2 (imds_support v2.0)."
  tags ["cis-aws-2.0:5.6", "aws-fsbp:EC2.8"]

  rule on aws.ec2.instance {
    let tokens = metadata_options?.http_tokens ?? "not reported"
    let state_name = state?.name ?? "state not reported"
    violation when
      (state?.name ?? "running") != "terminated"
      and (metadata_options?.http_endpoint ?? "enabled") == "enabled"
      and not requires_imdsv2(self)
    message "{id} ({instance_type}, {state_name}) accepts IMDSv1: http_tokens is {tokens}"
  }

  autofix notify_only() notify tags["owner"] ?? "secops@example.com"
}

test "optional tokens fail; required tokens, a disabled endpoint and a terminated instance pass" {
  given aws.ec2.instance v1 {
    instance_id: "i-0imdsv1",
    image_id: "ami-1",
    instance_type: "t3.micro",
    launch_time: 2026-01-01,
    state: { code: 16, name: "running" },
    placement: { availability_zone: "us-east-1a", tenancy: "default" },
    monitoring: { state: "disabled" },
    metadata_options: {
      state: "applied",
      http_tokens: "optional",
      http_put_response_hop_limit: 1,
      http_endpoint: "enabled",
    },
  }
  given aws.ec2.instance v2 {
    instance_id: "i-0imdsv2",
    image_id: "ami-1",
    instance_type: "t3.micro",
    launch_time: 2026-01-01,
    state: { code: 16, name: "running" },
    placement: { availability_zone: "us-east-1a", tenancy: "default" },
    monitoring: { state: "disabled" },
    metadata_options: {
      state: "applied",
      http_tokens: "required",
      http_put_response_hop_limit: 2,
      http_endpoint: "enabled",
    },
  }
  given aws.ec2.instance no_imds {
    instance_id: "i-0noimds",
    image_id: "ami-1",
    instance_type: "t3.micro",
    launch_time: 2026-01-01,
    state: { code: 80, name: "stopped" },
    placement: { availability_zone: "us-east-1a", tenancy: "default" },
    monitoring: { state: "disabled" },
    metadata_options: {
      state: "applied",
      http_tokens: "optional",
      http_put_response_hop_limit: 1,
      http_endpoint: "disabled",
    },
  }
  given aws.ec2.instance gone {
    instance_id: "i-0gone",
    image_id: "ami-1",
    instance_type: "t3.micro",
    launch_time: 2026-01-01,
    state: { code: 48, name: "terminated" },
    placement: { availability_zone: "us-east-1a", tenancy: "default" },
    monitoring: { state: "disabled" },
  }
  expect instance_imdsv1_allowed fails v1
  expect instance_imdsv1_allowed passes v2
  expect instance_imdsv1_allowed passes no_imds
  expect instance_imdsv1_allowed passes gone
}

test "an instance whose metadata options are not reported is treated as allowing IMDSv1" {
  given aws.ec2.instance unknown {
    instance_id: "i-0unknown",
    image_id: "ami-1",
    instance_type: "t3.micro",
    launch_time: 2026-01-01,
    state: { code: 16, name: "running" },
    placement: { availability_zone: "us-east-1a", tenancy: "default" },
    monitoring: { state: "disabled" },
  }
  expect instance_imdsv1_allowed fails unknown
}

test "an instance that does not report its state is judged as running" {
  given aws.ec2.instance stateless {
    instance_id: "i-0stateless",
    metadata_options: { http_tokens: "optional", http_endpoint: "enabled" },
  }
  expect instance_imdsv1_allowed fails stateless
}

// ---------------------------------------------------------------------------
// Public exposure
// ---------------------------------------------------------------------------

/// Production instances sit in private subnets behind load balancers; a
/// public IPv4 address bypasses that design.
policy instance_public_ip_in_production {
  title "Production instance has a public IP address"
  description "A member of the `production` asset group has a public IPv4 address (auto-assigned or an Elastic IP) on any network interface."
  severity high
  category security
  remediation "Move the instance to a private subnet behind a load balancer or NAT gateway; release or disassociate the Elastic IP; turn off auto-assign public IP on the subnet."
  tags ["aws-fsbp:EC2.9", "pacbot:check-for-ec2-public-access"]

  rule on aws.ec2.instance in production {
    let public_enis = count n in network_interfaces: has(n.association)
    violation when has_public_ip(self)
    message "production instance {id} ({instance_type}, subnet {subnet_id}) has a public IPv4 address: primary {public_ip_address}, {public_enis} interface(s) with a public association"
  }

  autofix notify_only() notify tags["owner"] ?? "secops@example.com"
}

test "a production instance with a public IP fails; a private one passes; dev is out of scope" {
  given aws.ec2.instance exposed {
    instance_id: "i-0prodpub",
    image_id: "ami-1",
    instance_type: "m6i.large",
    launch_time: 2026-01-01,
    state: { code: 16, name: "running" },
    placement: { availability_zone: "us-east-1a", tenancy: "default" },
    monitoring: { state: "enabled" },
    public_ip_address: 54.12.34.56,
    subnet_id: "subnet-pub",
    tags: { env: "prod", owner: "payments@example.com" },
  }
  given aws.ec2.instance private {
    instance_id: "i-0prodpriv",
    image_id: "ami-1",
    instance_type: "m6i.large",
    launch_time: 2026-01-01,
    state: { code: 16, name: "running" },
    placement: { availability_zone: "us-east-1a", tenancy: "default" },
    monitoring: { state: "enabled" },
    private_ip_address: 10.0.1.23,
    subnet_id: "subnet-priv",
    tags: { env: "production" },
  }
  given aws.ec2.instance dev {
    instance_id: "i-0devpub",
    image_id: "ami-1",
    instance_type: "t3.micro",
    launch_time: 2026-01-01,
    state: { code: 16, name: "running" },
    placement: { availability_zone: "us-east-1a", tenancy: "default" },
    monitoring: { state: "disabled" },
    public_ip_address: 54.12.34.57,
    tags: { env: "dev" },
  }
  expect instance_public_ip_in_production fails exposed
  expect instance_public_ip_in_production passes private
  expect production contains exposed
  expect production excludes dev
}

test "an Elastic IP on a secondary interface counts as a public IP" {
  given aws.ec2.instance eni {
    instance_id: "i-0prodeni",
    image_id: "ami-1",
    instance_type: "m6i.large",
    launch_time: 2026-01-01,
    state: { code: 16, name: "running" },
    placement: { availability_zone: "us-east-1a", tenancy: "default" },
    monitoring: { state: "enabled" },
    tags: { env: "prod" },
    network_interfaces: [
      {
        network_interface_id: "eni-0b",
        status: "in-use",
        subnet_id: "subnet-1",
        vpc_id: "vpc-1",
        private_ip_address: 10.0.2.10,
        mac_address: "0a:1b:2c:3d:4e:5f",
        owner_id: "111122223333",
        source_dest_check: true,
        association: {
          public_ip: 3.3.3.3,
          ip_owner_id: "111122223333",
          allocation_id: "eipalloc-0a",
        },
      },
    ],
  }
  expect instance_public_ip_in_production fails eni
}

/// Outside production a public address is rarely needed (SSM Session
/// Manager, a load balancer or a NAT gateway cover the usual reasons) and
/// makes every security group mistake reachable from the internet.
policy instance_public_ip_outside_production {
  title "Non-production instance has a public IP address"
  description "A running or stopped instance that is not tagged env=prod/production has a public IPv4 address (auto-assigned or an Elastic IP) on any network interface. Production instances are judged by instance_public_ip_in_production."
  severity medium
  category security
  remediation "Launch the instance in a private subnet and reach it through SSM Session Manager or a load balancer; disassociate the Elastic IP, and turn off auto-assign public IP on the subnet (aws ec2 modify-subnet-attribute --no-map-public-ip-on-launch)."
  tags ["aws-fsbp:EC2.9"]

  rule on aws.ec2.instance {
    let env = tags["env"] ?? "<absent>"
    violation when
      (state?.name ?? "running") in ["running", "stopped"]
      and not is_production_env(tags)
      and has_public_ip(self)
    message "instance {id} ({instance_type}, env {env}) has a public IPv4 address: primary {public_ip_address}"
  }

  autofix notify_only() notify tags["owner"] ?? "secops@example.com"
}

test "a dev instance with a public IP fails" {
  given aws.ec2.instance dev_public {
    instance_id: "i-0devpublic",
    image_id: "ami-1",
    instance_type: "t3.micro",
    launch_time: 2026-01-01,
    state: { code: 16, name: "running" },
    placement: { availability_zone: "us-east-1a", tenancy: "default" },
    monitoring: { state: "disabled" },
    public_ip_address: 54.12.34.58,
    tags: { env: "dev" },
  }
  expect instance_public_ip_outside_production fails dev_public
}

test "an untagged instance with an Elastic IP on a secondary interface fails" {
  given aws.ec2.instance untagged_eni {
    instance_id: "i-0untaggedeni",
    image_id: "ami-1",
    instance_type: "t3.micro",
    launch_time: 2026-01-01,
    state: { code: 80, name: "stopped" },
    placement: { availability_zone: "us-east-1a", tenancy: "default" },
    monitoring: { state: "disabled" },
    network_interfaces: [
      {
        network_interface_id: "eni-0c",
        status: "in-use",
        subnet_id: "subnet-1",
        vpc_id: "vpc-1",
        private_ip_address: 10.0.2.11,
        mac_address: "0a:1b:2c:3d:4e:61",
        owner_id: "111122223333",
        source_dest_check: true,
        association: {
          public_ip: 3.3.3.4,
          ip_owner_id: "111122223333",
          allocation_id: "eipalloc-0b",
        },
      },
    ],
  }
  expect instance_public_ip_outside_production fails untagged_eni
}

test "a private dev instance, a public production instance and a terminated one pass" {
  given aws.ec2.instance dev_private {
    instance_id: "i-0devprivate",
    image_id: "ami-1",
    instance_type: "t3.micro",
    launch_time: 2026-01-01,
    state: { code: 16, name: "running" },
    placement: { availability_zone: "us-east-1a", tenancy: "default" },
    monitoring: { state: "disabled" },
    private_ip_address: 10.0.1.24,
    tags: { env: "dev" },
  }
  given aws.ec2.instance prod_public {
    instance_id: "i-0prodpublic2",
    image_id: "ami-1",
    instance_type: "m6i.large",
    launch_time: 2026-01-01,
    state: { code: 16, name: "running" },
    placement: { availability_zone: "us-east-1a", tenancy: "default" },
    monitoring: { state: "enabled" },
    public_ip_address: 54.12.34.59,
    tags: { env: "Prod" },
  }
  given aws.ec2.instance gone {
    instance_id: "i-0gone",
    image_id: "ami-1",
    instance_type: "t3.micro",
    launch_time: 2026-01-01,
    state: { code: 48, name: "terminated" },
    placement: { availability_zone: "us-east-1a", tenancy: "default" },
    monitoring: { state: "disabled" },
    public_ip_address: 54.12.34.60,
  }
  expect instance_public_ip_outside_production passes dev_private
  expect instance_public_ip_outside_production passes prod_public
  expect instance_public_ip_outside_production passes gone
}

test "a dev instance whose interfaces have no public association passes" {
  given aws.ec2.instance dev_eni_private {
    instance_id: "i-0deveniprivate",
    image_id: "ami-1",
    instance_type: "t3.micro",
    launch_time: 2026-01-01,
    state: { code: 16, name: "running" },
    placement: { availability_zone: "us-east-1a", tenancy: "default" },
    monitoring: { state: "disabled" },
    tags: { env: "test" },
    network_interfaces: [
      {
        network_interface_id: "eni-0d",
        status: "in-use",
        subnet_id: "subnet-1",
        vpc_id: "vpc-1",
        private_ip_address: 10.0.2.12,
        mac_address: "0a:1b:2c:3d:4e:62",
        owner_id: "111122223333",
        source_dest_check: true,
      },
    ],
  }
  expect instance_public_ip_outside_production passes dev_eni_private
}

/// An SSH key pair is a long-lived shared secret copied to laptops and CI
/// systems; SSM Session Manager or EC2 Instance Connect give audited,
/// per-person access instead.
policy instance_uses_key_pair {
  title "Instance was launched with an SSH key pair"
  description "A running or stopped instance has a key pair (key_name). Instances reached through SSM Session Manager or EC2 Instance Connect need none; break-glass instances can be excepted."
  severity low
  category security
  remediation "Launch replacements without a key pair (omit --key-name) and use SSM Session Manager (aws ssm start-session --target <instance-id>) or EC2 Instance Connect; remove the public key from ~/.ssh/authorized_keys on the running instance and delete the key pair (aws ec2 delete-key-pair)."
  tags ["ssm-session-manager"]

  rule on aws.ec2.instance {
    violation when (state?.name ?? "running") in ["running", "stopped"] and (key_name ?? "") != ""
    message "instance {id} ({instance_type}) accepts SSH with key pair {key_name}"
  }
}

test "a running instance with a key pair fails" {
  given aws.ec2.instance keyed {
    instance_id: "i-0keyed",
    image_id: "ami-1",
    instance_type: "t3.micro",
    launch_time: 2026-01-01,
    state: { code: 16, name: "running" },
    placement: { availability_zone: "us-east-1a", tenancy: "default" },
    monitoring: { state: "disabled" },
    key_name: "deploy-key",
  }
  expect instance_uses_key_pair fails keyed
}

test "an instance without a key pair passes, and so does a terminated one with a key" {
  given aws.ec2.instance keyless {
    instance_id: "i-0keyless",
    image_id: "ami-1",
    instance_type: "t3.micro",
    launch_time: 2026-01-01,
    state: { code: 16, name: "running" },
    placement: { availability_zone: "us-east-1a", tenancy: "default" },
    monitoring: { state: "disabled" },
  }
  given aws.ec2.instance terminated_keyed {
    instance_id: "i-0termkeyed",
    image_id: "ami-1",
    instance_type: "t3.micro",
    launch_time: 2026-01-01,
    state: { code: 48, name: "terminated" },
    placement: { availability_zone: "us-east-1a", tenancy: "default" },
    monitoring: { state: "disabled" },
    key_name: "old-key",
  }
  expect instance_uses_key_pair passes keyless
  expect instance_uses_key_pair passes terminated_keyed
}

// ---------------------------------------------------------------------------
// Lifecycle
// ---------------------------------------------------------------------------

/// A stopped instance costs nothing in compute but keeps its EBS volumes
/// and Elastic IPs billed, and its AMI and software age unpatched.
policy instance_stopped_too_long {
  title "Instance stopped for more than 30 days"
  description "The instance is `stopped` and has been for more than 30 days. EC2 reports the stop time only inside `state_transition_reason` (`User initiated (2026-01-15 10:00:00 GMT)`); when the reason carries no date, `launch_time` (the last start, so never later than the stop) stands in, which can report an instance stopped recently after a long run."
  severity low
  category cost
  remediation "Terminate the instance (after an AMI or snapshot if its state matters), or start it and tag its purpose."
  tags ["aws-fsbp:EC2.4", "pacbot:check-for-stopped-instance-for-long"]

  rule on aws.ec2.instance {
    let from_reason = stop_time_from_reason(state_transition_reason ?? "")
    let stopped_at = if has(from_reason) then from_reason else launch_time
    let stopped_days = in_days(now - (stopped_at ?? now))
    violation when
      (state?.name ?? "running") == "stopped" and has(stopped_at) and now - stopped_at > 30d
    message "{id} ({instance_type}) has been stopped since {stopped_at} ({stopped_days} days)"
  }

  autofix notify_only() notify tags["owner"] ?? "finops@example.com"
}

test "stop time is read from the transition reason" {
  now 2026-11-01
  given aws.ec2.instance long_stopped {
    instance_id: "i-0stopold",
    image_id: "ami-1",
    instance_type: "m5.xlarge",
    launch_time: 2026-10-20,
    state: { code: 80, name: "stopped" },
    placement: { availability_zone: "us-east-1a", tenancy: "default" },
    monitoring: { state: "disabled" },
    state_transition_reason: "User initiated (2026-08-01 10:00:00 GMT)",
  }
  given aws.ec2.instance recently_stopped {
    instance_id: "i-0stopnew",
    image_id: "ami-1",
    instance_type: "m5.xlarge",
    launch_time: 2025-01-01,
    state: { code: 80, name: "stopped" },
    placement: { availability_zone: "us-east-1a", tenancy: "default" },
    monitoring: { state: "disabled" },
    state_transition_reason: "User initiated (2026-10-25 18:30:00 GMT)",
  }
  expect instance_stopped_too_long fails long_stopped
  expect instance_stopped_too_long passes recently_stopped
}

test "without a date in the reason, launch_time stands in; running instances pass" {
  now 2026-11-01
  given aws.ec2.instance scheduled {
    instance_id: "i-0stopsched",
    image_id: "ami-1",
    instance_type: "m5.xlarge",
    launch_time: 2026-05-01,
    state: { code: 80, name: "stopped" },
    placement: { availability_zone: "us-east-1a", tenancy: "default" },
    monitoring: { state: "disabled" },
    state_transition_reason: "Server.ScheduledStop",
  }
  given aws.ec2.instance running {
    instance_id: "i-0running",
    image_id: "ami-1",
    instance_type: "m5.xlarge",
    launch_time: 2025-01-01,
    state: { code: 16, name: "running" },
    placement: { availability_zone: "us-east-1a", tenancy: "default" },
    monitoring: { state: "disabled" },
  }
  expect instance_stopped_too_long fails scheduled
  expect instance_stopped_too_long passes running
}

test "an instance that does not report its state or a stop time is not judged stopped" {
  now 2026-11-01
  given aws.ec2.instance stateless {
    instance_id: "i-0stopstateless",
    launch_time: 2025-01-01,
    state_transition_reason: "User initiated (2026-01-15 10:00:00 GMT)",
  }
  given aws.ec2.instance undated {
    instance_id: "i-0stopundated",
    state: { code: 80, name: "stopped" },
    state_transition_reason: "Server.ScheduledStop",
  }
  expect instance_stopped_too_long passes stateless
  expect instance_stopped_too_long passes undated
}

// ---------------------------------------------------------------------------
// Governance
// ---------------------------------------------------------------------------

/// Previous-generation families cost more per unit of performance, miss
/// Nitro security features, and are retired by AWS over time.
policy instance_deprecated_type {
  title "Instance uses a previous-generation (deprecated) instance type"
  description "The instance family (the part of `instance_type` before the dot) is in the previous-generation list: t1, m1-m4, c1, c3, c4, cc1, cc2, cg1, cr1, g2, hi1, hs1, i2, r3, r4."
  severity medium
  category governance
  remediation "Resize the instance to a current family (e.g. m4 → m7i or m7g, c4 → c7i, r4 → r7i, t1/t2 → t3); stop it, change the type, start it."
  tags ["pacbot:check-for-deprecated-instance-type"]

  rule on aws.ec2.instance {
    let family = instance_family(instance_type ?? "")
    violation when
      (state?.name ?? "running") != "terminated" and family in deprecated_instance_families()
    message "{id} uses {instance_type}: the {family} family is a previous generation"
  }
}

test "m4 and c3 fail, m7i passes" {
  given aws.ec2.instance m4 {
    instance_id: "i-0m4",
    image_id: "ami-1",
    instance_type: "m4.large",
    launch_time: 2026-01-01,
    state: { code: 16, name: "running" },
    placement: { availability_zone: "us-east-1a", tenancy: "default" },
    monitoring: { state: "disabled" },
  }
  given aws.ec2.instance c3 {
    instance_id: "i-0c3",
    image_id: "ami-1",
    instance_type: "c3.2xlarge",
    launch_time: 2026-01-01,
    state: { code: 80, name: "stopped" },
    placement: { availability_zone: "us-east-1a", tenancy: "default" },
    monitoring: { state: "disabled" },
  }
  given aws.ec2.instance m7i {
    instance_id: "i-0m7i",
    image_id: "ami-1",
    instance_type: "m7i.large",
    launch_time: 2026-01-01,
    state: { code: 16, name: "running" },
    placement: { availability_zone: "us-east-1a", tenancy: "default" },
    monitoring: { state: "disabled" },
  }
  expect instance_deprecated_type fails m4
  expect instance_deprecated_type fails c3
  expect instance_deprecated_type passes m7i
}

/// Resources outside the regions the organisation operates in escape its
/// guardrails, monitoring and data-residency commitments (often a sign of
/// compromised credentials mining crypto).
policy ec2_unapproved_region {
  title "EC2 resource in a non-approved region"
  description "The resource's region is not in `approved_regions()` (us-east-1, us-east-2, us-west-2, eu-west-1, eu-central-1 as shipped; edit the function for your organisation). Applies to instances (not terminated), volumes, snapshots, AMIs, Elastic IPs, network interfaces, security groups, subnets and VPCs; the default VPC, its default subnets and `default` security groups that AWS creates in every region are left out (the instance, interface and address rules catch a workload launched into them)."
  severity medium
  category governance
  remediation "Move the workload to an approved region, or delete it; block other regions with an SCP (aws:RequestedRegion)."
  tags ["pacbot:check-for-non-standard-region-rule"]

  rule instances on aws.ec2.instance {
    violation when (state?.name ?? "running") != "terminated" and region not in approved_regions()
    message "instance {id} ({instance_type}) runs in {region}, which is not an approved region"
  }
  rule volumes on aws.ec2.volume {
    violation when region not in approved_regions()
    message "volume {id} ({size} GiB) is in {region}, which is not an approved region"
  }
  rule snapshots on aws.ec2.snapshot {
    violation when region not in approved_regions()
    message "snapshot {id} is in {region}, which is not an approved region"
  }
  rule images on aws.ec2.image {
    violation when region not in approved_regions()
    message "AMI {id} ({name}) is in {region}, which is not an approved region"
  }
  rule addresses on aws.ec2.address {
    violation when region not in approved_regions()
    message "Elastic IP {public_ip} ({id}) is in {region}, which is not an approved region"
  }
  rule network_interfaces on aws.ec2.network_interface {
    violation when region not in approved_regions()
    message "network interface {id} ({interface_type}, VPC {vpc_id}) is in {region}, which is not an approved region"
  }
  rule security_groups on aws.ec2.security_group {
    violation when (group_name ?? "") != "default" and region not in approved_regions()
    message "security group {id} ({group_name}) is in {region}, which is not an approved region"
  }
  rule subnets on aws.ec2.subnet {
    violation when not (default_for_az ?? false) and region not in approved_regions()
    message "subnet {id} ({cidr_block}, VPC {vpc_id}) is in {region}, which is not an approved region"
  }
  rule vpcs on aws.ec2.vpc {
    violation when not (is_default ?? false) and region not in approved_regions()
    message "VPC {id} ({cidr_block}) is in {region}, which is not an approved region"
  }
}

test "an instance and a volume in ap-southeast-3 fail; us-east-1 passes" {
  given aws.ec2.instance far {
    region: "ap-southeast-3",
    instance_id: "i-0far",
    image_id: "ami-1",
    instance_type: "c7i.24xlarge",
    launch_time: 2026-01-01,
    state: { code: 16, name: "running" },
    placement: { availability_zone: "ap-southeast-3a", tenancy: "default" },
    monitoring: { state: "disabled" },
  }
  given aws.ec2.volume far_vol {
    region: "ap-southeast-3",
    volume_id: "vol-0far",
    size: 8,
    volume_type: "gp3",
    state: "in-use",
    availability_zone: "ap-southeast-3a",
    create_time: 2026-01-01,
    encrypted: true,
  }
  given aws.ec2.instance home {
    instance_id: "i-0home",
    image_id: "ami-1",
    instance_type: "t3.micro",
    launch_time: 2026-01-01,
    state: { code: 16, name: "running" },
    placement: { availability_zone: "us-east-1a", tenancy: "default" },
    monitoring: { state: "disabled" },
  }
  expect ec2_unapproved_region.instances fails far
  expect ec2_unapproved_region.volumes fails far_vol
  expect ec2_unapproved_region passes home
}

test "an Elastic IP in sa-east-1 fails; one in eu-west-1 passes" {
  given aws.ec2.address far_eip {
    region: "sa-east-1",
    public_ip: 18.228.1.10,
    allocation_id: "eipalloc-0far",
    domain: "vpc",
  }
  given aws.ec2.address home_eip {
    region: "eu-west-1",
    public_ip: 54.72.1.10,
    allocation_id: "eipalloc-0home",
    domain: "vpc",
  }
  expect ec2_unapproved_region.addresses fails far_eip
  expect ec2_unapproved_region.addresses passes home_eip
}

test "a network interface in ap-southeast-3 fails; one in us-east-2 passes" {
  given aws.ec2.network_interface far_eni {
    region: "ap-southeast-3",
    network_interface_id: "eni-0far",
    interface_type: "interface",
    status: "in-use",
    subnet_id: "subnet-0far",
    vpc_id: "vpc-0far",
    availability_zone: "ap-southeast-3a",
    private_ip_address: 10.9.0.12,
    mac_address: "0a:1b:2c:3d:4e:5f",
    owner_id: "111122223333",
    requester_managed: false,
    source_dest_check: true,
  }
  given aws.ec2.network_interface home_eni {
    region: "us-east-2",
    network_interface_id: "eni-0home",
    interface_type: "interface",
    status: "in-use",
    subnet_id: "subnet-0home",
    vpc_id: "vpc-0home",
    availability_zone: "us-east-2a",
    private_ip_address: 10.1.0.12,
    mac_address: "0a:1b:2c:3d:4e:60",
    owner_id: "111122223333",
    requester_managed: false,
    source_dest_check: true,
  }
  expect ec2_unapproved_region.network_interfaces fails far_eni
  expect ec2_unapproved_region.network_interfaces passes home_eni
}

test "a custom security group in ap-southeast-3 fails; the default group there and a group in us-west-2 pass" {
  given aws.ec2.security_group far_sg {
    region: "ap-southeast-3",
    group_id: "sg-0far",
    group_name: "miner",
    owner_id: "111122223333",
  }
  given aws.ec2.security_group far_default_sg {
    region: "ap-southeast-3",
    group_id: "sg-0fardefault",
    group_name: "default",
    owner_id: "111122223333",
  }
  given aws.ec2.security_group home_sg {
    region: "us-west-2",
    group_id: "sg-0home",
    group_name: "web",
    owner_id: "111122223333",
  }
  expect ec2_unapproved_region.security_groups fails far_sg
  expect ec2_unapproved_region.security_groups passes far_default_sg
  expect ec2_unapproved_region.security_groups passes home_sg
}

test "a custom subnet in ap-southeast-3 fails; a default subnet there and a subnet in us-east-1 pass" {
  given aws.ec2.subnet far_subnet {
    region: "ap-southeast-3",
    subnet_id: "subnet-0far",
    subnet_arn: "arn:aws:ec2:ap-southeast-3:111122223333:subnet/subnet-0far",
    vpc_id: "vpc-0far",
    owner_id: "111122223333",
    cidr_block: 10.9.1.0/24,
    availability_zone: "ap-southeast-3a",
    availability_zone_id: "apse3-az1",
    state: "available",
    available_ip_address_count: 250,
    default_for_az: false,
    map_public_ip_on_launch: false,
    assign_ipv6_address_on_creation: false,
  }
  given aws.ec2.subnet far_default_subnet {
    region: "ap-southeast-3",
    subnet_id: "subnet-0fardefault",
    subnet_arn: "arn:aws:ec2:ap-southeast-3:111122223333:subnet/subnet-0fardefault",
    vpc_id: "vpc-0fardefault",
    owner_id: "111122223333",
    cidr_block: 172.31.0.0/20,
    availability_zone: "ap-southeast-3a",
    availability_zone_id: "apse3-az1",
    state: "available",
    available_ip_address_count: 4091,
    default_for_az: true,
    map_public_ip_on_launch: true,
    assign_ipv6_address_on_creation: false,
  }
  given aws.ec2.subnet home_subnet {
    subnet_id: "subnet-0home",
    subnet_arn: "arn:aws:ec2:us-east-1:111122223333:subnet/subnet-0home",
    vpc_id: "vpc-0home",
    owner_id: "111122223333",
    cidr_block: 10.1.1.0/24,
    availability_zone: "us-east-1a",
    availability_zone_id: "use1-az1",
    state: "available",
    available_ip_address_count: 250,
    default_for_az: false,
    map_public_ip_on_launch: false,
    assign_ipv6_address_on_creation: false,
  }
  expect ec2_unapproved_region.subnets fails far_subnet
  expect ec2_unapproved_region.subnets passes far_default_subnet
  expect ec2_unapproved_region.subnets passes home_subnet
}

test "a custom VPC in ap-southeast-3 fails; the default VPC there and a VPC in eu-central-1 pass" {
  given aws.ec2.vpc far_vpc {
    region: "ap-southeast-3",
    vpc_id: "vpc-0far",
    cidr_block: 10.9.0.0/16,
    state: "available",
    owner_id: "111122223333",
    is_default: false,
    instance_tenancy: "default",
  }
  given aws.ec2.vpc far_default_vpc {
    region: "ap-southeast-3",
    vpc_id: "vpc-0fardefault",
    cidr_block: 172.31.0.0/16,
    state: "available",
    owner_id: "111122223333",
    is_default: true,
    instance_tenancy: "default",
  }
  given aws.ec2.vpc home_vpc {
    region: "eu-central-1",
    vpc_id: "vpc-0home",
    cidr_block: 10.1.0.0/16,
    state: "available",
    owner_id: "111122223333",
    is_default: false,
    instance_tenancy: "default",
  }
  expect ec2_unapproved_region.vpcs fails far_vpc
  expect ec2_unapproved_region.vpcs passes far_default_vpc
  expect ec2_unapproved_region.vpcs passes home_vpc
}

/// The default VPC has public subnets, default routes to the internet and
/// an all-open default NACL; workloads belong in VPCs designed for them.
policy instance_in_default_vpc {
  title "Instance runs in a default VPC"
  description "The instance's VPC is a default VPC (`is_default` on the matching aws.ec2.vpc resource). A cross-resource check: instances whose VPC is not in the inventory pass."
  severity low
  category governance
  remediation "Relaunch the instance in a purpose-built VPC with private subnets; then delete the default VPCs."
  tags ["vpc-hygiene"]

  rule on aws.ec2.instance {
    let vpc = vpc_id ?? ""
    violation when
      (state?.name ?? "running") != "terminated"
      and any v in aws.ec2.vpc: v.id == vpc and (v.is_default ?? false)
    message "{id} ({instance_type}) runs in the default VPC {vpc}"
  }
}

test "an instance in the default VPC fails, one in a custom VPC passes" {
  given aws.ec2.vpc default_vpc {
    id: "vpc-0default",
    vpc_id: "vpc-0default",
    cidr_block: 172.31.0.0/16,
    state: "available",
    owner_id: "111122223333",
    is_default: true,
    instance_tenancy: "default",
  }
  given aws.ec2.vpc app_vpc {
    id: "vpc-0app",
    vpc_id: "vpc-0app",
    cidr_block: 10.10.0.0/16,
    state: "available",
    owner_id: "111122223333",
    is_default: false,
    instance_tenancy: "default",
  }
  given aws.ec2.instance in_default {
    instance_id: "i-0indefault",
    image_id: "ami-1",
    instance_type: "t3.micro",
    vpc_id: "vpc-0default",
    launch_time: 2026-01-01,
    state: { code: 16, name: "running" },
    placement: { availability_zone: "us-east-1a", tenancy: "default" },
    monitoring: { state: "disabled" },
  }
  given aws.ec2.instance in_app {
    instance_id: "i-0inapp",
    image_id: "ami-1",
    instance_type: "t3.micro",
    vpc_id: "vpc-0app",
    launch_time: 2026-01-01,
    state: { code: 16, name: "running" },
    placement: { availability_zone: "us-east-1a", tenancy: "default" },
    monitoring: { state: "disabled" },
  }
  expect instance_in_default_vpc fails in_default
  expect instance_in_default_vpc passes in_app
}

// ---------------------------------------------------------------------------
// Key pairs
// ---------------------------------------------------------------------------

/// SSH key pairs are long-lived shared credentials; rotate them yearly (or
/// stop using them in favour of SSM or EC2 Instance Connect).
policy key_pair_older_than_one_year {
  title "EC2 key pair older than 365 days"
  description "The key pair was created or imported more than 365 days ago. Key pairs whose creation time is not reported (older inventories) pass."
  severity low
  category security
  remediation "Create a new key pair, roll it out to the instances' authorized_keys (or switch to SSM Session Manager / EC2 Instance Connect), then delete the old key pair."
  tags ["key-rotation"]

  rule on aws.ec2.key_pair {
    violation when has(create_time) and older_than(create_time, 365d)
    message "key pair {key_name} ({id}, {key_type}) was created {create_time}, more than a year ago"
  }

  autofix notify_only() after 0s notify tags["owner"] ?? "secops@example.com"
}

test "a two-year-old key pair fails; a recent one and one without a creation time pass" {
  now 2026-11-01
  given aws.ec2.key_pair old {
    key_pair_id: "key-0old",
    key_name: "deploy-2024",
    key_type: "rsa",
    key_fingerprint: "1f:51:ae:28:bf:89:e9:d8:1f:25:5d:37:2d:7d:b8:ca:9f:f5:f1:6f",
    create_time: 2024-09-01,
  }
  given aws.ec2.key_pair recent {
    key_pair_id: "key-0new",
    key_name: "deploy-2026",
    key_type: "ed25519",
    key_fingerprint: "SHA256:abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
    create_time: 2026-06-01,
  }
  given aws.ec2.key_pair undated {
    key_pair_id: "key-0undated",
    key_name: "legacy",
    key_type: "rsa",
    key_fingerprint: "aa:bb:cc",
  }
  expect key_pair_older_than_one_year fails old
  expect key_pair_older_than_one_year passes recent
  expect key_pair_older_than_one_year passes undated
}

/// A key pair no instance uses is a credential kept for nothing: whoever
/// holds the private key can still launch (or be given) an instance with
/// it.
policy key_pair_unused {
  title "EC2 key pair is not used by any instance"
  description "No running or stopped aws.ec2.instance of the same account and region was launched with the key pair (key_name). A cross-resource check; launch templates that name the key are not collected."
  severity low
  category security
  remediation "Check no launch template or Auto Scaling group names the key, then delete it: aws ec2 delete-key-pair --key-pair-id <id>."
  tags ["key-rotation"]

  rule on aws.ec2.key_pair {
    violation when
      has(key_name)
      and none i in aws.ec2.instance:
            has(i.key_name)
            and i.key_name == key_name
            and i.account == account
            and i.region == region
            and (i.state?.name ?? "running") in ["running", "stopped"]
    message "key pair {key_name} ({id}) is used by no instance in {region}"
  }

  autofix notify_only() notify tags["owner"] ?? "secops@example.com"
}

test "a key pair no instance uses fails, and so does one used only by a terminated instance" {
  given aws.ec2.key_pair spare_key {
    key_pair_id: "key-0spare",
    key_name: "spare",
    key_type: "ed25519",
    key_fingerprint: "SHA256:spare",
  }
  given aws.ec2.key_pair retired_key {
    key_pair_id: "key-0retired",
    key_name: "retired",
    key_type: "rsa",
    key_fingerprint: "aa:bb:cc:dd",
  }
  given aws.ec2.instance retired_user {
    instance_id: "i-0retireduser",
    image_id: "ami-1",
    instance_type: "t3.micro",
    launch_time: 2026-01-01,
    state: { code: 48, name: "terminated" },
    placement: { availability_zone: "us-east-1a", tenancy: "default" },
    monitoring: { state: "disabled" },
    key_name: "retired",
  }
  expect key_pair_unused fails spare_key
  expect key_pair_unused fails retired_key
}

test "a key pair a running instance uses passes" {
  given aws.ec2.key_pair used_key {
    key_pair_id: "key-0used",
    key_name: "deploy",
    key_type: "ed25519",
    key_fingerprint: "SHA256:used",
  }
  given aws.ec2.instance user {
    instance_id: "i-0keyuser",
    image_id: "ami-1",
    instance_type: "t3.micro",
    launch_time: 2026-01-01,
    state: { code: 16, name: "running" },
    placement: { availability_zone: "us-east-1a", tenancy: "default" },
    monitoring: { state: "disabled" },
    key_name: "deploy",
  }
  expect key_pair_unused passes used_key
}

test "an instance that does not report its state still uses its key pair; a key pair without a name is not judged" {
  given aws.ec2.key_pair used_key { key_pair_id: "key-0used", key_name: "deploy" }
  given aws.ec2.key_pair nameless { key_pair_id: "key-0nameless" }
  given aws.ec2.instance user { instance_id: "i-0keyuser", key_name: "deploy" }
  expect key_pair_unused passes used_key
  expect key_pair_unused passes nameless
}

test "an instance in another region does not use the key pair of this one" {
  given aws.ec2.key_pair east_key {
    key_pair_id: "key-0east",
    key_name: "deploy",
    key_type: "ed25519",
    key_fingerprint: "SHA256:east",
  }
  given aws.ec2.instance west_user {
    region: "us-west-2",
    instance_id: "i-0westuser",
    image_id: "ami-1",
    instance_type: "t3.micro",
    launch_time: 2026-01-01,
    state: { code: 16, name: "running" },
    placement: { availability_zone: "us-east-1a", tenancy: "default" },
    monitoring: { state: "disabled" },
    key_name: "deploy",
  }
  expect key_pair_unused fails east_key
}

test "instances without a key, with another key or in another account do not use the key pair" {
  given aws.ec2.key_pair lonely_key {
    key_pair_id: "key-0lonely",
    key_name: "lonely",
    key_type: "ed25519",
    key_fingerprint: "SHA256:lonely",
  }
  given aws.ec2.instance no_key {
    instance_id: "i-0nokey",
    image_id: "ami-1",
    instance_type: "t3.micro",
    launch_time: 2026-01-01,
    state: { code: 16, name: "running" },
    placement: { availability_zone: "us-east-1a", tenancy: "default" },
    monitoring: { state: "disabled" },
  }
  given aws.ec2.instance other_key {
    instance_id: "i-0otherkey",
    image_id: "ami-1",
    instance_type: "t3.micro",
    launch_time: 2026-01-01,
    state: { code: 16, name: "running" },
    placement: { availability_zone: "us-east-1a", tenancy: "default" },
    monitoring: { state: "disabled" },
    key_name: "other",
  }
  given aws.ec2.instance other_account {
    account: "444455556666",
    instance_id: "i-0otheraccount",
    image_id: "ami-1",
    instance_type: "t3.micro",
    launch_time: 2026-01-01,
    state: { code: 16, name: "running" },
    placement: { availability_zone: "us-east-1a", tenancy: "default" },
    monitoring: { state: "disabled" },
    key_name: "lonely",
  }
  expect key_pair_unused fails lonely_key
}

test "a key pair a stopped instance uses passes" {
  given aws.ec2.key_pair parked_key {
    key_pair_id: "key-0parked",
    key_name: "parked",
    key_type: "rsa",
    key_fingerprint: "aa:bb:cc:ee",
  }
  given aws.ec2.instance parked {
    instance_id: "i-0parked",
    image_id: "ami-1",
    instance_type: "t3.micro",
    launch_time: 2026-01-01,
    state: { code: 80, name: "stopped" },
    placement: { availability_zone: "us-east-1a", tenancy: "default" },
    monitoring: { state: "disabled" },
    key_name: "parked",
  }
  expect key_pair_unused passes parked_key
}

/// An AMI is deprecated when its owner decides it should no longer be
/// launched (old patches, a retired base image); instances still running
/// it carry whatever made it obsolete.
policy instance_on_deprecated_ami {
  title "Instance runs an AMI its owner has deprecated"
  description "A running or stopped instance's image_id is an aws.ec2.image of the inventory (the account's own AMIs) whose deprecation_time has passed. AMIs of other owners (AWS, Marketplace) are not collected and not judged."
  severity medium
  category security
  remediation "Rebuild the instance (or its Auto Scaling group's launch template) from the current AMI, then terminate the old instance."
  tags ["golden-ami"]

  rule on aws.ec2.instance {
    violation when
      (state?.name ?? "running") in ["running", "stopped"]
      and has(image_id)
      and any img in aws.ec2.image:
            img.id == image_id and has(img.deprecation_time) and img.deprecation_time < now
    message "instance {id} ({instance_type}) runs AMI {image_id}, which is deprecated"
  }
}

test "an instance on a deprecated AMI fails" {
  now 2026-12-01
  given aws.ec2.image old_ami {
    id: "ami-0old",
    image_id: "ami-0old",
    name: "base-2025-01",
    state: "available",
    owner_id: "111122223333",
    creation_date: 2025-01-10,
    public: false,
    architecture: "x86_64",
    image_type: "machine",
    root_device_type: "ebs",
    deprecation_time: 2026-01-10,
  }
  given aws.ec2.instance on_old {
    instance_id: "i-0onold",
    image_id: "ami-0old",
    instance_type: "t3.micro",
    launch_time: 2026-01-01,
    state: { code: 16, name: "running" },
    placement: { availability_zone: "us-east-1a", tenancy: "default" },
    monitoring: { state: "disabled" },
  }
  expect instance_on_deprecated_ami fails on_old
}

test "an instance that does not report its AMI is not judged" {
  now 2026-12-01
  given aws.ec2.image old_ami {
    id: "ami-0old",
    image_id: "ami-0old",
    state: "available",
    deprecation_time: 2026-01-10,
  }
  given aws.ec2.instance no_ami { instance_id: "i-0noami", state: { code: 16, name: "running" } }
  expect instance_on_deprecated_ami passes no_ami
}

test "a terminated instance on a deprecated AMI passes" {
  now 2026-12-01
  given aws.ec2.image retired_ami {
    id: "ami-0retired",
    image_id: "ami-0retired",
    name: "base-2024-01",
    state: "available",
    owner_id: "111122223333",
    creation_date: 2024-01-10,
    public: false,
    architecture: "x86_64",
    image_type: "machine",
    root_device_type: "ebs",
    deprecation_time: 2025-01-10,
  }
  given aws.ec2.instance ended {
    instance_id: "i-0ended",
    image_id: "ami-0retired",
    instance_type: "t3.micro",
    launch_time: 2026-01-01,
    state: { code: 48, name: "terminated" },
    placement: { availability_zone: "us-east-1a", tenancy: "default" },
    monitoring: { state: "disabled" },
  }
  expect instance_on_deprecated_ami passes ended
}

test "instances on a current AMI, on an AMI deprecated later, or on an AMI outside the inventory pass" {
  now 2026-12-01
  given aws.ec2.image current_ami {
    id: "ami-0current",
    image_id: "ami-0current",
    name: "base-2026-11",
    state: "available",
    owner_id: "111122223333",
    creation_date: 2026-11-10,
    public: false,
    architecture: "x86_64",
    image_type: "machine",
    root_device_type: "ebs",
  }
  given aws.ec2.image scheduled_ami {
    id: "ami-0scheduled",
    image_id: "ami-0scheduled",
    name: "base-2026-06",
    state: "available",
    owner_id: "111122223333",
    creation_date: 2026-06-10,
    public: false,
    architecture: "x86_64",
    image_type: "machine",
    root_device_type: "ebs",
    deprecation_time: 2027-06-10,
  }
  given aws.ec2.instance on_current {
    instance_id: "i-0oncurrent",
    image_id: "ami-0current",
    instance_type: "t3.micro",
    launch_time: 2026-01-01,
    state: { code: 16, name: "running" },
    placement: { availability_zone: "us-east-1a", tenancy: "default" },
    monitoring: { state: "disabled" },
  }
  given aws.ec2.instance on_scheduled {
    instance_id: "i-0onscheduled",
    image_id: "ami-0scheduled",
    instance_type: "t3.micro",
    launch_time: 2026-01-01,
    state: { code: 16, name: "running" },
    placement: { availability_zone: "us-east-1a", tenancy: "default" },
    monitoring: { state: "disabled" },
  }
  given aws.ec2.instance on_amazon {
    instance_id: "i-0onamazon",
    image_id: "ami-0amazonlinux",
    instance_type: "t3.micro",
    launch_time: 2026-01-01,
    state: { code: 16, name: "running" },
    placement: { availability_zone: "us-east-1a", tenancy: "default" },
    monitoring: { state: "disabled" },
  }
  expect instance_on_deprecated_ami passes on_current
  expect instance_on_deprecated_ami passes on_scheduled
  expect instance_on_deprecated_ami passes on_amazon
}
