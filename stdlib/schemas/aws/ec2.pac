package aws.ec2

// Amazon EC2 resource types, as the EC2 Describe* APIs return them.
//
// Conventions (see docs/schemas.md): field names are the API member names in
// snake_case as aws-sdk-rust spells them; AWS's nesting is kept; AWS tag lists
// are read into `tags: map<string>`; a member aws-sdk-rust models as `Option`
// (every EC2 member) is `T?`; a list is never optional (absent = empty).
// Every resource also has the implicit fields `id`, `account` and `region`,
// its identity, which are never missing.
// Keywords are valid field names (`p.group`), so no member is renamed.

// ---------------------------------------------------------------------------
// Instances (DescribeInstances)
// ---------------------------------------------------------------------------

/// An EC2 instance, as DescribeInstances returns it (Reservations[].Instances[]); `id` is the instance ID.
schema aws.ec2.instance {
  /// The ID of the instance, e.g. `i-0abc123def4567890`.
  instance_id: string?
  /// The ID of the AMI the instance was launched from, e.g. `ami-0abcdef1234567890`.
  image_id: string?
  /// The instance type, e.g. `t3.micro`.
  instance_type: string?
  /// When the instance was last launched (started), e.g. `2026-01-15T09:30:00Z`.
  launch_time: timestamp?
  /// The current state, e.g. `{ code: 16, name: "running" }`.
  state: InstanceState?
  /// Where the instance runs: availability zone, tenancy, placement group.
  placement: Placement?
  /// Whether detailed (1-minute) CloudWatch monitoring is enabled.
  monitoring: Monitoring?
  /// The name of the key pair the instance was launched with; absent when none, e.g. `deploy-key`.
  key_name: string?
  /// The ID of the VPC; absent for a terminated instance, e.g. `vpc-0a1b2c3d`.
  vpc_id: string?
  /// The ID of the subnet; absent for a terminated instance, e.g. `subnet-0a1b2c3d`.
  subnet_id: string?
  /// The primary private IPv4 address; absent for a terminated instance, e.g. `10.0.1.23`.
  private_ip_address: ip?
  /// The private DNS name, e.g. `ip-10-0-1-23.ec2.internal`; AWS may omit it or send `""`.
  private_dns_name: string?
  /// The public IPv4 address; absent when the instance has none, e.g. `54.12.34.56`.
  public_ip_address: ip?
  /// The public DNS name, e.g. `ec2-54-12-34-56.compute-1.amazonaws.com`; AWS may omit it or send `""`.
  public_dns_name: string?
  /// The IAM instance profile attached to the instance, if any.
  iam_instance_profile: IamInstanceProfile?
  /// The instance metadata service (IMDS) options; `http_tokens == "required"` means IMDSv2 only.
  metadata_options: MetadataOptions?
  /// The security groups of the instance (its primary network interface).
  security_groups: list<GroupIdentifier>
  /// The EBS volumes attached to the instance, by device name.
  block_device_mappings: list<InstanceBlockDeviceMapping>
  /// The network interfaces (ENIs) attached to the instance.
  network_interfaces: list<InstanceNetworkInterface>
  /// `windows` for Windows instances; absent otherwise.
  platform: string?
  /// The platform details of the AMI's billing code, e.g. `Linux/UNIX`.
  platform_details: string?
  /// `spot`, `scheduled` or `capacity-block`; absent for on-demand instances.
  instance_lifecycle: string?
  /// Whether source/destination checking is enabled (false on NAT instances); absent when terminated.
  source_dest_check: bool?
  /// Why the instance last changed state, e.g. `User initiated (2026-01-15 10:00:00 GMT)`; may be absent or `""`.
  state_transition_reason: string?
  /// The instance's tags, e.g. `{"env": "prod", "owner": "team-a@example.com"}`.
  tags: map<string>
}

/// The state of an instance (InstanceState).
record InstanceState {
  /// The state code: 0 pending, 16 running, 32 shutting-down, 48 terminated, 64 stopping, 80 stopped.
  code: int?
  /// The state name: `pending`, `running`, `shutting-down`, `terminated`, `stopping` or `stopped`.
  name: string?
}

/// Where an instance runs (Placement).
record Placement {
  /// The availability zone, e.g. `us-east-1a`.
  availability_zone: string?
  /// The tenancy: `default`, `dedicated` or `host`.
  tenancy: string?
  /// The placement group name, if any; AWS may send `""`.
  group_name: string?
  /// The ID of the dedicated host, for `host` tenancy.
  host_id: string?
  /// The partition number, for a partition placement group.
  partition_number: int?
}

/// The CloudWatch monitoring of an instance (Monitoring).
record Monitoring {
  /// `disabled`, `disabling`, `enabled` (detailed monitoring) or `pending`.
  state: string?
}

/// A security group reference: ID and name (GroupIdentifier).
record GroupIdentifier {
  /// The ID of the security group, e.g. `sg-0a1b2c3d`.
  group_id: string?
  /// The name of the security group, e.g. `web`.
  group_name: string?
}

/// The IAM instance profile of an instance (IamInstanceProfile).
record IamInstanceProfile {
  /// The profile's ARN, e.g. `arn:aws:iam::123456789012:instance-profile/web`.
  arn: string?
  /// The profile's ID, e.g. `AIPAJQABLZS4A3QDU576Q`.
  id: string?
}

/// The instance metadata service options of an instance (InstanceMetadataOptionsResponse).
record MetadataOptions {
  /// Whether the options have been applied: `pending` or `applied`
  /// (optional, as in the AWS API: real exports omit it).
  state: string?
  /// `optional` (IMDSv1 allowed) or `required` (IMDSv2 only).
  http_tokens: string?
  /// The hop limit for metadata PUT responses, 1 to 64.
  http_put_response_hop_limit: int?
  /// Whether the metadata endpoint is reachable: `enabled` or `disabled`.
  http_endpoint: string?
  /// Whether the IPv6 metadata endpoint is enabled: `enabled` or `disabled`.
  http_protocol_ipv6: string?
  /// Whether instance tags are readable from the metadata: `enabled` or `disabled`.
  instance_metadata_tags: string?
}

/// An EBS volume attached to an instance, by device name (InstanceBlockDeviceMapping).
record InstanceBlockDeviceMapping {
  /// The device name, e.g. `/dev/xvda`.
  device_name: string?
  /// The EBS volume behind the device.
  ebs: EbsInstanceBlockDevice?
}

/// The EBS volume of an instance block device mapping (EbsInstanceBlockDevice).
record EbsInstanceBlockDevice {
  /// The ID of the volume, e.g. `vol-0a1b2c3d4e5f67890`.
  volume_id: string?
  /// `attaching`, `attached`, `detaching` or `detached`.
  status: string?
  /// When the volume was attached.
  attach_time: timestamp?
  /// Whether the volume is deleted when the instance terminates.
  delete_on_termination: bool?
}

/// A network interface attached to an instance (InstanceNetworkInterface).
record InstanceNetworkInterface {
  /// The ID of the network interface, e.g. `eni-0a1b2c3d`.
  network_interface_id: string?
  /// `available`, `associated`, `attaching`, `in-use` or `detaching`.
  status: string?
  /// The ID of the subnet.
  subnet_id: string?
  /// The ID of the VPC.
  vpc_id: string?
  /// The primary private IPv4 address of the interface.
  private_ip_address: ip?
  /// The private DNS name; AWS may omit it.
  private_dns_name: string?
  /// The MAC address, e.g. `0a:1b:2c:3d:4e:5f`.
  mac_address: string?
  /// The ID of the account that owns the interface.
  owner_id: string?
  /// The description; AWS may omit it or send `""`.
  description: string?
  /// The interface type, e.g. `interface`, `efa`, `trunk`.
  interface_type: string?
  /// Whether source/destination checking is enabled.
  source_dest_check: bool?
  /// The security groups of the interface.
  groups: list<GroupIdentifier>
  /// The public IPv4 address (or Elastic IP) associated with the interface, if any.
  association: NetworkInterfaceAssociation?
  /// The IPv6 addresses of the interface.
  ipv6_addresses: list<Ipv6Address>
}

/// A public IPv4 address associated with a network interface (NetworkInterfaceAssociation; InstanceNetworkInterfaceAssociation has the same fields but no IDs).
record NetworkInterfaceAssociation {
  /// The public IPv4 address, e.g. `54.12.34.56`.
  public_ip: ip?
  /// The public DNS name; AWS may omit it or send `""`.
  public_dns_name: string?
  /// The owner of the address: `amazon` for an auto-assigned address, else an account ID.
  ip_owner_id: string?
  /// The allocation ID of the Elastic IP, e.g. `eipalloc-0a1b2c3d`; absent for an auto-assigned address.
  allocation_id: string?
  /// The association ID of the Elastic IP, e.g. `eipassoc-0a1b2c3d`; absent for an auto-assigned address.
  association_id: string?
  /// The carrier IP address (Wavelength zones only).
  carrier_ip: ip?
  /// The customer-owned IP address (Outposts only).
  customer_owned_ip: ip?
}

/// An IPv6 address of a network interface (InstanceIpv6Address, NetworkInterfaceIpv6Address).
record Ipv6Address {
  /// The IPv6 address, e.g. `2600:1f18:abcd::1`.
  ipv6_address: ip?
  /// Whether this is the primary IPv6 address; AWS may omit it.
  is_primary_ipv6: bool?
}

// ---------------------------------------------------------------------------
// Security groups (DescribeSecurityGroups)
// ---------------------------------------------------------------------------

/// An EC2 security group, as DescribeSecurityGroups returns it; `id` is the group ID.
schema aws.ec2.security_group {
  /// The ID of the security group, e.g. `sg-0a1b2c3d`.
  group_id: string?
  /// The name of the security group, e.g. `web`.
  group_name: string?
  /// The description (API member `Description`); may be absent in partial inventories.
  description: string?
  /// The ID of the account that owns the group, e.g. `123456789012`.
  owner_id: string?
  /// The ID of the VPC; absent only for legacy EC2-Classic groups, e.g. `vpc-0a1b2c3d`.
  vpc_id: string?
  /// The ARN of the group; absent in older inventories.
  security_group_arn: string?
  /// The inbound rules.
  ip_permissions: list<IpPermission>
  /// The outbound rules.
  ip_permissions_egress: list<IpPermission>
  /// The group's tags, e.g. `{"owner": "team-a@example.com"}`.
  tags: map<string>
}

/// One inbound or outbound rule of a security group (IpPermission).
record IpPermission {
  /// `tcp`, `udp`, `icmp`, `icmpv6`, a protocol number, or `-1` for all protocols and ports.
  ip_protocol: string?
  /// The first port of the range (the ICMP type for ICMP, -1 for all); absent when ip_protocol is `-1`.
  from_port: int?
  /// The last port of the range (the ICMP code for ICMP, -1 for all); absent when ip_protocol is `-1`.
  to_port: int?
  /// The IPv4 ranges the rule allows.
  ip_ranges: list<IpRange>
  /// The IPv6 ranges the rule allows.
  ipv6_ranges: list<Ipv6Range>
  /// The managed prefix lists the rule allows.
  prefix_list_ids: list<PrefixListId>
  /// The security groups (or peered groups) the rule allows.
  user_id_group_pairs: list<UserIdGroupPair>
}

/// An IPv4 range of a security group rule (IpRange).
record IpRange {
  /// The IPv4 CIDR, e.g. `0.0.0.0/0` (the whole internet) or `10.0.0.0/8`.
  cidr_ip: cidr?
  /// The description of this range; AWS omits it when not set.
  description: string?
}

/// An IPv6 range of a security group rule (Ipv6Range).
record Ipv6Range {
  /// The IPv6 CIDR, e.g. `::/0` (the whole internet) or `2600:1f18::/32`.
  cidr_ipv6: cidr?
  /// The description of this range; AWS omits it when not set.
  description: string?
}

/// A managed prefix list referenced by a security group rule (PrefixListId).
record PrefixListId {
  /// The ID of the prefix list, e.g. `pl-63a5400a`.
  prefix_list_id: string?
  /// The description of this reference; AWS omits it when not set.
  description: string?
}

/// A security group referenced by a security group rule (UserIdGroupPair).
record UserIdGroupPair {
  /// The ID of the referenced security group, e.g. `sg-0a1b2c3d`.
  group_id: string?
  /// The ID of the account that owns the referenced group, e.g. `123456789012`.
  user_id: string?
  /// The name of the referenced group; AWS may omit it.
  group_name: string?
  /// The ID of the VPC of the referenced group, for a peered group.
  vpc_id: string?
  /// The ID of the VPC peering connection, for a peered group.
  vpc_peering_connection_id: string?
  /// The status of the peering, e.g. `active`, for a peered group.
  peering_status: string?
  /// The description of this reference; AWS omits it when not set.
  description: string?
}

// ---------------------------------------------------------------------------
// EBS volumes (DescribeVolumes)
// ---------------------------------------------------------------------------

/// An EBS volume, as DescribeVolumes returns it; `id` is the volume ID.
schema aws.ec2.volume {
  /// The ID of the volume, e.g. `vol-0a1b2c3d4e5f67890`.
  volume_id: string?
  /// The size in GiB, e.g. `100`.
  size: int?
  /// The volume type: `gp2`, `gp3`, `io1`, `io2`, `st1`, `sc1` or `standard`.
  volume_type: string?
  /// `creating`, `available` (unattached), `in-use`, `deleting`, `deleted` or `error`.
  state: string?
  /// The availability zone, e.g. `us-east-1a`.
  availability_zone: string?
  /// When the volume was created.
  create_time: timestamp?
  /// Whether the volume is encrypted.
  encrypted: bool?
  /// The ARN of the KMS key that encrypts the volume; absent when unencrypted.
  kms_key_id: string?
  /// The snapshot the volume was created from; absent (or `""`) when none, e.g. `snap-0a1b2c3d`.
  snapshot_id: string?
  /// The provisioned IOPS (gp3, io1, io2; the baseline for gp2); absent for other types.
  iops: int?
  /// The throughput in MiB/s (gp3 only).
  throughput: int?
  /// Where the volume is attached; empty when unattached.
  attachments: list<VolumeAttachment>
  /// The volume's tags, e.g. `{"backup": "daily"}`.
  tags: map<string>
}

/// An attachment of a volume to an instance (VolumeAttachment).
record VolumeAttachment {
  /// The ID of the volume.
  volume_id: string?
  /// The ID of the instance, e.g. `i-0abc123def4567890`; absent when attached to an AWS-managed resource (Fargate).
  instance_id: string?
  /// The device name, e.g. `/dev/sdf`; absent when attached to an AWS-managed resource.
  device: string?
  /// `attaching`, `attached`, `detaching`, `detached` or `busy`.
  state: string?
  /// When the attachment started.
  attach_time: timestamp?
  /// Whether the volume is deleted when the instance terminates (some EC2-compatible APIs leave it out).
  delete_on_termination: bool?
  /// The ARN of the AWS-managed resource (e.g. an ECS task) the volume is attached to, if any.
  associated_resource: string?
}

// ---------------------------------------------------------------------------
// EBS snapshots (DescribeSnapshots + DescribeSnapshotAttribute)
// ---------------------------------------------------------------------------

/// An EBS snapshot owned by the account (DescribeSnapshots; permissions from DescribeSnapshotAttribute); `id` is the snapshot ID.
schema aws.ec2.snapshot {
  /// The ID of the snapshot, e.g. `snap-0a1b2c3d4e5f67890`.
  snapshot_id: string?
  /// The ID of the source volume, e.g. `vol-0a1b2c3d`; copied snapshots carry an arbitrary ID such as `vol-ffffffff`.
  volume_id: string?
  /// The size of the source volume in GiB.
  volume_size: int?
  /// `pending`, `completed`, `error`, `recoverable` or `recovering`.
  state: string?
  /// When the snapshot was started (API member `StartTime`).
  start_time: timestamp?
  /// The ID of the account that owns the snapshot, e.g. `123456789012`.
  owner_id: string?
  /// The owner alias (`amazon`, …); absent for ordinary accounts.
  owner_alias: string?
  /// The description; AWS may omit it or send `""`.
  description: string?
  /// Whether the snapshot is encrypted.
  encrypted: bool?
  /// The ARN of the KMS key that encrypts the snapshot; absent when unencrypted.
  kms_key_id: string?
  /// `standard` or `archive`; absent in older inventories.
  storage_tier: string?
  /// Who may create volumes from it (DescribeSnapshotAttribute createVolumePermission); `group == "all"` means public.
  create_volume_permissions: list<CreateVolumePermission>
  /// The snapshot's tags.
  tags: map<string>
}

/// A permission to create volumes from a snapshot (CreateVolumePermission): a group or an account.
record CreateVolumePermission {
  /// API member `Group`; `all` means everyone (public).
  group: string?
  /// The ID of the account given permission, e.g. `210987654321`.
  user_id: string?
}

// ---------------------------------------------------------------------------
// AMIs (DescribeImages + DescribeImageAttribute)
// ---------------------------------------------------------------------------

/// An AMI owned by the account (DescribeImages; launch permissions from DescribeImageAttribute); `id` is the image ID.
schema aws.ec2.image {
  /// The ID of the AMI, e.g. `ami-0abcdef1234567890`.
  image_id: string?
  /// The AMI's name, e.g. `web-2026-01-15`; AWS may omit it for old images.
  name: string?
  /// The description; AWS omits it when not set.
  description: string?
  /// `available`, `pending`, `invalid`, `deregistered`, `transient`, `failed`, `error` or `disabled`.
  state: string?
  /// The ID of the account that owns the AMI, e.g. `123456789012`.
  owner_id: string?
  /// The owner alias: `amazon`, `aws-marketplace`, …; absent for ordinary accounts.
  image_owner_alias: string?
  /// When the AMI was created (a date-time string in the API), e.g. `2026-01-15T09:30:00.000Z`.
  creation_date: timestamp?
  /// Whether the AMI has public launch permissions (DescribeImages `Public`).
  public: bool?
  /// `i386`, `x86_64`, `arm64`, `x86_64_mac` or `arm64_mac`.
  architecture: string?
  /// `machine`, `kernel` or `ramdisk`.
  image_type: string?
  /// `ebs` or `instance-store`.
  root_device_type: string?
  /// The root device name, e.g. `/dev/xvda`.
  root_device_name: string?
  /// `windows` for Windows AMIs; absent otherwise.
  platform: string?
  /// The platform details of the billing code, e.g. `Linux/UNIX`.
  platform_details: string?
  /// Whether ENA enhanced networking is enabled.
  ena_support: bool?
  /// `v2.0` when instances launched from it default to IMDSv2 only; absent otherwise.
  imds_support: string?
  /// When the AMI is (or was) deprecated (a date-time string in the API); absent when not set.
  deprecation_time: timestamp?
  /// The block devices of instances launched from the AMI.
  block_device_mappings: list<BlockDeviceMapping>
  /// Who may launch it (DescribeImageAttribute launchPermission); `group == "all"` means public.
  launch_permissions: list<LaunchPermission>
  /// The AMI's tags.
  tags: map<string>
}

/// A permission to launch an AMI (LaunchPermission): a group, an account, an organization or an OU.
record LaunchPermission {
  /// API member `Group`; `all` means everyone (public).
  group: string?
  /// The ID of the account given permission, e.g. `210987654321`.
  user_id: string?
  /// The ARN of the organization given permission.
  organization_arn: string?
  /// The ARN of the organizational unit given permission.
  organizational_unit_arn: string?
}

/// A block device of an AMI (BlockDeviceMapping).
record BlockDeviceMapping {
  /// The device name, e.g. `/dev/xvda`.
  device_name: string?
  /// The instance store volume name, e.g. `ephemeral0`, for an instance store device.
  virtual_name: string?
  /// Set (to `""`) to suppress a device of the AMI.
  no_device: string?
  /// The EBS volume, for an EBS device.
  ebs: EbsBlockDevice?
}

/// The EBS volume of an AMI block device (EbsBlockDevice).
record EbsBlockDevice {
  /// The snapshot the volume is created from, e.g. `snap-0a1b2c3d`.
  snapshot_id: string?
  /// The size in GiB.
  volume_size: int?
  /// The volume type, e.g. `gp3`.
  volume_type: string?
  /// Whether the volume is encrypted.
  encrypted: bool?
  /// The ARN of the KMS key, for an encrypted volume.
  kms_key_id: string?
  /// Whether the volume is deleted when the instance terminates.
  delete_on_termination: bool?
  /// The provisioned IOPS.
  iops: int?
  /// The throughput in MiB/s (gp3 only).
  throughput: int?
}

// ---------------------------------------------------------------------------
// VPCs and subnets (DescribeVpcs, DescribeSubnets)
// ---------------------------------------------------------------------------

/// A VPC, as DescribeVpcs returns it; `id` is the VPC ID.
schema aws.ec2.vpc {
  /// The ID of the VPC, e.g. `vpc-0a1b2c3d`.
  vpc_id: string?
  /// The primary IPv4 CIDR block, e.g. `10.0.0.0/16`.
  cidr_block: cidr?
  /// `pending` or `available`.
  state: string?
  /// The ID of the account that owns the VPC, e.g. `123456789012`.
  owner_id: string?
  /// Whether this is the region's default VPC.
  is_default: bool?
  /// `default`, `dedicated` or `host`.
  instance_tenancy: string?
  /// The ID of the DHCP options set, e.g. `dopt-0a1b2c3d`, or `default`.
  dhcp_options_id: string?
  /// The IPv4 CIDR blocks of the VPC (the primary and any secondary ones).
  cidr_block_association_set: list<CidrBlockAssociation>
  /// The IPv6 CIDR blocks of the VPC.
  ipv6_cidr_block_association_set: list<Ipv6CidrBlockAssociation>
  /// The VPC's tags, e.g. `{"Name": "prod"}`.
  tags: map<string>
}

/// A subnet, as DescribeSubnets returns it; `id` is the subnet ID.
schema aws.ec2.subnet {
  /// The ID of the subnet, e.g. `subnet-0a1b2c3d`.
  subnet_id: string?
  /// The ARN of the subnet.
  subnet_arn: string?
  /// The ID of the VPC, e.g. `vpc-0a1b2c3d`.
  vpc_id: string?
  /// The ID of the account that owns the subnet.
  owner_id: string?
  /// The IPv4 CIDR block, e.g. `10.0.1.0/24`; absent for an IPv6-only subnet.
  cidr_block: cidr?
  /// The availability zone, e.g. `us-east-1a`.
  availability_zone: string?
  /// The availability zone ID, e.g. `use1-az1`.
  availability_zone_id: string?
  /// `pending`, `available` or `unavailable`.
  state: string?
  /// The number of unused private IPv4 addresses.
  available_ip_address_count: int?
  /// Whether this is the default subnet of its availability zone.
  default_for_az: bool?
  /// Whether instances launched here get a public IPv4 address by default.
  map_public_ip_on_launch: bool?
  /// Whether network interfaces created here get an IPv6 address by default.
  assign_ipv6_address_on_creation: bool?
  /// Whether this is an IPv6-only subnet; absent in older inventories.
  ipv6_native: bool?
  /// The IPv6 CIDR blocks of the subnet.
  ipv6_cidr_block_association_set: list<Ipv6CidrBlockAssociation>
  /// The subnet's tags.
  tags: map<string>
}

/// An IPv4 CIDR block of a VPC (VpcCidrBlockAssociation).
record CidrBlockAssociation {
  /// The association ID, e.g. `vpc-cidr-assoc-0a1b2c3d`.
  association_id: string?
  /// The IPv4 CIDR block, e.g. `10.0.0.0/16`.
  cidr_block: cidr?
  /// The state of the association.
  cidr_block_state: CidrBlockState?
}

/// An IPv6 CIDR block of a VPC or subnet (VpcIpv6CidrBlockAssociation, SubnetIpv6CidrBlockAssociation).
record Ipv6CidrBlockAssociation {
  /// The association ID, e.g. `subnet-cidr-assoc-0a1b2c3d`.
  association_id: string?
  /// The IPv6 CIDR block, e.g. `2600:1f18:abcd::/56`.
  ipv6_cidr_block: cidr?
  /// The state of the association (API member `Ipv6CidrBlockState`).
  ipv6_cidr_block_state: CidrBlockState?
  /// The network border group, e.g. `us-east-1` (VPCs only).
  network_border_group: string?
  /// The IPv6 address pool, e.g. `Amazon` (VPCs only).
  ipv6_pool: string?
}

/// The state of a CIDR block association (VpcCidrBlockState, SubnetCidrBlockState).
record CidrBlockState {
  /// `associating`, `associated`, `disassociating`, `disassociated`, `failing` or `failed`.
  state: string?
  /// Why the association is in this state; AWS omits it normally.
  status_message: string?
}

// ---------------------------------------------------------------------------
// Network ACLs (DescribeNetworkAcls)
// ---------------------------------------------------------------------------

/// A network ACL, as DescribeNetworkAcls returns it; `id` is the network ACL ID.
schema aws.ec2.network_acl {
  /// The ID of the network ACL, e.g. `acl-0a1b2c3d`.
  network_acl_id: string?
  /// The ID of the VPC, e.g. `vpc-0a1b2c3d`.
  vpc_id: string?
  /// The ID of the account that owns the network ACL.
  owner_id: string?
  /// Whether this is the VPC's default network ACL.
  is_default: bool?
  /// The rules, inbound (`egress == false`) and outbound, evaluated by ascending rule_number.
  entries: list<NetworkAclEntry>
  /// The subnets the network ACL is associated with.
  associations: list<NetworkAclAssociation>
  /// The network ACL's tags.
  tags: map<string>
}

/// A rule of a network ACL (NetworkAclEntry).
record NetworkAclEntry {
  /// The rule number, 1 to 32766, plus 32767 for the implicit final deny.
  rule_number: int?
  /// The protocol number as a string: `6` (TCP), `17` (UDP), `1` (ICMP), `58` (ICMPv6) or `-1` (all).
  protocol: string?
  /// `allow` or `deny`.
  rule_action: string?
  /// Whether this is an outbound rule (true) or an inbound one (false).
  egress: bool?
  /// The IPv4 CIDR the rule matches, e.g. `0.0.0.0/0`; absent for an IPv6 rule.
  cidr_block: cidr?
  /// The IPv6 CIDR the rule matches, e.g. `::/0`; absent for an IPv4 rule.
  ipv6_cidr_block: cidr?
  /// The port range, for TCP and UDP rules.
  port_range: PortRange?
  /// The ICMP type and code, for ICMP rules.
  icmp_type_code: IcmpTypeCode?
}

/// A port range of a network ACL rule (PortRange).
record PortRange {
  /// The first port (API member `From`), e.g. `22`.
  from: int?
  /// The last port (API member `To`), e.g. `22`.
  to: int?
}

/// The ICMP type and code of a network ACL rule (IcmpTypeCode).
record IcmpTypeCode {
  /// The ICMP type; -1 means all types.
  type: int?
  /// The ICMP code; -1 means all codes.
  code: int?
}

/// The association of a network ACL with a subnet (NetworkAclAssociation).
record NetworkAclAssociation {
  /// The association ID, e.g. `aclassoc-0a1b2c3d`.
  network_acl_association_id: string?
  /// The ID of the network ACL.
  network_acl_id: string?
  /// The ID of the subnet, e.g. `subnet-0a1b2c3d`.
  subnet_id: string?
}

// ---------------------------------------------------------------------------
// Network interfaces (DescribeNetworkInterfaces)
// ---------------------------------------------------------------------------

/// A network interface (ENI), as DescribeNetworkInterfaces returns it; `id` is the ENI ID.
schema aws.ec2.network_interface {
  /// The ID of the network interface, e.g. `eni-0a1b2c3d`.
  network_interface_id: string?
  /// The type, e.g. `interface`, `nat_gateway`, `lambda`, `load_balancer`, `vpc_endpoint`.
  interface_type: string?
  /// `available` (unattached), `associated`, `attaching`, `in-use` or `detaching`.
  status: string?
  /// The ID of the subnet.
  subnet_id: string?
  /// The ID of the VPC.
  vpc_id: string?
  /// The availability zone, e.g. `us-east-1a`.
  availability_zone: string?
  /// The primary private IPv4 address, e.g. `10.0.1.23`.
  private_ip_address: ip?
  /// The private DNS name; AWS may omit it.
  private_dns_name: string?
  /// The MAC address, e.g. `0a:1b:2c:3d:4e:5f`.
  mac_address: string?
  /// The ID of the account that owns the interface.
  owner_id: string?
  /// The ID of the service that created the interface, e.g. `amazon-elb`, for a requester-managed interface.
  requester_id: string?
  /// Whether an AWS service manages the interface.
  requester_managed: bool?
  /// Whether source/destination checking is enabled.
  source_dest_check: bool?
  /// The description; AWS may omit it or send `""`.
  description: string?
  /// The security groups of the interface.
  groups: list<GroupIdentifier>
  /// The public IPv4 address (or Elastic IP) of the primary private address, if any.
  association: NetworkInterfaceAssociation?
  /// The attachment to an instance, if attached.
  attachment: NetworkInterfaceAttachment?
  /// The private IPv4 addresses of the interface (primary and secondary).
  private_ip_addresses: list<NetworkInterfacePrivateIpAddress>
  /// The IPv6 addresses of the interface.
  ipv6_addresses: list<Ipv6Address>
  /// The interface's tags (API member `TagSet`).
  tags: map<string>
}

/// The attachment of a network interface to an instance (NetworkInterfaceAttachment).
record NetworkInterfaceAttachment {
  /// The attachment ID, e.g. `eni-attach-0a1b2c3d`.
  attachment_id: string?
  /// The ID of the instance; absent when attached to a resource of another service.
  instance_id: string?
  /// The ID of the account that owns the instance.
  instance_owner_id: string?
  /// The device index; 0 is the primary interface.
  device_index: int?
  /// `attaching`, `attached`, `detaching` or `detached`.
  status: string?
  /// When the attachment was made.
  attach_time: timestamp?
  /// Whether the interface is deleted when the instance terminates.
  delete_on_termination: bool?
}

/// A private IPv4 address of a network interface (NetworkInterfacePrivateIpAddress).
record NetworkInterfacePrivateIpAddress {
  /// The private IPv4 address, e.g. `10.0.1.23`.
  private_ip_address: ip?
  /// The private DNS name; AWS may omit it.
  private_dns_name: string?
  /// Whether this is the primary address of the interface.
  primary: bool?
  /// The public IPv4 address (or Elastic IP) of this private address, if any.
  association: NetworkInterfaceAssociation?
}

// ---------------------------------------------------------------------------
// Elastic IPs (DescribeAddresses)
// ---------------------------------------------------------------------------

/// An Elastic IP address, as DescribeAddresses returns it; `id` is the allocation ID.
schema aws.ec2.address {
  /// The Elastic IP address, e.g. `54.12.34.56`.
  public_ip: ip?
  /// The allocation ID, e.g. `eipalloc-0a1b2c3d`.
  allocation_id: string?
  /// `vpc` (or `standard` for legacy EC2-Classic addresses).
  domain: string?
  /// The association ID, e.g. `eipassoc-0a1b2c3d`; absent when the address is not associated.
  association_id: string?
  /// The ID of the instance the address is associated with, if any.
  instance_id: string?
  /// The ID of the network interface the address is associated with, if any.
  network_interface_id: string?
  /// The ID of the account that owns that network interface, if any.
  network_interface_owner_id: string?
  /// The private IPv4 address the Elastic IP maps to, if associated.
  private_ip_address: ip?
  /// The address pool, e.g. `amazon`.
  public_ipv4_pool: string?
  /// The network border group, e.g. `us-east-1`.
  network_border_group: string?
  /// The address's tags.
  tags: map<string>
}

// ---------------------------------------------------------------------------
// Key pairs (DescribeKeyPairs)
// ---------------------------------------------------------------------------

/// An EC2 key pair, as DescribeKeyPairs returns it; `id` is the key pair ID.
schema aws.ec2.key_pair {
  /// The ID of the key pair, e.g. `key-0a1b2c3d4e5f67890`.
  key_pair_id: string?
  /// The name of the key pair, e.g. `deploy-key`.
  key_name: string?
  /// The fingerprint, e.g. `1f:51:ae:28:bf:89:e9:d8:1f:25:5d:37:2d:7d:b8:ca:9f:f5:f1:6f`.
  key_fingerprint: string?
  /// `rsa` or `ed25519`.
  key_type: string?
  /// When the key pair was created or imported; absent in older inventories.
  create_time: timestamp?
  /// The public key material (only with DescribeKeyPairs IncludePublicKey).
  public_key: string?
  /// The key pair's tags.
  tags: map<string>
}

// ---------------------------------------------------------------------------
// Flow logs (DescribeFlowLogs)
// ---------------------------------------------------------------------------

/// A VPC flow log, as DescribeFlowLogs returns it; `id` is the flow log ID.
schema aws.ec2.flow_log {
  /// The ID of the flow log, e.g. `fl-0a1b2c3d`.
  flow_log_id: string?
  /// The ID of the monitored resource: a VPC, subnet, network interface or transit gateway, e.g. `vpc-0a1b2c3d`.
  resource_id: string?
  /// The status of the flow log: `ACTIVE`.
  flow_log_status: string?
  /// `SUCCESS` or `FAILED`; absent when not yet known.
  deliver_logs_status: string?
  /// Why delivery failed, e.g. `Access error`.
  deliver_logs_error_message: string?
  /// `ACCEPT`, `REJECT` or `ALL`; absent for transit gateway flow logs.
  traffic_type: string?
  /// `cloud-watch-logs`, `s3` or `kinesis-data-firehose`.
  log_destination_type: string?
  /// The ARN of the destination (log group, bucket or stream).
  log_destination: string?
  /// The name of the CloudWatch Logs log group, for `cloud-watch-logs`.
  log_group_name: string?
  /// The ARN of the IAM role that publishes to CloudWatch Logs.
  deliver_logs_permission_arn: string?
  /// The record format, e.g. `${version} ${account-id} ${interface-id} …`.
  log_format: string?
  /// The aggregation interval in seconds: 60 or 600.
  max_aggregation_interval: int?
  /// When the flow log was created.
  creation_time: timestamp?
  /// The flow log's tags.
  tags: map<string>
}

/// A virtual private gateway, the AWS side of a site-to-site VPN (DescribeVpnGateways); `id` is the gateway ID.
schema aws.ec2.vpn_gateway {
  /// The gateway ID, e.g. `vgw-0a1b2c3d`.
  vpn_gateway_id: string?
  /// `pending`, `available`, `deleting` or `deleted`.
  state: string?
  /// The VPN type, `ipsec.1` (API member `Type`).
  gateway_type: string?
  /// The zone it was created in, when AWS gives one.
  availability_zone: string?
  /// The private ASN of the Amazon side of a BGP session.
  amazon_side_asn: int?
  /// The VPCs it is attached to, with each attachment's state.
  vpc_attachments: list<VpcAttachment>
  /// The gateway's tags.
  tags: map<string>
}

/// A gateway's attachment to a VPC (VpcAttachment).
record VpcAttachment {
  /// The VPC.
  vpc_id: string?
  /// `attaching`, `attached`, `detaching` or `detached`.
  state: string?
}
