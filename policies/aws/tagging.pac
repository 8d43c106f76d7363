package policies.aws.tagging

// The tagging standard and the asset groups built on tags. Each policy's
// tests follow it.
//
// The standard: every production instance carries `owner`, `cost-center`,
// `app`; every volume, snapshot and bucket, and every security group,
// subnet and VPC carries `owner` and `cost-center`; `env` takes one of a fixed set of
// values. Tag keys are case-sensitive, as in AWS.

// ---------------------------------------------------------------------------
// Asset groups
// ---------------------------------------------------------------------------

/// Production resources: those tagged `env=prod` or `env=production` (any
/// case). Terminated instances are left out.
group production {
  title "Production workloads"
  aws.ec2.instance where (state?.name ?? "running") != "terminated" and is_production_env(tags)
  aws.ec2.volume where is_production_env(tags)
  aws.ec2.snapshot where is_production_env(tags)
  aws.ec2.security_group where is_production_env(tags)
  aws.s3.bucket where is_production_env(tags)
}

/// Sandbox resources: tagged `env=sandbox`. Used by the sticky exception
/// below and by reports.
group sandbox_resources {
  title "Sandbox"
  aws.ec2.instance where (tags["env"] ?? "") == "sandbox"
  aws.ec2.volume where (tags["env"] ?? "") == "sandbox"
  aws.ec2.snapshot where (tags["env"] ?? "") == "sandbox"
  aws.s3.bucket where (tags["env"] ?? "") == "sandbox"
}

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// True when the `env` tag says production (`prod` or `production`, any case).
fn is_production_env(tags: map<string>) -> bool = lower(tags["env"] ?? "") in ["prod", "production"]

/// The tags every production instance must carry, with a non-empty value.
fn instance_mandatory_tags() -> list<string> = ["owner", "cost-center", "app"]

/// The tags every volume, snapshot and bucket must carry, with a non-empty value.
fn storage_mandatory_tags() -> list<string> = ["owner", "cost-center"]

/// The tags every security group, subnet and VPC must carry, with a non-empty value.
fn network_mandatory_tags() -> list<string> = ["owner", "cost-center"]

/// The allowed values of the `env` tag.
fn allowed_env_values() -> list<string> = [
  "prod",
  "production",
  "staging",
  "test",
  "dev",
  "sandbox",
]

// ---------------------------------------------------------------------------
// Policies
// ---------------------------------------------------------------------------

/// Without owner and cost-center tags nobody can be paged for a production
/// incident and nobody pays for the instance.
policy instance_mandatory_tags {
  title "Production instance lacks mandatory tags"
  description "A production instance (asset group `production`) lacks one of the tags owner, cost-center, app, or has it empty."
  severity medium
  category tagging
  remediation "Add the missing tags to the instance (and to its launch template or Auto Scaling group so that replacements inherit them)."
  tags ["pacbot:check-for-missing-mandatory-tags", "tagging-standard"]

  rule on aws.ec2.instance in production {
    let missing = missing_keys(tags, instance_mandatory_tags())
    let empty = count k in instance_mandatory_tags(): (tags[k] ?? "absent") == ""
    violation when not has_all_tags(tags, instance_mandatory_tags())
    message "production instance {id} ({instance_type}) lacks mandatory tags: absent {missing}, {empty} present but empty"
  }

  autofix notify_only() after 0s notify tags["owner"] ?? "cloud-governance@example.com"
}

test "a production instance without cost-center fails; a fully tagged one passes" {
  given aws.ec2.instance partial {
    instance_id: "i-0partial",
    image_id: "ami-1",
    instance_type: "m6i.large",
    launch_time: 2026-01-01,
    state: { code: 16, name: "running" },
    placement: { availability_zone: "us-east-1a", tenancy: "default" },
    monitoring: { state: "enabled" },
    tags: { env: "prod", owner: "payments@example.com", app: "checkout" },
  }
  given aws.ec2.instance complete {
    instance_id: "i-0complete",
    image_id: "ami-1",
    instance_type: "m6i.large",
    launch_time: 2026-01-01,
    state: { code: 16, name: "running" },
    placement: { availability_zone: "us-east-1a", tenancy: "default" },
    monitoring: { state: "enabled" },
    tags: {
      env: "Production",
      owner: "payments@example.com",
      "cost-center": "CC-1042",
      app: "checkout",
    },
  }
  expect instance_mandatory_tags fails partial
  expect instance_mandatory_tags passes complete
  expect production contains partial
  expect production contains complete
}

test "an empty tag value is missing; non-production instances are outside the group" {
  given aws.ec2.instance empty_owner {
    instance_id: "i-0emptyowner",
    image_id: "ami-1",
    instance_type: "m6i.large",
    launch_time: 2026-01-01,
    state: { code: 16, name: "running" },
    placement: { availability_zone: "us-east-1a", tenancy: "default" },
    monitoring: { state: "enabled" },
    tags: { env: "prod", owner: "", "cost-center": "CC-1042", app: "checkout" },
  }
  given aws.ec2.instance staging {
    instance_id: "i-0staging",
    image_id: "ami-1",
    instance_type: "t3.small",
    launch_time: 2026-01-01,
    state: { code: 16, name: "running" },
    placement: { availability_zone: "us-east-1a", tenancy: "default" },
    monitoring: { state: "disabled" },
    tags: { env: "staging" },
  }
  given aws.ec2.instance terminated {
    instance_id: "i-0terminated",
    image_id: "ami-1",
    instance_type: "t3.small",
    launch_time: 2026-01-01,
    state: { code: 48, name: "terminated" },
    placement: { availability_zone: "us-east-1a", tenancy: "default" },
    monitoring: { state: "disabled" },
    tags: { env: "prod" },
  }
  expect instance_mandatory_tags fails empty_owner
  expect production excludes staging
  expect production excludes terminated
}

/// Volumes, snapshots and buckets outlive the instances and applications
/// that created them; untagged storage is the largest source of orphaned
/// spend.
policy storage_mandatory_tags {
  title "Volume, snapshot or bucket lacks owner or cost-center tags"
  description "An EBS volume, EBS snapshot or S3 bucket lacks the `owner` or `cost-center` tag, or has it empty."
  severity low
  category tagging
  remediation "Tag the resource with owner and cost-center; for volumes, enable tag propagation from the instance (launch template TagSpecifications), for snapshots, copy tags in AWS Backup / DLM."
  tags [
    "pacbot:check-for-missing-mandatory-tags",
    "pacbot:check-for-unused-or-untagged-ebs-rule",
    "tagging-standard",
  ]

  rule volumes on aws.ec2.volume {
    let missing = missing_keys(tags, storage_mandatory_tags())
    let empty = count k in storage_mandatory_tags(): (tags[k] ?? "absent") == ""
    violation when not has_all_tags(tags, storage_mandatory_tags())
    message "volume {id} ({size} GiB, {state}) lacks mandatory tags: absent {missing}, {empty} present but empty"
  }
  rule snapshots on aws.ec2.snapshot {
    let missing = missing_keys(tags, storage_mandatory_tags())
    let empty = count k in storage_mandatory_tags(): (tags[k] ?? "absent") == ""
    violation when not has_all_tags(tags, storage_mandatory_tags())
    message "snapshot {id} (from {volume_id}) lacks mandatory tags: absent {missing}, {empty} present but empty"
  }
  rule buckets on aws.s3.bucket {
    let missing = missing_keys(tags, storage_mandatory_tags())
    let empty = count k in storage_mandatory_tags(): (tags[k] ?? "absent") == ""
    violation when not has_all_tags(tags, storage_mandatory_tags())
    message "bucket {name} lacks mandatory tags: absent {missing}, {empty} present but empty"
  }

  autofix notify_only() notify tags["owner"] ?? "finops@example.com"
}

test "an untagged volume and snapshot fail; tagged ones pass" {
  given aws.ec2.volume bare {
    volume_id: "vol-0bare",
    size: 100,
    volume_type: "gp3",
    state: "in-use",
    availability_zone: "us-east-1a",
    create_time: 2026-01-01,
    encrypted: true,
  }
  given aws.ec2.volume tagged {
    volume_id: "vol-0tagged",
    size: 100,
    volume_type: "gp3",
    state: "in-use",
    availability_zone: "us-east-1a",
    create_time: 2026-01-01,
    encrypted: true,
    tags: { owner: "data@example.com", "cost-center": "CC-7" },
  }
  given aws.ec2.snapshot bare_snap {
    snapshot_id: "snap-0bare",
    volume_id: "vol-0bare",
    volume_size: 100,
    state: "completed",
    start_time: 2026-02-01,
    owner_id: "111122223333",
    encrypted: true,
    tags: { owner: "data@example.com" },
  }
  given aws.ec2.snapshot tagged_snap {
    snapshot_id: "snap-0tagged",
    volume_id: "vol-0tagged",
    volume_size: 100,
    state: "completed",
    start_time: 2026-02-01,
    owner_id: "111122223333",
    encrypted: true,
    tags: { owner: "data@example.com", "cost-center": "CC-7" },
  }
  expect storage_mandatory_tags.volumes fails bare
  expect storage_mandatory_tags.volumes passes tagged
  expect storage_mandatory_tags.snapshots fails bare_snap
  expect storage_mandatory_tags passes tagged_snap
}

test "a bucket without cost-center fails" {
  given aws.s3.bucket logs {
    name: "acme-untagged-logs",
    creation_date: 2025-05-01,
    acl: { owner: { id: "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be" } },
    versioning: {},
    tags: { owner: "platform@example.com" },
  }
  expect storage_mandatory_tags.buckets fails logs
}

/// Sandbox accounts are wiped weekly; their storage is exempt from the
/// tagging standard. Sticky: it also covers sandbox resources created later.
sticky exception sandbox for storage_mandatory_tags {
  where (tags["env"] ?? "") == "sandbox"
  expires 2028-12-31
  reason "Sandbox accounts are reset weekly by the platform team; tagging them adds no value (GOV-118)"
}

test "the sandbox sticky exception exempts untagged sandbox storage only" {
  now 2026-11-01
  given aws.ec2.volume scratch {
    volume_id: "vol-0scratch",
    size: 10,
    volume_type: "gp3",
    state: "available",
    availability_zone: "us-east-1a",
    create_time: 2026-10-01,
    encrypted: true,
    tags: { env: "sandbox" },
  }
  given aws.ec2.volume prod_vol {
    volume_id: "vol-0prodbare",
    size: 10,
    volume_type: "gp3",
    state: "in-use",
    availability_zone: "us-east-1a",
    create_time: 2026-10-01,
    encrypted: true,
    tags: { env: "prod" },
  }
  expect storage_mandatory_tags fails scratch
  expect sandbox exempts scratch
  expect sandbox_resources contains scratch
  expect storage_mandatory_tags fails prod_vol
  expect production contains prod_vol
}

/// Security groups, subnets and VPCs are shared by many workloads and
/// outlive them; without an owner nobody can say whether a rule or a
/// network is still needed, or who approves changing it.
policy network_mandatory_tags {
  title "Security group, subnet, VPC or VPN gateway lacks owner or cost-center tags"
  description "A security group, subnet, VPC or VPN gateway lacks the `owner` or `cost-center` tag, or has it empty. The default VPC, default subnets and `default` groups count too: tag them or except them."
  severity low
  category tagging
  remediation "Tag the resource with owner and cost-center (aws ec2 create-tags --resources <id> --tags Key=owner,Value=<team> Key=cost-center,Value=<cc>), and add the tags to the templates that create networks."
  tags ["pacbot:check-for-missing-mandatory-tags", "tagging-standard"]

  rule security_groups on aws.ec2.security_group {
    let missing = missing_keys(tags, network_mandatory_tags())
    let empty = count k in network_mandatory_tags(): (tags[k] ?? "absent") == ""
    violation when not has_all_tags(tags, network_mandatory_tags())
    message "security group {id} ({group_name}) lacks mandatory tags: absent {missing}, {empty} present but empty"
  }
  rule subnets on aws.ec2.subnet {
    let missing = missing_keys(tags, network_mandatory_tags())
    let empty = count k in network_mandatory_tags(): (tags[k] ?? "absent") == ""
    violation when not has_all_tags(tags, network_mandatory_tags())
    message "subnet {id} ({cidr_block}, VPC {vpc_id}) lacks mandatory tags: absent {missing}, {empty} present but empty"
  }
  rule vpcs on aws.ec2.vpc {
    let missing = missing_keys(tags, network_mandatory_tags())
    let empty = count k in network_mandatory_tags(): (tags[k] ?? "absent") == ""
    violation when not has_all_tags(tags, network_mandatory_tags())
    message "VPC {id} ({cidr_block}) lacks mandatory tags: absent {missing}, {empty} present but empty"
  }
  rule vpn_gateways on aws.ec2.vpn_gateway {
    let missing = missing_keys(tags, network_mandatory_tags())
    violation when not has_all_tags(tags, network_mandatory_tags())
    message "VPN gateway {id} lacks mandatory tags: absent {missing}"
  }

  autofix notify_only() notify tags["owner"] ?? "network-team@example.com"
}

test "an untagged VPN gateway fails; a tagged one passes" {
  given aws.ec2.vpn_gateway bare { vpn_gateway_id: "vgw-0bare", state: "available" }
  given aws.ec2.vpn_gateway tagged {
    vpn_gateway_id: "vgw-0tagged",
    state: "available",
    tags: { owner: "network@example.com", "cost-center": "CC-7" },
  }
  expect network_mandatory_tags.vpn_gateways fails bare
  expect network_mandatory_tags.vpn_gateways passes tagged
}

test "an untagged security group fails" {
  given aws.ec2.security_group bare_sg {
    group_id: "sg-0bare",
    group_name: "app",
    owner_id: "111122223333",
    vpc_id: "vpc-0a1b2c3d",
  }
  expect network_mandatory_tags.security_groups fails bare_sg
}

test "a security group with owner and cost-center passes; an empty cost-center fails" {
  given aws.ec2.security_group tagged_sg {
    group_id: "sg-0tagged",
    group_name: "app",
    owner_id: "111122223333",
    tags: { owner: "web@example.com", "cost-center": "CC-9" },
  }
  given aws.ec2.security_group empty_cc_sg {
    group_id: "sg-0emptycc",
    group_name: "db",
    owner_id: "111122223333",
    tags: { owner: "data@example.com", "cost-center": "" },
  }
  expect network_mandatory_tags.security_groups passes tagged_sg
  expect network_mandatory_tags.security_groups fails empty_cc_sg
}

test "a subnet with only an owner tag fails" {
  given aws.ec2.subnet owner_only {
    subnet_id: "subnet-0owneronly",
    subnet_arn: "arn:aws:ec2:us-east-1:111122223333:subnet/subnet-0owneronly",
    vpc_id: "vpc-1",
    owner_id: "111122223333",
    cidr_block: 10.0.2.0/24,
    availability_zone: "us-east-1a",
    availability_zone_id: "use1-az1",
    state: "available",
    available_ip_address_count: 250,
    default_for_az: false,
    map_public_ip_on_launch: false,
    assign_ipv6_address_on_creation: false,
    tags: { owner: "network@example.com" },
  }
  expect network_mandatory_tags.subnets fails owner_only
}

test "a fully tagged subnet passes" {
  given aws.ec2.subnet tagged_subnet {
    subnet_id: "subnet-0tagged",
    subnet_arn: "arn:aws:ec2:us-east-1:111122223333:subnet/subnet-0tagged",
    vpc_id: "vpc-1",
    owner_id: "111122223333",
    cidr_block: 10.0.3.0/24,
    availability_zone: "us-east-1b",
    availability_zone_id: "use1-az2",
    state: "available",
    available_ip_address_count: 250,
    default_for_az: false,
    map_public_ip_on_launch: false,
    assign_ipv6_address_on_creation: false,
    tags: { owner: "network@example.com", "cost-center": "CC-1" },
  }
  expect network_mandatory_tags.subnets passes tagged_subnet
}

test "an untagged VPC fails" {
  given aws.ec2.vpc bare_vpc {
    vpc_id: "vpc-0bare",
    cidr_block: 10.4.0.0/16,
    state: "available",
    owner_id: "111122223333",
    is_default: false,
    instance_tenancy: "default",
  }
  expect network_mandatory_tags.vpcs fails bare_vpc
}

test "a fully tagged VPC passes" {
  given aws.ec2.vpc tagged_vpc {
    vpc_id: "vpc-0tagged",
    cidr_block: 10.5.0.0/16,
    state: "available",
    owner_id: "111122223333",
    is_default: false,
    instance_tenancy: "default",
    tags: { Name: "payments", owner: "network@example.com", "cost-center": "CC-1" },
  }
  expect network_mandatory_tags.vpcs passes tagged_vpc
}

/// Reports, groups and exceptions key on `env`; a typo (`prd`, `Prod `)
/// silently moves a resource out of its group.
policy env_tag_invalid {
  title "Missing or non-standard env tag"
  description "The `env` tag is absent or not one of prod, production, staging, test, dev, sandbox (lower case). Applies to instances (not terminated) and buckets."
  severity low
  category tagging
  remediation "Set env to one of the allowed values."
  tags ["tagging-standard"]

  rule instances on aws.ec2.instance {
    let env = tags["env"] ?? "<absent>"
    violation when (state?.name ?? "running") != "terminated" and env not in allowed_env_values()
    message "instance {id} has env tag {env}; allowed: prod, production, staging, test, dev, sandbox"
  }
  rule buckets on aws.s3.bucket {
    let env = tags["env"] ?? "<absent>"
    violation when env not in allowed_env_values()
    message "bucket {name} has env tag {env}; allowed: prod, production, staging, test, dev, sandbox"
  }

  autofix tag_resource(key: "compliance-env-tag", value: "invalid")
    after 3d
    notify tags["owner"] ?? "cloud-governance@example.com"
}

test "a typo and a missing env tag fail; dev passes" {
  given aws.ec2.instance typo {
    instance_id: "i-0typo",
    image_id: "ami-1",
    instance_type: "t3.micro",
    launch_time: 2026-01-01,
    state: { code: 16, name: "running" },
    placement: { availability_zone: "us-east-1a", tenancy: "default" },
    monitoring: { state: "disabled" },
    tags: { env: "prd" },
  }
  given aws.s3.bucket untagged {
    name: "acme-no-env",
    creation_date: 2025-05-01,
    acl: { owner: { id: "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be" } },
    versioning: {},
  }
  given aws.ec2.instance dev {
    instance_id: "i-0dev",
    image_id: "ami-1",
    instance_type: "t3.micro",
    launch_time: 2026-01-01,
    state: { code: 16, name: "running" },
    placement: { availability_zone: "us-east-1a", tenancy: "default" },
    monitoring: { state: "disabled" },
    tags: { env: "dev" },
  }
  expect env_tag_invalid.instances fails typo
  expect env_tag_invalid.buckets fails untagged
  expect env_tag_invalid passes dev
}
