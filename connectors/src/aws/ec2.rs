//! EC2 resource types, one Describe* call (all pages) per type and region,
//! plus the per-resource attribute calls the plan asks for.

use aws_sdk_ec2::Client;
use aws_sdk_ec2::types::{ImageAttributeName, SnapshotAttributeName};
use futures::{FutureExt, StreamExt};
use serde_json::Value as Json;

use super::json::{ToJson, document, put};
use super::{AccountCtx, CallError, JobOutcome, Run, call_error, scope};

pub(crate) const TYPES: &[&str] = &[
    "aws.ec2.instance",
    "aws.ec2.security_group",
    "aws.ec2.volume",
    "aws.ec2.snapshot",
    "aws.ec2.image",
    "aws.ec2.vpc",
    "aws.ec2.subnet",
    "aws.ec2.network_acl",
    "aws.ec2.network_interface",
    "aws.ec2.address",
    "aws.ec2.key_pair",
    "aws.ec2.flow_log",
    "aws.ec2.vpn_gateway",
];

/// Per-resource sub-calls run this many at once within a job.
const SUB_CALLS: usize = 8;

struct Ctx<'a, 'r> {
    run: &'a Run<'r>,
    client: Client,
    account: &'a str,
    region: &'a str,
    rtype: &'static str,
}

impl Ctx<'_, '_> {
    async fn emit(&self, id: &str, attributes: Json) -> Result<(), CallError> {
        let doc = document(self.rtype, id, self.account, self.region, attributes);
        self.run.emit(doc).await
    }
    fn page(&self) -> Option<i32> {
        self.run.source.page_size
    }
    fn wants(&self, field: &str) -> bool {
        self.run.plan.wants_field(self.rtype, field)
    }
}

/// Reads every page of a paginated Describe call and emits its items.
macro_rules! paged {
    ($ctx:expr, $req:expr, $call:literal, $items:ident, $id:ident) => {
        async {
            let mut pages = $req.into_paginator().send();
            while let Some(page) = pages.next().await {
                let page = page.map_err(|e| call_error($call, e))?;
                for item in page.$items() {
                    $ctx.emit(item.$id().unwrap_or_default(), item.to_json())
                        .await?;
                }
            }
            Ok::<(), CallError>(())
        }
        .await
    };
}

pub(crate) async fn collect(
    run: &Run<'_>,
    acct: &AccountCtx,
    region: &str,
    rtype: &'static str,
) -> JobOutcome {
    let ctx = Ctx {
        run,
        client: run.source.ec2(&acct.sdk, region, &run.stats),
        account: &acct.id,
        region,
        rtype,
    };
    let c = &ctx.client;
    let page = ctx.page();
    let result: Result<(), CallError> = match rtype {
        "aws.ec2.instance" => instances(&ctx).await,
        "aws.ec2.security_group" => paged!(
            ctx,
            c.describe_security_groups().set_max_results(page),
            "ec2:DescribeSecurityGroups",
            security_groups,
            group_id
        ),
        "aws.ec2.volume" => paged!(
            ctx,
            c.describe_volumes().set_max_results(page),
            "ec2:DescribeVolumes",
            volumes,
            volume_id
        ),
        "aws.ec2.snapshot" => snapshots(&ctx).await,
        "aws.ec2.image" => images(&ctx).await,
        "aws.ec2.vpc" => paged!(
            ctx,
            c.describe_vpcs().set_max_results(page),
            "ec2:DescribeVpcs",
            vpcs,
            vpc_id
        ),
        "aws.ec2.subnet" => paged!(
            ctx,
            c.describe_subnets().set_max_results(page),
            "ec2:DescribeSubnets",
            subnets,
            subnet_id
        ),
        "aws.ec2.network_acl" => paged!(
            ctx,
            c.describe_network_acls().set_max_results(page),
            "ec2:DescribeNetworkAcls",
            network_acls,
            network_acl_id
        ),
        "aws.ec2.network_interface" => paged!(
            ctx,
            c.describe_network_interfaces().set_max_results(page),
            "ec2:DescribeNetworkInterfaces",
            network_interfaces,
            network_interface_id
        ),
        "aws.ec2.flow_log" => paged!(
            ctx,
            c.describe_flow_logs().set_max_results(page),
            "ec2:DescribeFlowLogs",
            flow_logs,
            flow_log_id
        ),
        "aws.ec2.address" => addresses(&ctx).await,
        "aws.ec2.key_pair" => key_pairs(&ctx).await,
        "aws.ec2.vpn_gateway" => vpn_gateways(&ctx).await,
        other => Err(CallError {
            message: format!("no EC2 reader for `{other}`"),
            unreachable: false,
        }),
    };
    let s = scope(&acct.id, Some(region), Some(rtype));
    match result {
        Ok(()) => JobOutcome {
            complete: vec![s],
            errors: vec![],
        },
        Err(e) => JobOutcome {
            complete: vec![],
            errors: vec![(s, e)],
        },
    }
}

async fn instances(ctx: &Ctx<'_, '_>) -> Result<(), CallError> {
    let mut pages = ctx
        .client
        .describe_instances()
        .set_max_results(ctx.page())
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| call_error("ec2:DescribeInstances", e))?;
        for r in page.reservations() {
            for i in r.instances() {
                let mut doc = i.to_json();
                drop_empty_associations(&mut doc);
                ctx.emit(i.instance_id().unwrap_or_default(), doc).await?;
            }
        }
    }
    Ok(())
}

/// An interface association without a public IP says nothing (EC2 sends
/// none then; moto keeps an empty one after a stop): it is left out, so
/// that `has(n.association)` means "has a public IPv4 association".
fn drop_empty_associations(doc: &mut Json) {
    if let Some(nics) = doc
        .get_mut("network_interfaces")
        .and_then(Json::as_array_mut)
    {
        for n in nics.iter_mut().filter_map(Json::as_object_mut) {
            if n.get("association")
                .is_some_and(|a| a.get("public_ip").is_none_or(Json::is_null))
            {
                n.remove("association");
            }
        }
    }
}

async fn snapshots(ctx: &Ctx<'_, '_>) -> Result<(), CallError> {
    let mut all = Vec::new();
    let mut pages = ctx
        .client
        .describe_snapshots()
        .owner_ids("self")
        .set_max_results(ctx.page())
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| call_error("ec2:DescribeSnapshots", e))?;
        all.extend(page.snapshots().iter().cloned());
    }
    let with_perms = ctx.wants("create_volume_permissions");
    let futs: Vec<futures::future::BoxFuture<'_, Result<(String, Json), CallError>>> = all
        .into_iter()
        .map(|s| {
            async move {
                let mut attrs = s.to_json();
                let id = s.snapshot_id().unwrap_or_default().to_owned();
                if with_perms {
                    let out = ctx
                        .client
                        .describe_snapshot_attribute()
                        .snapshot_id(&id)
                        .attribute(SnapshotAttributeName::CreateVolumePermission)
                        .send()
                        .await
                        .map_err(|e| {
                            call_error(&format!("ec2:DescribeSnapshotAttribute {id}"), e)
                        })?;
                    attrs["create_volume_permissions"] = out.create_volume_permissions().to_json();
                }
                Ok::<_, CallError>((id, attrs))
            }
            .boxed()
        })
        .collect();
    let mut docs = futures::stream::iter(futs).buffered(SUB_CALLS);
    while let Some(r) = docs.next().await {
        let (id, attrs) = r?;
        ctx.emit(&id, attrs).await?;
    }
    Ok(())
}

async fn images(ctx: &Ctx<'_, '_>) -> Result<(), CallError> {
    let mut all = Vec::new();
    let mut pages = ctx
        .client
        .describe_images()
        .owners("self")
        .set_max_results(ctx.page())
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| call_error("ec2:DescribeImages", e))?;
        all.extend(page.images().iter().cloned());
    }
    let with_perms = ctx.wants("launch_permissions");
    let futs: Vec<futures::future::BoxFuture<'_, Result<(String, Json), CallError>>> = all
        .into_iter()
        .map(|img| {
            async move {
                let mut attrs = img.to_json();
                let id = img.image_id().unwrap_or_default().to_owned();
                if with_perms {
                    let out = ctx
                        .client
                        .describe_image_attribute()
                        .image_id(&id)
                        .attribute(ImageAttributeName::LaunchPermission)
                        .send()
                        .await
                        .map_err(|e| call_error(&format!("ec2:DescribeImageAttribute {id}"), e))?;
                    attrs["launch_permissions"] = out.launch_permissions().to_json();
                }
                Ok::<_, CallError>((id, attrs))
            }
            .boxed()
        })
        .collect();
    let mut docs = futures::stream::iter(futs).buffered(SUB_CALLS);
    while let Some(r) = docs.next().await {
        let (id, attrs) = r?;
        ctx.emit(&id, attrs).await?;
    }
    Ok(())
}

async fn addresses(ctx: &Ctx<'_, '_>) -> Result<(), CallError> {
    let out = ctx
        .client
        .describe_addresses()
        .send()
        .await
        .map_err(|e| call_error("ec2:DescribeAddresses", e))?;
    for a in out.addresses() {
        ctx.emit(a.allocation_id().unwrap_or_default(), a.to_json())
            .await?;
    }
    Ok(())
}

async fn key_pairs(ctx: &Ctx<'_, '_>) -> Result<(), CallError> {
    let out = ctx
        .client
        .describe_key_pairs()
        .send()
        .await
        .map_err(|e| call_error("ec2:DescribeKeyPairs", e))?;
    for k in out.key_pairs() {
        ctx.emit(k.key_pair_id().unwrap_or_default(), k.to_json())
            .await?;
    }
    Ok(())
}

/// Virtual private gateways (DescribeVpnGateways: not paginated).
async fn vpn_gateways(ctx: &Ctx<'_, '_>) -> Result<(), CallError> {
    let out = ctx
        .client
        .describe_vpn_gateways()
        .send()
        .await
        .map_err(|e| call_error("ec2:DescribeVpnGateways", e))?;
    for g in out.vpn_gateways() {
        let Some(id) = g.vpn_gateway_id() else {
            continue;
        };
        let mut m = serde_json::Map::new();
        put(&mut m, "vpn_gateway_id", id.to_json());
        put(&mut m, "state", g.state().map(|x| x.as_str()).to_json());
        put(
            &mut m,
            "gateway_type",
            g.r#type().map(|x| x.as_str()).to_json(),
        );
        put(&mut m, "availability_zone", g.availability_zone().to_json());
        put(&mut m, "amazon_side_asn", g.amazon_side_asn().to_json());
        let attached: Vec<Json> = g
            .vpc_attachments()
            .iter()
            .map(|a| {
                let mut v = serde_json::Map::new();
                put(&mut v, "vpc_id", a.vpc_id().to_json());
                put(&mut v, "state", a.state().map(|x| x.as_str()).to_json());
                Json::Object(v)
            })
            .collect();
        m.insert("vpc_attachments".into(), Json::Array(attached));
        m.insert("tags".into(), g.tags().to_json());
        ctx.emit(id, Json::Object(m)).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn an_association_without_a_public_ip_is_left_out() {
        let mut doc = json!({"network_interfaces": [
            {"network_interface_id": "eni-1", "association": {"ip_owner_id": "amazon"}},
            {"network_interface_id": "eni-2", "association": {"public_ip": "3.3.3.3"}},
            {"network_interface_id": "eni-3"},
        ]});
        super::drop_empty_associations(&mut doc);
        let nics = doc["network_interfaces"].as_array().unwrap();
        assert!(nics[0].get("association").is_none());
        assert_eq!(nics[1]["association"]["public_ip"], "3.3.3.3");
        assert!(nics[2].get("association").is_none());
    }
}
