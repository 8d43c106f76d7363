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
    violation when
      state.name != "terminated"
      and (metadata_options?.http_endpoint ?? "enabled") == "enabled"
      and not requires_imdsv2(self)
    message "{instance_id} ({instance_type}, {state.name}) accepts IMDSv1: http_tokens is {tokens}"
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
    message "production instance {instance_id} ({instance_type}, subnet {subnet_id}) has a public IPv4 address: primary {public_ip_address}, {public_enis} interface(s) with a public association"
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
    let stopped_at = stop_time_from_reason(state_transition_reason ?? "") ?? launch_time
    let stopped_days = in_days(now - stopped_at)
    violation when state.name == "stopped" and now - stopped_at > 30d
    message "{instance_id} ({instance_type}) has been stopped since {stopped_at} ({stopped_days} days)"
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
    let family = instance_family(instance_type)
    violation when state.name != "terminated" and family in deprecated_instance_families()
    message "{instance_id} uses {instance_type}: the {family} family is a previous generation"
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
  description "The resource's region is not in `approved_regions()` (us-east-1, us-east-2, us-west-2, eu-west-1, eu-central-1 as shipped; edit the function for your organisation)."
  severity medium
  category governance
  remediation "Move the workload to an approved region, or delete it; block other regions with an SCP (aws:RequestedRegion)."
  tags ["pacbot:check-for-non-standard-region-rule"]

  rule instances on aws.ec2.instance {
    violation when state.name != "terminated" and region not in approved_regions()
    message "instance {instance_id} ({instance_type}) runs in {region}, which is not an approved region"
  }
  rule volumes on aws.ec2.volume {
    violation when region not in approved_regions()
    message "volume {volume_id} ({size} GiB) is in {region}, which is not an approved region"
  }
  rule snapshots on aws.ec2.snapshot {
    violation when region not in approved_regions()
    message "snapshot {snapshot_id} is in {region}, which is not an approved region"
  }
  rule images on aws.ec2.image {
    violation when region not in approved_regions()
    message "AMI {image_id} ({name}) is in {region}, which is not an approved region"
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
      state.name != "terminated" and any v in aws.ec2.vpc: v.vpc_id == vpc and v.is_default
    message "{instance_id} ({instance_type}) runs in the default VPC {vpc}"
  }
}

test "an instance in the default VPC fails, one in a custom VPC passes" {
  given aws.ec2.vpc default_vpc {
    vpc_id: "vpc-0default",
    cidr_block: 172.31.0.0/16,
    state: "available",
    owner_id: "111122223333",
    is_default: true,
    instance_tenancy: "default",
  }
  given aws.ec2.vpc app_vpc {
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
    message "key pair {key_name} ({key_pair_id}, {key_type}) was created {create_time}, more than a year ago"
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
