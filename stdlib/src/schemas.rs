//! The stdlib's resource schemas, written in Pac and embedded in the binary so
//! that every workspace sees them without a search path.

/// `(virtual path, source)` of every stdlib file, in load order.
pub const FILES: &[(&str, &str)] = &[
    (
        "<stdlib>/prelude.pac",
        include_str!("../schemas/prelude.pac"),
    ),
    (
        "<stdlib>/aws/ec2.pac",
        include_str!("../schemas/aws/ec2.pac"),
    ),
    ("<stdlib>/aws/s3.pac", include_str!("../schemas/aws/s3.pac")),
    (
        "<stdlib>/aws/iam.pac",
        include_str!("../schemas/aws/iam.pac"),
    ),
    (
        "<stdlib>/aws/policy.pac",
        include_str!("../schemas/aws/policy.pac"),
    ),
    (
        "<stdlib>/aws/kms.pac",
        include_str!("../schemas/aws/kms.pac"),
    ),
    (
        "<stdlib>/aws/cloudtrail.pac",
        include_str!("../schemas/aws/cloudtrail.pac"),
    ),
    (
        "<stdlib>/aws/rds.pac",
        include_str!("../schemas/aws/rds.pac"),
    ),
    (
        "<stdlib>/aws/lambda.pac",
        include_str!("../schemas/aws/lambda.pac"),
    ),
    (
        "<stdlib>/aws/messaging.pac",
        include_str!("../schemas/aws/messaging.pac"),
    ),
    (
        "<stdlib>/aws/containers.pac",
        include_str!("../schemas/aws/containers.pac"),
    ),
    (
        "<stdlib>/aws/dynamodb.pac",
        include_str!("../schemas/aws/dynamodb.pac"),
    ),
    (
        "<stdlib>/aws/guardduty.pac",
        include_str!("../schemas/aws/guardduty.pac"),
    ),
    (
        "<stdlib>/aws/elb.pac",
        include_str!("../schemas/aws/elb.pac"),
    ),
    (
        "<stdlib>/aws/acm.pac",
        include_str!("../schemas/aws/acm.pac"),
    ),
    (
        "<stdlib>/aws/config.pac",
        include_str!("../schemas/aws/config.pac"),
    ),
    ("<stdlib>/vuln.pac", include_str!("../schemas/vuln.pac")),
    (
        "<stdlib>/aws/actions.pac",
        include_str!("../schemas/aws/actions.pac"),
    ),
    (
        "<stdlib>/aws/functions.pac",
        include_str!("../schemas/aws/functions.pac"),
    ),
];
