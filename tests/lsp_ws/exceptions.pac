package demo.exceptions

exception "CHG-1" for default_vpc_in_use {
  resources ["vpc-0legacy"]
  expires 2099-01-01
  reason "legacy network, reviewed by secops"
}

test "an available default-looking VPC fails" {
  given aws.ec2.vpc v {
    vpc_id: "vpc-0abc",
    cidr_block: 10.1.0.0/16,
    state: "available",
    owner_id: "111122223333",
    is_default: false,
    instance_tenancy: "default",
  }
  expect default_vpc_in_use fails v
}
