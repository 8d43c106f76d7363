//! Auto Scaling: groups (DescribeAutoScalingGroups, tags included) and
//! launch configurations (DescribeLaunchConfigurations), all pages.

use serde_json::{Value as Json, json};

use super::json::{ToJson, put};
use super::regional::{Regional, tag_map};
use super::{CallError, call_error};

pub(crate) async fn groups(r: &Regional<'_, '_>) -> Result<(), CallError> {
    const TYPE: &str = "aws.autoscaling.group";
    let c = r.run.source.autoscaling(r.sdk(), r.region, &r.run.stats);
    let mut pages = c.describe_auto_scaling_groups().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| call_error("autoscaling:DescribeAutoScalingGroups", e))?;
        for g in page.auto_scaling_groups() {
            let Some(name) = g.auto_scaling_group_name() else {
                continue;
            };
            let mut m = serde_json::Map::new();
            put(&mut m, "auto_scaling_group_name", name.to_json());
            put(
                &mut m,
                "auto_scaling_group_arn",
                g.auto_scaling_group_arn().to_json(),
            );
            put(
                &mut m,
                "launch_configuration_name",
                g.launch_configuration_name().to_json(),
            );
            put(
                &mut m,
                "launch_template_name",
                g.launch_template()
                    .and_then(|t| t.launch_template_name())
                    .to_json(),
            );
            put(&mut m, "min_size", g.min_size().to_json());
            put(&mut m, "max_size", g.max_size().to_json());
            put(&mut m, "desired_capacity", g.desired_capacity().to_json());
            put(&mut m, "health_check_type", g.health_check_type().to_json());
            put(&mut m, "created_time", g.created_time().to_json());
            put(
                &mut m,
                "vpc_zone_identifier",
                g.vpc_zone_identifier().filter(|v| !v.is_empty()).to_json(),
            );
            m.insert("availability_zones".into(), json!(g.availability_zones()));
            m.insert("load_balancer_names".into(), json!(g.load_balancer_names()));
            m.insert("target_group_arns".into(), json!(g.target_group_arns()));
            m.insert("instance_count".into(), json!(g.instances().len()));
            let pairs = g
                .tags()
                .iter()
                .filter_map(|t| Some((t.key()?, t.value().unwrap_or(""))));
            m.insert("tags".into(), tag_map(pairs));
            r.emit(TYPE, name, Json::Object(m)).await?;
        }
    }
    Ok(())
}

pub(crate) async fn launch_configurations(r: &Regional<'_, '_>) -> Result<(), CallError> {
    const TYPE: &str = "aws.autoscaling.launch_configuration";
    let c = r.run.source.autoscaling(r.sdk(), r.region, &r.run.stats);
    let mut pages = c.describe_launch_configurations().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| call_error("autoscaling:DescribeLaunchConfigurations", e))?;
        for l in page.launch_configurations() {
            let Some(name) = l.launch_configuration_name() else {
                continue;
            };
            let mut m = serde_json::Map::new();
            put(&mut m, "launch_configuration_name", name.to_json());
            put(
                &mut m,
                "launch_configuration_arn",
                l.launch_configuration_arn().to_json(),
            );
            put(&mut m, "image_id", l.image_id().to_json());
            put(&mut m, "instance_type", l.instance_type().to_json());
            put(
                &mut m,
                "key_name",
                l.key_name().filter(|k| !k.is_empty()).to_json(),
            );
            put(&mut m, "created_time", l.created_time().to_json());
            put(
                &mut m,
                "associate_public_ip_address",
                l.associate_public_ip_address().to_json(),
            );
            put(
                &mut m,
                "http_tokens",
                l.metadata_options()
                    .and_then(|o| o.http_tokens())
                    .map(|t| t.as_str())
                    .to_json(),
            );
            m.insert("security_groups".into(), json!(l.security_groups()));
            r.emit(TYPE, name, Json::Object(m)).await?;
        }
    }
    Ok(())
}
