// SYNTAX TEST "source.pac" "policies, rules and metadata"
package aws.ec2.network
// <------- keyword.other.package.pac
//      ^^^^^^^^^^^^^^^ entity.name.namespace.pac

/// Security groups must not allow SSH — «from anywhere».
// <--- comment.line.documentation.pac
policy ssh_open_to_world {
// <------ keyword.declaration.policy.pac
//     ^^^^^^^^^^^^^^^^^ entity.name.type.policy.pac
  title "Security group allows SSH from 0.0.0.0/0"
//^^^^^ keyword.other.metadata.pac
//      ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^ string.quoted.double.pac
  severity critical
//^^^^^^^^ keyword.other.metadata.pac
//         ^^^^^^^^ constant.language.severity.pac

  rule ssh on aws.ec2.security_group {
//^^^^ keyword.declaration.rule.pac
//     ^^^ entity.name.function.rule.pac
//         ^^ keyword.other.pac
//            ^^^^^^^^^^^^^^^^^^^^^^ entity.name.type.resource.pac
    violation when any p in ip_permissions: p.covers_port(22)
//  ^^^^^^^^^ keyword.control.pac
//                 ^^^ keyword.control.quantifier.pac
//                       ^^ keyword.operator.word.pac
//                                            ^^^^^^^^^^^ entity.name.function.call.pac
//                                                        ^^ constant.numeric.integer.pac
    message "{group_id} allows SSH"
//            ^^^^^^^^ meta.template.expression.pac variable.other.pac
  }

  autofix revoke_world_ssh after 24h notify tags["owner"]
//^^^^^^^ keyword.other.pac
//                               ^^^ constant.numeric.duration.pac
}
