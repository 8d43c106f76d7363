package demo.network

/// VPCs that everything else depends on.
group core_vpcs {
  aws.ec2.vpc where not (is_default ?? false)
}

/// A default VPC is open by design — «not for production».
policy default_vpc_in_use {
  title "Default VPC is in use"
  severity medium
  category security

  rule on aws.ec2.vpc in core_vpcs {
    violation when
      (state ?? "available") == "available" and has(vpc_id) and starts_with(vpc_id, "vpc-0")
    message "VPC {id} ({cidr_block}) looks like a default one"
  }
}
