//! The stdlib schemas against the AWS SDK's shapes (issue 18, part 1): a
//! schema field that is required (no `?`, not a list or map) while the SDK
//! models the member as `Option` drops every real document that lacks it.
//! This test reads each mapped SDK struct from the SDK crate's own source
//! (found through `cargo metadata`) and each schema or record from
//! `stdlib/schemas`, and fails on any such field.
//!
//! There are no exceptions: the fields of the schemas written before this
//! check (EC2, S3, IAM users), once listed in a shrinking baseline, were made
//! optional in issue 16, part 5.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// (SDK crate, SDK struct, schema or record name).
const PAIRS: &[(&str, &str, &str)] = &[
    ("aws-sdk-ec2", "Instance", "aws.ec2.instance"),
    ("aws-sdk-ec2", "InstanceState", "InstanceState"),
    ("aws-sdk-ec2", "Placement", "Placement"),
    ("aws-sdk-ec2", "Monitoring", "Monitoring"),
    ("aws-sdk-ec2", "GroupIdentifier", "GroupIdentifier"),
    ("aws-sdk-ec2", "IamInstanceProfile", "IamInstanceProfile"),
    (
        "aws-sdk-ec2",
        "InstanceMetadataOptionsResponse",
        "MetadataOptions",
    ),
    (
        "aws-sdk-ec2",
        "InstanceBlockDeviceMapping",
        "InstanceBlockDeviceMapping",
    ),
    (
        "aws-sdk-ec2",
        "EbsInstanceBlockDevice",
        "EbsInstanceBlockDevice",
    ),
    (
        "aws-sdk-ec2",
        "InstanceNetworkInterface",
        "InstanceNetworkInterface",
    ),
    (
        "aws-sdk-ec2",
        "InstanceNetworkInterfaceAssociation",
        "NetworkInterfaceAssociation",
    ),
    ("aws-sdk-ec2", "InstanceIpv6Address", "Ipv6Address"),
    ("aws-sdk-ec2", "SecurityGroup", "aws.ec2.security_group"),
    ("aws-sdk-ec2", "IpPermission", "IpPermission"),
    ("aws-sdk-ec2", "IpRange", "IpRange"),
    ("aws-sdk-ec2", "Ipv6Range", "Ipv6Range"),
    ("aws-sdk-ec2", "PrefixListId", "PrefixListId"),
    ("aws-sdk-ec2", "UserIdGroupPair", "UserIdGroupPair"),
    ("aws-sdk-ec2", "Volume", "aws.ec2.volume"),
    ("aws-sdk-ec2", "VolumeAttachment", "VolumeAttachment"),
    ("aws-sdk-ec2", "Snapshot", "aws.ec2.snapshot"),
    (
        "aws-sdk-ec2",
        "CreateVolumePermission",
        "CreateVolumePermission",
    ),
    ("aws-sdk-ec2", "Image", "aws.ec2.image"),
    ("aws-sdk-ec2", "LaunchPermission", "LaunchPermission"),
    ("aws-sdk-ec2", "BlockDeviceMapping", "BlockDeviceMapping"),
    ("aws-sdk-ec2", "EbsBlockDevice", "EbsBlockDevice"),
    ("aws-sdk-ec2", "Vpc", "aws.ec2.vpc"),
    ("aws-sdk-ec2", "Subnet", "aws.ec2.subnet"),
    (
        "aws-sdk-ec2",
        "VpcCidrBlockAssociation",
        "CidrBlockAssociation",
    ),
    (
        "aws-sdk-ec2",
        "VpcIpv6CidrBlockAssociation",
        "Ipv6CidrBlockAssociation",
    ),
    ("aws-sdk-ec2", "VpcCidrBlockState", "CidrBlockState"),
    ("aws-sdk-ec2", "NetworkAcl", "aws.ec2.network_acl"),
    ("aws-sdk-ec2", "NetworkAclEntry", "NetworkAclEntry"),
    ("aws-sdk-ec2", "PortRange", "PortRange"),
    ("aws-sdk-ec2", "IcmpTypeCode", "IcmpTypeCode"),
    (
        "aws-sdk-ec2",
        "NetworkAclAssociation",
        "NetworkAclAssociation",
    ),
    (
        "aws-sdk-ec2",
        "NetworkInterface",
        "aws.ec2.network_interface",
    ),
    (
        "aws-sdk-ec2",
        "NetworkInterfaceAttachment",
        "NetworkInterfaceAttachment",
    ),
    (
        "aws-sdk-ec2",
        "NetworkInterfacePrivateIpAddress",
        "NetworkInterfacePrivateIpAddress",
    ),
    ("aws-sdk-ec2", "Address", "aws.ec2.address"),
    ("aws-sdk-ec2", "KeyPairInfo", "aws.ec2.key_pair"),
    ("aws-sdk-ec2", "FlowLog", "aws.ec2.flow_log"),
    ("aws-sdk-s3", "Grant", "Grant"),
    ("aws-sdk-s3", "Grantee", "Grantee"),
    ("aws-sdk-s3", "Owner", "Owner"),
    (
        "aws-sdk-s3",
        "PublicAccessBlockConfiguration",
        "PublicAccessBlockConfiguration",
    ),
    ("aws-sdk-iam", "User", "aws.iam.user"),
    ("aws-sdk-iam", "MfaDevice", "MfaDevice"),
    ("aws-sdk-iam", "AttachedPolicy", "AttachedPolicy"),
    ("aws-sdk-iam", "AccessKeyMetadata", "aws.iam.access_key"),
    ("aws-sdk-iam", "PasswordPolicy", "aws.iam.password_policy"),
    ("aws-sdk-iam", "Role", "aws.iam.role"),
    ("aws-sdk-iam", "Policy", "aws.iam.policy"),
    ("aws-sdk-ec2", "VpnGateway", "aws.ec2.vpn_gateway"),
    (
        "aws-sdk-elasticloadbalancing",
        "LoadBalancerDescription",
        "aws.elb.load_balancer",
    ),
    (
        "aws-sdk-elasticloadbalancing",
        "Listener",
        "ClassicListener",
    ),
    (
        "aws-sdk-elasticloadbalancing",
        "AccessLog",
        "ClassicAccessLog",
    ),
    (
        "aws-sdk-autoscaling",
        "AutoScalingGroup",
        "aws.autoscaling.group",
    ),
    (
        "aws-sdk-autoscaling",
        "LaunchConfiguration",
        "aws.autoscaling.launch_configuration",
    ),
    ("aws-sdk-ec2", "VpcAttachment", "VpcAttachment"),
    (
        "aws-sdk-iam",
        "ServerCertificateMetadata",
        "aws.iam.server_certificate",
    ),
    ("aws-sdk-kms", "KeyMetadata", "aws.kms.key"),
    ("aws-sdk-cloudtrail", "Trail", "aws.cloudtrail.trail"),
    ("aws-sdk-rds", "DbInstance", "aws.rds.db_instance"),
    ("aws-sdk-rds", "Endpoint", "Endpoint"),
    ("aws-sdk-rds", "DbSnapshot", "aws.rds.db_snapshot"),
    (
        "aws-sdk-lambda",
        "FunctionConfiguration",
        "aws.lambda.function",
    ),
    ("aws-sdk-ecr", "Repository", "aws.ecr.repository"),
    ("aws-sdk-eks", "Cluster", "aws.eks.cluster"),
    ("aws-sdk-dynamodb", "TableDescription", "aws.dynamodb.table"),
    (
        "aws-sdk-elasticloadbalancingv2",
        "LoadBalancer",
        "aws.elbv2.load_balancer",
    ),
    ("aws-sdk-elasticloadbalancingv2", "Listener", "Listener"),
    ("aws-sdk-acm", "CertificateSummary", "aws.acm.certificate"),
    (
        "aws-sdk-config",
        "ConfigurationRecorder",
        "aws.config.recorder",
    ),
    (
        "aws-sdk-cloudfront",
        "DistributionSummary",
        "aws.cloudfront.distribution",
    ),
    (
        "aws-sdk-cloudfront",
        "DefaultCacheBehavior",
        "CacheBehavior",
    ),
    ("aws-sdk-cloudfront", "CacheBehavior", "CacheBehavior"),
    (
        "aws-sdk-cloudfront",
        "ViewerCertificate",
        "ViewerCertificate",
    ),
    ("aws-sdk-cloudfront", "Origin", "Origin"),
    ("aws-sdk-apigateway", "RestApi", "aws.apigateway.rest_api"),
    ("aws-sdk-apigateway", "Stage", "Stage"),
    ("aws-sdk-redshift", "Cluster", "aws.redshift.cluster"),
    (
        "aws-sdk-opensearch",
        "DomainStatus",
        "aws.opensearch.domain",
    ),
    ("aws-sdk-opensearch", "VpcDerivedInfo", "VpcOptions"),
    (
        "aws-sdk-opensearch",
        "EncryptionAtRestOptions",
        "EncryptionAtRestOptions",
    ),
    (
        "aws-sdk-opensearch",
        "NodeToNodeEncryptionOptions",
        "NodeToNodeEncryptionOptions",
    ),
    (
        "aws-sdk-opensearch",
        "DomainEndpointOptions",
        "DomainEndpointOptions",
    ),
    (
        "aws-sdk-opensearch",
        "AdvancedSecurityOptions",
        "AdvancedSecurityOptions",
    ),
];

fn workspace() -> PathBuf {
    std::path::PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"),
    )
    .parent()
    .expect("connectors/ is in the workspace")
    .to_path_buf()
}

/// Each SDK crate's `src/` directory, from `cargo metadata` (the locked
/// versions this build uses).
fn sdk_sources() -> BTreeMap<String, PathBuf> {
    // Only this platform's packages: the others are never downloaded.
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let version = std::process::Command::new(rustc)
        .arg("-vV")
        .output()
        .expect("run rustc -vV");
    let host = String::from_utf8_lossy(&version.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: ").map(str::to_owned))
        .expect("rustc -vV names the host");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = std::process::Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--offline"])
        .args(["--filter-platform", &host, "--manifest-path"])
        .arg(workspace().join("Cargo.toml"))
        .output()
        .expect("run cargo metadata");
    assert!(
        out.status.success(),
        "cargo metadata: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| {
            let name = p["name"].as_str()?;
            let manifest = Path::new(p["manifest_path"].as_str()?);
            name.starts_with("aws-sdk-")
                .then(|| (name.to_owned(), manifest.parent().unwrap().join("src")))
        })
        .collect()
}

/// The members of `pub struct NAME { … }` in the crate's `types` module:
/// name → whether the SDK models it as `Option`.
fn sdk_struct(src: &Path, name: &str) -> BTreeMap<String, bool> {
    let header = format!("pub struct {name} {{");
    for entry in std::fs::read_dir(src.join("types")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let Some(start) = text.find(&header) else {
            continue;
        };
        let body = &text[start + header.len()..];
        let body = &body[..body.find("\n}").unwrap()];
        return struct_members(body);
    }
    panic!("no `{header}` in {}/types", src.display())
}

fn struct_members(body: &str) -> BTreeMap<String, bool> {
    body.lines()
        .filter_map(|l| l.strip_prefix("    pub "))
        .filter_map(|l| l.split_once(": "))
        .map(|(n, ty)| {
            (
                n.trim_start_matches("r#").to_owned(),
                ty.starts_with("::std::option::Option<"),
            )
        })
        .collect()
}

/// The fields of `schema NAME { … }` or `record NAME { … }`: name → type.
fn schema_block(sources: &[(PathBuf, String)], name: &str) -> BTreeMap<String, String> {
    for (_, text) in sources {
        for kw in ["schema", "record"] {
            let header = format!("\n{kw} {name} {{");
            if let Some(start) = text.find(&header) {
                let body = &text[start + header.len()..];
                let body = &body[..body.find("\n}").unwrap()];
                return block_fields(body);
            }
        }
    }
    panic!("no schema or record `{name}` in stdlib/schemas")
}

fn block_fields(body: &str) -> BTreeMap<String, String> {
    body.lines()
        .filter_map(|l| l.strip_prefix("  "))
        .filter(|l| !l.starts_with("//") && !l.starts_with(' '))
        .filter_map(|l| l.split_once(": "))
        .map(|(n, t)| (n.to_owned(), t.trim().to_owned()))
        .collect()
}

/// A field the data may omit but the schema requires.
fn required(ty: &str) -> bool {
    !(ty.ends_with('?') || ty.starts_with("list<") || ty.starts_with("map<"))
}

/// `schema_name.field` of every required schema field whose SDK member is
/// an `Option`.
fn problems(
    schema: &str,
    fields: &BTreeMap<String, String>,
    sdk: &BTreeMap<String, bool>,
) -> Vec<String> {
    fields
        .iter()
        .filter(|(f, ty)| required(ty) && sdk.get(f.as_str()) == Some(&true))
        .map(|(f, _)| format!("{schema}.{f}"))
        .collect()
}

fn schema_sources() -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    let mut dirs = vec![workspace().join("stdlib/schemas")];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "pac") {
                let text = std::fs::read_to_string(&p).unwrap();
                out.push((p, text));
            }
        }
    }
    out
}

#[test]
fn the_checker_finds_a_required_field_the_sdk_leaves_optional() {
    let sdk = struct_members(
        "\n    pub id: ::std::string::String,\n    pub name: ::std::option::Option<::std::string::String>,\n    pub tags: ::std::option::Option<::std::vec::Vec<Tag>>,\n    pub r#type: ::std::option::Option<Kind>,",
    );
    let fields = block_fields(
        "\n  /// doc\n  id: string\n  name: string\n  tags: list<Tag>\n  type: string?",
    );
    assert_eq!(problems("t", &fields, &sdk), vec!["t.name".to_owned()]);
}

#[test]
fn schemas_make_optional_what_the_sdk_makes_optional() {
    let sources = sdk_sources();
    let schemas = schema_sources();
    let mut found = BTreeSet::new();
    for (krate, strukt, schema) in PAIRS {
        let src = sources
            .get(*krate)
            .unwrap_or_else(|| panic!("{krate} is not a dependency of the workspace"));
        let sdk = sdk_struct(src, strukt);
        let fields = schema_block(&schemas, schema);
        let shared = fields
            .keys()
            .filter(|f| sdk.contains_key(f.as_str()))
            .count();
        assert!(
            shared > 0,
            "{schema} shares no field with {krate}::{strukt}: is the pair right?"
        );
        found.extend(problems(schema, &fields, &sdk));
    }
    assert!(
        found.is_empty(),
        "these schema fields are required but the AWS SDK models them as Option (a real document may omit them): make them optional (`T?`):\n{found:#?}"
    );
}
