package aws

// Helper functions for policies on AWS resources. Call them unqualified
// (`covers_port(p, 22)`) or as methods (`p.covers_port(22)`).

// ---------------------------------------------------------------------------
// Security groups
// ---------------------------------------------------------------------------

/// True when the rule lets traffic reach `port` in any protocol that has ports: protocol `-1` covers every port, ICMP (`icmp`, `icmpv6`, `1`, `58`) none; otherwise from_port..to_port inclusive, a missing bound meaning open-ended. A rule whose protocol is missing is read as `-1`. A service check wants `covers_tcp_port` or `covers_udp_port`.
fn covers_port(p: aws.ec2.IpPermission, port: int) -> bool =
  (p.ip_protocol ?? "-1") == "-1"
  or ((p.ip_protocol ?? "-1") not in ["icmp", "icmpv6", "1", "58"]
      and (p.from_port ?? 0) <= port
      and port <= (p.to_port ?? 65535))

/// True when the rule lets TCP traffic reach `port`: protocol `tcp` (`6`) with the port in from_port..to_port, or `-1` (all traffic; a missing protocol is read as `-1`).
fn covers_tcp_port(p: aws.ec2.IpPermission, port: int) -> bool =
  (p.ip_protocol ?? "-1") == "-1"
  or ((p.ip_protocol ?? "-1") in ["tcp", "6"]
      and (p.from_port ?? 0) <= port
      and port <= (p.to_port ?? 65535))

/// True when the rule lets UDP traffic reach `port`: protocol `udp` (`17`) with the port in from_port..to_port, or `-1` (all traffic; a missing protocol is read as `-1`).
fn covers_udp_port(p: aws.ec2.IpPermission, port: int) -> bool =
  (p.ip_protocol ?? "-1") == "-1"
  or ((p.ip_protocol ?? "-1") in ["udp", "17"]
      and (p.from_port ?? 0) <= port
      and port <= (p.to_port ?? 65535))

/// True when the rule allows the whole internet: an IPv4 range `0.0.0.0/0` or an IPv6 range `::/0`.
fn open_to_world(p: aws.ec2.IpPermission) -> bool =
  (any r in p.ip_ranges: has(r.cidr_ip) and r.cidr_ip == 0.0.0.0/0)
  or (any r in p.ipv6_ranges: has(r.cidr_ipv6) and r.cidr_ipv6 == cidr("::/0"))

/// True when an inbound rule of the group lets TCP traffic reach `port` from the whole internet (IPv4 or IPv6); a UDP rule on the same number does not count.
fn world_tcp_ingress_on_port(sg: aws.ec2.security_group, port: int) -> bool =
  any p in sg.ip_permissions: open_to_world(p) and covers_tcp_port(p, port)

/// True when an inbound rule of the group lets TCP traffic reach any of `ports` from the whole internet.
fn world_tcp_ingress_on_any_port(sg: aws.ec2.security_group, ports: list<int>) -> bool =
  any p in sg.ip_permissions: open_to_world(p) and (any port in ports: covers_tcp_port(p, port))

/// True when an inbound rule of the group lets UDP traffic reach `port` from the whole internet (IPv4 or IPv6).
fn world_udp_ingress_on_port(sg: aws.ec2.security_group, port: int) -> bool =
  any p in sg.ip_permissions: open_to_world(p) and covers_udp_port(p, port)

/// True when an inbound rule of the group lets UDP traffic reach any of `ports` from the whole internet.
fn world_udp_ingress_on_any_port(sg: aws.ec2.security_group, ports: list<int>) -> bool =
  any p in sg.ip_permissions: open_to_world(p) and (any port in ports: covers_udp_port(p, port))

// ---------------------------------------------------------------------------
// Network ACLs
// ---------------------------------------------------------------------------

/// True when the network ACL rule matches traffic to `port`: protocol `-1` matches every port, ICMP (`1`, `58`) none; otherwise its port range, a missing bound meaning open-ended. A missing protocol is read as `-1`.
fn acl_entry_covers_port(e: aws.ec2.NetworkAclEntry, port: int) -> bool =
  (e.protocol ?? "-1") == "-1"
  or ((e.protocol ?? "-1") not in ["1", "58"]
      and (e.port_range?.from ?? 0) <= port
      and port <= (e.port_range?.to ?? 65535))

/// True when the network ACL rule matches the whole internet: `cidr_block` `0.0.0.0/0` or `ipv6_cidr_block` `::/0`.
fn acl_entry_open_to_world(e: aws.ec2.NetworkAclEntry) -> bool =
  (has(e.cidr_block) and e.cidr_block == 0.0.0.0/0)
  or (has(e.ipv6_cidr_block) and e.ipv6_cidr_block == cidr("::/0"))

/// True when an inbound `allow` rule of the network ACL matches `port` from the whole internet; like CIS 5.1, rule order (earlier denies) is ignored. An entry missing `egress` counts as inbound and one missing `rule_action` as `allow`: an entry is not cleared for lack of data.
fn nacl_allows_world_ingress(acl: aws.ec2.network_acl, port: int) -> bool =
  any e in acl.entries:
    not (e.egress ?? false)
    and (e.rule_action ?? "allow") == "allow"
    and acl_entry_open_to_world(e)
    and acl_entry_covers_port(e, port)

// ---------------------------------------------------------------------------
// Instances, volumes, snapshots, AMIs
// ---------------------------------------------------------------------------

/// True when the instance's state is `running`, or not reported (a live instance is not exempted by a gap in the data).
fn is_running(i: aws.ec2.instance) -> bool = (i.state?.name ?? "running") == "running"

/// True when the instance only accepts IMDSv2 (`metadata_options.http_tokens == "required"`).
fn requires_imdsv2(i: aws.ec2.instance) -> bool =
  (i.metadata_options?.http_tokens ?? "optional") == "required"

/// True when the instance has a public IPv4 address, on its primary or any other network interface.
fn has_public_ip(i: aws.ec2.instance) -> bool =
  has(i.public_ip_address) or (any n in i.network_interfaces: has(n.association))

/// True when the volume is attached to nothing (state `available`); a volume whose state is not reported is not counted.
fn is_unattached(v: aws.ec2.volume) -> bool = (v.state ?? "") == "available"

/// True when anyone may create volumes from the snapshot (a create-volume permission for group `all`).
fn is_public_snapshot(s: aws.ec2.snapshot) -> bool =
  any perm in s.create_volume_permissions: (perm.group ?? "") == "all"

/// True when anyone may launch the AMI (`public`, or a launch permission for group `all`); a missing `public` reads as false, so only the launch permissions decide.
fn is_public_image(img: aws.ec2.image) -> bool =
  (img.public ?? false) or (any perm in img.launch_permissions: (perm.group ?? "") == "all")

// ---------------------------------------------------------------------------
// S3 buckets
// ---------------------------------------------------------------------------

/// True when the bucket ACL grants anything to the `AllUsers` or `AuthenticatedUsers` group.
fn acl_is_public(b: aws.s3.bucket) -> bool =
  any g in b.acl.grants:
    (g.grantee?.uri ?? "") in [
      "http://acs.amazonaws.com/groups/global/AllUsers",
      "http://acs.amazonaws.com/groups/global/AuthenticatedUsers",
    ]

/// True when all four bucket-level Block Public Access settings are on (the account-level settings are not modelled).
fn public_access_fully_blocked(b: aws.s3.bucket) -> bool =
  (b.public_access_block?.block_public_acls ?? false)
  and (b.public_access_block?.ignore_public_acls ?? false)
  and (b.public_access_block?.block_public_policy ?? false)
  and (b.public_access_block?.restrict_public_buckets ?? false)

/// True when the bucket is public through its policy (unless restrict_public_buckets) or its ACL (unless ignore_public_acls).
fn is_public_bucket(b: aws.s3.bucket) -> bool =
  ((b.policy_status?.is_public ?? false)
   and not (b.public_access_block?.restrict_public_buckets ?? false))
  or (acl_is_public(b) and not (b.public_access_block?.ignore_public_acls ?? false))

/// True when the bucket has a default encryption rule (SSE-S3, SSE-KMS or DSSE-KMS).
fn bucket_default_encrypted(b: aws.s3.bucket) -> bool =
  has(b.encryption)
  and (any r in b.encryption.rules: has(r.apply_server_side_encryption_by_default))

/// True when the bucket's default encryption uses KMS (`aws:kms` or `aws:kms:dsse`).
fn bucket_kms_encrypted(b: aws.s3.bucket) -> bool =
  has(b.encryption)
  and (any r in b.encryption.rules:
         starts_with(r.apply_server_side_encryption_by_default?.sse_algorithm ?? "", "aws:kms"))

/// True when versioning is `Enabled` (not never-enabled, not `Suspended`).
fn versioning_enabled(b: aws.s3.bucket) -> bool = (b.versioning.status ?? "") == "Enabled"

/// True when MFA delete is `Enabled` on the bucket.
fn mfa_delete_enabled(b: aws.s3.bucket) -> bool = (b.versioning.mfa_delete ?? "") == "Enabled"

// ---------------------------------------------------------------------------
// IAM
// ---------------------------------------------------------------------------

/// True when the user has at least one MFA device.
fn has_mfa(u: aws.iam.user) -> bool = len(u.mfa_devices) > 0

/// True when the user has a console password but no MFA device.
fn console_user_without_mfa(u: aws.iam.user) -> bool =
  (u.password_enabled ?? false) and len(u.mfa_devices) == 0

/// True when the access key's status is `Active`, or not reported (only an `Inactive` key is out of use).
fn is_active_key(k: aws.iam.access_key) -> bool = (k.status ?? "Active") == "Active"

/// When the access key was last used, or created if never used; missing when the key reports neither. `older_than(last_activity(k) ?? now, 90d)` finds stale keys (a key with no dates passes); `let t = last_activity(k)` then `not has(t) or older_than(t, 90d)` also flags keys whose activity cannot be shown.
fn last_activity(k: aws.iam.access_key) -> timestamp? =
  if has(k.last_used_date) then k.last_used_date else k.create_date

/// True when the root user has access keys (`account_access_keys_present`).
fn root_has_access_keys(s: aws.iam.account_summary) -> bool = s.account_access_keys_present > 0

/// True when the root user has MFA enabled (`account_mfa_enabled`).
fn root_has_mfa(s: aws.iam.account_summary) -> bool = s.account_mfa_enabled > 0

// ---------------------------------------------------------------------------
// Tags and vulnerabilities
// ---------------------------------------------------------------------------

/// True when every key in `keys` is a tag with a non-empty value: `has_all_tags(tags, ["owner", "env"])`.
fn has_all_tags(tags: map<string>, keys: list<string>) -> bool =
  all k in keys: (tags[k] ?? "") != ""

/// True when a scanner finding on the resource `rid` has a CVSS score of at least `min_cvss`.
fn has_vuln_at_least(rid: string, min_cvss: float) -> bool =
  any v in vuln.finding: v.resource_id == rid and v.cvss >= min_cvss

// ---------------------------------------------------------------------------
// Resource policies (SQS, SNS, Lambda, KMS, ECR)
// ---------------------------------------------------------------------------

/// True when the statement allows everyone: `Effect` Allow, a `*` principal (`"Principal": "*"` or `{"AWS": "*"}`) and no condition that could narrow it. A statement with any condition is not counted (a `aws:SourceAccount` or `aws:SourceArn` condition is the usual way to scope a service's access).
fn is_public_statement(s: aws.policy.PolicyStatement) -> bool =
  s.effect == "Allow" and "*" in s.principals and len(s.conditions) == 0

/// True when any statement of the policy allows everyone without a condition.
fn has_public_statement(statements: list<aws.policy.PolicyStatement>) -> bool =
  any s in statements: is_public_statement(s)

/// True when the statement allows every action of every service (`*`) or of IAM (`iam:*`).
fn allows_admin_actions(s: aws.policy.PolicyStatement) -> bool =
  s.effect == "Allow" and ("*" in s.actions or "iam:*" in s.actions)

/// True when the statement allows every action on every resource (`"Action": "*"`, `"Resource": "*"`): full administrator rights.
fn allows_full_admin(s: aws.policy.PolicyStatement) -> bool =
  s.effect == "Allow" and "*" in s.actions and "*" in s.resources

/// True when an action a policy grants (`granted`) covers the action `wanted`: `*`, the same name in any case (IAM action names are case-insensitive), or a prefix ending in `*` such as `ec2:*` or `ec2:Run*`. A `*` elsewhere in the pattern is not expanded.
fn action_matches(granted: string, wanted: string) -> bool =
  granted == "*"
  or lower(granted) == lower(wanted)
  or (ends_with(granted, "*") and starts_with(lower(wanted), lower(replace(granted, "*", ""))))

/// True when an `Allow` statement among `statements` covers any of `actions` (see `action_matches`); `Deny` statements and conditions are not weighed, so the answer is what the policies grant before any guard.
fn allows_any_action(statements: list<aws.policy.PolicyStatement>, actions: list<string>) -> bool =
  any s in statements:
    s.effect == "Allow" and (any p in s.actions: any a in actions: action_matches(p, a))
