// SYNTAX TEST "source.pac" "groups, exceptions, tests and literals"
group prod_running {
// <----- keyword.declaration.group.pac
//    ^^^^^^^^^^^^ entity.name.type.group.pac
  aws.ec2.instance where state.name == "running" and launch_time < 2026-01-01
//                 ^^^^^ keyword.control.pac
//                             ^^^^ variable.other.property.pac
//                                  ^^ keyword.operator.comparison.pac
//                                                                 ^^^^^^^^^^ constant.numeric.timestamp.pac
}

sticky exception sandbox for untagged_resources {
// <------ keyword.other.pac
//     ^^^^^^^^^ keyword.other.pac
  where cidr_block == 10.0.0.0/8 or ip == 10.1.2.3  // «note»
//                    ^^^^^^^^^^ constant.numeric.cidr.pac
//                                        ^^^^^^^^ constant.numeric.ip.pac
//                                                  ^^^^^^^^^^ comment.line.double-slash.pac
}

test "SSH from anywhere is a violation" {
// <---- keyword.other.pac
//   ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^ string.quoted.double.pac
  given aws.ec2.security_group sg { group_id: "sg-1", enabled: true }
//^^^^^ keyword.other.pac
//      ^^^^^^^^^^^^^^^^^^^^^^ entity.name.type.resource.pac
//                                                             ^^^^ constant.language.boolean.pac
  expect ssh_open_to_world fails sg
//^^^^^^ keyword.control.pac
//                         ^^^^^ keyword.other.verb.pac
}
/* a block
   comment */
// <----------- comment.block.pac
