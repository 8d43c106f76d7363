//! `pacc fix` against a real moto server: a dry run changes nothing, an
//! applied run fixes every failing, non-exempted resource (checked through
//! the API), and a second run finds everything already fixed.

mod moto_server;

use std::path::Path;

use moto_server::*;
use serde_json::Value as Json;

fn fix(dir: &Path, policies: &Path, inventory: &Path, mode: &str) -> (i32, Json, String) {
    let (code, stdout, stderr) = run(pacc()
        .arg("fix")
        .arg("--config")
        .arg(dir.join("pac.toml"))
        .arg("--policies")
        .arg(policies)
        .arg("--inventory")
        .arg(inventory)
        .arg(mode)
        .args(["--format", "json", "--now", "2028-06-01"]));
    let report = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}\n{stderr}"));
    (code, report, stderr)
}

async fn world_ssh(ec2: &aws_sdk_ec2::Client, id: &str) -> bool {
    let out = ec2
        .describe_security_groups()
        .group_ids(id)
        .send()
        .await
        .unwrap();
    out.security_groups()[0].ip_permissions().iter().any(|p| {
        p.from_port() == Some(22)
            && p.ip_ranges()
                .iter()
                .any(|r| r.cidr_ip() == Some("0.0.0.0/0"))
    })
}

#[test]
fn fixes_apply_once_and_never_to_exempted_resources() {
    let moto = Moto::start();
    let rt = runtime();
    let e = rt.block_on(seed(&moto));
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("pac.toml"), aws_config(&moto, "")).unwrap();
    let inventory = dir.path().join("inventory.ndjson");
    let (code, out, err) = run(pacc()
        .arg("collect")
        .arg("--config")
        .arg(dir.path().join("pac.toml"))
        .arg("--out")
        .arg(&inventory));
    assert_eq!(code, 0, "{out}\n{err}");
    let policies = dir.path().join("policies.pac");
    std::fs::write(&policies, POLICIES.replace("{EXEMPT}", &e.bastion)).unwrap();

    // Dry run: says what it would do, changes nothing.
    let (code, dry, stderr) = fix(dir.path(), &policies, &inventory, "--dry-run");
    assert_eq!(code, 0, "{dry:#}\n{stderr}");
    let s = fix_statuses(&dry);
    let key = |a: &str, id: &str| (a.to_owned(), id.to_owned());
    for (k, want) in [
        (key("revoke_world_ingress", &e.open_east), "would_change"),
        (key("revoke_world_ingress", &e.open_west), "would_change"),
        (key("tag_resource", &e.internal), "would_change"),
        (key("stop_instance", &e.unowned_instance), "would_change"),
        (
            key("delete_unattached_volume", &e.loose_east),
            "would_change",
        ),
        (key("make_snapshot_private", &e.snapshot), "would_change"),
        (key("make_image_private", &e.image), "would_change"),
        (
            key("block_s3_public_access", &e.public_bucket),
            "would_change",
        ),
        (key("deactivate_access_key", &e.access_key), "would_change"),
    ] {
        assert_eq!(s.get(&k).map(String::as_str), Some(want), "{k:?} in {s:#?}");
    }
    // EBS encryption by default is a setting of a region: one fix per
    // region with unencrypted volumes, covering all of them, not one per
    // volume.
    let ebs: Vec<&Json> = dry["fixes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["action"] == "enable_ebs_encryption_by_default")
        .collect();
    let mut regions: Vec<&str> = ebs
        .iter()
        .map(|f| f["target"]["region"].as_str().unwrap())
        .collect();
    regions.sort_unstable();
    assert_eq!(regions, ["eu-west-1", "us-east-1"], "{ebs:#?}");
    for (region, volume) in [("us-east-1", &e.loose_east), ("eu-west-1", &e.loose_west)] {
        let f = ebs
            .iter()
            .find(|f| f["target"]["region"] == region)
            .unwrap();
        assert_eq!(f["scope"], "region");
        assert_eq!(f["status"], "would_change");
        let covers = f["covers"].as_array().unwrap();
        assert!(covers.iter().any(|c| c["id"] == volume.as_str()), "{f:#}");
        assert!(
            covers.iter().all(|c| c["type"] == "aws.ec2.volume"),
            "{f:#}"
        );
    }
    let volumes_failing: usize = ebs
        .iter()
        .map(|f| f["covers"].as_array().unwrap().len())
        .sum();
    assert!(volumes_failing >= 2, "{ebs:#?}");
    // The exempted bastion group is left alone, and said so.
    assert!(!s.contains_key(&key("revoke_world_ingress", &e.bastion)));
    assert!(
        dry["exempted"][0].as_str().unwrap().contains(&e.bastion),
        "{dry:#}"
    );
    let before = dry["fixes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| {
            f["target"]["id"] == e.open_east.as_str() && f["action"] == "revoke_world_ingress"
        })
        .unwrap();
    assert_eq!(
        before["before"]["world_open_ingress"][0]["ip_ranges"][0]["cidr_ip"],
        "0.0.0.0/0"
    );
    let east = rt.block_on(moto.ec2("us-east-1"));
    assert!(
        rt.block_on(world_ssh(&east, &e.open_east)),
        "a dry run changes nothing"
    );

    // Apply.
    let (code, applied, stderr) = fix(dir.path(), &policies, &inventory, "--apply");
    assert_eq!(code, 0, "{applied:#}\n{stderr}");
    let s = fix_statuses(&applied);
    assert!(
        s.values().all(|v| v == "changed" || v == "already_fixed"),
        "{s:#?}"
    );
    assert_eq!(s[&key("revoke_world_ingress", &e.open_west)], "changed");
    assert_eq!(s[&key("deactivate_access_key", &e.access_key)], "changed");

    // Every fix took effect, as the API tells.
    let west = rt.block_on(moto.ec2("eu-west-1"));
    rt.block_on(async {
        assert!(!world_ssh(&east, &e.open_east).await);
        assert!(!world_ssh(&west, &e.open_west).await);
        assert!(
            world_ssh(&east, &e.bastion).await,
            "the exempted group keeps its rule"
        );
        let tags = east
            .describe_tags()
            .filters(
                aws_sdk_ec2::types::Filter::builder()
                    .name("resource-id")
                    .values(&e.internal)
                    .build(),
            )
            .send()
            .await
            .unwrap();
        assert!(
            tags.tags()
                .iter()
                .any(|t| t.key() == Some("cost-center") && t.value() == Some("cc-internal")),
            "the tag value is computed from the group: {tags:?}"
        );
        let inst = west
            .describe_instances()
            .instance_ids(&e.unowned_instance)
            .send()
            .await
            .unwrap();
        let state = inst.reservations()[0].instances()[0]
            .state()
            .unwrap()
            .name()
            .unwrap()
            .as_str()
            .to_owned();
        assert!(state == "stopped" || state == "stopping", "{state}");
        let owned = east
            .describe_instances()
            .instance_ids(&e.owned_instances[0])
            .send()
            .await
            .unwrap();
        assert_eq!(
            owned.reservations()[0].instances()[0]
                .state()
                .unwrap()
                .name()
                .unwrap()
                .as_str(),
            "running"
        );
        for (c, v) in [(&east, &e.loose_east), (&west, &e.loose_west)] {
            let gone = c.describe_volumes().volume_ids(v).send().await;
            assert!(gone.is_err(), "{v} is deleted");
            assert_eq!(
                c.get_ebs_encryption_by_default()
                    .send()
                    .await
                    .unwrap()
                    .ebs_encryption_by_default(),
                Some(true)
            );
        }
        let snaps = east
            .describe_snapshots()
            .owner_ids("self")
            .send()
            .await
            .unwrap();
        assert!(
            snaps
                .snapshots()
                .iter()
                .any(|s| s.volume_id() == Some(e.loose_east.as_str())
                    && s.description().unwrap_or("").contains("before deleting"))
        );
        let perms = east
            .describe_snapshot_attribute()
            .snapshot_id(&e.snapshot)
            .attribute(aws_sdk_ec2::types::SnapshotAttributeName::CreateVolumePermission)
            .send()
            .await
            .unwrap();
        assert!(perms.create_volume_permissions().is_empty(), "{perms:?}");
        let lp = east
            .describe_image_attribute()
            .image_id(&e.image)
            .attribute(aws_sdk_ec2::types::ImageAttributeName::LaunchPermission)
            .send()
            .await
            .unwrap();
        assert!(lp.launch_permissions().is_empty(), "{lp:?}");
        let s3 = moto.s3("us-east-1").await;
        let pab = s3
            .get_public_access_block()
            .bucket(&e.public_bucket)
            .send()
            .await
            .unwrap();
        let c = pab.public_access_block_configuration().unwrap();
        assert_eq!(
            (
                c.block_public_acls(),
                c.ignore_public_acls(),
                c.block_public_policy(),
                c.restrict_public_buckets()
            ),
            (Some(true), Some(true), Some(true), Some(true))
        );
        let keys = moto
            .iam()
            .await
            .list_access_keys()
            .user_name("alice")
            .send()
            .await
            .unwrap();
        assert_eq!(
            keys.access_key_metadata()[0].status().unwrap().as_str(),
            "Inactive"
        );
    });

    // A second run with the same (now stale) inventory changes nothing.
    let (code, again, stderr) = fix(dir.path(), &policies, &inventory, "--apply");
    assert_eq!(code, 0, "{again:#}\n{stderr}");
    let s = fix_statuses(&again);
    assert!(!s.is_empty());
    assert!(s.values().all(|v| v == "already_fixed"), "{s:#?}");

    // A fresh collection now only fails where the exception applies.
    let (code, out, err) = run(pacc()
        .arg("collect")
        .arg("--config")
        .arg(dir.path().join("pac.toml"))
        .arg("--out")
        .arg(&inventory));
    assert_eq!(code, 0, "{out}\n{err}");
    let (code, stdout, _) = run(pacc()
        .arg("eval")
        .arg("--policies")
        .arg(&policies)
        .arg("--inventory")
        .arg(&inventory)
        .args(["--format", "json", "--now", "2028-06-01"]));
    let report: Json = serde_json::from_str(&stdout).unwrap();
    let open: Vec<String> = report["violations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["exempted_by"].is_null())
        .map(|v| format!("{} {}", v["policy"], v["resource"]["id"]))
        .collect();
    // Root volumes stay unencrypted (encryption by default only affects new
    // volumes), which is what that action promises.
    assert!(
        open.iter().all(|v| v.contains("unencrypted_volume")),
        "{open:#?}"
    );
    assert_eq!(code, 1);
}

#[test]
fn a_text_dry_run_lists_each_fix() {
    let moto = Moto::start();
    let rt = runtime();
    let sg =
        rt.block_on(async { group(&moto.ec2("us-east-1").await, "open", 22, "0.0.0.0/0").await });
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("pac.toml"),
        aws_config(&moto, "types = [\"aws.ec2.security_group\"]"),
    )
    .unwrap();
    let inventory = dir.path().join("inv.ndjson");
    let (code, _, err) = run(pacc()
        .arg("collect")
        .arg("--config")
        .arg(dir.path().join("pac.toml"))
        .arg("--out")
        .arg(&inventory));
    assert_eq!(code, 0, "{err}");
    let policies = dir.path().join("p.pac");
    std::fs::write(&policies, POLICIES.replace("{EXEMPT}", "sg-none")).unwrap();
    let (code, text, err) = run(pacc()
        .arg("fix")
        .arg("--config")
        .arg(dir.path().join("pac.toml"))
        .arg("--policies")
        .arg(&policies)
        .arg("--inventory")
        .arg(&inventory)
        .arg("--dry-run"));
    assert_eq!(code, 0, "{err}");
    let line = text
        .lines()
        .find(|l| l.contains(&sg) && l.contains("revoke_world_ingress"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        line.starts_with("would_change") && line.contains("would revoke tcp/22 from 0.0.0.0/0"),
        "{line}"
    );
    assert!(
        text.lines().last().unwrap().starts_with("dry run: "),
        "{text}"
    );
}
