#!/usr/bin/env python3
"""Writes the Pac demo inventory: a small, hand-curated AWS estate.

    python3 examples/demo/generate.py           # rewrites inventory.json and bad-inventory.ndjson
    python3 examples/demo/generate.py --check   # exits 1 if the committed files differ from this script's

The estate spans two accounts -- 111122223333 (production) and 444455556666
(development and sandbox) -- in us-east-1, eu-west-1 and ap-southeast-2, and
covers every resource type of the stdlib. A minority of the resources carry
deliberate, realistic violations; examples/demo/README.md lists them, and the
tests and the portal's screenshots name them.

The output is deterministic: always the same bytes (random.Random with a fixed
seed, a fixed reference date of 2026-11-01T00:00:00Z, no wall clock). Only the
Python standard library is used.

This script is the source of one fixture, not a generator of estates: large
synthetic estates for benchmarks come from `pacc gen-inventory` (the
`pac-estate` crate), the one generator.
"""

import argparse
import base64
import ipaddress
import json
import os
import random
import sys
from datetime import datetime, timedelta, timezone

NOW = datetime(2026, 11, 1, tzinfo=timezone.utc)
SEED = 20261101
PROD = "111122223333"
DEV = "444455556666"
HEX = "0123456789abcdef"
B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

# The order in which types appear in the output.
TYPE_ORDER = [
    "aws.ec2.vpc", "aws.ec2.subnet", "aws.ec2.network_acl", "aws.ec2.security_group",
    "aws.ec2.flow_log", "aws.ec2.instance", "aws.ec2.volume", "aws.ec2.snapshot",
    "aws.ec2.image", "aws.ec2.network_interface", "aws.ec2.address", "aws.ec2.key_pair",
    "aws.s3.bucket", "aws.iam.user", "aws.iam.access_key", "aws.iam.account_summary",
    "vuln.finding",
]

AZ_IDS = {
    (PROD, "us-east-1"): {"a": "use1-az6", "b": "use1-az1", "c": "use1-az2"},
    (DEV, "us-east-1"): {"a": "use1-az4", "b": "use1-az6", "c": "use1-az1"},
    (PROD, "eu-west-1"): {"a": "euw1-az3", "b": "euw1-az1", "c": "euw1-az2"},
    (DEV, "ap-southeast-2"): {"a": "apse2-az3", "b": "apse2-az1", "c": "apse2-az2"},
}

PUBLIC_PREFIXES = {
    "us-east-1": ["3.208", "3.214", "18.207", "34.195", "44.204", "52.3", "54.84", "54.163"],
    "eu-west-1": ["34.240", "34.247", "52.16", "52.209", "54.72", "54.171"],
    "ap-southeast-2": ["3.24", "13.54", "13.210", "52.62", "54.66"],
}

ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"
AUTH_USERS = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"
LOG_DELIVERY = "http://acs.amazonaws.com/groups/s3/LogDelivery"
CORP_CIDR = "203.0.113.0/24"   # the office egress range (TEST-NET-3)
VPN_CIDR = "198.51.100.16/28"  # the VPN concentrators (TEST-NET-2)

FLOW_LOG_FORMAT = ("${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} "
                   "${dstport} ${protocol} ${packets} ${bytes} ${start} ${end} ${action} ${log-status}")


def ts(dt):
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def pascal(obj):
    """snake_case keys -> PascalCase keys (tags' key/value -> Key/Value), recursively."""
    if isinstance(obj, dict):
        return {"".join(w[:1].upper() + w[1:] for w in k.split("_")): pascal(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [pascal(v) for v in obj]
    return obj


class Subnet:
    def __init__(self, sid, vpc, az, cidr, public, attrs):
        self.id, self.vpc, self.az, self.public, self.attrs = sid, vpc, az, public, attrs
        self.net = ipaddress.ip_network(cidr)
        self.next = 0


class Vpc:
    def __init__(self, vid, account, region, name, env):
        self.id, self.account, self.region, self.name, self.env = vid, account, region, name, env
        self.subnets = {}
        self.sgs = {}


class Estate:
    def __init__(self, rng, prod, dev, suffix):
        # suffix: appended to bucket names (always "" in the demo).
        self.rng = rng
        self.prod, self.dev, self.suffix = prod, dev, suffix
        self.docs = {t: [] for t in TYPE_ORDER}
        self.used_ids = set()
        self.kms = {}
        self.canonical = {}
        self.images = {}
        self.instances = {}
        self.keys = {}

    # -- identifiers -------------------------------------------------------
    def hexs(self, n):
        return "".join(self.rng.choice(HEX) for _ in range(n))

    def rid(self, prefix):
        """An AWS long ID: prefix + 17 hex digits, the first one 0."""
        while True:
            v = prefix + "0" + self.hexs(16)
            if v not in self.used_ids:
                self.used_ids.add(v)
                return v

    def upper_id(self, prefix, alphabet=ALNUM, n=17):
        while True:
            v = prefix + "".join(self.rng.choice(alphabet) for _ in range(n))
            if v not in self.used_ids:
                self.used_ids.add(v)
                return v

    def uuid(self):
        h = self.hexs(32)
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) % 4]}{h[17:20]}-{h[20:]}"

    def mac(self):
        return "0a:" + ":".join(self.hexs(2) for _ in range(5)) if self.rng.random() < 0.5 else \
            "02:" + ":".join(self.hexs(2) for _ in range(5))

    def acct(self, a):
        return self.prod if a == PROD else self.dev

    def kms_key(self, account, region, alias="ebs"):
        k = (account, region, alias)
        if k not in self.kms:
            self.kms[k] = f"arn:aws:kms:{region}:{self.acct(account)}:key/{self.uuid()}"
        return self.kms[k]

    def canon(self, account):
        if account not in self.canonical:
            self.canonical[account] = self.hexs(64)
        return self.canonical[account]

    # -- time ----------------------------------------------------------------
    def at(self, s):
        """'2026-03-04' (a random time that day) or '2026-03-04T10:20:30' -> datetime (UTC)."""
        if "T" in s:
            return datetime.strptime(s, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc)
        d = datetime.strptime(s, "%Y-%m-%d").replace(tzinfo=timezone.utc)
        return d + timedelta(seconds=self.rng.randrange(7 * 3600, 20 * 3600))

    def ago(self, days):
        return NOW - timedelta(days=days, seconds=self.rng.randrange(0, 6 * 3600))

    # -- output ----------------------------------------------------------------
    def add(self, typ, rid, account, region, attrs):
        self.docs[typ].append({"type": typ, "id": rid, "account": self.acct(account),
                               "region": region, "attributes": attrs})

    @staticmethod
    def tags(d, pascal_case=False):
        if pascal_case:
            return [{"Key": k, "Value": v} for k, v in d.items()]
        return [{"key": k, "value": v} for k, v in d.items()]

    # -- networking ------------------------------------------------------------
    def public_ip(self, region):
        while True:
            p = self.rng.choice(PUBLIC_PREFIXES[region])
            v = f"{p}.{self.rng.randrange(1, 255)}.{self.rng.randrange(1, 255)}"
            if v not in self.used_ids:
                self.used_ids.add(v)
                return v

    def private_ip(self, subnet):
        subnet.next += self.rng.randrange(1, 12)
        return str(subnet.net[4 + subnet.next])

    @staticmethod
    def private_dns(region, ip):
        host = "ip-" + ip.replace(".", "-")
        return f"{host}.ec2.internal" if region == "us-east-1" else f"{host}.{region}.compute.internal"

    @staticmethod
    def public_dns(region, ip):
        host = "ec2-" + ip.replace(".", "-")
        return (f"{host}.compute-1.amazonaws.com" if region == "us-east-1"
                else f"{host}.{region}.compute.amazonaws.com")

    def vpc(self, account, region, name, cidr, env, tags, is_default=False, ipv6=None, created="2021-01-01"):
        vid = self.rid("vpc-")
        v = Vpc(vid, account, region, name, env)
        attrs = {
            "vpc_id": vid,
            "cidr_block": cidr,
            "state": "available",
            "owner_id": self.acct(account),
            "is_default": is_default,
            "instance_tenancy": "default",
            "dhcp_options_id": self.rid("dopt-"),
            "cidr_block_association_set": [{
                "association_id": self.rid("vpc-cidr-assoc-"),
                "cidr_block": cidr,
                "cidr_block_state": {"state": "associated"},
            }],
            "ipv6_cidr_block_association_set": [],
        }
        if ipv6:
            attrs["ipv6_cidr_block_association_set"].append({
                "association_id": self.rid("vpc-cidr-assoc-"),
                "ipv6_cidr_block": ipv6,
                "ipv6_cidr_block_state": {"state": "associated"},
                "network_border_group": region,
                "ipv6_pool": "Amazon",
            })
        if tags:
            attrs["tags"] = self.tags(tags)
        self.add("aws.ec2.vpc", vid, account, region, attrs)
        return v

    def subnet(self, v, key, az, cidr, public, tags, default_for_az=False):
        sid = self.rid("subnet-")
        size = ipaddress.ip_network(cidr).num_addresses - 5
        attrs = {
            "subnet_id": sid,
            "subnet_arn": f"arn:aws:ec2:{v.region}:{self.acct(v.account)}:subnet/{sid}",
            "vpc_id": v.id,
            "owner_id": self.acct(v.account),
            "cidr_block": cidr,
            "availability_zone": v.region + az,
            "availability_zone_id": AZ_IDS[(v.account, v.region)][az],
            "state": "available",
            "available_ip_address_count": size,
            "default_for_az": default_for_az,
            "map_public_ip_on_launch": public and (default_for_az or v.env in ("dev", "sandbox")),
            "assign_ipv6_address_on_creation": False,
            "ipv6_native": False,
            "ipv6_cidr_block_association_set": [],
        }
        if tags:
            attrs["tags"] = self.tags(tags)
        s = Subnet(sid, v, v.region + az, cidr, public, attrs)
        v.subnets[key] = s
        self.add("aws.ec2.subnet", sid, v.account, v.region, attrs)
        return s

    def nacl(self, v, name, is_default, entries, subnet_keys, tags=None):
        aid = self.rid("acl-")
        attrs = {
            "network_acl_id": aid,
            "vpc_id": v.id,
            "owner_id": self.acct(v.account),
            "is_default": is_default,
            "entries": entries,
            "associations": [{
                "network_acl_association_id": self.rid("aclassoc-"),
                "network_acl_id": aid,
                "subnet_id": v.subnets[k].id,
            } for k in subnet_keys],
        }
        t = dict(tags or {})
        if name:
            t = {"Name": name, **t}
        if t:
            attrs["tags"] = self.tags(t)
        self.add("aws.ec2.network_acl", aid, v.account, v.region, attrs)
        return aid

    @staticmethod
    def acl_entry(n, proto, action, egress, cidr="0.0.0.0/0", ports=None, ipv6=False):
        e = {"rule_number": n, "protocol": proto, "rule_action": action, "egress": egress}
        if ipv6:
            e["ipv6_cidr_block"] = cidr
        else:
            e["cidr_block"] = cidr
        if ports:
            e["port_range"] = {"from": ports[0], "to": ports[1]}
        return e

    def aws_default_acl_entries(self, ipv6=False):
        """What AWS puts in a new VPC's default network ACL: allow everything."""
        out = []
        for egress in (False, True):
            out.append(self.acl_entry(100, "-1", "allow", egress))
            if ipv6:
                out.append(self.acl_entry(101, "-1", "allow", egress, "::/0", ipv6=True))
            out.append(self.acl_entry(32767, "-1", "deny", egress))
            if ipv6:
                out.append(self.acl_entry(32768, "-1", "deny", egress, "::/0", ipv6=True))
        return out

    def private_acl_entries(self, vpc_cidr):
        return [
            self.acl_entry(100, "-1", "allow", False, vpc_cidr),
            self.acl_entry(110, "6", "allow", False, "10.0.0.0/8", (0, 65535)),
            self.acl_entry(120, "6", "allow", False, "0.0.0.0/0", (32768, 65535)),
            self.acl_entry(130, "17", "allow", False, "0.0.0.0/0", (32768, 65535)),
            self.acl_entry(32767, "-1", "deny", False),
            self.acl_entry(100, "-1", "allow", True),
            self.acl_entry(32767, "-1", "deny", True),
        ]

    def public_acl_entries(self, vpc_cidr):
        return [
            self.acl_entry(100, "6", "allow", False, "0.0.0.0/0", (443, 443)),
            self.acl_entry(110, "6", "allow", False, "0.0.0.0/0", (80, 80)),
            self.acl_entry(120, "6", "allow", False, CORP_CIDR, (22, 22)),
            self.acl_entry(130, "-1", "allow", False, vpc_cidr),
            self.acl_entry(140, "6", "allow", False, "0.0.0.0/0", (32768, 65535)),
            self.acl_entry(150, "17", "allow", False, "0.0.0.0/0", (1194, 1194)),
            self.acl_entry(32767, "-1", "deny", False),
            self.acl_entry(100, "-1", "allow", True),
            self.acl_entry(32767, "-1", "deny", True),
        ]

    # -- security groups ---------------------------------------------------------
    @staticmethod
    def perm(proto, ports=None, cidrs=(), cidrs6=(), groups=(), prefix_lists=()):
        p = {"ip_protocol": proto}
        if ports is not None:
            p["from_port"], p["to_port"] = ports
        p["ip_ranges"] = [dict(cidr_ip=c, **({"description": d} if d else {}))
                          for c, d in (x if isinstance(x, tuple) else (x, None) for x in cidrs)]
        p["ipv6_ranges"] = [{"cidr_ipv6": c} for c in cidrs6]
        p["prefix_list_ids"] = [{"prefix_list_id": pl} for pl in prefix_lists]
        p["user_id_group_pairs"] = list(groups)
        return p

    def ref(self, sg):
        return {"group_id": sg["group_id"], "user_id": sg["owner_id"]}

    def all_egress(self):
        return [self.perm("-1", cidrs=["0.0.0.0/0"])]

    def sg(self, v, name, description, ingress, egress=None, tags=None, default=False, pascal_case=False):
        gid = self.rid("sg-")
        attrs = {
            "group_id": gid,
            "group_name": "default" if default else name,
            "description": "default VPC security group" if default else description,
            "owner_id": self.acct(v.account),
            "vpc_id": v.id,
            "security_group_arn": f"arn:aws:ec2:{v.region}:{self.acct(v.account)}:security-group/{gid}",
            "ip_permissions": [],
            "ip_permissions_egress": self.all_egress() if egress is None else egress,
        }
        # Rules may reference the group itself: build them once the ID exists.
        attrs["ip_permissions"] = ingress(attrs) if callable(ingress) else ingress
        if tags:
            attrs["tags"] = self.tags(tags)
        if pascal_case:
            attrs = pascal(attrs)   # tags' key/value become Key/Value too
        self.add("aws.ec2.security_group", gid, v.account, v.region, attrs)
        g = {"group_id": gid, "group_name": attrs.get("group_name", attrs.get("GroupName")),
             "owner_id": self.acct(v.account)}
        v.sgs[name] = g
        return g

    # -- flow logs ------------------------------------------------------------------
    def flow_log(self, account, region, resource_id, dest, created, traffic="ALL", status="SUCCESS",
                 error=None, tags=None):
        fid = self.rid("fl-")
        a = self.acct(account)
        attrs = {
            "flow_log_id": fid,
            "resource_id": resource_id,
            "flow_log_status": "ACTIVE",
            "deliver_logs_status": status,
            "traffic_type": traffic,
            "log_destination_type": dest[0],
            "log_format": FLOW_LOG_FORMAT,
            "max_aggregation_interval": 600,
            "creation_time": ts(self.at(created)),
        }
        if error:
            attrs["deliver_logs_error_message"] = error
        if dest[0] == "cloud-watch-logs":
            attrs["log_destination"] = f"arn:aws:logs:{region}:{a}:log-group:{dest[1]}"
            attrs["log_group_name"] = dest[1]
            attrs["deliver_logs_permission_arn"] = f"arn:aws:iam::{a}:role/vpc-flow-logs"
        else:
            attrs["log_destination"] = f"arn:aws:s3:::{dest[1]}{self.suffix}/vpc-flow-logs/"
        if tags:
            attrs["tags"] = self.tags(tags)
        self.add("aws.ec2.flow_log", fid, account, region, attrs)

    # -- snapshots and images ----------------------------------------------------------
    def snapshot(self, account, region, volume_id, size, start, encrypted, description, tags=None,
                 kms=None, permissions=(), tier="standard", sid=None):
        sid = sid or self.rid("snap-")
        attrs = {
            "snapshot_id": sid,
            "volume_id": volume_id,
            "volume_size": size,
            "state": "completed",
            "start_time": ts(start),
            "owner_id": self.acct(account),
            "description": description,
            "encrypted": encrypted,
            "storage_tier": tier,
            "create_volume_permissions": list(permissions),
        }
        if encrypted:
            attrs["kms_key_id"] = kms or self.kms_key(account, region)
        if tags:
            attrs["tags"] = self.tags(tags)
        self.add("aws.ec2.snapshot", sid, account, region, attrs)
        return sid

    def image(self, account, region, key, name, created, tags, encrypted=True, public=False,
              size=8, device="/dev/xvda", windows=False, deprecated=None, imdsv2=True, description=None,
              launch_permissions=()):
        iid = self.rid("ami-")
        created_dt = self.at(created)
        snap = self.snapshot(account, region, "vol-ffffffff", size, created_dt - timedelta(minutes=7),
                             encrypted, f"Created by CreateImage({self.rid('i-')}) for {iid}",
                             tags=None)
        attrs = {
            "image_id": iid,
            "name": name,
            "state": "available",
            "owner_id": self.acct(account),
            "creation_date": created_dt.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "public": public,
            "architecture": "x86_64",
            "image_type": "machine",
            "root_device_type": "ebs",
            "root_device_name": device,
            "platform_details": "Windows" if windows else "Linux/UNIX",
            "ena_support": True,
            "block_device_mappings": [{
                "device_name": device,
                "ebs": {"snapshot_id": snap, "volume_size": size, "volume_type": "gp3",
                        "encrypted": encrypted, "delete_on_termination": True, "iops": 3000,
                        "throughput": 125},
            }],
            "launch_permissions": list(launch_permissions),
        }
        if description:
            attrs["description"] = description
        if windows:
            attrs["platform"] = "windows"
        if imdsv2:
            attrs["imds_support"] = "v2.0"
        if deprecated:
            attrs["deprecation_time"] = deprecated + "T00:00:00.000Z"
        if tags:
            attrs["tags"] = self.tags(tags)
        self.add("aws.ec2.image", iid, account, region, attrs)
        self.images[key] = {"id": iid, "snap": snap, "size": size, "device": device, "windows": windows}
        return iid

    # -- volumes ----------------------------------------------------------------------
    def volume(self, account, region, az, size, vtype, created, encrypted, tags=None, snapshot_id="",
               attach=None, iops=None, kms=None, omit_attachments=False):
        vid = self.rid("vol-")
        attrs = {
            "volume_id": vid,
            "size": size,
            "volume_type": vtype,
            "state": "in-use" if attach else "available",
            "availability_zone": az,
            "create_time": ts(created),
            "encrypted": encrypted,
            "snapshot_id": snapshot_id,
        }
        if encrypted:
            attrs["kms_key_id"] = kms or self.kms_key(account, region)
        if vtype == "gp2":
            attrs["iops"] = max(100, 3 * size)
        elif vtype == "gp3":
            attrs["iops"] = 3000
            attrs["throughput"] = 125
        elif vtype in ("io1", "io2"):
            attrs["iops"] = iops or 10 * size
        if attach:
            instance_id, device, when, dot = attach
            attrs["attachments"] = [{
                "volume_id": vid, "instance_id": instance_id, "device": device, "state": "attached",
                "attach_time": ts(when), "delete_on_termination": dot,
            }]
        elif not omit_attachments:
            attrs["attachments"] = []
        if tags:
            attrs["tags"] = self.tags(tags)
        self.add("aws.ec2.volume", vid, account, region, attrs)
        return vid

    # -- addresses ----------------------------------------------------------------------
    def address(self, account, region, tags, ip=None, assoc=None):
        alloc = self.rid("eipalloc-")
        ip = ip or self.public_ip(region)
        attrs = {"public_ip": ip, "allocation_id": alloc, "domain": "vpc"}
        if assoc:
            attrs.update(assoc)
        attrs["public_ipv4_pool"] = "amazon"
        attrs["network_border_group"] = region
        if tags:
            attrs["tags"] = self.tags(tags)
        self.add("aws.ec2.address", alloc, account, region, attrs)
        return alloc, ip

    # -- network interfaces ----------------------------------------------------------------
    def eni(self, s, itype, groups, description="", requester=None, attachment=None, public=None,
            source_dest_check=True, tags=None, status=None):
        v = s.vpc
        eid = self.rid("eni-")
        ip = self.private_ip(s)
        assoc = None
        if public:
            assoc = {"public_ip": public["ip"], "public_dns_name": self.public_dns(v.region, public["ip"]),
                     "ip_owner_id": public.get("owner", "amazon")}
            if "allocation_id" in public:
                assoc["allocation_id"] = public["allocation_id"]
                assoc["association_id"] = public["association_id"]
        attrs = {
            "network_interface_id": eid,
            "interface_type": itype,
            "status": status or ("in-use" if attachment or requester else "available"),
            "subnet_id": s.id,
            "vpc_id": v.id,
            "availability_zone": s.az,
            "private_ip_address": ip,
            "private_dns_name": self.private_dns(v.region, ip),
            "mac_address": self.mac(),
            "owner_id": self.acct(v.account),
            "requester_managed": requester is not None,
            "source_dest_check": source_dest_check,
            "description": description,
            "groups": [{"group_id": g["group_id"], "group_name": g["group_name"]} for g in groups],
            "private_ip_addresses": [{
                "private_ip_address": ip, "private_dns_name": self.private_dns(v.region, ip), "primary": True,
                **({"association": assoc} if assoc else {}),
            }],
            "ipv6_addresses": [],
        }
        if requester:
            attrs["requester_id"] = requester
        if assoc:
            attrs["association"] = assoc
        if attachment:
            attrs["attachment"] = attachment
        if tags:
            attrs["tags"] = self.tags(tags)
        self.add("aws.ec2.network_interface", eid, v.account, v.region, attrs)
        return eid, ip, attrs

    # -- instances -----------------------------------------------------------------------
    def instance(self, name, s, sgs, itype, image, created, tags, state="running", launched=None,
                 stopped=None, imds="required", key=None, profile=None, public=None, root=("gp3", 8, True),
                 data=(), lifecycle=None, source_dest_check=True, monitoring="disabled", terminated=None):
        """`s` is a Subnet (or, for a terminated instance, a (Vpc, az) pair).
        public: None, "auto" (an auto-assigned IP), or "eip" (an Elastic IP; returns its allocation)."""
        v = s.vpc if isinstance(s, Subnet) else s[0]
        account, region = v.account, v.region
        a = self.acct(account)
        iid = self.rid("i-")
        created_dt = self.at(created)
        launched_dt = self.at(launched) if launched else created_dt
        img = self.images.get(image) if isinstance(image, str) else None
        image_id = img["id"] if img else self.rid("ami-")
        windows = bool(img and img["windows"]) or (isinstance(image, tuple) and image[0] == "windows")
        device = img["device"] if img else ("/dev/sda1" if windows or (isinstance(image, tuple) and image[0] == "ubuntu") else "/dev/xvda")
        code = {"running": 16, "stopped": 80, "terminated": 48}[state]
        attrs = {
            "instance_id": iid,
            "image_id": image_id,
            "instance_type": itype,
            "launch_time": ts(launched_dt),
            "state": {"code": code, "name": state},
            "placement": {"availability_zone": s.az if isinstance(s, Subnet) else region + s[1],
                          "tenancy": "default", "group_name": ""},
            "monitoring": {"state": monitoring},
        }
        if key:
            attrs["key_name"] = key
        sg_ids = [{"group_id": g["group_id"], "group_name": g["group_name"]} for g in sgs]
        if state == "terminated":
            when = self.at(terminated)
            attrs.update({
                "private_dns_name": "",
                "public_dns_name": "",
                "state_transition_reason": f"User initiated ({when.strftime('%Y-%m-%d %H:%M:%S')} GMT)",
                "security_groups": [],
                "block_device_mappings": [],
                "network_interfaces": [],
                "platform_details": "Linux/UNIX",
                "tags": self.tags(tags),
            })
            self.add("aws.ec2.instance", iid, account, region, attrs)
            self.instances[name] = {"id": iid, "account": account, "region": region}
            return iid

        # Primary network interface, public address.
        pub = None
        alloc = None
        if public == "auto" and state == "running":
            pub = {"ip": self.public_ip(region), "owner": "amazon"}
        attach_id = self.rid("eni-attach-")
        eni_attach = {"attachment_id": attach_id, "instance_id": iid, "instance_owner_id": a,
                      "device_index": 0, "status": "attached", "attach_time": ts(created_dt),
                      "delete_on_termination": True}
        if public == "eip":
            # Allocate the EIP first, then associate it with the ENI below.
            alloc = self.rid("eipalloc-")
            pub = {"ip": self.public_ip(region), "owner": a, "allocation_id": alloc,
                   "association_id": self.rid("eipassoc-")}
        eid, ip, eni_attrs = self.eni(s, "interface", sgs, attachment=eni_attach, public=pub,
                                      source_dest_check=source_dest_check)
        if public == "eip":
            attrs_e = {"public_ip": pub["ip"], "allocation_id": alloc, "domain": "vpc",
                       "association_id": pub["association_id"], "instance_id": iid,
                       "network_interface_id": eid, "network_interface_owner_id": a,
                       "private_ip_address": ip, "public_ipv4_pool": "amazon", "network_border_group": region,
                       "tags": self.tags({"Name": name + "-eip", **{k: tags[k] for k in ("env", "owner") if k in tags}})}
            self.add("aws.ec2.address", alloc, account, region, attrs_e)

        # Volumes.
        bdm = []
        rtype, rsize, renc = root
        root_snap = img["snap"] if img else self.rid("snap-")
        rsize = max(rsize, img["size"]) if img else rsize
        vtags = {k: tags[k] for k in ("Name", "env", "owner", "cost-center", "app") if k in tags}
        rid = self.volume(account, region, s.az, rsize, rtype, created_dt, renc, tags=vtags,
                          snapshot_id=root_snap, attach=(iid, device, created_dt, True))
        bdm.append({"device_name": device, "ebs": {"volume_id": rid, "status": "attached",
                                                   "attach_time": ts(created_dt), "delete_on_termination": True}})
        data_ids = []
        for i, (dtype, dsize, denc) in enumerate(data):
            dev = "/dev/sd" + "fghij"[i]
            dvid = self.volume(account, region, s.az, dsize, dtype, created_dt + timedelta(minutes=3), denc,
                               tags={**vtags, "Name": f"{name}-data{i + 1}", "backup": "daily"},
                               attach=(iid, dev, created_dt + timedelta(minutes=3), False),
                               iops=16000 if dtype in ("io1", "io2") else None,
                               kms=self.kms_key(account, region, "data") if denc else None)
            data_ids.append(dvid)
            bdm.append({"device_name": dev, "ebs": {"volume_id": dvid, "status": "attached",
                                                    "attach_time": ts(created_dt + timedelta(minutes=3)),
                                                    "delete_on_termination": False}})

        ni = {
            "network_interface_id": eid, "status": "in-use", "subnet_id": s.id, "vpc_id": v.id,
            "private_ip_address": ip, "private_dns_name": self.private_dns(region, ip),
            "mac_address": eni_attrs["mac_address"], "owner_id": a, "description": "",
            "interface_type": "interface", "source_dest_check": source_dest_check,
            "groups": sg_ids, "ipv6_addresses": [],
        }
        if pub:
            ni["association"] = {"public_ip": pub["ip"], "public_dns_name": self.public_dns(region, pub["ip"]),
                                 "ip_owner_id": pub["owner"]}
        attrs.update({
            "vpc_id": v.id,
            "subnet_id": s.id,
            "private_ip_address": ip,
            "private_dns_name": self.private_dns(region, ip),
        })
        if pub:
            attrs["public_ip_address"] = pub["ip"]
            attrs["public_dns_name"] = self.public_dns(region, pub["ip"])
        elif self.rng.random() < 0.5:
            attrs["public_dns_name"] = ""
        else:
            attrs["public_ip_address"] = None  # optionals may be null as well as absent
        if profile:
            attrs["iam_instance_profile"] = {"arn": f"arn:aws:iam::{a}:instance-profile/{profile}",
                                             "id": self.upper_id("AIPA")}
        if imds:
            attrs["metadata_options"] = {
                "state": "applied", "http_tokens": imds,
                "http_put_response_hop_limit": 2 if imds == "required" else 1,
                "http_endpoint": "enabled", "http_protocol_ipv6": "disabled",
                "instance_metadata_tags": "disabled",
            }
        attrs["security_groups"] = sg_ids
        attrs["block_device_mappings"] = bdm
        attrs["network_interfaces"] = [ni]
        if windows:
            attrs["platform"] = "windows"
        attrs["platform_details"] = "Windows" if windows else "Linux/UNIX"
        if lifecycle:
            attrs["instance_lifecycle"] = lifecycle
        attrs["source_dest_check"] = source_dest_check
        if state == "stopped":
            when = self.at(stopped)
            attrs["state_transition_reason"] = f"User initiated ({when.strftime('%Y-%m-%d %H:%M:%S')} GMT)"
        else:
            attrs["state_transition_reason"] = ""
        attrs["tags"] = self.tags(tags)
        self.add("aws.ec2.instance", iid, account, region, attrs)
        self.instances[name] = {"id": iid, "account": account, "region": region, "az": s.az,
                                "root": rid, "data": data_ids, "created": created_dt, "eni": eid}
        return iid

    # -- key pairs -------------------------------------------------------------------------
    def key_pair(self, account, region, name, ktype, created, tags=None, pascal_case=False):
        kid = self.rid("key-")
        if ktype == "ed25519":
            fp = base64.b64encode(bytes(self.rng.randrange(256) for _ in range(32))).decode()
        elif self.rng.random() < 0.5:
            fp = ":".join(self.hexs(2) for _ in range(20))   # created by EC2: SHA-1 of the private key
        else:
            fp = ":".join(self.hexs(2) for _ in range(16))   # imported: MD5 of the public key
        attrs = {"key_pair_id": kid, "key_name": name, "key_fingerprint": fp, "key_type": ktype,
                 "create_time": ts(self.at(created))}
        if pascal_case:
            attrs = pascal(attrs)
            if tags:
                attrs["Tags"] = self.tags(tags, pascal_case=True)
        elif tags:
            attrs["tags"] = self.tags(tags)
        self.add("aws.ec2.key_pair", kid, account, region, attrs)
        self.keys[name] = kid

    # -- S3 ---------------------------------------------------------------------------------
    def bucket(self, account, region, name, created, tags, acl_extra=(), policy_public=None, pab=None,
               encryption=None, versioning=None, mfa_delete=None, logging=None, display_name=None):
        name = name + self.suffix
        owner = {"id": self.canon(account)}
        if display_name:
            owner["display_name"] = display_name
        grants = [{"grantee": {"type": "CanonicalUser", **owner}, "permission": "FULL_CONTROL"}]
        for uri, perm in acl_extra:
            grants.append({"grantee": {"type": "Group", "uri": uri}, "permission": perm})
        attrs = {"name": name, "creation_date": ts(self.at(created)), "acl": {"owner": owner, "grants": grants}}
        if policy_public is not None:
            attrs["policy_status"] = {"is_public": policy_public}
        if pab is not None:
            b = [bool(int(c)) for c in pab]
            attrs["public_access_block"] = {"block_public_acls": b[0], "ignore_public_acls": b[1],
                                            "block_public_policy": b[2], "restrict_public_buckets": b[3]}
        if encryption:
            rule = {"apply_server_side_encryption_by_default": {"sse_algorithm": encryption}}
            if encryption == "aws:kms":
                rule["apply_server_side_encryption_by_default"]["kms_master_key_id"] = \
                    self.kms_key(account, region, "s3")
                rule["bucket_key_enabled"] = True
            else:
                rule["bucket_key_enabled"] = False
            attrs["encryption"] = {"rules": [rule]}
        ver = {}
        if versioning:
            ver["status"] = versioning
        if mfa_delete:
            ver["mfa_delete"] = mfa_delete
        attrs["versioning"] = ver
        if logging:
            attrs["logging"] = {"target_bucket": logging[0] + self.suffix, "target_prefix": logging[1]}
        if tags:
            attrs["tags"] = self.tags(tags)
        self.add("aws.s3.bucket", name, account, region, attrs)

    # -- IAM --------------------------------------------------------------------------------
    def user(self, account, name, created, tags, password=False, last_login=None, mfa=None,
             policies=(), inline=(), keys=()):
        a = self.acct(account)
        attrs = {"user_name": name, "user_id": self.upper_id("AIDA"), "arn": f"arn:aws:iam::{a}:user/{name}",
                 "create_date": ts(self.at(created))}
        if last_login:
            attrs["password_last_used"] = ts(self.at(last_login))
        attrs["password_enabled"] = password
        attrs["mfa_devices"] = [{"user_name": name, "serial_number": f"arn:aws:iam::{a}:mfa/{name}",
                                 "enable_date": ts(self.at(mfa))}] if mfa else []
        attrs["attached_policies"] = [
            {"policy_name": p.rsplit("/", 1)[-1],
             "policy_arn": p if p.startswith("arn:") else f"arn:aws:iam::{a}:policy/{p}"}
            for p in policies]
        attrs["policy_names"] = list(inline)
        if tags:
            attrs["tags"] = self.tags(tags)
        self.add("aws.iam.user", name, account, "us-east-1", attrs)
        for status, kcreated, last_used, service, kregion in keys:
            kid = self.upper_id("AKIA", B32, 16)
            k = {"access_key_id": kid, "user_name": name, "status": status,
                 "create_date": ts(self.at(kcreated))}
            if last_used:
                k["last_used_date"] = ts(self.at(last_used))
                k["last_used_service"] = service
                k["last_used_region"] = kregion
            self.add("aws.iam.access_key", kid, account, "us-east-1", k)

    # -- findings ----------------------------------------------------------------------------
    def finding(self, instance, cve, title, cvss, package, installed, fixed, first, last="2026-10-31",
                with_type=True):
        inst = self.instances[instance]
        account, region = inst["account"], inst["region"]
        a = self.acct(account)
        severity = ("critical" if cvss >= 9.0 else "high" if cvss >= 7.0 else
                    "medium" if cvss >= 4.0 else "low")
        if account == PROD:
            scanner = "inspector"
            fid = f"arn:aws:inspector2:{region}:{a}:finding/{self.hexs(32)}"
        else:
            scanner = "tenable"
            fid = f"tenable-{self.uuid()}"
        attrs = {"resource_id": inst["id"]}
        if with_type:
            attrs["resource_type"] = "aws.ec2.instance"
        attrs.update({"cve": cve, "title": title, "cvss": cvss, "severity": severity,
                      "first_seen": ts(self.at(first)), "last_seen": ts(self.at(last)),
                      "package_name": package, "installed_version": installed})
        if fixed:
            attrs["fixed_version"] = fixed
        attrs["scanner"] = scanner
        self.add("vuln.finding", fid, account, region, attrs)


# ---------------------------------------------------------------------------------------------
# The estate
# ---------------------------------------------------------------------------------------------

def T(base, name=None, **extra):
    """Tags: Name (if given), then env, owner, cost-center, app from `base`; `extra` adds or overrides
    (`tier="public"`, `app="ci"`; underscores become dashes)."""
    env, owner, cc, app = base
    d = {}
    if name:
        d["Name"] = name
    if env:
        d["env"] = env
    if owner:
        d["owner"] = owner
    if cc:
        d["cost-center"] = cc
    if app:
        d["app"] = app
    for k, v in extra.items():
        d[k.replace("_", "-")] = v
    return d


WEB = ("prod", "web-team@example.com", "CC-1042", "storefront")
PAY = ("prod", "payments-team@example.com", "CC-1077", "payments")
PLAT = ("prod", "platform-team@example.com", "CC-1001", "platform")
DATA = ("prod", "data-team@example.com", "CC-1120", "reporting")
DEVT = ("dev", "dev-team@example.com", "CC-2010", "storefront")
SBX = ("sandbox", "ml-research@example.com", "CC-2001", "ml")


def build(e):
    p, d = PROD, DEV

    # ===================== production, us-east-1 =====================
    r = "us-east-1"
    main = e.vpc(p, r, "prod-main", "10.10.0.0/16", "prod", T(PLAT, name="prod-main"),
                 ipv6="2600:1f18:4a1c:e800::/56", created="2019-03-12")
    for i, az in enumerate("abc"):
        e.subnet(main, "public-" + az, az, f"10.10.{i}.0/24", True, T(PLAT, name=f"prod-main-public-{az}", tier="public"))
    for i, az in enumerate("abc"):
        e.subnet(main, "private-" + az, az, f"10.10.{10 + i}.0/24", False,
                 T(PLAT, name=f"prod-main-private-{az}", tier="private"))
    shared = e.vpc(p, r, "shared-services", "10.20.0.0/16", "prod", T(PLAT, name="shared-services"),
                   created="2019-03-12")
    e.subnet(shared, "public-a", "a", "10.20.0.0/24", True, T(PLAT, name="shared-public-a", tier="public"))
    e.subnet(shared, "private-a", "a", "10.20.10.0/24", False, T(PLAT, name="shared-private-a", tier="private"))
    e.subnet(shared, "private-b", "b", "10.20.11.0/24", False, T(PLAT, name="shared-private-b", tier="private"))

    e.nacl(main, "prod-main-private", True, e.private_acl_entries("10.10.0.0/16"),
           ["private-a", "private-b", "private-c"], T(PLAT))
    e.nacl(main, "prod-main-public", False, e.public_acl_entries("10.10.0.0/16"),
           ["public-a", "public-b", "public-c"], T(PLAT))
    e.nacl(shared, "shared-services", True, e.public_acl_entries("10.20.0.0/16"),
           ["public-a", "private-a", "private-b"], T(PLAT))

    # Security groups. Production default groups were emptied by Terraform.
    e.sg(main, "default", None, [], egress=[], default=True)
    alb = e.sg(main, "prod-web-alb", "Internet-facing ALB for the storefront",
               [e.perm("tcp", (443, 443), ["0.0.0.0/0"], ["::/0"]), e.perm("tcp", (80, 80), ["0.0.0.0/0"], ["::/0"])],
               tags=T(WEB, name="prod-web-alb"))
    web = e.sg(main, "prod-web", "Storefront web servers",
               [e.perm("tcp", (8080, 8080), groups=[e.ref(alb)])], tags=T(WEB, name="prod-web"))
    app = e.sg(main, "prod-app", "Storefront API and payment services",
               [e.perm("tcp", (8443, 8443), groups=[e.ref(web)])], tags=T(PAY, name="prod-app"))
    db = e.sg(main, "prod-db", "PostgreSQL for the payment services",
              [e.perm("tcp", (5432, 5432), groups=[e.ref(app)])], tags=T(PAY, name="prod-db"))
    bastion = e.sg(main, "prod-bastion", "SSH bastion, office only",
                   [e.perm("tcp", (22, 22), [(CORP_CIDR, "office")])], tags=T(PLAT, name="prod-bastion"))
    mon = e.sg(main, "prod-monitoring", "Prometheus node exporters",
               [e.perm("tcp", (9090, 9100), ["10.0.0.0/8"])], tags=T(PLAT, name="prod-monitoring"))
    legacy_sg = e.sg(main, "legacy-batch", "legacy batch host",
                     [e.perm("tcp", (22, 22), ["10.0.0.0/8"])], tags={"Name": "legacy-batch", "env": "prod"})
    vpce = e.sg(main, "prod-vpc-endpoints", "Interface VPC endpoints",
                [e.perm("tcp", (443, 443), ["10.10.0.0/16"])], tags=T(PLAT, name="prod-vpc-endpoints"))
    lam = e.sg(main, "prod-lambda", "Lambda functions in the VPC", [], tags=T(PAY, name="prod-lambda"))
    e.sg(shared, "default", None, [], egress=[], default=True)
    jenkins_sg = e.sg(shared, "jenkins", "Jenkins controller",
                      [e.perm("tcp", (8080, 8080), ["10.0.0.0/8"]), e.perm("tcp", (22, 22), ["10.20.0.0/16"])],
                      tags=T(PLAT, name="jenkins"))
    ad_sg = e.sg(shared, "ad-domain-controllers", "Active Directory domain controllers",
                 [e.perm("tcp", (53, 53), ["10.0.0.0/8"]), e.perm("udp", (53, 53), ["10.0.0.0/8"]),
                  e.perm("tcp", (88, 88), ["10.0.0.0/8"]), e.perm("tcp", (389, 389), ["10.0.0.0/8"]),
                  e.perm("tcp", (445, 445), ["10.0.0.0/8"]), e.perm("tcp", (636, 636), ["10.0.0.0/8"]),
                  e.perm("tcp", (3389, 3389), [(VPN_CIDR, "vpn clients")]),
                  e.perm("tcp", (49152, 65535), ["10.0.0.0/8"])],
                 tags=T(PLAT, name="ad-domain-controllers"))
    vpn_sg = e.sg(shared, "openvpn", "OpenVPN access server",
                  [e.perm("udp", (1194, 1194), ["0.0.0.0/0"]), e.perm("tcp", (443, 443), ["0.0.0.0/0"]),
                   e.perm("tcp", (943, 943), [(CORP_CIDR, "admin UI from the office")])],
                  tags=T(PLAT, name="openvpn"))

    e.flow_log(p, r, main.id, ("cloud-watch-logs", "/vpc/prod-main/flow-logs"), "2019-03-12", tags=T(PLAT))
    e.flow_log(p, r, shared.id, ("s3", "acme-prod-logs"), "2020-07-01", tags=T(PLAT))

    # Images.
    e.image(p, r, "al2023-2026-03", "acme-al2023-base-2026-03-02", "2026-03-02", T(PLAT, name="al2023-base"),
            description="Acme hardened Amazon Linux 2023 base")
    e.image(p, r, "al2023-2026-09", "acme-al2023-base-2026-09-07", "2026-09-07", T(PLAT, name="al2023-base"),
            description="Acme hardened Amazon Linux 2023 base")
    e.image(p, r, "web-2025-05", "acme-web-2025-05-19", "2025-05-19", T(WEB, name="storefront-web"),
            deprecated="2026-05-19", imdsv2=False, description="Storefront web server (superseded)")
    e.image(p, r, "win2022-2026-08", "acme-windows-2022-base-2026-08-14", "2026-08-14",
            T(PLAT, name="windows-2022-base"), size=60, device="/dev/sda1", windows=True)

    # Instances.
    pub_a, pub_b = main.subnets["public-a"], main.subnets["public-b"]
    priv = [main.subnets["private-a"], main.subnets["private-b"], main.subnets["private-c"]]
    for i in range(1, 7):
        old = i >= 5
        e.instance(f"web-0{i}", priv[(i - 1) % 3], [web], "m5.large",
                   "web-2025-05" if old else "al2023-2026-09",
                   "2025-06-02" if old else f"2026-09-{10 + i:02d}",
                   T(WEB, name=f"prod-web-0{i}"), imds="optional" if old else "required", profile="prod-web",
                   root=("gp2", 20, True) if old else ("gp3", 20, True))
    for i in range(1, 7):
        tags = T(PAY, name=f"prod-app-0{i}")
        if i == 3:
            del tags["owner"]   # planted: no owner
        e.instance(f"app-0{i}", priv[(i - 1) % 3], [app], "m5.xlarge" if i <= 4 else "c5.xlarge",
                   "al2023-2026-03", f"2026-03-{10 + i:02d}", tags, profile="prod-app", root=("gp3", 30, True))
    for i in (1, 2):
        e.instance(f"db-0{i}", priv[i - 1], [db], "r5.2xlarge", "al2023-2026-03", f"2026-03-0{4 + i}",
                   T(PAY, name=f"prod-db-0{i}"), profile="prod-db", root=("gp3", 30, True),
                   data=[("io1", 500, True)], monitoring="enabled")
    e.instance("monitoring-01", priv[0], [mon], "t3.medium", "al2023-2026-09", "2026-09-20",
               T(PLAT, name="prod-monitoring-01"), profile="prod-monitoring", root=("gp3", 50, True))
    e.instance("legacy-batch-01", priv[1], [legacy_sg], "m1.small", ("ubuntu", "16.04"), "2017-05-10",
               {"Name": "legacy-batch-01", "env": "prod", "app": "invoicing-batch"},
               imds="optional", key="deploy-key-2019", root=("standard", 8, False))
    e.instance("bastion-01", pub_a, [bastion], "t3.micro", "al2023-2026-09", "2026-09-15",
               T(PLAT, name="prod-bastion-01"), key="bastion-prod", public="eip", root=("gp3", 8, True))

    spa, spb = shared.subnets["private-a"], shared.subnets["private-b"]
    e.instance("jenkins-01", spa, [jenkins_sg], "m5.xlarge", "al2023-2026-03", "2026-03-20",
               T(PLAT, name="jenkins-01"), key="jenkins", profile="jenkins", root=("gp3", 30, True),
               data=[("gp2", 200, False)])
    e.instance("ad-dc-01", spa, [ad_sg], "m5.large", "win2022-2026-08", "2026-08-20",
               T(PLAT, name="ad-dc-01"), profile="ssm-managed", root=("gp3", 60, True))
    e.instance("ad-dc-02", spb, [ad_sg], "m5.large", "win2022-2026-08", "2026-08-20",
               T(PLAT, name="ad-dc-02"), profile="ssm-managed", root=("gp3", 60, True))
    e.instance("vpn-01", shared.subnets["public-a"], [vpn_sg], "t3.small", ("marketplace", "openvpn"),
               "2024-11-04", T(PLAT, name="openvpn-01"), key="bastion-prod", public="eip",
               source_dest_check=False, root=("gp3", 10, True))

    # ALB, NAT gateway, Lambda and VPC endpoint interfaces.
    for s in (pub_a, pub_b):
        e.eni(s, "interface", [alb], description="ELB app/prod-web/50dc6c495c0c9188", requester="amazon-elb",
              attachment={"attachment_id": e.rid("ela-attach-"), "instance_owner_id": "amazon-elb",
                          "device_index": 1, "status": "attached", "delete_on_termination": False},
              public={"ip": e.public_ip(r)})
    nat_alloc = e.rid("eipalloc-")
    nat_assoc = e.rid("eipassoc-")
    nat_ip = e.public_ip(r)
    nat_eni, nat_priv, _ = e.eni(pub_a, "nat_gateway", [], description="Interface for NAT Gateway nat-0a6c5e1f2b3d4c5e6",
                                 requester="441286235221", source_dest_check=False,
                                 public={"ip": nat_ip, "owner": e.acct(p), "allocation_id": nat_alloc,
                                         "association_id": nat_assoc})
    e.docs["aws.ec2.address"].append({"type": "aws.ec2.address", "id": nat_alloc, "account": e.acct(p), "region": r,
                                      "attributes": {"public_ip": nat_ip, "allocation_id": nat_alloc, "domain": "vpc",
                                                     "association_id": nat_assoc, "network_interface_id": nat_eni,
                                                     "network_interface_owner_id": e.acct(p),
                                                     "private_ip_address": nat_priv, "public_ipv4_pool": "amazon",
                                                     "network_border_group": r,
                                                     "tags": e.tags(T(PLAT, name="prod-main-nat"))}})
    e.eni(priv[0], "lambda", [lam], description="AWS Lambda VPC ENI-payments-webhook-3f2a1b6c",
          requester="AROAQXZ7EXAMPLEROLE:payments-webhook", tags=None)
    e.eni(priv[1], "vpc_endpoint", [vpce], description="VPC Endpoint Interface vpce-0c4e7a9b1d2f3e4a5",
          requester="727180483921", tags=None)

    # Unattached volume (planted: old, unencrypted gp2).
    e.volume(p, r, "us-east-1b", 500, "gp2", e.at("2024-02-14"), False,
             tags={"Name": "db-restore-test", "env": "prod", "owner": "payments-team@example.com"})
    # Snapshots: daily backups of the database volumes, one old unencrypted one.
    for name, n in (("db-01", 3), ("db-02", 2)):
        inst = e.instances[name]
        for k in range(n):
            e.snapshot(p, r, inst["data"][0], 500, e.ago(1 + k), True, f"daily backup prod-{name}",
                       tags=T(PAY, name=f"prod-{name}-daily"), kms=e.kms_key(p, r, "data"))
    e.snapshot(p, r, e.instances["jenkins-01"]["data"][0], 200, e.at("2026-10-26"), False,
               "weekly backup jenkins-01", tags=T(PLAT, name="jenkins-weekly"))
    e.snapshot(p, r, e.instances["legacy-batch-01"]["root"], 8, e.at("2021-04-09"), False,
               "pre-upgrade-2021", tags={"Name": "legacy-batch pre-upgrade"})

    # Key pairs.
    e.key_pair(p, r, "deploy-key-2019", "rsa", "2019-02-11", tags={"env": "prod"})
    e.key_pair(p, r, "bastion-prod", "rsa", "2024-03-18", tags=T(PLAT))
    e.key_pair(p, r, "jenkins", "rsa", "2021-06-30", tags=T(PLAT))

    # ===================== production, eu-west-1 =====================
    r = "eu-west-1"
    eu = e.vpc(p, r, "prod-eu", "10.30.0.0/16", "prod", T(PLAT, name="prod-eu"), created="2022-05-09")
    e.subnet(eu, "public-a", "a", "10.30.0.0/24", True, T(PLAT, name="prod-eu-public-a", tier="public"))
    e.subnet(eu, "public-b", "b", "10.30.1.0/24", True, T(PLAT, name="prod-eu-public-b", tier="public"))
    e.subnet(eu, "private-a", "a", "10.30.10.0/24", False, T(PLAT, name="prod-eu-private-a", tier="private"))
    e.subnet(eu, "private-b", "b", "10.30.11.0/24", False, T(PLAT, name="prod-eu-private-b", tier="private"))
    e.nacl(eu, "prod-eu-private", True, e.private_acl_entries("10.30.0.0/16"), ["private-a", "private-b"], T(PLAT))
    e.nacl(eu, "prod-eu-public", False, e.public_acl_entries("10.30.0.0/16"), ["public-a", "public-b"], T(PLAT))
    e.sg(eu, "default", None, [], egress=[], default=True)
    eu_alb = e.sg(eu, "prod-eu-web-alb", "Internet-facing ALB for the EU storefront",
                  [e.perm("tcp", (443, 443), ["0.0.0.0/0"])], tags=T(WEB, name="prod-eu-web-alb"))
    eu_web = e.sg(eu, "prod-eu-web", "EU storefront web servers",
                  [e.perm("tcp", (8080, 8080), groups=[e.ref(eu_alb)])], tags=T(WEB, name="prod-eu-web"))
    eu_app = e.sg(eu, "prod-eu-app", "EU storefront API",
                  [e.perm("tcp", (8443, 8443), groups=[e.ref(eu_web)])], tags=T(PAY, name="prod-eu-app"))
    eu_db = e.sg(eu, "prod-eu-db", "EU PostgreSQL",
                 [e.perm("tcp", (5432, 5432), groups=[e.ref(eu_app)])], tags=T(PAY, name="prod-eu-db"))
    eu_bastion = e.sg(eu, "prod-eu-bastion", "SSH bastion",
                      [e.perm("tcp", (22, 22), ["0.0.0.0/0"])],  # planted: SSH open to the world
                      tags=T(PLAT, name="prod-eu-bastion"))
    e.flow_log(p, r, eu.id, ("s3", "acme-prod-eu-logs"), "2022-05-09", status="FAILED",
               error="Access error", tags=T(PLAT))
    e.image(p, r, "eu-al2023-2026-09", "acme-al2023-base-2026-09-07", "2026-09-08",
            T(PLAT, name="al2023-base"), description="Copied from us-east-1")
    epa, epb = eu.subnets["private-a"], eu.subnets["private-b"]
    for i in range(1, 4):
        e.instance(f"eu-web-0{i}", [epa, epb][i % 2], [eu_web], "m6i.large", "eu-al2023-2026-09",
                   f"2026-09-{20 + i}", T(WEB, name=f"prod-eu-web-0{i}"), profile="prod-web",
                   root=("gp3", 20, True))
    for i in range(1, 3):
        e.instance(f"eu-app-0{i}", [epa, epb][i % 2], [eu_app], "m6i.large", "eu-al2023-2026-09",
                   f"2026-09-{24 + i}", T(PAY, name=f"prod-eu-app-0{i}"), profile="prod-app",
                   root=("gp3", 30, True))
    e.instance("eu-db-01", epa, [eu_db], "r6i.xlarge", "eu-al2023-2026-09", "2026-09-27",
               T(PAY, name="prod-eu-db-01"), profile="prod-db", root=("gp3", 30, True),
               data=[("gp3", 300, True)], monitoring="enabled")
    e.instance("eu-bastion-01", eu.subnets["public-a"], [eu_bastion], "t3.micro", "eu-al2023-2026-09",
               "2026-09-28", T(PLAT, name="prod-eu-bastion-01"), key="eu-bastion", public="eip")
    tags = T(DATA, name="prod-eu-reporting-01")
    del tags["cost-center"]   # planted: no cost-center
    e.instance("eu-reporting-01", epb, [eu_app], "t2.medium", ("amazon", "al2023"), "2025-09-10", tags,
               state="stopped", stopped="2026-04-03", launched="2026-03-30", imds="optional",
               root=("gp2", 40, True))
    for s in (eu.subnets["public-a"], eu.subnets["public-b"]):
        e.eni(s, "interface", [eu_alb], description="ELB app/prod-eu-web/7a1e9c03d5b2f468", requester="amazon-elb",
              attachment={"attachment_id": e.rid("ela-attach-"), "instance_owner_id": "amazon-elb",
                          "device_index": 1, "status": "attached", "delete_on_termination": False},
              public={"ip": e.public_ip(r)})
    nat_alloc = e.rid("eipalloc-")
    nat_assoc = e.rid("eipassoc-")
    nat_ip = e.public_ip(r)
    nat_eni, nat_priv, _ = e.eni(eu.subnets["public-a"], "nat_gateway", [],
                                 description="Interface for NAT Gateway nat-0d2b7f41c9a85e360",
                                 requester="859532713712", source_dest_check=False,
                                 public={"ip": nat_ip, "owner": e.acct(p), "allocation_id": nat_alloc,
                                         "association_id": nat_assoc})
    e.docs["aws.ec2.address"].append({"type": "aws.ec2.address", "id": nat_alloc, "account": e.acct(p), "region": r,
                                      "attributes": {"public_ip": nat_ip, "allocation_id": nat_alloc, "domain": "vpc",
                                                     "association_id": nat_assoc, "network_interface_id": nat_eni,
                                                     "network_interface_owner_id": e.acct(p),
                                                     "private_ip_address": nat_priv, "public_ipv4_pool": "amazon",
                                                     "network_border_group": r,
                                                     "tags": e.tags(T(PLAT, name="prod-eu-nat"))}})
    e.address(p, r, {"Name": "old-sftp", "env": "prod"})   # planted: unassociated EIP
    e.volume(p, r, "eu-west-1a", 100, "gp3", e.ago(12), True,   # unattached, but only 12 days old
             tags={**T(DATA, name="reporting-scratch")})
    for k in range(2):
        e.snapshot(p, r, e.instances["eu-db-01"]["data"][0], 300, e.ago(1 + k), True, "daily backup prod-eu-db-01",
                   tags=T(PAY, name="prod-eu-db-01-daily"), kms=e.kms_key(p, r, "data"))
    e.key_pair(p, r, "eu-bastion", "ed25519", "2025-01-21", tags=T(PLAT))

    # ===================== development, us-east-1 =====================
    r = "us-east-1"
    dflt = e.vpc(d, r, "default", "172.31.0.0/16", "dev", None, is_default=True, created="2016-08-02")
    for i, az in enumerate("abc"):
        e.subnet(dflt, "default-" + az, az, f"172.31.{16 * i}.0/20", True, None, default_for_az=True)
    # planted: the default VPC's network ACL as AWS creates it -- allows everything.
    e.nacl(dflt, None, True, e.aws_default_acl_entries(), ["default-a", "default-b", "default-c"])
    # planted: the default group as AWS creates it (all traffic from itself, all egress).
    e.sg(dflt, "default", None, lambda g: [e.perm("-1", groups=[e.ref(g)])], default=True)
    lw1 = e.sg(dflt, "launch-wizard-1", "launch-wizard-1 created 2024-07-16T11:02:44.512Z",
               [e.perm("tcp", (22, 22), ["0.0.0.0/0"])])   # planted: SSH from anywhere
    lw2 = e.sg(dflt, "launch-wizard-2", "launch-wizard-2 created 2025-01-09T15:40:12.086Z",
               [e.perm("tcp", (3389, 3389), ["0.0.0.0/0"])])   # planted: RDP from anywhere

    dev = e.vpc(d, r, "dev", "10.100.0.0/16", "dev", T(DEVT, name="dev"), created="2021-10-04")
    e.subnet(dev, "public-a", "a", "10.100.0.0/24", True, T(DEVT, name="dev-public-a", tier="public"))
    e.subnet(dev, "public-b", "b", "10.100.1.0/24", True, T(DEVT, name="dev-public-b", tier="public"))
    e.subnet(dev, "private-a", "a", "10.100.10.0/24", False, T(DEVT, name="dev-private-a", tier="private"))
    e.subnet(dev, "private-b", "b", "10.100.11.0/24", False, T(DEVT, name="dev-private-b", tier="private"))
    e.nacl(dev, "dev", True, e.public_acl_entries("10.100.0.0/16"),
           ["public-a", "public-b", "private-a", "private-b"], T(DEVT))
    e.sg(dev, "default", None, [], egress=[], default=True)
    dev_web = e.sg(dev, "dev-web", "dev web servers",
                   [e.perm("tcp", (443, 443), ["0.0.0.0/0"]), e.perm("tcp", (80, 80), ["0.0.0.0/0"]),
                    e.perm("tcp", (22, 22), [(CORP_CIDR, "office")])], tags=T(DEVT, name="dev-web"))
    dev_app = e.sg(dev, "dev-app", "dev API servers",
                   [e.perm("tcp", (8443, 8443), groups=[e.ref(dev_web)]), e.perm("tcp", (22, 22), ["10.100.0.0/16"])],
                   tags=T(DEVT, name="dev-app"))
    dev_db = e.sg(dev, "dev-db", "MySQL for dev -- temporary access for vendor",
                  [e.perm("tcp", (3306, 3306), ["0.0.0.0/0"])],   # planted: database port open to the world
                  tags=T(DEVT, name="dev-db"))
    ci = e.sg(dev, "ci-runners", "GitLab CI runners",   # written with the API's PascalCase keys
              [e.perm("tcp", (22, 22), [("10.100.0.0/16", "from the VPC")]),
               e.perm("icmp", (-1, -1), ["10.0.0.0/8"])],
              tags=T(DEVT, name="ci-runners", app="ci"), pascal_case=True)
    e.flow_log(d, r, dev.id, ("cloud-watch-logs", "/vpc/dev/flow-logs"), "2021-10-04", traffic="REJECT",
               tags=T(DEVT))
    e.image(d, r, "ubuntu-test", "acme-base-ubuntu-2204-test", "2025-03-11",
            {"Name": "ubuntu-base-test", "env": "dev", "owner": "frank@example.com"},
            encrypted=False, public=True, device="/dev/sda1",   # planted: public AMI
            launch_permissions=[{"group": "all"}], imdsv2=False,
            description="test build of the Ubuntu base image, shared with the vendor")
    e.image(d, r, "build-agent", "dev-build-agent-2026-06-22", "2026-06-22", T(DEVT, name="build-agent", app="ci"),
            launch_permissions=[{"user_id": "210987654321"}])

    e.instance("frank-test", dflt.subnets["default-a"], [lw1], "t2.micro", ("ubuntu", "22.04"), "2024-07-16",
               {"Name": "frank-test", "env": "dev", "owner": "frank@example.com"},
               imds="optional", key="frank-test", public="auto", root=("gp2", 8, False))
    e.instance("old-jumpbox", dflt.subnets["default-b"], [lw1], "t1.micro", ("amazon", "amzn-ami-2018"),
               "2018-11-20", {"Name": "old-jumpbox"}, state="stopped", stopped="2025-12-05",
               launched="2025-09-02", imds="optional", key="old-jumpbox-key", root=("standard", 8, False))
    e.instance("win-test-01", dflt.subnets["default-c"], [lw2], "t2.large", ("windows", "2019"), "2025-01-09",
               {"Name": "win-test-01", "env": "dev", "owner": "erin@example.com"},
               imds="optional", key="win-test", public="auto", root=("gp2", 50, False))
    e.instance("dev-web-01", dev.subnets["public-a"], [dev_web], "t3.medium", "ubuntu-test", "2025-04-02",
               T(DEVT, name="dev-web-01"), imds="optional", key="dev-shared", public="auto",
               root=("gp3", 20, False))
    e.instance("dev-api-01", dev.subnets["private-a"], [dev_app], "t3.large", "build-agent", "2026-06-25",
               T(DEVT, name="dev-api-01"), key="dev-shared", root=("gp3", 20, True))
    e.instance("dev-api-02", dev.subnets["private-b"], [dev_app], "t3.large", "build-agent", "2026-06-25",
               {"Name": "dev-api-02", "env": "dev", "app": "storefront"}, key="dev-shared", root=("gp3", 20, True))
    e.instance("dev-db-01", dev.subnets["public-b"], [dev_db], "m5.large", "ubuntu-test", "2025-04-03",
               T(DEVT, name="dev-db-01", app="storefront-db"), key="dev-shared", public="auto",
               root=("gp3", 20, False), data=[("gp2", 100, False)])
    for i in (1, 2):
        e.instance(f"ci-runner-0{i}", dev.subnets["private-" + "ab"[i - 1]], [ci], "c5.2xlarge", "build-agent",
                   f"2026-10-{27 + i}", T(DEVT, name=f"ci-runner-0{i}", app="ci"), lifecycle="spot",
                   profile="ci-runner", root=("gp3", 100, True))
    e.instance("dev-old-build", dev.subnets["private-a"], [dev_app], "m3.medium", ("amazon", "amzn2"), "2022-01-17",
               {"Name": "dev-old-build", "env": "dev", "cost-center": "CC-2010"}, state="stopped",
               stopped="2026-02-13", launched="2026-02-09", imds="optional", root=("gp2", 30, False))
    e.eni(dev.subnets["private-b"], "interface", [dev_app], description="manually created for testing")
    e.address(d, r, {"Name": "frank-demo", "owner": "frank@example.com"})   # planted: unassociated EIP
    e.volume(d, r, "us-east-1a", 100, "gp2", e.at("2023-05-22"), False, tags={"Name": "scratch"})
    e.volume(d, r, "us-east-1b", 250, "gp2", e.at("2025-02-17"), False,
             tags={"Name": "old-build-cache", "env": "dev"}, omit_attachments=True)
    dbvol = e.instances["dev-db-01"]["data"][0]
    e.snapshot(d, r, dbvol, 100, e.at("2025-11-19"), False, "db copy for vendor",   # planted: public snapshot
               tags={"Name": "db-copy-for-vendor", "env": "dev", "owner": "frank@example.com"},
               permissions=[{"group": "all"}])
    e.snapshot(d, r, e.instances["dev-api-01"]["root"], 20, e.at("2026-07-01"), True,
               "dev-api-01 before upgrade", tags=T(DEVT, name="dev-api-01-pre-upgrade"),
               kms=e.kms_key(d, r, "shared"), permissions=[{"user_id": "210987654321"}])
    for name, ktype, created in (("dev-shared", "rsa", "2021-10-05"), ("frank-test", "rsa", "2024-07-16"),
                                 ("win-test", "rsa", "2025-01-09"), ("old-jumpbox-key", "rsa", "2018-11-20")):
        e.key_pair(d, r, name, ktype, created, tags={"env": "dev"} if name == "dev-shared" else None,
                   pascal_case=True)

    # ===================== sandbox, ap-southeast-2 =====================
    r = "ap-southeast-2"
    sbx = e.vpc(d, r, "sandbox", "10.200.0.0/16", "sandbox", T(SBX, name="sandbox"), created="2023-02-27")
    e.subnet(sbx, "public-a", "a", "10.200.0.0/24", True, T(SBX, name="sandbox-public-a", tier="public"))
    e.subnet(sbx, "public-b", "b", "10.200.1.0/24", True, T(SBX, name="sandbox-public-b", tier="public"))
    e.subnet(sbx, "private-a", "a", "10.200.10.0/24", False, T(SBX, name="sandbox-private-a", tier="private"))
    e.nacl(sbx, "sandbox", True, e.private_acl_entries("10.200.0.0/16"), ["private-a"], T(SBX))
    # planted: a hand-made network ACL that allows everything, on the public subnets.
    e.nacl(sbx, "sandbox-open", False, [
        e.acl_entry(100, "-1", "allow", False), e.acl_entry(101, "-1", "allow", False, "::/0", ipv6=True),
        e.acl_entry(32767, "-1", "deny", False), e.acl_entry(100, "-1", "allow", True),
        e.acl_entry(32767, "-1", "deny", True)], ["public-a", "public-b"], {"env": "sandbox"})
    # planted: the default group with an SSH rule added.
    sbx_default = e.sg(sbx, "default", None,
                       lambda g: [e.perm("-1", groups=[e.ref(g)]), e.perm("tcp", (22, 22), ["0.0.0.0/0"])],
                       default=True)
    sbx_open = e.sg(sbx, "sandbox-open", "temporary - allow everything",   # planted: all traffic from anywhere
                    [e.perm("-1", cidrs=["0.0.0.0/0"], cidrs6=["::/0"])], tags={"env": "sandbox"})
    jup = e.sg(sbx, "jupyter", "JupyterLab", [e.perm("tcp", (8888, 8888), ["0.0.0.0/0"])],
               tags=T(SBX, name="jupyter"))
    # Flow logs on one subnet only: the VPC itself has none.
    e.flow_log(d, r, sbx.subnets["public-a"].id, ("cloud-watch-logs", "/sandbox/public-a"), "2024-06-11",
               tags=T(SBX))
    e.image(d, r, "jupyter", "ml-jupyter-2026-01-12", "2026-01-12", T(SBX, name="ml-jupyter"), size=100,
            imdsv2=False)
    e.instance("jupyter-01", sbx.subnets["public-a"], [jup, sbx_open], "g4dn.xlarge", "jupyter", "2026-01-15",
               T(SBX, name="jupyter-01"), imds="optional", key="ml-research", public="auto",
               profile="sandbox-ml", root=("gp3", 100, True))
    e.instance("ml-train-01", sbx.subnets["private-a"], [sbx_default], "p3.2xlarge", "jupyter", "2026-02-02",
               T(SBX, name="ml-train-01"), state="stopped", stopped="2026-06-18", launched="2026-06-01",
               key="ml-research", root=("gp3", 100, True), data=[("gp2", 1000, False)])
    e.instance("sandbox-test-01", sbx.subnets["public-b"], [sbx_open], "t3.micro", ("amazon", "al2023"),
               "2026-10-02", {"Name": "sandbox-test-01", "env": "sandbox"}, key="sandbox-temp", public="auto",
               root=("gp3", 8, True))
    e.instance("mongo-test", sbx.subnets["public-a"], [sbx_default], "t3.medium", ("ubuntu", "22.04"), "2026-05-06",
               T(SBX, name="mongo-test", app="mongodb"), imds="optional", key="sandbox-temp", public="auto",
               root=("gp3", 50, True))
    e.instance("sandbox-test-02", (sbx, "b"), [], "t3.micro", ("amazon", "al2023"), "2026-10-02",
               {"Name": "sandbox-test-02", "env": "sandbox"}, state="terminated", terminated="2026-10-28",
               imds=None)
    e.instance("gpu-old", (sbx, "a"), [], "p2.xlarge", "jupyter", "2026-09-14",
               T(SBX, name="gpu-old"), state="terminated", terminated="2026-10-15", imds=None)
    e.eni(sbx.subnets["public-b"], "interface", [sbx_open], description="")
    e.address(d, r, None)   # planted: unassociated EIP, no tags at all
    e.volume(d, r, "ap-southeast-2a", 1000, "io1", e.at("2025-11-03"), True,   # planted: unattached io1
             tags={"Name": "training-data-old", "env": "sandbox"}, iops=20000)
    e.snapshot(d, r, e.instances["ml-train-01"]["data"][0], 1000, e.at("2026-06-17"), False,
               "training dataset v3", tags=T(SBX, name="training-dataset-v3"), tier="archive")
    e.key_pair(d, r, "ml-research", "ed25519", "2023-03-01", tags={"env": "sandbox"}, pascal_case=True)
    e.key_pair(d, r, "sandbox-temp", "rsa", "2026-05-06", pascal_case=True)

    # ===================== S3 =====================
    pl, dl = "acme-s3-access-logs-111122223333", "acme-dev-logs"
    e.bucket(p, "us-east-1", "acme-prod-app-assets", "2018-06-04", T(WEB),
             acl_extra=[(ALL_USERS, "READ")], encryption="AES256")   # planted: AllUsers READ, no PAB, no versioning
    e.bucket(p, "us-east-1", "acme-prod-web-static", "2020-02-18", T(WEB), policy_public=True, pab="1100",
             encryption="AES256", versioning="Enabled", logging=(pl, "acme-prod-web-static/"))   # planted: public policy
    e.bucket(p, "us-east-1", "acme-prod-logs", "2019-03-12", T(PLAT), pab="1111", encryption="aws:kms",
             versioning="Enabled")
    e.bucket(p, "us-east-1", "acme-cloudtrail-111122223333", "2019-03-12", T(PLAT, app="cloudtrail"),
             policy_public=False, pab="1111", encryption="aws:kms", versioning="Enabled", mfa_delete="Enabled",
             logging=(pl, "cloudtrail/"))
    e.bucket(p, "us-east-1", pl, "2019-03-12", T(PLAT), acl_extra=[(LOG_DELIVERY, "WRITE"), (LOG_DELIVERY, "READ_ACP")],
             pab="1111", encryption="AES256", versioning="Enabled")
    e.bucket(p, "us-east-1", "acme-prod-backups", "2019-07-22", T(PAY), pab="1111", encryption="aws:kms",
             versioning="Enabled", logging=(pl, "acme-prod-backups/"))
    e.bucket(p, "us-east-1", "acme-terraform-state-prod", "2019-03-11", T(PLAT, app="terraform"), pab="1111",
             encryption="aws:kms", versioning="Enabled")
    e.bucket(p, "us-east-1", "acme-prod-data-lake", "2022-09-14", T(DATA), policy_public=False, pab="1111",
             encryption="aws:kms", versioning="Enabled", logging=(pl, "acme-prod-data-lake/"))
    e.bucket(p, "us-east-1", "acme-legacy-reports", "2016-04-27", {"env": "prod", "app": "reporting"},
             display_name="acme-aws-prod")   # planted: no encryption, versioning, PAB or owner tag
    e.bucket(p, "eu-west-1", "acme-prod-eu-customer-exports", "2022-05-11", T(DATA), pab="1111",
             encryption="aws:kms", versioning="Suspended")   # planted: versioning suspended
    e.bucket(p, "eu-west-1", "acme-prod-eu-logs", "2022-05-09", T(PLAT), pab="1111", encryption="AES256",
             versioning="Enabled")
    e.bucket(d, "us-east-1", "acme-dev-scratch", "2019-10-30", {"env": "dev", "owner": "dev-team@example.com"},
             acl_extra=[(AUTH_USERS, "READ")], encryption="AES256")   # planted: AuthenticatedUsers READ, no PAB
    e.bucket(d, "us-east-1", "acme-dev-artifacts", "2021-10-04", T(DEVT, app="ci"), pab="1111",
             encryption="AES256", versioning="Enabled", logging=(dl, "acme-dev-artifacts/"))
    e.bucket(d, "us-east-1", "acme-dev-website-preview", "2024-09-03", T(DEVT), policy_public=True, pab="1011",
             encryption="AES256")   # public policy, but restrict_public_buckets: not public; no versioning
    e.bucket(d, "us-east-1", "cf-templates-1x9q3z0k2m7p-us-east-1", "2024-02-08", None, pab="1111",
             encryption="AES256")   # created by CloudFormation: no tags, no versioning
    e.bucket(d, "ap-southeast-2", "acme-sandbox-ml-datasets", "2023-03-01", {"env": "sandbox", "app": "ml"})
    # planted above: no encryption, versioning or PAB
    e.bucket(d, "us-east-1", dl, "2021-10-04", T(DEVT, app="logging"),
             acl_extra=[(LOG_DELIVERY, "WRITE"), (LOG_DELIVERY, "READ_ACP")], pab="1111", encryption="AES256",
             versioning="Enabled")

    # ===================== IAM =====================
    ro = "arn:aws:iam::aws:policy/ReadOnlyAccess"
    admin = "arn:aws:iam::aws:policy/AdministratorAccess"
    power = "arn:aws:iam::aws:policy/PowerUserAccess"
    e.user(p, "alice.admin", "2019-03-11", {"team": "platform"}, password=True, last_login="2026-10-30",
           mfa="2019-03-11", policies=[admin],
           keys=[("Active", "2026-09-20", "2026-10-31", "sts", "us-east-1")])
    e.user(p, "bob.ops", "2020-01-06", {"team": "platform"}, password=True, last_login="2026-10-28",
           mfa="2020-01-06", policies=[power, ro],
           keys=[("Active", "2026-04-01", None, None, None)])   # planted: 214 days old, never used
    e.user(p, "carol.finance", "2021-05-17", {"team": "finance"}, password=True, last_login="2026-10-20",
           policies=["arn:aws:iam::aws:policy/job-function/Billing"])   # planted: console, no MFA
    e.user(p, "dave.contractor", "2025-09-01", None, password=True, last_login="2026-02-11",
           policies=[ro])   # planted: console, no MFA, no tags, idle since February
    e.user(p, "ci-deploy", "2022-03-08", {"team": "platform", "purpose": "ci"}, inline=["deploy-ecs"],
           keys=[("Active", "2026-08-15", "2026-10-31", "ecs", "us-east-1")])
    e.user(p, "terraform", "2019-03-11", {"team": "platform", "purpose": "iac"}, policies=[admin],
           keys=[("Active", "2025-09-03", "2026-10-31", "ec2", "us-east-1")])   # planted: 424 days old
    e.user(p, "backup-agent", "2024-01-10", {"team": "payments"}, inline=["s3-backup-write"],
           keys=[("Active", "2024-01-10", None, None, None)])   # planted: old and never used
    e.user(p, "svc-monitoring", "2023-06-12", {"team": "platform"}, policies=[ro],
           keys=[("Active", "2026-09-01", "2026-10-31", "cloudwatch", "eu-west-1")])
    e.user(p, "datadog-integration", "2022-11-02", {"team": "platform"}, policies=["DatadogIntegrationPolicy"],
           keys=[("Inactive", "2025-01-15", "2025-08-19", "cloudwatch", "us-east-1"),
                 ("Active", "2026-08-20", "2026-10-31", "cloudwatch", "us-east-1")])
    e.add("aws.iam.account_summary", e.acct(p), p, "us-east-1", {
        "account_access_keys_present": 0, "account_mfa_enabled": 1, "account_signing_certificates_present": 0,
        "users": 9, "groups": 4, "roles": 47, "policies": 23, "mfa_devices": 2, "mfa_devices_in_use": 2})

    e.user(d, "erin.dev", "2021-10-04", {"team": "storefront"}, password=True, last_login="2026-10-30",
           mfa="2021-10-04", policies=[power])
    e.user(d, "frank.dev", "2022-02-14", {"team": "storefront"}, password=True, last_login="2026-10-29",
           policies=[power],   # planted: console without MFA; key 364 days old
           keys=[("Active", "2025-11-02", "2026-10-29", "s3", "us-east-1")])
    e.user(d, "gitlab-runner", "2021-10-05", {"team": "storefront", "purpose": "ci"}, inline=["ci-ecr-push"],
           keys=[("Active", "2026-09-15", "2026-10-31", "ecr", "us-east-1")])
    e.user(d, "sandbox-bot", "2025-09-20", None, policies=[power],
           keys=[("Active", "2025-09-20", None, None, None)])   # planted: never used, 407 days old
    e.user(d, "old.intern", "2025-06-01", {"team": "ml"}, password=True, last_login="2025-08-29",
           policies=[ro],   # planted: console without MFA, idle for a year
           keys=[("Inactive", "2025-06-01", "2025-08-28", "s3", "ap-southeast-2")])
    e.user(d, "grace.ml", "2023-03-01", {"team": "ml"}, password=True, last_login="2026-10-31",
           mfa="2023-03-01", policies=[power],
           keys=[("Active", "2026-10-05", "2026-10-31", "sagemaker", "ap-southeast-2")])
    # The dev account's summary as GetAccountSummary returns it: the API's own keys, extra ones included.
    e.add("aws.iam.account_summary", e.acct(d), d, "us-east-1", {   # planted: root has access keys, no MFA
        "AccountAccessKeysPresent": 1, "AccountMFAEnabled": 0, "AccountSigningCertificatesPresent": 0,
        "Users": 6, "Groups": 2, "Roles": 31, "Policies": 9, "MFADevices": 3, "MFADevicesInUse": 2,
        "UsersQuota": 5000, "AccessKeysPerUserQuota": 2, "PolicyVersionsInUse": 41})

    # ===================== vulnerability findings =====================
    f = e.finding
    al_ssh = ("openssh-server", "8.7p1-8.amzn2023.0.10", "8.7p1-8.amzn2023.0.11")
    ssl = ("openssl-libs", "1:3.0.8-1.amzn2023.0.11", "1:3.0.8-1.amzn2023.0.12")
    f("web-01", "CVE-2023-48795", "OpenSSH Terrapin prefix truncation attack", 5.9, *al_ssh, "2026-09-20")
    f("web-03", "CVE-2024-0727", "OpenSSL PKCS12 NULL pointer dereference", 5.5, *ssl, "2026-09-20")
    for w in ("web-05", "web-06"):
        f(w, "CVE-2024-6387", "OpenSSH regreSSHion remote code execution", 8.1, *al_ssh, "2025-06-10")
        f(w, "CVE-2023-4911", "glibc Looney Tunables privilege escalation", 7.8,
          "glibc", "2.34-52.amzn2023.0.3", "2.34-52.amzn2023.0.6", "2025-06-10")
    f("web-05", "CVE-2024-28182", "nghttp2 unbounded CONTINUATION frames", 5.3,
      "libnghttp2", "1.51.0-1.amzn2023", "1.59.0-3.amzn2023.0.1", "2025-06-10")
    f("app-01", "CVE-2023-5678", "OpenSSL excessive time in DH key checks", 5.3, *ssl, "2026-03-15")
    f("app-02", "CVE-2022-22965", "Spring4Shell remote code execution in Spring Framework", 9.8,
      "spring-beans", "5.3.17", "5.3.18", "2026-03-15")
    f("app-02", "CVE-2023-44487", "HTTP/2 Rapid Reset denial of service", 7.5,
      "netty-codec-http2", "4.1.94.Final", "4.1.100.Final", "2026-03-15")
    f("app-03", "CVE-2023-48795", "OpenSSH Terrapin prefix truncation attack", 5.9, *al_ssh, "2026-03-15")
    f("app-04", "CVE-2023-38545", "curl SOCKS5 heap buffer overflow", 9.8,
      "libcurl-minimal", "8.0.1-1.amzn2023", "8.3.0-1.amzn2023.0.1", "2026-03-16")
    f("app-06", "CVE-2024-0727", "OpenSSL PKCS12 NULL pointer dereference", 5.5, *ssl, "2026-03-17")
    for x in ("db-01", "db-02", "monitoring-01"):
        f(x, "CVE-2023-7008", "systemd-resolved DNSSEC validation bypass", 5.9,
          "systemd", "252.16-1.amzn2023.0.1", "252.23-2.amzn2023", "2026-09-22")
    f("legacy-batch-01", "CVE-2023-38408", "OpenSSH ssh-agent remote code execution", 9.8,
      "openssh-client", "1:7.2p2-4ubuntu2.10", None, "2023-07-21")
    f("legacy-batch-01", "CVE-2021-3156", "sudo Baron Samedit heap overflow", 7.8,
      "sudo", "1.8.16-0ubuntu1.9", "1.8.16-0ubuntu1.10", "2021-01-27")
    f("legacy-batch-01", "CVE-2016-5195", "Linux kernel Dirty COW privilege escalation", 7.8,
      "linux-image-4.4.0-21-generic", "4.4.0-21.37", "4.4.0-45.66", "2020-03-02")
    f("legacy-batch-01", "CVE-2022-3219", "GnuPG denial of service on compressed packets", 3.3,
      "gnupg", "1.4.20-1ubuntu3.3", None, "2023-01-12")
    f("bastion-01", "CVE-2023-48795", "OpenSSH Terrapin prefix truncation attack", 5.9, *al_ssh, "2026-09-20")
    f("jenkins-01", "CVE-2024-23897", "Jenkins CLI arbitrary file read", 9.8,
      "jenkins", "2.426.2", "2.442", "2026-03-22")
    f("jenkins-01", "CVE-2024-0727", "OpenSSL PKCS12 NULL pointer dereference", 5.5, *ssl, "2026-03-22")
    f("eu-web-01", "CVE-2023-48795", "OpenSSH Terrapin prefix truncation attack", 5.9, *al_ssh, "2026-09-24")
    f("eu-web-02", "CVE-2024-0727", "OpenSSL PKCS12 NULL pointer dereference", 5.5, *ssl, "2026-09-24")
    f("eu-app-01", "CVE-2024-28182", "nghttp2 unbounded CONTINUATION frames", 5.3,
      "libnghttp2", "1.51.0-1.amzn2023", "1.59.0-3.amzn2023.0.1", "2026-09-26")
    f("eu-bastion-01", "CVE-2024-6387", "OpenSSH regreSSHion remote code execution", 8.1, *al_ssh, "2026-09-29")
    f("eu-reporting-01", "CVE-2023-4911", "glibc Looney Tunables privilege escalation", 7.8,
      "glibc", "2.34-52.amzn2023.0.3", "2.34-52.amzn2023.0.6", "2026-03-31", last="2026-04-02")
    ub_ssh = ("openssh-server", "1:8.9p1-3ubuntu0.6", "1:8.9p1-3ubuntu0.10")
    f("frank-test", "CVE-2024-6387", "OpenSSH regreSSHion remote code execution", 8.1, *ub_ssh, "2024-07-17")
    f("frank-test", "CVE-2023-29383", "shadow-utils chfn control character injection", 3.3,
      "passwd", "1:4.8.1-2ubuntu2.1", "1:4.8.1-2ubuntu2.2", "2024-07-17")
    f("old-jumpbox", "CVE-2021-3156", "sudo Baron Samedit heap overflow", 7.8,
      "sudo", "1.8.23-10.amzn1", "1.8.23-10.56.amzn1", "2021-01-28", last="2025-12-04")
    f("dev-web-01", "CVE-2023-44487", "HTTP/2 Rapid Reset denial of service", 7.5,
      "nginx", "1.18.0-6ubuntu14.3", "1.18.0-6ubuntu14.5", "2025-04-04")
    f("dev-api-01", "CVE-2024-0727", "OpenSSL PKCS12 NULL pointer dereference", 5.5, *ssl, "2026-06-26")
    f("dev-api-02", "CVE-2023-5678", "OpenSSL excessive time in DH key checks", 5.3, *ssl, "2026-06-26")
    for x in ("ci-runner-01", "ci-runner-02"):
        f(x, "CVE-2024-21626", "runc Leaky Vessels container escape", 8.6, "runc", "1.1.7-1.amzn2023",
          "1.1.11-1.amzn2023.0.1", "2026-10-29")
    f("jupyter-01", "CVE-2023-38545", "curl SOCKS5 heap buffer overflow", 9.8,
      "libcurl4", "7.81.0-1ubuntu1.13", "7.81.0-1ubuntu1.14", "2026-01-16")
    f("jupyter-01", "CVE-2023-4641", "shadow-utils password leak in gpasswd", 5.5,
      "login", "1:4.8.1-2ubuntu2.1", "1:4.8.1-2ubuntu2.2", "2026-01-16")
    f("mongo-test", "CVE-2023-48795", "OpenSSH Terrapin prefix truncation attack", 5.9, *ub_ssh, "2026-05-07",
      with_type=False)
    f("sandbox-test-02", "CVE-2024-6387", "OpenSSH regreSSHion remote code execution", 8.1, *al_ssh,
      "2026-10-03", last="2026-10-27")   # stale: the instance is terminated


def finish(e):
    """Fill in the subnets' free-address counts from the ENIs placed in them."""
    used = {}
    for doc in e.docs["aws.ec2.network_interface"]:
        used[doc["attributes"]["subnet_id"]] = used.get(doc["attributes"]["subnet_id"], 0) + 1
    for doc in e.docs["aws.ec2.subnet"]:
        doc["attributes"]["available_ip_address_count"] -= used.get(doc["attributes"]["subnet_id"], 0)


def estate():
    e = Estate(random.Random(SEED * 100_003), PROD, DEV, "")
    build(e)
    finish(e)
    return [doc for t in TYPE_ORDER for doc in e.docs[t]]


# ---------------------------------------------------------------------------------------------
# Malformed documents, for tests of the reader's error reporting
# ---------------------------------------------------------------------------------------------

BAD_LINES = [
    # 1. valid
    {"type": "aws.ec2.key_pair", "id": "key-0f1e2d3c4b5a69788", "account": DEV, "region": "us-east-1",
     "attributes": {"key_pair_id": "key-0f1e2d3c4b5a69788", "key_name": "valid-key", "key_type": "ed25519",
                    "key_fingerprint": "pO0Ma3Y5Vq1rXm4t7M0p5nqKc2yJm6lqk8W1r3uGv5E=",
                    "tags": [{"key": "env", "value": "dev"}]}},
    # 2. a required attribute (create_date, which every IAM user has) is missing
    {"type": "aws.iam.user", "id": "erin.temp", "account": DEV, "region": "us-east-1",
     "attributes": {"user_name": "erin.temp", "user_id": "AIDAEXAMPLEERINTEMP1",
                    "arn": f"arn:aws:iam::{DEV}:user/erin.temp"}},
    # 3. a wrong type: from_port as a string
    {"type": "aws.ec2.security_group", "id": "sg-0c1d2e3f4a5b6c7d8", "account": DEV, "region": "us-east-1",
     "attributes": {"group_id": "sg-0c1d2e3f4a5b6c7d8", "group_name": "exported-by-a-script", "owner_id": DEV,
                    "vpc_id": "vpc-0a1b2c3d4e5f60718",
                    "ip_permissions": [{"ip_protocol": "tcp", "from_port": "22", "to_port": 22,
                                        "ip_ranges": [{"cidr_ip": "0.0.0.0/0"}]}]}},
    # 4. an unknown resource type
    {"type": "aws.workspaces.workspace", "id": "ws-0a1b2c3d4", "account": DEV, "region": "us-east-1",
     "attributes": {"workspace_id": "ws-0a1b2c3d4", "user_name": "grace.ml"}},
    # 5. not JSON (a truncated line)
    '{"type": "aws.s3.bucket", "id": "acme-truncated", "account": "444455556666", "region": "us-east-1", "attri',
    # 6. the document itself lacks its id
    {"type": "aws.iam.user", "account": DEV, "region": "us-east-1",
     "attributes": {"user_name": "nobody", "user_id": "AIDAEXAMPLENOIDXXXXX",
                    "arn": f"arn:aws:iam::{DEV}:user/nobody", "create_date": "2026-03-04T10:20:30Z"}},
    # 7. a value of the right JSON type that does not parse: an invalid IPv4 address
    {"type": "aws.ec2.address", "id": "eipalloc-0123456789abcdef0", "account": DEV, "region": "us-east-1",
     "attributes": {"public_ip": "54.300.12.7", "allocation_id": "eipalloc-0123456789abcdef0", "domain": "vpc"}},
    # 8. valid, in the API's PascalCase
    {"type": "aws.iam.access_key", "id": "AKIAQ3EGRDX7EXAMPLE4", "account": DEV, "region": "us-east-1",
     "attributes": {"AccessKeyId": "AKIAQ3EGRDX7EXAMPLE4", "UserName": "grace.ml", "Status": "Inactive",
                    "CreateDate": "2026-01-05T09:12:44Z"}},
]


def render_docs(docs):
    lines = ["[\n"]
    for i, doc in enumerate(docs):
        lines.append(json.dumps(doc, separators=(", ", ": ")) + (",\n" if i + 1 < len(docs) else "\n"))
    lines.append("]\n")
    return "".join(lines)


def render_bad():
    return "".join((line if isinstance(line, str) else json.dumps(line, separators=(",", ":"))) + "\n"
                   for line in BAD_LINES)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true",
                    help="compare with the committed files instead of writing them; exit 1 if they differ")
    args = ap.parse_args()

    docs = estate()
    files = {"inventory.json": render_docs(docs), "bad-inventory.ndjson": render_bad()}
    stale = []
    for name, text in files.items():
        path = os.path.join(here, name)
        if args.check:
            with open(path, encoding="utf-8", newline="") as fh:
                if fh.read() != text:
                    stale.append(name)
        else:
            with open(path, "w", encoding="utf-8", newline="\n") as fh:
                fh.write(text)
    if stale:
        print(f"examples/demo: {', '.join(stale)} differ from generate.py's output; "
              "run python3 examples/demo/generate.py and commit the result", file=sys.stderr)
        sys.exit(1)

    counts = {}
    for doc in docs:
        counts[doc["type"]] = counts.get(doc["type"], 0) + 1
    verb = "match" if args.check else "->"
    print(f"{len(docs)} documents {verb} examples/demo/inventory.json", file=sys.stderr)
    for t in TYPE_ORDER:
        print(f"  {counts.get(t, 0):5d}  {t}", file=sys.stderr)


if __name__ == "__main__":
    main()
