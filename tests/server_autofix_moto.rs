//! The server's auto-fix against a real EC2 API (moto): an AWS source
//! collects a security group open to the world on SSH, the issue opens and
//! a job waits out the policy's grace period (a test clock), then the `aws`
//! executor revokes the rule through the API, once; the next scan closes
//! the issue because the source itself is fixed. Jobs that ask for the
//! same change run it once: two rules of one policy on one group, and the
//! region-wide EBS setting asked by every unencrypted volume.

mod moto_server;
mod server_support;

use pac_server::clock::ManualClock;
use pac_server::config::Config;
use pac_server::{Parts, Server};
use serde_json::Value;
use server_support::*;

async fn world_ssh(ec2: &aws_sdk_ec2::Client, id: &str) -> bool {
    let out = ec2
        .describe_security_groups()
        .group_ids(id)
        .send()
        .await
        .expect("DescribeSecurityGroups");
    out.security_groups()[0].ip_permissions().iter().any(|p| {
        p.from_port() == Some(22)
            && p.ip_ranges()
                .iter()
                .any(|r| r.cidr_ip() == Some("0.0.0.0/0"))
    })
}

fn jobs_for<'a>(jobs: &'a Value, sg: &str) -> Vec<&'a Value> {
    jobs["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|j| {
            j["rule"] == "sg_ssh_open_to_world"
                && j["resource_key"].as_str().is_some_and(|k| k.contains(sg))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_aws_autofix_runs_against_the_api_after_its_grace_period() {
    // SAFETY: this test binary has this one test; nothing else reads the
    // environment concurrently. The SDK takes dummy credentials from it.
    unsafe {
        std::env::set_var("AWS_ACCESS_KEY_ID", "testing");
        std::env::set_var("AWS_SECRET_ACCESS_KEY", "testing");
        std::env::set_var("AWS_CONFIG_FILE", "/nonexistent/pac-test-aws-config");
        std::env::set_var(
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/pac-test-aws-credentials",
        );
        std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
        std::env::remove_var("AWS_PROFILE");
        std::env::remove_var("AWS_SESSION_TOKEN");
        std::env::remove_var("AWS_ENDPOINT_URL");
    }
    let moto = moto_server::Moto::start();
    let ec2 = moto.ec2("us-east-1").await;
    let sg = moto_server::group(&ec2, "web-ssh", 22, "0.0.0.0/0").await;
    assert!(world_ssh(&ec2, &sg).await);
    // MySQL and Redis open to the world: two rules of one policy, one fix.
    let db = moto_server::group(&ec2, "db", 3306, "0.0.0.0/0").await;
    ec2.authorize_security_group_ingress()
        .group_id(&db)
        .ip_permissions(
            aws_sdk_ec2::types::IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(6379)
                .to_port(6379)
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
    // Three unencrypted volumes in one region: one EBS setting to turn on.
    for _ in 0..3 {
        moto_server::volume(&ec2, "us-east-1a").await;
    }

    let dir = tempfile::tempdir().unwrap();
    let cfg = Config::parse(&format!(
        "data_dir = {:?}\npolicies = [{:?}]\n[autofix]\nexecutors = [\"aws\"]\nmax_resources = 1000\nmax_percent = 100\n\
         [[source]]\nname = \"aws\"\nkind = \"aws\"\nregions = [\"us-east-1\"]\nendpoint_url = {:?}\n",
        dir.path().join("data"),
        root().join("policies"),
        moto.url,
    ))
    .unwrap();
    let clock = ManualClock::new(chrono::Utc::now().timestamp());
    let sink = std::sync::Arc::new(Sink::default());
    let server = Server::build(
        &cfg,
        Parts {
            clock: Some(clock.clone()),
            notifier: Some(sink.clone()),
            actions: vec![],
        },
    )
    .await
    .unwrap();
    let addr = start_api(server.clone()).await;

    // The first scan opens the issue and a job that waits a day.
    server.scan("aws", "test").await.unwrap();
    let (st, issues) = get(
        &addr,
        "/api/v1/issues?policy=sg_ssh_open_to_world&status=open&per_page=100",
    )
    .await;
    assert_eq!(st, 200);
    assert!(issues.to_string().contains(&sg), "{issues}");
    let (_, jobs) = get(&addr, "/api/v1/autofix/jobs?per_page=500").await;
    let mine = jobs_for(&jobs, &sg);
    assert_eq!(mine.len(), 1, "{jobs}");
    assert_eq!(mine[0]["status"], "waiting", "{jobs}");
    pac_server::autofix::run_due(&server).await.unwrap();
    assert!(world_ssh(&ec2, &sg).await, "fixed before the grace period");

    // After the grace period the executor revokes the rule, once.
    clock.advance(25 * 3600);
    pac_server::autofix::run_due(&server).await.unwrap();
    pac_server::autofix::run_due(&server).await.unwrap();
    assert!(!world_ssh(&ec2, &sg).await, "the rule is still open in EC2");
    let (_, jobs) = get(&addr, "/api/v1/autofix/jobs?per_page=500").await;
    let mine = jobs_for(&jobs, &sg);
    assert_eq!(mine.len(), 1, "{jobs}");
    assert_ne!(mine[0]["status"], "waiting", "{jobs}");
    assert_ne!(mine[0]["status"], "failed", "{jobs}");
    let id = mine[0]["id"].as_i64().unwrap();
    let (_, job) = get(&addr, &format!("/api/v1/autofix/jobs/{id}")).await;
    assert!(job.to_string().contains("changed"), "{job}");

    // One change, however many jobs asked for it: the first job runs it,
    // the others record that it covered them.
    for (what, rule_of, key_part, n) in [
        (
            "the database group's two rules",
            "sg_database_ports_open_to_world",
            db.as_str(),
            2,
        ),
        (
            "the region's unencrypted volumes",
            "ebs_volume_unencrypted",
            "aws.ec2.volume",
            3,
        ),
    ] {
        let items: Vec<&Value> = jobs["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|j| {
                j["rule"].as_str().is_some_and(|r| r.starts_with(rule_of))
                    && j["resource_key"]
                        .as_str()
                        .is_some_and(|k| k.contains(key_part))
            })
            .collect();
        assert_eq!(items.len(), n, "{what}: {jobs}");
        let mut ran = 0;
        let mut covered = 0;
        for j in &items {
            assert_eq!(j["status"], "done", "{what}: {j}");
            let id = j["id"].as_i64().unwrap();
            let (_, job) = get(&addr, &format!("/api/v1/autofix/jobs/{id}")).await;
            if job.to_string().contains("covered_by_job") {
                covered += 1;
            } else {
                assert!(job.to_string().contains("changed"), "{what}: {job}");
                ran += 1;
            }
        }
        assert_eq!((ran, covered), (1, n - 1), "{what}: {jobs}");
    }
    let on = ec2
        .get_ebs_encryption_by_default()
        .send()
        .await
        .unwrap()
        .ebs_encryption_by_default();
    assert_eq!(on, Some(true));

    // The next scan sees the group fixed at the source: the issue closes.
    clock.advance(3600);
    server.scan("aws", "test").await.unwrap();
    let (_, issues) = get(
        &addr,
        "/api/v1/issues?policy=sg_ssh_open_to_world&status=open&per_page=100",
    )
    .await;
    assert!(!issues.to_string().contains(&sg), "{issues}");
}
