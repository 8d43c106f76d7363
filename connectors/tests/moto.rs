//! The AWS connector and actions against a real moto server, without the
//! CLI (tests/collect.rs and tests/fix.rs at the root drive `pacc`).

use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region};
use pac_connectors::aws::actions::AwsActions;
use pac_connectors::aws::{AwsConnector, AwsSource};
use pac_connectors::{Action, CollectPlan, Connector, Event, FixRequest, FixStatus, Target};
use tokio::sync::mpsc;

struct Moto(Child, String);

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn moto() -> Moto {
    let bin = std::env::var("PAC_MOTO_SERVER")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| {
            std::path::PathBuf::from(
                std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"),
            )
            .join("../.venv/bin/moto_server")
        });
    assert!(
        bin.exists(),
        "{} missing: run ./scripts/test",
        bin.display()
    );
    let p = port();
    let child = Command::new(bin)
        .args(["-H", "127.0.0.1", "-p", &p.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while TcpStream::connect(("127.0.0.1", p)).is_err() {
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(100));
    }
    Moto(child, format!("http://127.0.0.1:{p}"))
}

fn source(url: &str, regions: &[&str]) -> AwsSource {
    // SAFETY: set before any thread of this test reads the environment.
    unsafe {
        std::env::set_var("AWS_ACCESS_KEY_ID", "testing");
        std::env::set_var("AWS_SECRET_ACCESS_KEY", "testing");
        std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
    }
    AwsSource {
        name: "moto".into(),
        regions: regions.iter().map(|s| s.to_string()).collect(),
        profile: None,
        endpoint_url: Some(url.into()),
        region_endpoints: Default::default(),
        accounts: vec![],
        types: None,
        concurrency: 8,
        timeout_secs: 10,
        max_attempts: 2,
        page_size: None,
    }
}

/// The SDK configuration for moto at `url`, us-east-1, with test
/// credentials (to seed the estate and read it back).
async fn moto_sdk(url: &str) -> aws_config::SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(url)
        .credentials_provider(aws_credential_types::Credentials::new(
            "testing", "testing", None, None, "t",
        ))
        .load()
        .await
}

async fn ec2_client(url: &str) -> aws_sdk_ec2::Client {
    aws_sdk_ec2::Client::new(&moto_sdk(url).await)
}

async fn collect(c: &AwsConnector, plan: &CollectPlan) -> (Vec<serde_json::Value>, Vec<String>) {
    let (tx, mut rx) = mpsc::channel(1024);
    let (r, events) = tokio::join!(c.collect(plan, tx), async {
        let mut v = Vec::new();
        while let Some(e) = rx.recv().await {
            v.push(e);
        }
        v
    });
    r.unwrap();
    let mut docs = Vec::new();
    let mut errors = Vec::new();
    for e in events {
        match e {
            Event::Document(d) => docs.push(d),
            Event::Error(e) => errors.push(e.to_string()),
            _ => {}
        }
    }
    (docs, errors)
}

#[tokio::test]
async fn collects_seeded_resources_and_fixes_a_security_group() {
    let m = moto();
    let ec2 = ec2_client(&m.1).await;
    for _ in 0..3 {
        ec2.run_instances()
            .image_id("ami-12c6146b")
            .min_count(1)
            .max_count(1)
            .send()
            .await
            .unwrap();
    }
    let sg = ec2
        .create_security_group()
        .group_name("open")
        .description("d")
        .send()
        .await
        .unwrap()
        .group_id()
        .unwrap()
        .to_owned();
    ec2.authorize_security_group_ingress()
        .group_id(&sg)
        .ip_permissions(
            aws_sdk_ec2::types::IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(22)
                .to_port(22)
                .ip_ranges(
                    aws_sdk_ec2::types::IpRange::builder()
                        .cidr_ip("0.0.0.0/0")
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();

    let mut src = source(&m.1, &["us-east-1", "eu-west-1"]);
    src.region_endpoints
        .insert("eu-west-1".into(), format!("http://127.0.0.1:{}", port()));
    let conn = AwsConnector::new(src.clone());
    let (docs, errors) = collect(&conn, &CollectPlan::everything()).await;
    let count = |t: &str| docs.iter().filter(|d| d["type"] == t).count();
    assert_eq!(count("aws.ec2.instance"), 3, "{errors:?}");
    assert_eq!(count("aws.iam.account_summary"), 1);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].contains("eu-west-1") && errors[0].contains("unreachable"),
        "{errors:?}"
    );
    let doc = docs.iter().find(|d| d["id"] == sg.as_str()).unwrap();
    assert_eq!(doc["account"], "123456789012");
    assert_eq!(
        doc["attributes"]["ip_permissions"][0]["ip_ranges"][0]["cidr_ip"],
        "0.0.0.0/0"
    );
    let calls = conn.api_calls();
    // One per region: the unreachable one is tried too.
    assert_eq!(calls.get("EC2:DescribeInstances"), Some(&2), "{calls:?}");
    assert_eq!(
        count("aws.ec2.image"),
        0,
        "moto's public images are not the account's"
    );

    let actions = AwsActions::new(source(&m.1, &["us-east-1"]));
    let mut req = FixRequest {
        action: "revoke_world_ingress".into(),
        args: [("ports".to_string(), serde_json::json!([22]))].into(),
        target: Target {
            resource_type: "aws.ec2.security_group".into(),
            id: sg.clone(),
            account: "123456789012".into(),
            region: "us-east-1".into(),
            document: doc.clone(),
        },
        dry_run: true,
        rule: None,
        policy: None,
    };
    assert_eq!(
        actions.run(&req).await.unwrap().status,
        FixStatus::WouldChange
    );
    req.dry_run = false;
    let out = actions.run(&req).await.unwrap();
    assert_eq!(out.status, FixStatus::Changed, "{out:?}");
    assert_eq!(
        actions.run(&req).await.unwrap().status,
        FixStatus::AlreadyFixed
    );
}

/// `revoke_world_ingress` closes what it is asked and nothing more: a
/// world-open TCP range over the port is narrowed (80 and 443 stay open),
/// a UDP rule on the same number is kept, and an all-traffic rule keeps
/// UDP and ICMP. Against moto's EC2, with the group read back after.
#[tokio::test]
async fn revoking_world_ingress_narrows_ranges_and_keeps_other_protocols() {
    use aws_sdk_ec2::types::{IpPermission, IpRange};
    let m = moto();
    let ec2 = ec2_client(&m.1).await;
    let world = |proto: &str, from: i32, to: i32| {
        IpPermission::builder()
            .ip_protocol(proto)
            .from_port(from)
            .to_port(to)
            .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
            .build()
    };
    let group = |name: &'static str, perms: Vec<IpPermission>| {
        let ec2 = ec2.clone();
        async move {
            let id = ec2
                .create_security_group()
                .group_name(name)
                .description("d")
                .send()
                .await
                .unwrap()
                .group_id()
                .unwrap()
                .to_owned();
            ec2.authorize_security_group_ingress()
                .group_id(&id)
                .set_ip_permissions(Some(perms))
                .send()
                .await
                .unwrap();
            id
        }
    };
    // What the group lets in from 0.0.0.0/0, as "proto/from-to".
    let open = |id: String| {
        let ec2 = ec2.clone();
        async move {
            let out = ec2
                .describe_security_groups()
                .group_ids(id)
                .send()
                .await
                .unwrap();
            let mut v: Vec<String> = out.security_groups()[0]
                .ip_permissions()
                .iter()
                .filter(|p| {
                    p.ip_ranges()
                        .iter()
                        .any(|r| r.cidr_ip() == Some("0.0.0.0/0"))
                })
                .map(|p| {
                    format!(
                        "{}/{}-{}",
                        p.ip_protocol().unwrap_or("?"),
                        p.from_port().unwrap_or(-1),
                        p.to_port().unwrap_or(-1)
                    )
                })
                .collect();
            v.sort();
            v
        }
    };
    let wide = group("wide", vec![world("tcp", 0, 1024), world("udp", 22, 22)]).await;
    let all = group(
        "all",
        vec![
            IpPermission::builder()
                .ip_protocol("-1")
                .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
                .build(),
        ],
    )
    .await;
    let actions = AwsActions::new(source(&m.1, &["us-east-1"]));
    let request = |id: &str, dry_run: bool| FixRequest {
        action: "revoke_world_ingress".into(),
        args: [("ports".to_string(), serde_json::json!([22]))].into(),
        target: Target {
            resource_type: "aws.ec2.security_group".into(),
            id: id.into(),
            account: "123456789012".into(),
            region: "us-east-1".into(),
            document: serde_json::Value::Null,
        },
        dry_run,
        rule: None,
        policy: None,
    };

    let dry = actions.run(&request(&wide, true)).await.unwrap();
    assert_eq!(dry.status, FixStatus::WouldChange);
    assert!(
        dry.summary.contains("tcp/0-21") && dry.summary.contains("tcp/23-1024"),
        "{}",
        dry.summary
    );
    assert_eq!(
        open(wide.clone()).await,
        ["tcp/0-1024", "udp/22-22"],
        "a dry run changes nothing"
    );
    let out = actions.run(&request(&wide, false)).await.unwrap();
    assert_eq!(out.status, FixStatus::Changed, "{out:?}");
    assert_eq!(
        open(wide.clone()).await,
        ["tcp/0-21", "tcp/23-1024", "udp/22-22"],
        "80 and 443 stay open, UDP 22 is not SSH"
    );
    assert_eq!(
        actions.run(&request(&wide, false)).await.unwrap().status,
        FixStatus::AlreadyFixed
    );

    let out = actions.run(&request(&all, false)).await.unwrap();
    assert_eq!(out.status, FixStatus::Changed, "{out:?}");
    assert_eq!(
        open(all.clone()).await,
        ["icmp/-1--1", "tcp/0-21", "tcp/23-65535", "udp/0-65535"]
    );
    assert_eq!(
        actions.run(&request(&all, false)).await.unwrap().status,
        FixStatus::AlreadyFixed
    );
}

/// The account's password policy: collected as `present: false` when the
/// account has none; `set_iam_password_policy` raises the length and the
/// reuse prevention and keeps the other settings; a second run changes
/// nothing. Against moto's IAM.
#[tokio::test]
async fn the_password_policy_is_collected_and_raised_without_weakening_it() {
    let m = moto();
    let iam = aws_sdk_iam::Client::new(&moto_sdk(&m.1).await);
    let src = source(&m.1, &["us-east-1"]);
    let plan = CollectPlan {
        types: Some(
            [(
                "aws.iam.password_policy".to_string(),
                ["present".to_string()].into_iter().collect(),
            )]
            .into_iter()
            .collect(),
        ),
    };
    let policy_doc = |docs: &[serde_json::Value]| {
        docs.iter()
            .find(|d| d["type"] == "aws.iam.password_policy")
            .cloned()
            .unwrap_or_else(|| panic!("{docs:?}"))
    };
    let (docs, errors) = collect(&AwsConnector::new(src.clone()), &plan).await;
    assert!(errors.is_empty(), "{errors:?}");
    let none = policy_doc(&docs);
    assert_eq!(none["attributes"], serde_json::json!({"present": false}));
    assert_eq!(none["id"], "123456789012");

    // A weak policy with a setting of its own (symbols required).
    iam.update_account_password_policy()
        .minimum_password_length(8)
        .require_symbols(true)
        .send()
        .await
        .unwrap();
    let (docs, _) = collect(&AwsConnector::new(src.clone()), &plan).await;
    let weak = policy_doc(&docs);
    assert_eq!(weak["attributes"]["minimum_password_length"], 8);
    assert_eq!(weak["attributes"]["require_symbols"], true);

    let actions = AwsActions::new(source(&m.1, &["us-east-1"]));
    let mut req = FixRequest {
        action: "set_iam_password_policy".into(),
        args: [
            ("minimum_length".to_string(), serde_json::json!(14)),
            ("reuse_prevention".to_string(), serde_json::json!(24)),
        ]
        .into(),
        target: Target {
            resource_type: "aws.iam.password_policy".into(),
            id: "123456789012".into(),
            account: "123456789012".into(),
            region: "us-east-1".into(),
            document: weak.clone(),
        },
        dry_run: true,
        rule: None,
        policy: None,
    };
    assert_eq!(
        actions.scope("set_iam_password_policy"),
        pac_connectors::ActionScope::Account
    );
    let dry = actions.run(&req).await.unwrap();
    assert_eq!(dry.status, FixStatus::WouldChange);
    let now = iam.get_account_password_policy().send().await.unwrap();
    assert_eq!(
        now.password_policy().unwrap().minimum_password_length(),
        Some(8),
        "a dry run changes nothing"
    );
    req.dry_run = false;
    let out = actions.run(&req).await.unwrap();
    assert_eq!(out.status, FixStatus::Changed, "{out:?}");
    let p = iam.get_account_password_policy().send().await.unwrap();
    let p = p.password_policy().unwrap();
    assert_eq!(p.minimum_password_length(), Some(14));
    assert_eq!(p.password_reuse_prevention(), Some(24));
    assert!(p.require_symbols(), "the policy's own setting is kept");
    assert_eq!(out.after["minimum_password_length"], 14);
    assert_eq!(out.before["minimum_password_length"], 8);
    assert_eq!(
        actions.run(&req).await.unwrap().status,
        FixStatus::AlreadyFixed
    );
}

/// The 1,000-instance measurement of docs/benchmarks.md; not a timed test.
/// `cargo test --workspace --test moto -- --ignored --nocapture collect_1000_instances`
/// (`--workspace` keeps the SDK's feature set, so nothing is rebuilt).
#[tokio::test]
#[ignore]
async fn collect_1000_instances() {
    let m = moto();
    let ec2 = ec2_client(&m.1).await;
    for i in 0..100 {
        ec2.create_security_group()
            .group_name(format!("g{i}"))
            .description("d")
            .send()
            .await
            .unwrap();
        ec2.run_instances()
            .image_id("ami-12c6146b")
            .min_count(10)
            .max_count(10)
            .send()
            .await
            .unwrap();
    }
    let mut src = source(&m.1, &["us-east-1"]);
    src.page_size = Some(100);
    let plan = CollectPlan {
        types: Some(
            [
                (
                    "aws.ec2.instance",
                    vec!["state", "instance_id", "security_groups"],
                ),
                ("aws.ec2.security_group", vec!["ip_permissions"]),
                ("aws.ec2.volume", vec!["encrypted", "attachments"]),
            ]
            .into_iter()
            .map(|(t, f)| (t.to_string(), f.into_iter().map(str::to_string).collect()))
            .collect(),
        ),
    };
    for (label, plan) in [
        ("read set (instances, groups, volumes)", plan),
        ("everything", CollectPlan::everything()),
    ] {
        let conn = AwsConnector::new(src.clone());
        let start = Instant::now();
        let (docs, errors) = collect(&conn, &plan).await;
        let secs = start.elapsed().as_secs_f64();
        assert!(errors.is_empty(), "{errors:?}");
        let count = |t: &str| docs.iter().filter(|d| d["type"] == t).count();
        let calls = conn.api_calls();
        println!(
            "{label}: {} documents ({} instances, {} security groups, {} volumes) in {secs:.2} s; {} API calls: {calls:?}",
            docs.len(),
            count("aws.ec2.instance"),
            count("aws.ec2.security_group"),
            count("aws.ec2.volume"),
            calls.values().sum::<u64>()
        );
    }
}
