//! The AWS auto-fix actions of `stdlib/schemas/aws/actions.pac`. Each reads
//! the resource's live state first: nothing to do is "already fixed" (so a
//! second run changes nothing), a dry run says what it would change, and
//! every outcome records the relevant state before and after.

use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_ec2::types::{
    Filter, ImageAttributeName, IpPermission, IpRange, Ipv6Range, LaunchPermission,
    LaunchPermissionModifications, OperationType, PermissionGroup, SnapshotAttributeName, Tag,
};
use aws_sdk_iam::types::StatusType;
use aws_sdk_s3::types::{PublicAccessBlockConfiguration, Tagging};
use serde_json::{Value as Json, json};
use tokio::sync::OnceCell;

use super::json::ToJson;
use super::{AccountCtx, ApiStats, AwsAccount, AwsSource, call_error, error_code};
use crate::action::{Action, ActionError, ActionScope, FixOutcome, FixRequest, FixStatus};

mod services;

/// Every action this executor runs, with the resource types it applies to.
const ACTIONS: &[(&str, &[&str])] = &[
    ("revoke_world_ingress", &["aws.ec2.security_group"]),
    ("stop_instance", &["aws.ec2.instance"]),
    ("enable_ebs_encryption_by_default", &["aws.ec2.volume"]),
    ("make_snapshot_private", &["aws.ec2.snapshot"]),
    ("make_image_private", &["aws.ec2.image"]),
    (
        "tag_resource",
        &[
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
            "aws.s3.bucket",
            "aws.iam.user",
        ],
    ),
    ("delete_unattached_volume", &["aws.ec2.volume"]),
    ("block_s3_public_access", &["aws.s3.bucket"]),
    ("deactivate_access_key", &["aws.iam.access_key"]),
    ("set_iam_password_policy", &["aws.iam.password_policy"]),
];

const NAMES: &[&str] = &[
    "revoke_world_ingress",
    "stop_instance",
    "enable_ebs_encryption_by_default",
    "make_snapshot_private",
    "make_image_private",
    "tag_resource",
    "delete_unattached_volume",
    "block_s3_public_access",
    "deactivate_access_key",
    "set_iam_password_policy",
    "enable_kms_key_rotation",
    "enable_cloudtrail_log_validation",
    "start_cloudtrail_logging",
    "make_rds_instance_private",
    "make_rds_snapshot_private",
    "enable_ecr_scan_on_push",
    "enable_dynamodb_pitr",
    "require_lambda_url_auth",
    "enable_guardduty",
    "enable_s3_versioning",
];

/// Runs the AWS actions with the credentials, roles and endpoints of one
/// `kind = "aws"` source.
pub struct AwsActions {
    source: AwsSource,
    stats: Arc<ApiStats>,
    accounts: OnceCell<Vec<Result<AccountCtx, String>>>,
}

impl AwsActions {
    pub fn new(source: AwsSource) -> AwsActions {
        AwsActions {
            source,
            stats: Arc::default(),
            accounts: OnceCell::new(),
        }
    }

    async fn account(&self, id: &str) -> Result<&AccountCtx, ActionError> {
        let accounts = self
            .accounts
            .get_or_init(|| async {
                let wanted = if self.source.accounts.is_empty() {
                    vec![AwsAccount::default()]
                } else {
                    self.source.accounts.clone()
                };
                let mut out = Vec::new();
                for a in &wanted {
                    out.push(self.source.account(a, &self.stats).await);
                }
                out
            })
            .await;
        let mut problems = Vec::new();
        for a in accounts {
            match a {
                Ok(ctx) if ctx.id == id => return Ok(ctx),
                Ok(_) => {}
                Err(e) => problems.push(e.clone()),
            }
        }
        Err(ActionError::Failed(format!(
            "account {id} is not one of source `{}`'s accounts{}",
            self.source.name,
            if problems.is_empty() {
                String::new()
            } else {
                format!(" (some could not be resolved: {})", problems.join("; "))
            }
        )))
    }
}

fn arg<'a>(req: &'a FixRequest, name: &str) -> Result<&'a Json, ActionError> {
    req.args.get(name).ok_or_else(|| ActionError::BadArgument {
        name: name.into(),
        message: format!("`{}` needs the argument `{name}`", req.action),
    })
}

fn arg_str<'a>(req: &'a FixRequest, name: &str) -> Result<&'a str, ActionError> {
    arg(req, name)?
        .as_str()
        .ok_or_else(|| ActionError::BadArgument {
            name: name.into(),
            message: "expected a string".into(),
        })
}

fn failed(e: super::CallError) -> ActionError {
    ActionError::Failed(e.message)
}

fn outcome(status: FixStatus, summary: String, before: Json, after: Json) -> FixOutcome {
    FixOutcome {
        status,
        summary,
        before,
        after,
    }
}

fn already(summary: String, state: Json) -> FixOutcome {
    outcome(FixStatus::AlreadyFixed, summary, state.clone(), state)
}

/// Changed, or WouldChange on a dry run (then `after` is the expected state).
fn change(dry: bool, summary: String, before: Json, after: Json) -> FixOutcome {
    let (status, summary) = if dry {
        (FixStatus::WouldChange, format!("would {summary}"))
    } else {
        (FixStatus::Changed, summary)
    };
    outcome(status, summary, before, after)
}

/// The protocol whose ports `revoke_world_ingress` closes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Proto {
    Tcp,
    Udp,
}

impl Proto {
    fn name(self) -> &'static str {
        match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
        }
    }

    fn other(self) -> Proto {
        match self {
            Proto::Tcp => Proto::Udp,
            Proto::Udp => Proto::Tcp,
        }
    }

    /// Whether a rule's `ip_protocol` is this one (by name or number).
    fn is(self, ip_protocol: Option<&str>) -> bool {
        matches!(
            (self, ip_protocol),
            (Proto::Tcp, Some("tcp" | "6")) | (Proto::Udp, Some("udp" | "17"))
        )
    }
}

const ALL_PORTS: (i64, i64) = (0, 65_535);

/// The ports a rule of protocol `proto` (or `-1`) opens: `None` when it is
/// of another protocol.
fn rule_ports(p: &IpPermission, proto: Proto) -> Option<(i64, i64)> {
    if p.ip_protocol() == Some("-1") {
        return Some(ALL_PORTS);
    }
    if !proto.is(p.ip_protocol()) {
        return None;
    }
    Some((
        p.from_port().map_or(0, i64::from).max(0),
        p.to_port().map_or(65_535, i64::from).min(65_535),
    ))
}

/// Whether a rule lets `proto` traffic reach any of `ports`.
fn covers(p: &IpPermission, proto: Proto, ports: &[i64]) -> bool {
    rule_ports(p, proto).is_some_and(|(f, t)| ports.iter().any(|&x| f <= x && x <= t))
}

/// `from..=to` without `ports`, as ranges.
fn without(from: i64, to: i64, ports: &[i64]) -> Vec<(i64, i64)> {
    let mut cut: Vec<i64> = ports
        .iter()
        .copied()
        .filter(|&x| from <= x && x <= to)
        .collect();
    cut.sort_unstable();
    cut.dedup();
    let mut out = Vec::new();
    let mut at = from;
    for x in cut {
        if at < x {
            out.push((at, x - 1));
        }
        at = x + 1;
    }
    if at <= to {
        out.push((at, to));
    }
    out
}

/// One source of a rule that is open to the world.
#[derive(Clone)]
enum World {
    V4(IpRange),
    V6(Ipv6Range),
}

fn world_sources(p: &IpPermission) -> Vec<World> {
    let v4 = p
        .ip_ranges()
        .iter()
        .filter(|r| r.cidr_ip() == Some("0.0.0.0/0"))
        .map(|r| World::V4(r.clone()));
    let v6 = p
        .ipv6_ranges()
        .iter()
        .filter(|r| r.cidr_ipv6() == Some("::/0"))
        .map(|r| World::V6(r.clone()));
    v4.chain(v6).collect()
}

/// A permission of `protocol` and ports for `sources`.
fn permission(protocol: &str, ports: Option<(i64, i64)>, sources: &[World]) -> IpPermission {
    let port = |x: i64| i32::try_from(x).ok();
    build(
        Some(protocol),
        ports.and_then(|(f, _)| port(f)),
        ports.and_then(|(_, t)| port(t)),
        sources,
    )
}

fn build(
    protocol: Option<&str>,
    from: Option<i32>,
    to: Option<i32>,
    sources: &[World],
) -> IpPermission {
    let v4: Vec<IpRange> = sources
        .iter()
        .filter_map(|w| match w {
            World::V4(r) => Some(r.clone()),
            World::V6(_) => None,
        })
        .collect();
    let v6: Vec<Ipv6Range> = sources
        .iter()
        .filter_map(|w| match w {
            World::V6(r) => Some(r.clone()),
            World::V4(_) => None,
        })
        .collect();
    IpPermission::builder()
        .set_ip_protocol(protocol.map(str::to_owned))
        .set_from_port(from)
        .set_to_port(to)
        .set_ip_ranges((!v4.is_empty()).then_some(v4))
        .set_ipv6_ranges((!v6.is_empty()).then_some(v6))
        .build()
}

fn sources_of(p: &IpPermission) -> Vec<World> {
    p.ip_ranges()
        .iter()
        .map(|r| World::V4(r.clone()))
        .chain(p.ipv6_ranges().iter().map(|r| World::V6(r.clone())))
        .collect()
}

fn cidr_of(w: &World) -> &str {
    match w {
        World::V4(r) => r.cidr_ip().unwrap_or(""),
        World::V6(r) => r.cidr_ipv6().unwrap_or(""),
    }
}

/// The world-open part (0.0.0.0/0, ::/0) of the rules that let `proto`
/// reach `ports`, each as the group holds it (what to revoke).
fn world_open(perms: &[IpPermission], proto: Proto, ports: &[i64]) -> Vec<IpPermission> {
    perms
        .iter()
        .filter(|p| covers(p, proto, ports))
        .filter_map(|p| {
            let sources = world_sources(p);
            (!sources.is_empty())
                .then(|| build(p.ip_protocol(), p.from_port(), p.to_port(), &sources))
        })
        .collect()
}

/// Closing `ports` of `proto` to the world and nothing else: the world
/// sources of each rule reaching them are revoked, and what the rule
/// opened besides is authorised again for the same sources — the rest of
/// its range, and for an all-traffic (`-1`) rule the other protocol's
/// ports and ICMP (other IP protocols of such a rule are not re-opened:
/// the summary says so). Pieces the group already holds are left out
/// (AWS refuses a duplicate).
struct Narrowing {
    revoke: Vec<IpPermission>,
    authorize: Vec<IpPermission>,
    /// Whether an all-traffic rule was among those revoked.
    all_traffic: bool,
}

fn narrowing(perms: &[IpPermission], proto: Proto, ports: &[i64]) -> Narrowing {
    let revoke = world_open(perms, proto, ports);
    let mut authorize = Vec::new();
    let mut all_traffic = false;
    for p in &revoke {
        let sources = world_sources(p);
        let Some((from, to)) = rule_ports(p, proto) else {
            continue;
        };
        for (f, t) in without(from, to, ports) {
            authorize.push(permission(proto.name(), Some((f, t)), &sources));
        }
        if p.ip_protocol() == Some("-1") {
            all_traffic = true;
            authorize.push(permission(proto.other().name(), Some(ALL_PORTS), &sources));
            let (v4, v6): (Vec<World>, Vec<World>) = sources
                .iter()
                .cloned()
                .partition(|w| matches!(w, World::V4(_)));
            if !v4.is_empty() {
                authorize.push(permission("icmp", Some((-1, -1)), &v4));
            }
            if !v6.is_empty() {
                authorize.push(permission("icmpv6", Some((-1, -1)), &v6));
            }
        }
    }
    // What stays in the group after the revocation, by (protocol, ports,
    // source), so that no piece duplicates it.
    let key = |proto: Option<&str>, f: Option<i32>, t: Option<i32>, cidr: &str| {
        let proto = match proto {
            Some("6") => "tcp",
            Some("17") => "udp",
            Some("1") => "icmp",
            Some("58") => "icmpv6",
            Some(x) => x,
            None => "",
        };
        format!("{proto}/{f:?}/{t:?}/{cidr}")
    };
    let revoked: std::collections::HashSet<String> = revoke
        .iter()
        .flat_map(|p| {
            cidrs(p)
                .into_iter()
                .map(|c| key(p.ip_protocol(), p.from_port(), p.to_port(), c))
        })
        .collect();
    let kept: std::collections::HashSet<String> = perms
        .iter()
        .flat_map(|p| {
            cidrs(p)
                .into_iter()
                .map(|c| key(p.ip_protocol(), p.from_port(), p.to_port(), c))
        })
        .filter(|k| !revoked.contains(k))
        .collect();
    let authorize = authorize
        .into_iter()
        .filter_map(|p| {
            let sources: Vec<World> = sources_of(&p)
                .into_iter()
                .filter(|w| {
                    !kept.contains(&key(
                        p.ip_protocol(),
                        p.from_port(),
                        p.to_port(),
                        cidr_of(w),
                    ))
                })
                .collect();
            (!sources.is_empty())
                .then(|| build(p.ip_protocol(), p.from_port(), p.to_port(), &sources))
        })
        .collect();
    Narrowing {
        revoke,
        authorize,
        all_traffic,
    }
}

fn cidrs(p: &IpPermission) -> Vec<&str> {
    p.ip_ranges()
        .iter()
        .filter_map(|r| r.cidr_ip())
        .chain(p.ipv6_ranges().iter().filter_map(|r| r.cidr_ipv6()))
        .collect()
}

fn describe_rule(p: &IpPermission) -> String {
    let cidrs = cidrs(p);
    let ports = match (p.ip_protocol(), p.from_port(), p.to_port()) {
        (Some("-1"), _, _) => "all traffic".to_string(),
        (Some(proto), Some(-1), Some(-1)) => proto.to_string(),
        (Some(proto), Some(f), Some(t)) if f == t => format!("{proto}/{f}"),
        (Some(proto), Some(f), Some(t)) => format!("{proto}/{f}-{t}"),
        (proto, _, _) => proto.unwrap_or("?").to_string(),
    };
    format!("{ports} from {}", cidrs.join(", "))
}

#[async_trait]
impl Action for AwsActions {
    fn names(&self) -> &[&'static str] {
        NAMES
    }

    /// Accounts named in the configuration (an `id`, or a role ARN's
    /// account); an account known only through its credentials matches any.
    fn handles(&self, target: &crate::action::Target) -> bool {
        let accounts = &self.source.accounts;
        accounts.is_empty()
            || accounts.iter().any(|a| {
                let known = a.id.clone().or_else(|| {
                    a.role_arn
                        .as_ref()
                        .and_then(|r| r.split(':').nth(4))
                        .map(str::to_owned)
                });
                known.is_none_or(|k| k == target.account)
            })
    }

    /// EBS encryption by default is a setting of the account's region.
    fn scope(&self, action: &str) -> ActionScope {
        match action {
            "enable_ebs_encryption_by_default" => ActionScope::Region,
            "set_iam_password_policy" => ActionScope::Account,
            _ => ActionScope::Resource,
        }
    }

    async fn run(&self, req: &FixRequest) -> Result<FixOutcome, ActionError> {
        let Some((_, types)) = ACTIONS
            .iter()
            .chain(services::ACTIONS)
            .find(|(n, _)| *n == req.action)
        else {
            return Err(ActionError::Unknown(req.action.clone()));
        };
        let t = &req.target;
        if !types.contains(&t.resource_type.as_str()) {
            return Err(ActionError::WrongType {
                action: req.action.clone(),
                resource_type: t.resource_type.clone(),
            });
        }
        let acct = self.account(&t.account).await?;
        let src = &self.source;
        let ec2 = || src.ec2(&acct.sdk, &t.region, &self.stats);
        if let Some(done) = services::run(src, acct, &self.stats, req).await {
            return done;
        }
        let dry = req.dry_run;
        let id = t.id.as_str();
        match req.action.as_str() {
            "revoke_world_ingress" => {
                let ports: Vec<i64> = arg(req, "ports")?
                    .as_array()
                    .and_then(|a| a.iter().map(Json::as_i64).collect())
                    .ok_or_else(|| ActionError::BadArgument {
                        name: "ports".into(),
                        message: "expected a list of port numbers".into(),
                    })?;
                let proto = match req.args.get("protocol").and_then(Json::as_str) {
                    None | Some("tcp") => Proto::Tcp,
                    Some("udp") => Proto::Udp,
                    Some(other) => {
                        return Err(ActionError::BadArgument {
                            name: "protocol".into(),
                            message: format!("`{other}`: expected `tcp` or `udp`"),
                        });
                    }
                };
                let what = format!("{} ports {ports:?}", proto.name());
                let c = ec2();
                let sg = describe_group(&c, id).await?;
                let plan = narrowing(sg.ip_permissions(), proto, &ports);
                if plan.revoke.is_empty() {
                    return Ok(already(
                        format!("{id} has no world-open ingress on {what}"),
                        json!({"world_open_ingress": []}),
                    ));
                }
                let revoked: Vec<String> = plan.revoke.iter().map(describe_rule).collect();
                let kept: Vec<String> = plan.authorize.iter().map(describe_rule).collect();
                let before = json!({"world_open_ingress": plan.revoke.to_json()});
                let mut summary = format!("revoke {} on {id}", revoked.join("; "));
                if !kept.is_empty() {
                    summary.push_str(&format!(", re-authorise the rest: {}", kept.join("; ")));
                }
                if plan.all_traffic {
                    summary.push_str(" (an all-traffic rule: IP protocols other than TCP, UDP and ICMP are not re-opened)");
                }
                let planned_after = json!({
                    "world_open_ingress": [],
                    "reauthorized": plan.authorize.to_json(),
                });
                if dry {
                    return Ok(change(true, summary, before, planned_after));
                }
                // The rest first: if the revocation then fails, the group
                // is as open as it was, never more closed than asked.
                if !plan.authorize.is_empty() {
                    c.authorize_security_group_ingress()
                        .group_id(id)
                        .set_ip_permissions(Some(plan.authorize.clone()))
                        .send()
                        .await
                        .map_err(|e| failed(call_error("ec2:AuthorizeSecurityGroupIngress", e)))?;
                }
                c.revoke_security_group_ingress()
                    .group_id(id)
                    .set_ip_permissions(Some(plan.revoke))
                    .send()
                    .await
                    .map_err(|e| failed(call_error("ec2:RevokeSecurityGroupIngress", e)))?;
                let sg = describe_group(&c, id).await?;
                let after = json!({
                    "world_open_ingress": world_open(sg.ip_permissions(), proto, &ports).to_json(),
                    "reauthorized": plan.authorize.to_json(),
                });
                Ok(change(
                    false,
                    summary.replacen(": revoke", ": revoked", 1).replacen(
                        "re-authorise",
                        "re-authorised",
                        1,
                    ),
                    before,
                    after,
                ))
            }
            "stop_instance" => {
                let c = ec2();
                let out = c
                    .describe_instances()
                    .instance_ids(id)
                    .send()
                    .await
                    .map_err(|e| failed(call_error("ec2:DescribeInstances", e)))?;
                let state = out
                    .reservations()
                    .iter()
                    .flat_map(|r| r.instances())
                    .find_map(|i| {
                        i.state()
                            .and_then(|s| s.name())
                            .map(|n| n.as_str().to_owned())
                    })
                    .ok_or_else(|| {
                        ActionError::Failed(format!("instance {id} not found in {}", t.region))
                    })?;
                if matches!(
                    state.as_str(),
                    "stopped" | "stopping" | "terminated" | "shutting-down"
                ) {
                    return Ok(already(
                        format!("{id} is already {state}"),
                        json!({"state": state}),
                    ));
                }
                let before = json!({"state": state});
                if dry {
                    return Ok(change(
                        true,
                        format!("stop {id}"),
                        before,
                        json!({"state": "stopped"}),
                    ));
                }
                let out = c
                    .stop_instances()
                    .instance_ids(id)
                    .send()
                    .await
                    .map_err(|e| failed(call_error("ec2:StopInstances", e)))?;
                let now = out
                    .stopping_instances()
                    .first()
                    .and_then(|s| s.current_state())
                    .and_then(|s| s.name())
                    .map(|n| n.as_str().to_owned())
                    .unwrap_or_else(|| "stopping".into());
                Ok(change(
                    false,
                    format!("stopped {id}"),
                    before,
                    json!({"state": now}),
                ))
            }
            "enable_ebs_encryption_by_default" => {
                let c = ec2();
                let on = c
                    .get_ebs_encryption_by_default()
                    .send()
                    .await
                    .map_err(|e| failed(call_error("ec2:GetEbsEncryptionByDefault", e)))?
                    .ebs_encryption_by_default()
                    .unwrap_or(false);
                let where_ = format!("account {} region {}", t.account, t.region);
                if on {
                    return Ok(already(
                        format!("EBS encryption by default is already on in {where_}"),
                        json!({"ebs_encryption_by_default": true}),
                    ));
                }
                let before = json!({"ebs_encryption_by_default": false});
                let after = json!({"ebs_encryption_by_default": true});
                if dry {
                    return Ok(change(
                        true,
                        format!("turn on EBS encryption by default in {where_}"),
                        before,
                        after,
                    ));
                }
                c.enable_ebs_encryption_by_default()
                    .send()
                    .await
                    .map_err(|e| failed(call_error("ec2:EnableEbsEncryptionByDefault", e)))?;
                Ok(change(
                    false,
                    format!("turned on EBS encryption by default in {where_}"),
                    before,
                    after,
                ))
            }
            "make_snapshot_private" => {
                let c = ec2();
                let perms = snapshot_perms(&c, id).await?;
                let public = perms
                    .iter()
                    .any(|p| p.group() == Some(&PermissionGroup::All));
                let before = json!({"create_volume_permissions": perms.to_json()});
                if !public {
                    return Ok(already(format!("{id} is not public"), before));
                }
                let expected: Vec<Json> = perms
                    .iter()
                    .filter(|p| p.group() != Some(&PermissionGroup::All))
                    .map(|p| p.to_json())
                    .collect();
                if dry {
                    return Ok(change(
                        true,
                        format!("make {id} private"),
                        before,
                        json!({"create_volume_permissions": expected}),
                    ));
                }
                c.modify_snapshot_attribute()
                    .snapshot_id(id)
                    .attribute(SnapshotAttributeName::CreateVolumePermission)
                    .operation_type(OperationType::Remove)
                    .group_names("all")
                    .send()
                    .await
                    .map_err(|e| failed(call_error("ec2:ModifySnapshotAttribute", e)))?;
                let after = snapshot_perms(&c, id).await?;
                Ok(change(
                    false,
                    format!("made {id} private"),
                    before,
                    json!({"create_volume_permissions": after.to_json()}),
                ))
            }
            "make_image_private" => {
                let c = ec2();
                let perms = image_perms(&c, id).await?;
                let public = perms
                    .iter()
                    .any(|p| p.group() == Some(&PermissionGroup::All));
                let before = json!({"launch_permissions": perms.to_json()});
                if !public {
                    return Ok(already(format!("{id} is not public"), before));
                }
                let expected: Vec<Json> = perms
                    .iter()
                    .filter(|p| p.group() != Some(&PermissionGroup::All))
                    .map(|p| p.to_json())
                    .collect();
                if dry {
                    return Ok(change(
                        true,
                        format!("make {id} private"),
                        before,
                        json!({"launch_permissions": expected}),
                    ));
                }
                c.modify_image_attribute()
                    .image_id(id)
                    .launch_permission(
                        LaunchPermissionModifications::builder()
                            .remove(
                                LaunchPermission::builder()
                                    .group(PermissionGroup::All)
                                    .build(),
                            )
                            .build(),
                    )
                    .send()
                    .await
                    .map_err(|e| failed(call_error("ec2:ModifyImageAttribute", e)))?;
                let after = image_perms(&c, id).await?;
                Ok(change(
                    false,
                    format!("made {id} private"),
                    before,
                    json!({"launch_permissions": after.to_json()}),
                ))
            }
            "tag_resource" => {
                let key = arg_str(req, "key")?;
                let value = arg_str(req, "value")?;
                self.tag(acct, req, key, value).await
            }
            "delete_unattached_volume" => {
                let snapshot_first = arg(req, "snapshot_first")?.as_bool().ok_or_else(|| {
                    ActionError::BadArgument {
                        name: "snapshot_first".into(),
                        message: "expected true or false".into(),
                    }
                })?;
                let c = ec2();
                let vol = match c.describe_volumes().volume_ids(id).send().await {
                    Ok(out) => out.volumes().first().cloned(),
                    Err(e) if error_code(&e).as_deref() == Some("InvalidVolume.NotFound") => None,
                    Err(e) => return Err(failed(call_error("ec2:DescribeVolumes", e))),
                };
                let Some(vol) = vol else {
                    return Ok(already(
                        format!("{id} is already deleted"),
                        json!({"exists": false}),
                    ));
                };
                let state = vol.state().map(|s| s.as_str()).unwrap_or("unknown");
                if state != "available" {
                    let on: Vec<&str> = vol
                        .attachments()
                        .iter()
                        .filter_map(|a| a.instance_id())
                        .collect();
                    return Err(ActionError::Failed(format!(
                        "{id} is {state}{}: not deleting an attached volume; detach it first",
                        if on.is_empty() {
                            String::new()
                        } else {
                            format!(" (attached to {})", on.join(", "))
                        }
                    )));
                }
                let before = json!({"exists": true, "state": state, "size": vol.size()});
                if dry {
                    let what = if snapshot_first {
                        "snapshot and delete"
                    } else {
                        "delete"
                    };
                    return Ok(change(
                        true,
                        format!("{what} {id}"),
                        before,
                        json!({"exists": false}),
                    ));
                }
                let mut after = json!({"exists": false});
                let mut summary = format!("deleted {id}");
                if snapshot_first {
                    let snap = c
                        .create_snapshot()
                        .volume_id(id)
                        .description(format!("pac: taken before deleting {id}"))
                        .send()
                        .await
                        .map_err(|e| failed(call_error("ec2:CreateSnapshot", e)))?;
                    let sid = snap.snapshot_id().unwrap_or_default().to_owned();
                    summary = format!("snapshotted {id} as {sid}, then deleted it");
                    after["snapshot_id"] = json!(sid);
                }
                c.delete_volume()
                    .volume_id(id)
                    .send()
                    .await
                    .map_err(|e| failed(call_error("ec2:DeleteVolume", e)))?;
                Ok(change(false, summary, before, after))
            }
            "block_s3_public_access" => {
                let c = src.s3(&acct.sdk, &t.region, &self.stats);
                let current = match c.get_public_access_block().bucket(id).send().await {
                    Ok(out) => out.public_access_block_configuration().cloned(),
                    Err(e)
                        if error_code(&e).as_deref()
                            == Some("NoSuchPublicAccessBlockConfiguration") =>
                    {
                        None
                    }
                    Err(e) => return Err(failed(call_error("s3:GetPublicAccessBlock", e))),
                };
                let all_on = current.as_ref().is_some_and(|p| {
                    p.block_public_acls() == Some(true)
                        && p.ignore_public_acls() == Some(true)
                        && p.block_public_policy() == Some(true)
                        && p.restrict_public_buckets() == Some(true)
                });
                let before = json!({"public_access_block": current.to_json()});
                if all_on {
                    return Ok(already(
                        format!("{id} already blocks all public access"),
                        before,
                    ));
                }
                let on = PublicAccessBlockConfiguration::builder()
                    .block_public_acls(true)
                    .ignore_public_acls(true)
                    .block_public_policy(true)
                    .restrict_public_buckets(true)
                    .build();
                let after = json!({"public_access_block": on.to_json()});
                if dry {
                    return Ok(change(
                        true,
                        format!("block all public access to {id}"),
                        before,
                        after,
                    ));
                }
                c.put_public_access_block()
                    .bucket(id)
                    .public_access_block_configuration(on)
                    .send()
                    .await
                    .map_err(|e| failed(call_error("s3:PutPublicAccessBlock", e)))?;
                Ok(change(
                    false,
                    format!("blocked all public access to {id}"),
                    before,
                    after,
                ))
            }
            "set_iam_password_policy" => {
                let at_least = |name: &str| -> Result<i32, ActionError> {
                    arg(req, name)?
                        .as_i64()
                        .and_then(|n| i32::try_from(n).ok())
                        .filter(|n| *n >= 0)
                        .ok_or_else(|| ActionError::BadArgument {
                            name: name.into(),
                            message: "expected a whole number of 0 or more".into(),
                        })
                };
                let length = at_least("minimum_length")?;
                let reuse = at_least("reuse_prevention")?;
                let c = src.iam(&acct.sdk, &self.stats);
                let current = super::iam::read_password_policy(&c).await.map_err(failed)?;
                let before = super::iam::password_policy_json(current.as_ref());
                let have_length = current
                    .as_ref()
                    .and_then(|p| p.minimum_password_length())
                    .unwrap_or(0);
                let have_reuse = current
                    .as_ref()
                    .and_then(|p| p.password_reuse_prevention())
                    .unwrap_or(0);
                if current.is_some() && have_length >= length && have_reuse >= reuse {
                    return Ok(already(
                        format!(
                            "the password policy of {} already requires {have_length} characters and blocks reuse of {have_reuse} passwords",
                            t.account
                        ),
                        before,
                    ));
                }
                // Raise what is asked, keep every other setting: a fix
                // never weakens the policy.
                let new_length = have_length.max(length);
                let new_reuse = have_reuse.max(reuse);
                let p = current.as_ref();
                let mut update = c
                    .update_account_password_policy()
                    .minimum_password_length(new_length)
                    .require_symbols(p.is_some_and(|p| p.require_symbols()))
                    .require_numbers(p.is_some_and(|p| p.require_numbers()))
                    .require_uppercase_characters(
                        p.is_some_and(|p| p.require_uppercase_characters()),
                    )
                    .require_lowercase_characters(
                        p.is_some_and(|p| p.require_lowercase_characters()),
                    )
                    .allow_users_to_change_password(
                        p.is_some_and(|p| p.allow_users_to_change_password()),
                    )
                    .set_max_password_age(p.and_then(|p| p.max_password_age()))
                    .set_hard_expiry(p.and_then(|p| p.hard_expiry()));
                if new_reuse > 0 {
                    update = update.password_reuse_prevention(new_reuse);
                }
                let mut planned = before.clone();
                planned["present"] = json!(true);
                planned["minimum_password_length"] = json!(new_length);
                if new_reuse > 0 {
                    planned["password_reuse_prevention"] = json!(new_reuse);
                }
                let summary = format!(
                    "set the password policy of {} to at least {new_length} characters and no reuse of the last {new_reuse} passwords (other settings kept)",
                    t.account
                );
                if dry {
                    return Ok(change(true, summary, before, planned));
                }
                update
                    .send()
                    .await
                    .map_err(|e| failed(call_error("iam:UpdateAccountPasswordPolicy", e)))?;
                let after = super::iam::read_password_policy(&c).await.map_err(failed)?;
                Ok(change(
                    false,
                    summary.replacen("set", "raised", 1),
                    before,
                    super::iam::password_policy_json(after.as_ref()),
                ))
            }
            "deactivate_access_key" => {
                let attrs = &t.document["attributes"];
                let user = attrs["user_name"]
                    .as_str()
                    .or_else(|| attrs["UserName"].as_str())
                    .ok_or_else(|| {
                        ActionError::Failed(format!(
                            "the document of access key {id} has no `user_name`; collect it again"
                        ))
                    })?;
                let c = src.iam(&acct.sdk, &self.stats);
                let out = c
                    .list_access_keys()
                    .user_name(user)
                    .send()
                    .await
                    .map_err(|e| failed(call_error("iam:ListAccessKeys", e)))?;
                let key = out
                    .access_key_metadata()
                    .iter()
                    .find(|k| k.access_key_id() == Some(id))
                    .ok_or_else(|| {
                        ActionError::Failed(format!("user {user} has no access key {id}"))
                    })?;
                let status = key
                    .status()
                    .map(|s| s.as_str().to_owned())
                    .unwrap_or_default();
                let before = json!({"status": status});
                if status == "Inactive" {
                    return Ok(already(
                        format!("{id} of {user} is already inactive"),
                        before,
                    ));
                }
                let after = json!({"status": "Inactive"});
                if dry {
                    return Ok(change(
                        true,
                        format!("deactivate {id} of {user}"),
                        before,
                        after,
                    ));
                }
                c.update_access_key()
                    .user_name(user)
                    .access_key_id(id)
                    .status(StatusType::Inactive)
                    .send()
                    .await
                    .map_err(|e| failed(call_error("iam:UpdateAccessKey", e)))?;
                Ok(change(
                    false,
                    format!("deactivated {id} of {user}"),
                    before,
                    after,
                ))
            }
            other => Err(ActionError::Unknown(other.to_owned())),
        }
    }
}

impl AwsActions {
    async fn tag(
        &self,
        acct: &AccountCtx,
        req: &FixRequest,
        key: &str,
        value: &str,
    ) -> Result<FixOutcome, ActionError> {
        let t = &req.target;
        let id = t.id.as_str();
        let dry = req.dry_run;
        let summary = format!("set tag {key}={value:?} on {id}");
        let after = json!({"tag": {key: value}});
        match t.resource_type.as_str() {
            "aws.s3.bucket" => {
                let c = self.source.s3(&acct.sdk, &t.region, &self.stats);
                let tags: Vec<aws_sdk_s3::types::Tag> =
                    match c.get_bucket_tagging().bucket(id).send().await {
                        Ok(out) => out.tag_set().to_vec(),
                        Err(e) if error_code(&e).as_deref() == Some("NoSuchTagSet") => vec![],
                        Err(e) => return Err(failed(call_error("s3:GetBucketTagging", e))),
                    };
                let current = tags
                    .iter()
                    .find(|x| x.key() == key)
                    .map(|x| x.value().to_owned());
                let before = json!({"tag": {key: current}});
                if current.as_deref() == Some(value) {
                    return Ok(already(format!("{id} already has {key}={value:?}"), before));
                }
                if dry {
                    return Ok(change(true, summary, before, after));
                }
                let mut set: Vec<aws_sdk_s3::types::Tag> =
                    tags.into_iter().filter(|x| x.key() != key).collect();
                set.push(
                    aws_sdk_s3::types::Tag::builder()
                        .key(key)
                        .value(value)
                        .build()
                        .map_err(|e| ActionError::Failed(e.to_string()))?,
                );
                let tagging = Tagging::builder()
                    .set_tag_set(Some(set))
                    .build()
                    .map_err(|e| ActionError::Failed(e.to_string()))?;
                c.put_bucket_tagging()
                    .bucket(id)
                    .tagging(tagging)
                    .send()
                    .await
                    .map_err(|e| failed(call_error("s3:PutBucketTagging", e)))?;
                Ok(change(false, summary, before, after))
            }
            "aws.iam.user" => {
                let c = self.source.iam(&acct.sdk, &self.stats);
                let out = c
                    .list_user_tags()
                    .user_name(id)
                    .send()
                    .await
                    .map_err(|e| failed(call_error("iam:ListUserTags", e)))?;
                let current = out
                    .tags()
                    .iter()
                    .find(|x| x.key() == key)
                    .map(|x| x.value().to_owned());
                let before = json!({"tag": {key: current}});
                if current.as_deref() == Some(value) {
                    return Ok(already(format!("{id} already has {key}={value:?}"), before));
                }
                if dry {
                    return Ok(change(true, summary, before, after));
                }
                c.tag_user()
                    .user_name(id)
                    .tags(
                        aws_sdk_iam::types::Tag::builder()
                            .key(key)
                            .value(value)
                            .build()
                            .map_err(|e| ActionError::Failed(e.to_string()))?,
                    )
                    .send()
                    .await
                    .map_err(|e| failed(call_error("iam:TagUser", e)))?;
                Ok(change(false, summary, before, after))
            }
            _ => {
                let c = self.source.ec2(&acct.sdk, &t.region, &self.stats);
                let out = c
                    .describe_tags()
                    .filters(Filter::builder().name("resource-id").values(id).build())
                    .filters(Filter::builder().name("key").values(key).build())
                    .send()
                    .await
                    .map_err(|e| failed(call_error("ec2:DescribeTags", e)))?;
                let current = out
                    .tags()
                    .first()
                    .and_then(|x| x.value())
                    .map(str::to_owned);
                let before = json!({"tag": {key: current}});
                if current.as_deref() == Some(value) {
                    return Ok(already(format!("{id} already has {key}={value:?}"), before));
                }
                if dry {
                    return Ok(change(true, summary, before, after));
                }
                c.create_tags()
                    .resources(id)
                    .tags(Tag::builder().key(key).value(value).build())
                    .send()
                    .await
                    .map_err(|e| failed(call_error("ec2:CreateTags", e)))?;
                Ok(change(false, summary, before, after))
            }
        }
    }
}

async fn describe_group(
    c: &aws_sdk_ec2::Client,
    id: &str,
) -> Result<aws_sdk_ec2::types::SecurityGroup, ActionError> {
    let out = c
        .describe_security_groups()
        .group_ids(id)
        .send()
        .await
        .map_err(|e| failed(call_error("ec2:DescribeSecurityGroups", e)))?;
    out.security_groups()
        .first()
        .cloned()
        .ok_or_else(|| ActionError::Failed(format!("security group {id} not found")))
}

async fn snapshot_perms(
    c: &aws_sdk_ec2::Client,
    id: &str,
) -> Result<Vec<aws_sdk_ec2::types::CreateVolumePermission>, ActionError> {
    let out = c
        .describe_snapshot_attribute()
        .snapshot_id(id)
        .attribute(SnapshotAttributeName::CreateVolumePermission)
        .send()
        .await
        .map_err(|e| failed(call_error("ec2:DescribeSnapshotAttribute", e)))?;
    Ok(out.create_volume_permissions().to_vec())
}

async fn image_perms(
    c: &aws_sdk_ec2::Client,
    id: &str,
) -> Result<Vec<LaunchPermission>, ActionError> {
    let out = c
        .describe_image_attribute()
        .image_id(id)
        .attribute(ImageAttributeName::LaunchPermission)
        .send()
        .await
        .map_err(|e| failed(call_error("ec2:DescribeImageAttribute", e)))?;
    Ok(out.launch_permissions().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn perm(proto: &str, from: Option<i32>, to: Option<i32>, cidrs: &[&str]) -> IpPermission {
        IpPermission::builder()
            .ip_protocol(proto)
            .set_from_port(from)
            .set_to_port(to)
            .set_ip_ranges(Some(
                cidrs
                    .iter()
                    .map(|c| IpRange::builder().cidr_ip(*c).build())
                    .collect(),
            ))
            .build()
    }

    #[test]
    fn only_world_ranges_of_rules_reaching_the_ports_are_revoked() {
        let perms = vec![
            perm("tcp", Some(22), Some(22), &["0.0.0.0/0", "10.0.0.0/8"]),
            perm("tcp", Some(443), Some(443), &["0.0.0.0/0"]),
            perm("tcp", Some(20), Some(30), &["10.0.0.0/8"]),
            perm("-1", None, None, &["0.0.0.0/0"]),
            perm("udp", Some(22), Some(22), &["0.0.0.0/0"]),
        ];
        let open = world_open(&perms, Proto::Tcp, &[22]);
        assert_eq!(open.len(), 2);
        assert_eq!(describe_rule(&open[0]), "tcp/22 from 0.0.0.0/0");
        assert_eq!(describe_rule(&open[1]), "all traffic from 0.0.0.0/0");
        assert!(world_open(&perms[..3], Proto::Tcp, &[3389]).is_empty());
        // A UDP rule on 22 is not SSH; it is closed only when UDP is asked.
        let udp = world_open(&perms, Proto::Udp, &[22]);
        assert_eq!(
            udp.iter().map(describe_rule).collect::<Vec<_>>(),
            ["all traffic from 0.0.0.0/0", "udp/22 from 0.0.0.0/0"]
        );
    }

    #[test]
    fn a_range_loses_only_the_ports_asked() {
        assert_eq!(without(0, 1024, &[22]), [(0, 21), (23, 1024)]);
        assert_eq!(without(22, 22, &[22]), []);
        assert_eq!(without(20, 30, &[20, 30, 25, 25]), [(21, 24), (26, 29)]);
        assert_eq!(without(1000, 2000, &[22]), [(1000, 2000)]);
        let perms = vec![perm("tcp", Some(0), Some(1024), &["0.0.0.0/0"])];
        let plan = narrowing(&perms, Proto::Tcp, &[22]);
        assert_eq!(
            plan.revoke.iter().map(describe_rule).collect::<Vec<_>>(),
            ["tcp/0-1024 from 0.0.0.0/0"]
        );
        assert_eq!(
            plan.authorize.iter().map(describe_rule).collect::<Vec<_>>(),
            ["tcp/0-21 from 0.0.0.0/0", "tcp/23-1024 from 0.0.0.0/0"],
            "80 and 443 stay open"
        );
        assert!(!plan.all_traffic);
    }

    #[test]
    fn all_traffic_keeps_the_other_protocol_and_icmp_and_no_piece_duplicates_a_kept_rule() {
        let mut v6 = perm("-1", None, None, &["0.0.0.0/0"]);
        v6 = IpPermission::builder()
            .set_ip_protocol(v6.ip_protocol().map(str::to_owned))
            .set_ip_ranges(Some(v6.ip_ranges().to_vec()))
            .ipv6_ranges(Ipv6Range::builder().cidr_ipv6("::/0").build())
            .build();
        let perms = vec![v6, perm("udp", Some(0), Some(65535), &["0.0.0.0/0"])];
        let plan = narrowing(&perms, Proto::Tcp, &[22, 3389]);
        assert!(plan.all_traffic);
        assert_eq!(
            plan.authorize.iter().map(describe_rule).collect::<Vec<_>>(),
            [
                "tcp/0-21 from 0.0.0.0/0, ::/0",
                "tcp/23-3388 from 0.0.0.0/0, ::/0",
                "tcp/3390-65535 from 0.0.0.0/0, ::/0",
                // udp 0-65535 from 0.0.0.0/0 is already a rule of its own.
                "udp/0-65535 from ::/0",
                "icmp from 0.0.0.0/0",
                "icmpv6 from ::/0",
            ]
        );
    }
}
