//! A real moto server (EC2, S3, IAM, STS on 127.0.0.1) per test, started on
//! a free port and killed when the test ends, and SDK clients for seeding
//! it. `./scripts/test` installs moto into `.venv`; `PAC_MOTO_SERVER` may
//! name another `moto_server` executable.

#![allow(dead_code)]

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region, SdkConfig};

pub const ACCOUNT: &str = "123456789012";

pub struct Moto {
    child: Child,
    pub port: u16,
    pub url: String,
}

fn moto_bin() -> PathBuf {
    if let Ok(p) = std::env::var("PAC_MOTO_SERVER") {
        return PathBuf::from(p);
    }
    std::path::PathBuf::from(
        std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"),
    )
    .join(".venv/bin/moto_server")
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("no free port on 127.0.0.1")
}

impl Moto {
    pub fn start() -> Moto {
        Moto::start_with(&[])
    }

    /// Starts moto with extra environment settings, e.g.
    /// `MOTO_IAM_LOAD_MANAGED_POLICIES=true` for AWS's managed policies
    /// (off by default: loading them slows every IAM account's creation).
    pub fn start_with(env: &[(&str, &str)]) -> Moto {
        let bin = moto_bin();
        assert!(
            bin.exists(),
            "{} not found: run ./scripts/test (it creates .venv with moto[server]) or set PAC_MOTO_SERVER",
            bin.display()
        );
        let port = free_port();
        let child = Command::new(&bin)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
        let moto = Moto {
            child,
            port,
            url: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "moto did not start on port {port}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        moto
    }

    /// SDK configuration for seeding and checking, with moto's dummy
    /// credentials.
    pub async fn sdk(&self, region: &str) -> SdkConfig {
        aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(region.to_owned()))
            .endpoint_url(&self.url)
            .credentials_provider(aws_credential_types::Credentials::new(
                "testing", "testing", None, None, "moto",
            ))
            .load()
            .await
    }

    pub async fn ec2(&self, region: &str) -> aws_sdk_ec2::Client {
        aws_sdk_ec2::Client::new(&self.sdk(region).await)
    }

    pub async fn s3(&self, region: &str) -> aws_sdk_s3::Client {
        let conf = aws_sdk_s3::config::Builder::from(&self.sdk(region).await)
            .force_path_style(true)
            .build();
        aws_sdk_s3::Client::from_conf(conf)
    }

    pub async fn iam(&self) -> aws_sdk_iam::Client {
        aws_sdk_iam::Client::new(&self.sdk("us-east-1").await)
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Environment for a `pacc` child talking to moto: dummy credentials, no
/// shared config files, no instance metadata lookups.
pub fn aws_env(cmd: &mut Command) -> &mut Command {
    cmd.env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_ENDPOINT_URL")
        .env("AWS_CONFIG_FILE", "/nonexistent/pac-test-aws-config")
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/pac-test-aws-credentials",
        )
        .env("AWS_EC2_METADATA_DISABLED", "true")
}

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

pub const AMI: &str = "ami-12c6146b";

/// Launches `n` instances in one RunInstances call; their IDs.
pub async fn launch(ec2: &aws_sdk_ec2::Client, n: i32, tags: &[(&str, &str)]) -> Vec<String> {
    let mut req = ec2
        .run_instances()
        .image_id(AMI)
        .instance_type(aws_sdk_ec2::types::InstanceType::T3Micro)
        .min_count(n)
        .max_count(n);
    if !tags.is_empty() {
        let mut spec = aws_sdk_ec2::types::TagSpecification::builder()
            .resource_type(aws_sdk_ec2::types::ResourceType::Instance);
        for (k, v) in tags {
            spec = spec.tags(aws_sdk_ec2::types::Tag::builder().key(*k).value(*v).build());
        }
        req = req.tag_specifications(spec.build());
    }
    let out = req.send().await.expect("RunInstances");
    out.instances()
        .iter()
        .filter_map(|i| i.instance_id().map(str::to_owned))
        .collect()
}

/// A security group with tcp/`port` open to `cidr`.
pub async fn group(ec2: &aws_sdk_ec2::Client, name: &str, port: i32, cidr: &str) -> String {
    let id = ec2
        .create_security_group()
        .group_name(name)
        .description(format!("{name} test group"))
        .send()
        .await
        .expect("CreateSecurityGroup")
        .group_id()
        .unwrap_or_default()
        .to_owned();
    ec2.authorize_security_group_ingress()
        .group_id(&id)
        .ip_permissions(
            aws_sdk_ec2::types::IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(port)
                .to_port(port)
                .ip_ranges(aws_sdk_ec2::types::IpRange::builder().cidr_ip(cidr).build())
                .build(),
        )
        .send()
        .await
        .expect("AuthorizeSecurityGroupIngress");
    id
}

/// An unencrypted, unattached volume.
pub async fn volume(ec2: &aws_sdk_ec2::Client, az: &str) -> String {
    ec2.create_volume()
        .availability_zone(az)
        .size(8)
        .encrypted(false)
        .send()
        .await
        .expect("CreateVolume")
        .volume_id()
        .unwrap_or_default()
        .to_owned()
}

/// Runs the built `pacc` with moto's environment.
pub fn pacc() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_pacc"));
    aws_env(&mut c);
    c
}

/// Reads an NDJSON inventory.
pub fn read_ndjson(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("NDJSON line"))
        .collect()
}

/// Test policies, one per auto-fix action the AWS executor runs.
/// `{EXEMPT}` is replaced by the security group an exception exempts.
pub const POLICIES: &str = r#"package conntest

policy ssh_world {
  title "SSH open to the world"
  severity critical
  category security
  rule on aws.ec2.security_group {
    violation when any p in ip_permissions:
      covers_port(p, 22) and any r in p.ip_ranges: has(r.cidr_ip) and r.cidr_ip == 0.0.0.0/0
    message "{group_id} allows SSH from anywhere"
  }
  autofix revoke_world_ingress(ports: [22])
}

exception "CHG-1" for ssh_world {
  resources ["{EXEMPT}"]
  expires 2099-01-01
  reason "bastion, reviewed"
}

policy sg_cost_center {
  title "Security group without a cost-center tag"
  severity low
  category tagging
  rule on aws.ec2.security_group {
    violation when (group_name ?? "") != "default" and not ("cost-center" in tags)
  }
  // The value is computed from the failing group (its name).
  autofix tag_resource(key: "cost-center", value: "cc-" + (group_name ?? id))
}

policy unowned_running {
  title "Running instance without an owner tag"
  severity medium
  category governance
  rule on aws.ec2.instance {
    violation when (state?.name ?? "") == "running" and not ("owner" in tags)
  }
  autofix stop_instance()
}

policy unencrypted_volume {
  title "Unencrypted EBS volume"
  severity medium
  category security
  rule on aws.ec2.volume {
    violation when not (encrypted ?? false)
  }
  autofix enable_ebs_encryption_by_default()
}

policy unattached_volume {
  title "Unattached EBS volume"
  severity low
  category cost
  rule on aws.ec2.volume {
    violation when (state ?? "") == "available"
  }
  autofix delete_unattached_volume(snapshot_first: true)
}

policy public_snapshot {
  title "Public EBS snapshot"
  severity high
  category security
  rule on aws.ec2.snapshot {
    violation when any p in create_volume_permissions: (p.group ?? "") == "all"
  }
  autofix make_snapshot_private()
}

policy public_image {
  title "Public AMI"
  severity high
  category security
  rule on aws.ec2.image {
    violation when any p in launch_permissions: (p.group ?? "") == "all"
  }
  autofix make_image_private()
}

policy public_bucket_acl {
  title "Bucket ACL grants everyone access and nothing blocks it"
  severity critical
  category security
  rule on aws.s3.bucket {
    violation when
      any g in acl.grants: (g.grantee?.uri ?? "") == "http://acs.amazonaws.com/groups/global/AllUsers"
      and not (public_access_block?.ignore_public_acls ?? false)
  }
  autofix block_s3_public_access()
}

policy old_access_key {
  title "Active access key older than 90 days"
  severity high
  category security
  rule on aws.iam.access_key {
    violation when (status ?? "") == "Active" and has(create_date) and older_than(create_date, 90d)
    message "{access_key_id} of {user_name} is old"
  }
  autofix deactivate_access_key()
}
"#;

/// Seeded resources, by role in the tests.
#[derive(Debug, Default)]
pub struct Estate {
    pub owned_instances: Vec<String>,
    pub unowned_instance: String,
    pub open_east: String,
    pub open_west: String,
    pub bastion: String,
    pub internal: String,
    pub loose_east: String,
    pub loose_west: String,
    pub snapshot: String,
    pub image: String,
    pub public_bucket: String,
    pub private_bucket: String,
    pub access_key: String,
}

/// Seeds an estate across us-east-1 and eu-west-1 through the SDK.
pub async fn seed(moto: &Moto) -> Estate {
    use aws_sdk_ec2::types::{OperationType, PermissionGroup, SnapshotAttributeName};
    let east = moto.ec2("us-east-1").await;
    let west = moto.ec2("eu-west-1").await;
    let mut e = Estate::default();
    for _ in 0..2 {
        e.owned_instances
            .extend(launch(&east, 1, &[("owner", "team-a@example.com")]).await);
    }
    e.unowned_instance = launch(&west, 1, &[]).await.remove(0);
    e.open_east = group(&east, "open-ssh", 22, "0.0.0.0/0").await;
    e.open_west = group(&west, "open-ssh", 22, "0.0.0.0/0").await;
    e.bastion = group(&east, "bastion", 22, "0.0.0.0/0").await;
    e.internal = group(&east, "internal", 22, "10.0.0.0/8").await;
    e.loose_east = volume(&east, "us-east-1a").await;
    e.loose_west = volume(&west, "eu-west-1a").await;
    e.snapshot = east
        .create_snapshot()
        .volume_id(&e.loose_east)
        .send()
        .await
        .expect("CreateSnapshot")
        .snapshot_id()
        .unwrap_or_default()
        .to_owned();
    east.modify_snapshot_attribute()
        .snapshot_id(&e.snapshot)
        .attribute(SnapshotAttributeName::CreateVolumePermission)
        .operation_type(OperationType::Add)
        .group_names("all")
        .send()
        .await
        .expect("ModifySnapshotAttribute");
    e.image = east
        .create_image()
        .instance_id(&e.owned_instances[0])
        .name("pac-test-image")
        .send()
        .await
        .expect("CreateImage")
        .image_id()
        .unwrap_or_default()
        .to_owned();
    east.modify_image_attribute()
        .image_id(&e.image)
        .launch_permission(
            aws_sdk_ec2::types::LaunchPermissionModifications::builder()
                .add(
                    aws_sdk_ec2::types::LaunchPermission::builder()
                        .group(PermissionGroup::All)
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .expect("ModifyImageAttribute");
    let s3e = moto.s3("us-east-1").await;
    e.public_bucket = "pac-public-logs".into();
    s3e.create_bucket()
        .bucket(&e.public_bucket)
        .acl(aws_sdk_s3::types::BucketCannedAcl::PublicRead)
        .send()
        .await
        .expect("CreateBucket public");
    let s3w = moto.s3("eu-west-1").await;
    e.private_bucket = "pac-private-data".into();
    s3w.create_bucket()
        .bucket(&e.private_bucket)
        .create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::EuWest1)
                .build(),
        )
        .send()
        .await
        .expect("CreateBucket private");
    let iam = moto.iam().await;
    iam.create_user()
        .user_name("alice")
        .send()
        .await
        .expect("CreateUser");
    e.access_key = iam
        .create_access_key()
        .user_name("alice")
        .send()
        .await
        .expect("CreateAccessKey")
        .access_key()
        .map(|k| k.access_key_id().to_owned())
        .unwrap_or_default();
    e
}

/// A config with one AWS source on moto.
pub fn aws_config(moto: &Moto, extra: &str) -> String {
    format!(
        "[[source]]\nkind = \"aws\"\nname = \"moto\"\nregions = [\"us-east-1\", \"eu-west-1\"]\nendpoint_url = \"{}\"\nmax_attempts = 2\ntimeout_secs = 20\n{extra}\n",
        moto.url
    )
}

/// Runs `pacc` and returns (exit code, stdout, stderr).
pub fn run(cmd: &mut Command) -> (i32, String, String) {
    let out = cmd.output().expect("run pacc");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The failing resources of `pacc eval` (policy → resource ids) with the
/// policies at `library` on `dir/inventory.ndjson`; `extra` arguments
/// follow (e.g. `--now`).
pub fn failing(
    library: &Path,
    dir: &Path,
    extra: &[&str],
) -> std::collections::BTreeMap<String, std::collections::BTreeSet<String>> {
    let (_, stdout, stderr) = run(pacc()
        .arg("eval")
        .arg("--policies")
        .arg(library)
        .arg("--inventory")
        .arg(dir.join("inventory.ndjson"))
        .args(["--format", "json"])
        .args(extra));
    let report: serde_json::Value =
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}\n{stderr}"));
    let mut out: std::collections::BTreeMap<String, std::collections::BTreeSet<String>> =
        Default::default();
    for v in report["violations"].as_array().unwrap() {
        out.entry(v["policy"].as_str().unwrap().to_owned())
            .or_default()
            .insert(v["resource"]["id"].as_str().unwrap().to_owned());
    }
    out
}

/// Each fix of a `pacc fix --format json` report: (action, resource id) →
/// status.
pub fn fix_statuses(
    report: &serde_json::Value,
) -> std::collections::BTreeMap<(String, String), String> {
    report["fixes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                (
                    f["action"].as_str().unwrap().to_owned(),
                    f["target"]["id"].as_str().unwrap().to_owned(),
                ),
                f["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// Creates a Python function `name` running as `role_arn`, its code one
/// small file (moto keeps the code, never runs it).
pub async fn create_function(lambda: &aws_sdk_lambda::Client, name: &str, role_arn: &str) {
    lambda
        .create_function()
        .function_name(name)
        .runtime(aws_sdk_lambda::types::Runtime::Python312)
        .role(role_arn)
        .handler("app.handler")
        .code(
            aws_sdk_lambda::types::FunctionCode::builder()
                .zip_file(aws_smithy_types::Blob::new(zip_with_one_file()))
                .build(),
        )
        .send()
        .await
        .expect("CreateFunction");
}

/// A zip archive holding one small file (moto keeps the code, never runs it).
pub fn zip_with_one_file() -> Vec<u8> {
    // A stored (uncompressed) entry `app.py` with `x=1\n`, built by hand:
    // local header, data, central directory, end record.
    let name = b"app.py";
    let data = b"x=1\n";
    let crc = crc32(data);
    let mut z = Vec::new();
    let le16 = |v: u16| v.to_le_bytes();
    let le32 = |v: u32| v.to_le_bytes();
    z.extend(le32(0x0403_4b50));
    z.extend(le16(20));
    z.extend(le16(0));
    z.extend(le16(0));
    z.extend(le16(0));
    z.extend(le16(0));
    z.extend(le32(crc));
    z.extend(le32(data.len() as u32));
    z.extend(le32(data.len() as u32));
    z.extend(le16(name.len() as u16));
    z.extend(le16(0));
    z.extend(name);
    z.extend(data);
    let central = z.len() as u32;
    z.extend(le32(0x0201_4b50));
    z.extend(le16(20));
    z.extend(le16(20));
    z.extend(le16(0));
    z.extend(le16(0));
    z.extend(le16(0));
    z.extend(le16(0));
    z.extend(le32(crc));
    z.extend(le32(data.len() as u32));
    z.extend(le32(data.len() as u32));
    z.extend(le16(name.len() as u16));
    z.extend(le16(0));
    z.extend(le16(0));
    z.extend(le16(0));
    z.extend(le16(0));
    z.extend(le32(0));
    z.extend(le32(0));
    z.extend(name);
    let size = z.len() as u32 - central;
    z.extend(le32(0x0605_4b50));
    z.extend(le16(0));
    z.extend(le16(0));
    z.extend(le16(1));
    z.extend(le16(1));
    z.extend(le32(size));
    z.extend(le32(central));
    z.extend(le16(0));
    z
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}
