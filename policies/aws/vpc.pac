package policies.aws.vpc

// VPCs, subnets and Elastic IPs. Each policy's tests follow it.

/// Without flow logs there is no record of who talked to what: incident
/// response, anomaly detection and GuardDuty-style analysis all start there.
policy vpc_flow_logs_disabled {
  title "VPC has no active flow log"
  description "No aws.ec2.flow_log with status ACTIVE has this VPC as its `resource_id`. A cross-resource check: flow logs on individual subnets or ENIs do not count. CIS asks for at least rejected traffic to be logged; any traffic type passes here."
  severity medium
  category security
  remediation "Create a flow log for the VPC (traffic type ALL or REJECT) to CloudWatch Logs or S3: aws ec2 create-flow-logs --resource-type VPC --resource-ids <vpc-id> --traffic-type ALL ..."
  tags ["cis-aws-1.5:3.9", "aws-fsbp:EC2.6", "pacbot:check-for-vpc-flowlog-enabled"]

  rule on aws.ec2.vpc {
    violation when
      (state ?? "available") == "available"
      and none fl in aws.ec2.flow_log:
            has(fl.resource_id) and fl.resource_id == id and (fl.flow_log_status ?? "") == "ACTIVE"
    message "VPC {id} ({cidr_block}, default: {is_default}) has no active flow log"
  }
}

test "a VPC without a flow log fails; a VPC with an active flow log passes" {
  given aws.ec2.vpc unlogged {
    id: "vpc-0unlogged",
    vpc_id: "vpc-0unlogged",
    cidr_block: 10.1.0.0/16,
    state: "available",
    owner_id: "111122223333",
    is_default: false,
    instance_tenancy: "default",
  }
  given aws.ec2.vpc logged {
    id: "vpc-0logged",
    vpc_id: "vpc-0logged",
    cidr_block: 10.2.0.0/16,
    state: "available",
    owner_id: "111122223333",
    is_default: false,
    instance_tenancy: "default",
  }
  given aws.ec2.flow_log fl {
    flow_log_id: "fl-0a1b2c3d",
    resource_id: "vpc-0logged",
    flow_log_status: "ACTIVE",
    traffic_type: "ALL",
    log_destination_type: "s3",
    log_destination: "arn:aws:s3:::acme-flow-logs",
    creation_time: 2026-01-01,
  }
  expect vpc_flow_logs_disabled fails unlogged
  expect vpc_flow_logs_disabled passes logged
}

test "a flow log on a subnet does not cover its VPC" {
  given aws.ec2.vpc subnet_only {
    id: "vpc-0subnetonly",
    vpc_id: "vpc-0subnetonly",
    cidr_block: 10.3.0.0/16,
    state: "available",
    owner_id: "111122223333",
    is_default: false,
    instance_tenancy: "default",
  }
  given aws.ec2.flow_log subnet_fl {
    flow_log_id: "fl-0subnet",
    resource_id: "subnet-0inside",
    flow_log_status: "ACTIVE",
    traffic_type: "REJECT",
    log_destination_type: "cloud-watch-logs",
    log_group_name: "flows",
    creation_time: 2026-01-01,
  }
  expect vpc_flow_logs_disabled fails subnet_only
}

test "a VPC that does not report its state is judged; a flow log without a status or a resource covers nothing" {
  given aws.ec2.vpc stateless { id: "vpc-0stateless", vpc_id: "vpc-0stateless" }
  given aws.ec2.flow_log no_status { flow_log_id: "fl-0nostatus", resource_id: "vpc-0stateless" }
  given aws.ec2.flow_log no_resource { flow_log_id: "fl-0noresource", flow_log_status: "ACTIVE" }
  expect vpc_flow_logs_disabled fails stateless
}

/// A subnet that hands out public IPv4 addresses makes every instance
/// launched in it reachable from the internet unless its security groups
/// say otherwise, and each public IPv4 address is billed.
policy subnet_auto_assigns_public_ip {
  title "Subnet auto-assigns public IPv4 addresses"
  description "The subnet's `map_public_ip_on_launch` is true. AWS's default subnets are created this way."
  severity medium
  category security
  remediation "Turn off auto-assign public IPv4 (aws ec2 modify-subnet-attribute --no-map-public-ip-on-launch); give public endpoints a load balancer or an Elastic IP deliberately."
  tags ["aws-fsbp:EC2.15"]

  rule on aws.ec2.subnet {
    violation when map_public_ip_on_launch ?? false
    message "subnet {id} ({cidr_block}, {availability_zone}, VPC {vpc_id}, default: {default_for_az}) auto-assigns public IPv4 addresses"
  }
}

test "an auto-assigning subnet fails; a private subnet passes" {
  given aws.ec2.subnet public {
    subnet_id: "subnet-0public",
    subnet_arn: "arn:aws:ec2:us-east-1:111122223333:subnet/subnet-0public",
    vpc_id: "vpc-1",
    owner_id: "111122223333",
    cidr_block: 172.31.0.0/20,
    availability_zone: "us-east-1a",
    availability_zone_id: "use1-az1",
    state: "available",
    available_ip_address_count: 4091,
    default_for_az: true,
    map_public_ip_on_launch: true,
    assign_ipv6_address_on_creation: false,
  }
  given aws.ec2.subnet private {
    subnet_id: "subnet-0private",
    subnet_arn: "arn:aws:ec2:us-east-1:111122223333:subnet/subnet-0private",
    vpc_id: "vpc-1",
    owner_id: "111122223333",
    cidr_block: 10.0.1.0/24,
    availability_zone: "us-east-1b",
    availability_zone_id: "use1-az2",
    state: "available",
    available_ip_address_count: 250,
    default_for_az: false,
    map_public_ip_on_launch: false,
    assign_ipv6_address_on_creation: false,
  }
  expect subnet_auto_assigns_public_ip fails public
  expect subnet_auto_assigns_public_ip passes private
}

/// A subnet out of addresses fails the next deployment, scale-out or
/// Lambda cold start in it, usually during an incident.
policy subnet_ip_addresses_nearly_exhausted {
  title "Subnet has less than 10% of its IPv4 addresses free"
  description "An available subnet has fewer free IPv4 addresses (available_ip_address_count) than a tenth of its usable ones (the CIDR's size less the 5 AWS reserves). IPv6-only subnets are not judged."
  severity medium
  category operations
  remediation "Add subnets in a new CIDR range (aws ec2 associate-vpc-cidr-block, then create-subnet) and spread the workload; release idle ENIs and Elastic IPs in the subnet."
  tags ["capacity"]

  rule on aws.ec2.subnet {
    let usable = if has(cidr_block) then cidr_size(cidr_block) - 5 else 0
    violation when
      (state ?? "available") == "available"
      and usable > 0
      and has(available_ip_address_count)
      and available_ip_address_count * 10 < usable
    message "subnet {id} ({cidr_block}, {availability_zone}) has {available_ip_address_count} of {usable} IPv4 addresses free"
  }
}

test "a /24 with 12 free addresses fails" {
  given aws.ec2.subnet crowded {
    subnet_id: "subnet-0crowded",
    subnet_arn: "arn:aws:ec2:us-east-1:111122223333:subnet/subnet-0crowded",
    vpc_id: "vpc-1",
    owner_id: "111122223333",
    cidr_block: 10.0.10.0/24,
    availability_zone: "us-east-1a",
    availability_zone_id: "use1-az1",
    state: "available",
    available_ip_address_count: 12,
    default_for_az: false,
    map_public_ip_on_launch: false,
    assign_ipv6_address_on_creation: false,
  }
  expect subnet_ip_addresses_nearly_exhausted fails crowded
}

test "a /24 with 200 free addresses passes" {
  given aws.ec2.subnet roomy {
    subnet_id: "subnet-0roomy",
    subnet_arn: "arn:aws:ec2:us-east-1:111122223333:subnet/subnet-0roomy",
    vpc_id: "vpc-1",
    owner_id: "111122223333",
    cidr_block: 10.0.11.0/24,
    availability_zone: "us-east-1a",
    availability_zone_id: "use1-az1",
    state: "available",
    available_ip_address_count: 200,
    default_for_az: false,
    map_public_ip_on_launch: false,
    assign_ipv6_address_on_creation: false,
  }
  expect subnet_ip_addresses_nearly_exhausted passes roomy
}

test "a subnet that does not report its free addresses is not judged" {
  given aws.ec2.subnet unreported {
    subnet_id: "subnet-0unreported",
    cidr_block: 10.0.12.0/24,
    state: "available",
  }
  expect subnet_ip_addresses_nearly_exhausted passes unreported
}

test "an IPv6-only subnet is not judged" {
  given aws.ec2.subnet v6_only {
    subnet_id: "subnet-0v6only",
    subnet_arn: "arn:aws:ec2:us-east-1:111122223333:subnet/subnet-0v6only",
    vpc_id: "vpc-1",
    owner_id: "111122223333",
    availability_zone: "us-east-1a",
    availability_zone_id: "use1-az1",
    state: "available",
    available_ip_address_count: 0,
    default_for_az: false,
    map_public_ip_on_launch: false,
    assign_ipv6_address_on_creation: true,
    ipv6_native: true,
  }
  expect subnet_ip_addresses_nearly_exhausted passes v6_only
}

test "a subnet that is still pending is not judged" {
  given aws.ec2.subnet pending_subnet {
    subnet_id: "subnet-0pending",
    subnet_arn: "arn:aws:ec2:us-east-1:111122223333:subnet/subnet-0pending",
    vpc_id: "vpc-1",
    owner_id: "111122223333",
    cidr_block: 10.0.12.0/28,
    availability_zone: "us-east-1a",
    availability_zone_id: "use1-az1",
    state: "pending",
    available_ip_address_count: 0,
    default_for_az: false,
    map_public_ip_on_launch: false,
    assign_ipv6_address_on_creation: false,
  }
  expect subnet_ip_addresses_nearly_exhausted passes pending_subnet
}

/// AWS bills every public IPv4 address, associated or not; an Elastic IP
/// attached to nothing is pure cost (and a claimable address if released
/// carelessly later).
policy eip_unassociated {
  title "Elastic IP is not associated"
  description "The Elastic IP has no association: no `association_id`, no instance and no network interface (an empty id, as some APIs send for none, is none)."
  severity low
  category cost
  remediation "Associate the address with the resource that needs it, or release it (aws ec2 release-address --allocation-id <id>)."
  tags ["aws-fsbp:EC2.12", "pacbot:check-for-unused-elastic-ip"]

  rule on aws.ec2.address {
    // `(x ?? "") == ""`, not `not has(x)`: moto (and some exports) send
    // "" for an address associated with nothing.
    violation when
      (association_id ?? "") == ""
      and (instance_id ?? "") == ""
      and (network_interface_id ?? "") == ""
    message "Elastic IP {public_ip} ({id}, {domain}) is not associated with any instance or network interface"
  }

  autofix notify_only() after 0s notify tags["owner"] ?? "finops@example.com"
}

test "a free Elastic IP fails, an associated one passes" {
  given aws.ec2.address idle { public_ip: 54.1.2.3, allocation_id: "eipalloc-0idle", domain: "vpc" }
  given aws.ec2.address used {
    public_ip: 54.1.2.4,
    allocation_id: "eipalloc-0used",
    domain: "vpc",
    association_id: "eipassoc-0a1b",
    instance_id: "i-0abc",
    network_interface_id: "eni-0abc",
    private_ip_address: 10.0.1.5,
  }
  expect eip_unassociated fails idle
  expect eip_unassociated passes used
}

test "an Elastic IP whose ids are empty strings is free; one with only a network interface is used" {
  given aws.ec2.address blank {
    public_ip: 54.1.2.5,
    allocation_id: "eipalloc-0blank",
    domain: "vpc",
    association_id: "",
    instance_id: "",
    network_interface_id: "",
  }
  given aws.ec2.address eni_only {
    public_ip: 54.1.2.6,
    allocation_id: "eipalloc-0eni",
    domain: "vpc",
    instance_id: "",
    network_interface_id: "eni-0nat",
  }
  expect eip_unassociated fails blank
  expect eip_unassociated passes eni_only
}

/// A network interface left behind by a deleted instance keeps its
/// private address (and any Elastic IP) allocated and its security groups
/// in use.
policy network_interface_unattached {
  title "Network interface is not attached"
  description "A network interface you created (not requester-managed by an AWS service) has status `available`: attached to nothing."
  severity low
  category operations
  remediation "Attach it to the instance that needs it, or delete it: aws ec2 delete-network-interface --network-interface-id <id>."
  tags ["vpc-hygiene"]

  rule on aws.ec2.network_interface {
    violation when (status ?? "in-use") == "available" and not (requester_managed ?? false)
    message "network interface {id} ({private_ip_address}, subnet {subnet_id}) is attached to nothing"
  }

  autofix notify_only() notify tags["owner"] ?? "network-team@example.com"
}

test "a detached interface fails" {
  given aws.ec2.network_interface detached {
    network_interface_id: "eni-0detached",
    interface_type: "interface",
    status: "available",
    subnet_id: "subnet-1",
    vpc_id: "vpc-1",
    availability_zone: "us-east-1a",
    private_ip_address: 10.0.1.40,
    mac_address: "0a:1b:2c:3d:4e:80",
    owner_id: "111122223333",
    requester_managed: false,
    source_dest_check: true,
  }
  expect network_interface_unattached fails detached
}

test "an attached interface passes, and so does a detached one an AWS service manages" {
  given aws.ec2.network_interface attached {
    network_interface_id: "eni-0attached",
    interface_type: "interface",
    status: "in-use",
    subnet_id: "subnet-1",
    vpc_id: "vpc-1",
    availability_zone: "us-east-1a",
    private_ip_address: 10.0.1.41,
    mac_address: "0a:1b:2c:3d:4e:81",
    owner_id: "111122223333",
    requester_managed: false,
    source_dest_check: true,
    attachment: {
      attachment_id: "eni-attach-0a",
      instance_id: "i-0abc",
      device_index: 0,
      status: "attached",
    },
  }
  given aws.ec2.network_interface managed {
    network_interface_id: "eni-0managed",
    interface_type: "lambda",
    status: "available",
    subnet_id: "subnet-1",
    vpc_id: "vpc-1",
    availability_zone: "us-east-1a",
    private_ip_address: 10.0.1.42,
    mac_address: "0a:1b:2c:3d:4e:82",
    owner_id: "111122223333",
    requester_id: "AROAEXAMPLE:lambda",
    requester_managed: true,
    source_dest_check: true,
  }
  expect network_interface_unattached passes attached
  expect network_interface_unattached passes managed
}
