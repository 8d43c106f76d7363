package policies.aws.network

// Security groups and network ACLs: what the internet can reach.
//
// "Open to the world" means an IPv4 range 0.0.0.0/0 or an IPv6 range ::/0
// (the stdlib's `open_to_world`). A service is exposed by a rule of its own
// protocol (`world_tcp_ingress_on_port`: a UDP rule on 22 does not expose
// SSH) or by protocol `-1`, which covers every port of every protocol.
// Each policy's tests follow it.

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// Database and cache ports that must never face the internet, per engine.
fn mssql_ports() -> list<int> = [1433, 1434]

fn mysql_ports() -> list<int> = [3306]

fn postgresql_ports() -> list<int> = [5432]

fn oracle_ports() -> list<int> = [1521]

fn mongodb_ports() -> list<int> = [27017, 27018]

fn redis_ports() -> list<int> = [6379]

fn elasticsearch_ports() -> list<int> = [9200, 9300]

/// Legacy and remote-administration services over TCP (FTP, Telnet, RPC, NetBIOS session, SMB, VNC, WinRM).
fn legacy_admin_tcp_ports() -> list<int> = [20, 21, 23, 135, 139, 445, 5900, 5985, 5986]

/// The same over UDP (RPC, NetBIOS name and datagram services).
fn legacy_admin_udp_ports() -> list<int> = [135, 137, 138]

/// True when the rule is a single-port TCP rule for HTTP (80) or HTTPS (443).
fn is_web_port_rule(p: aws.ec2.IpPermission) -> bool =
  (p.ip_protocol ?? "-1") == "tcp"
  and (p.from_port ?? -1) in [80, 443]
  and (p.to_port ?? -2) == (p.from_port ?? -1)

/// True when an inbound or outbound rule of `sg` names the group `gid` as
/// its source or destination.
fn references_group(sg: aws.ec2.security_group, gid: string) -> bool =
  (any p in sg.ip_permissions: any pair in p.user_id_group_pairs: (pair.group_id ?? "") == gid)
  or (any p in sg.ip_permissions_egress:
        any pair in p.user_id_group_pairs: (pair.group_id ?? "") == gid)

/// True when the rule allows every protocol, or every TCP/UDP port (0-65535).
fn allows_all_ports(p: aws.ec2.IpPermission) -> bool =
  (p.ip_protocol ?? "-1") == "-1"
  or ((p.ip_protocol ?? "-1") in ["tcp", "udp", "6", "17"]
      and (p.from_port ?? 0) <= 0
      and (p.to_port ?? 65535) >= 65535)

// ---------------------------------------------------------------------------
// SSH
// ---------------------------------------------------------------------------

/// SSH (tcp/22) reachable from the whole internet invites brute force and
/// exploitation of sshd; reach instances through a bastion, a VPN or SSM
/// Session Manager instead.
policy sg_ssh_open_to_world {
  title "Security group allows SSH (22) from the internet"
  description "An inbound rule of the security group allows port 22 (or all traffic) from 0.0.0.0/0 or ::/0. CIS 5.2 (IPv4) and 5.3 (IPv6)."
  severity critical
  category security
  remediation "Remove the 0.0.0.0/0 and ::/0 sources for port 22; allow SSH only from a bastion's security group or a corporate range, or use SSM Session Manager."
  tags [
    "cis-aws-1.5:5.2",
    "cis-aws-1.5:5.3",
    "aws-fsbp:EC2.13",
    "pacbot:check-for-security-group-global-access",
    "pacbot:check-for-ec2-with-public-access-for-configured-port",
  ]

  rule on aws.ec2.security_group {
    violation when world_tcp_ingress_on_port(self, 22)
    message "{id} ({group_name}, VPC {vpc_id}) allows SSH on port 22 from 0.0.0.0/0 or ::/0"
  }

  autofix revoke_world_ingress(ports: [22]) after 1d notify tags["owner"] ?? "secops@example.com"
}

test "SSH from 0.0.0.0/0 fails, SSH from a private range passes" {
  given aws.ec2.security_group open {
    group_id: "sg-0ssh0open",
    group_name: "web",
    owner_id: "111122223333",
    vpc_id: "vpc-1",
    ip_permissions: [
      { ip_protocol: "tcp", from_port: 22, to_port: 22, ip_ranges: [{ cidr_ip: 0.0.0.0/0 }] },
    ],
  }
  given aws.ec2.security_group internal {
    group_id: "sg-0ssh0priv",
    group_name: "internal",
    owner_id: "111122223333",
    ip_permissions: [
      { ip_protocol: "tcp", from_port: 22, to_port: 22, ip_ranges: [{ cidr_ip: 10.0.0.0/8 }] },
    ],
  }
  expect sg_ssh_open_to_world fails open
  expect sg_ssh_open_to_world passes internal
}

test "a rule that does not report its protocol reads as all traffic; a range without a CIDR opens nothing" {
  given aws.ec2.security_group no_protocol {
    ip_permissions: [{ ip_ranges: [{ cidr_ip: 0.0.0.0/0 }] }],
  }
  given aws.ec2.security_group no_cidr {
    ip_permissions: [
      {
        ip_protocol: "-1",
        ip_ranges: [{ description: "range not reported" }],
        ipv6_ranges: [{ description: "range not reported" }],
      },
    ],
  }
  expect sg_ssh_open_to_world fails no_protocol
  expect sg_rdp_open_to_world fails no_protocol
  expect sg_all_traffic_from_world fails no_protocol
  expect sg_database_ports_open_to_world fails no_protocol
  expect sg_admin_ports_open_to_world fails no_protocol
  expect sg_world_ingress_non_web fails no_protocol
  expect sg_ssh_open_to_world passes no_cidr
  expect sg_all_traffic_from_world passes no_cidr
  expect sg_world_ingress_non_web passes no_cidr
}

test "SSH from ::/0 and all-traffic rules fail, HTTPS from the world passes" {
  given aws.ec2.security_group v6 {
    group_id: "sg-0ssh0v6",
    group_name: "v6",
    owner_id: "111122223333",
    ip_permissions: [
      { ip_protocol: "tcp", from_port: 0, to_port: 1024, ipv6_ranges: [{ cidr_ipv6: "::/0" }] },
    ],
  }
  given aws.ec2.security_group all_traffic {
    group_id: "sg-0ssh0all",
    group_name: "all",
    owner_id: "111122223333",
    ip_permissions: [{ ip_protocol: "-1", ip_ranges: [{ cidr_ip: 0.0.0.0/0 }] }],
  }
  given aws.ec2.security_group https {
    group_id: "sg-0ssh0web",
    group_name: "alb",
    owner_id: "111122223333",
    ip_permissions: [
      { ip_protocol: "tcp", from_port: 443, to_port: 443, ip_ranges: [{ cidr_ip: 0.0.0.0/0 }] },
    ],
  }
  expect sg_ssh_open_to_world fails v6
  expect sg_ssh_open_to_world fails all_traffic
  expect sg_ssh_open_to_world passes https
}

test "a UDP rule on port 22 does not expose SSH; a TCP range over it does" {
  given aws.ec2.security_group udp22 {
    group_id: "sg-0ssh0udp",
    group_name: "udp-only",
    owner_id: "111122223333",
    ip_permissions: [
      { ip_protocol: "udp", from_port: 0, to_port: 65535, ip_ranges: [{ cidr_ip: 0.0.0.0/0 }] },
      { ip_protocol: "17", from_port: 22, to_port: 22, ipv6_ranges: [{ cidr_ipv6: "::/0" }] },
    ],
  }
  given aws.ec2.security_group tcp_range {
    group_id: "sg-0ssh0tcp6",
    group_name: "tcp-by-number",
    owner_id: "111122223333",
    ip_permissions: [
      { ip_protocol: "6", from_port: 20, to_port: 30, ip_ranges: [{ cidr_ip: 0.0.0.0/0 }] },
    ],
  }
  expect sg_ssh_open_to_world passes udp22
  expect sg_rdp_open_to_world passes udp22
  expect sg_database_ports_open_to_world passes udp22
  expect sg_ssh_open_to_world fails tcp_range
}

/// An approved, time-boxed exposure: the example bastion keeps SSH open
/// while the change CHG-2041 is in force.
exception "CHG-2041" for sg_ssh_open_to_world {
  resources ["sg-0example0bastion"]
  expires 2030-01-01
  reason "Example: legacy bastion, IP allow-listing blocked by a vendor appliance; reviewed by secops"
}

test "CHG-2041 exempts the bastion's SSH finding" {
  given aws.ec2.security_group bastion {
    id: "sg-0example0bastion",
    group_id: "sg-0example0bastion",
    group_name: "bastion",
    owner_id: "111122223333",
    ip_permissions: [
      { ip_protocol: "tcp", from_port: 22, to_port: 22, ip_ranges: [{ cidr_ip: 0.0.0.0/0 }] },
    ],
  }
  expect sg_ssh_open_to_world fails bastion
  expect "CHG-2041" exempts bastion
}

// ---------------------------------------------------------------------------
// RDP
// ---------------------------------------------------------------------------

/// RDP (tcp/3389) on the internet is one of the most scanned and exploited
/// services (BlueKeep, credential stuffing).
policy sg_rdp_open_to_world {
  title "Security group allows RDP (3389) from the internet"
  description "An inbound rule of the security group allows port 3389 (or all traffic) from 0.0.0.0/0 or ::/0. CIS 5.2 (IPv4) and 5.3 (IPv6)."
  severity critical
  category security
  remediation "Remove the 0.0.0.0/0 and ::/0 sources for port 3389; use a VPN, a bastion, or Fleet Manager / SSM for remote desktop."
  tags [
    "cis-aws-1.5:5.2",
    "cis-aws-1.5:5.3",
    "aws-fsbp:EC2.14",
    "pacbot:check-for-ec2-with-public-access-for-configured-port",
  ]

  rule on aws.ec2.security_group {
    violation when world_tcp_ingress_on_port(self, 3389)
    message "{id} ({group_name}, VPC {vpc_id}) allows RDP on port 3389 from 0.0.0.0/0 or ::/0"
  }

  autofix revoke_world_ingress(ports: [3389]) after 1d notify tags["owner"] ?? "secops@example.com"
}

test "RDP from the world fails, RDP from a VPN range passes" {
  given aws.ec2.security_group rdp {
    group_id: "sg-0rdp0open",
    group_name: "windows",
    owner_id: "111122223333",
    ip_permissions: [
      { ip_protocol: "tcp", from_port: 3389, to_port: 3389, ip_ranges: [{ cidr_ip: 0.0.0.0/0 }] },
    ],
  }
  given aws.ec2.security_group vpn {
    group_id: "sg-0rdp0vpn",
    group_name: "windows-vpn",
    owner_id: "111122223333",
    ip_permissions: [
      {
        ip_protocol: "tcp",
        from_port: 3389,
        to_port: 3389,
        ip_ranges: [{ cidr_ip: 172.16.0.0/12 }],
      },
    ],
  }
  expect sg_rdp_open_to_world fails rdp
  expect sg_rdp_open_to_world passes vpn
}

// ---------------------------------------------------------------------------
// All traffic / any port
// ---------------------------------------------------------------------------

/// A rule allowing all protocols, or every port, from anywhere turns the
/// security group off as a control.
policy sg_all_traffic_from_world {
  title "Security group allows all traffic from the internet"
  description "An inbound rule allows every protocol (`-1`) or the whole TCP/UDP port range 0-65535 from 0.0.0.0/0 or ::/0."
  severity critical
  category security
  remediation "Replace the rule with rules for the specific ports the workload serves, from the sources that need them."
  tags [
    "cis-aws-1.5:5.2",
    "cis-aws-1.5:5.3",
    "aws-fsbp:EC2.18",
    "pacbot:check-for-security-group-global-access",
  ]

  rule on aws.ec2.security_group {
    let open_rules = count p in ip_permissions: open_to_world(p) and allows_all_ports(p)
    violation when open_rules > 0
    message "{id} ({group_name}) has {open_rules} inbound rule(s) allowing all ports or protocols from 0.0.0.0/0 or ::/0"
  }
}

test "all protocols or all ports from the world fail; a port range from a private range passes" {
  given aws.ec2.security_group any_proto {
    group_id: "sg-0all0proto",
    group_name: "wide-open",
    owner_id: "111122223333",
    ip_permissions: [{ ip_protocol: "-1", ipv6_ranges: [{ cidr_ipv6: "::/0" }] }],
  }
  given aws.ec2.security_group all_tcp {
    group_id: "sg-0all0tcp",
    group_name: "all-tcp",
    owner_id: "111122223333",
    ip_permissions: [
      { ip_protocol: "tcp", from_port: 0, to_port: 65535, ip_ranges: [{ cidr_ip: 0.0.0.0/0 }] },
    ],
  }
  given aws.ec2.security_group internal {
    group_id: "sg-0all0int",
    group_name: "internal",
    owner_id: "111122223333",
    ip_permissions: [{ ip_protocol: "-1", ip_ranges: [{ cidr_ip: 10.0.0.0/8 }] }],
  }
  expect sg_all_traffic_from_world fails any_proto
  expect sg_all_traffic_from_world fails all_tcp
  expect sg_all_traffic_from_world passes internal
}

/// PacBot's "unapproved security groups should not allow 0.0.0.0/0 for any
/// port": only HTTP and HTTPS may face the internet without an exception.
policy sg_world_ingress_non_web {
  title "Security group allows non-web ports from the internet"
  description "An inbound rule open to 0.0.0.0/0 or ::/0 covers something other than a single tcp/80 or tcp/443 port. Approve deliberate exposures (a mail relay, a VPN endpoint) with an exception."
  severity high
  category security
  remediation "Restrict the rule's source to known ranges or security groups, or record an approved exception for the exposure."
  tags [
    "aws-fsbp:EC2.18",
    "pacbot:check-for-security-group-global-access",
    "pacbot:check-for-ec2-with-public-access-for-configured-port",
  ]

  rule on aws.ec2.security_group {
    let exposed = count p in ip_permissions: open_to_world(p) and not is_web_port_rule(p)
    violation when exposed > 0
    message "{id} ({group_name}) has {exposed} inbound rule(s) open to the internet on ports other than 80/443"
  }
}

test "SMTP from the world fails, HTTP and HTTPS from the world pass" {
  given aws.ec2.security_group smtp {
    group_id: "sg-0nonweb0smtp",
    group_name: "mail",
    owner_id: "111122223333",
    ip_permissions: [
      { ip_protocol: "tcp", from_port: 25, to_port: 25, ip_ranges: [{ cidr_ip: 0.0.0.0/0 }] },
    ],
  }
  given aws.ec2.security_group web {
    group_id: "sg-0nonweb0web",
    group_name: "alb",
    owner_id: "111122223333",
    ip_permissions: [
      { ip_protocol: "tcp", from_port: 80, to_port: 80, ip_ranges: [{ cidr_ip: 0.0.0.0/0 }] },
      { ip_protocol: "tcp", from_port: 443, to_port: 443, ipv6_ranges: [{ cidr_ipv6: "::/0" }] },
    ],
  }
  expect sg_world_ingress_non_web fails smtp
  expect sg_world_ingress_non_web passes web
}

test "a range spanning 80-443 is not a web-only rule" {
  given aws.ec2.security_group range {
    group_id: "sg-0nonweb0range",
    group_name: "range",
    owner_id: "111122223333",
    ip_permissions: [
      { ip_protocol: "tcp", from_port: 80, to_port: 443, ip_ranges: [{ cidr_ip: 0.0.0.0/0 }] },
    ],
  }
  expect sg_world_ingress_non_web fails range
}

// ---------------------------------------------------------------------------
// Databases and other sensitive services
// ---------------------------------------------------------------------------

/// Database and cache engines listen on well-known ports that are scanned
/// continuously; none of them belongs on the internet. One rule per engine,
/// so that a finding names the engine.
policy sg_database_ports_open_to_world {
  title "Security group exposes database ports to the internet"
  description "An inbound rule open to 0.0.0.0/0 or ::/0 covers a database or cache port: SQL Server 1433-1434, MySQL 3306, PostgreSQL 5432, Oracle 1521, MongoDB 27017-27018, Redis 6379, Elasticsearch 9200/9300."
  severity critical
  category security
  remediation "Remove the internet sources; let only the application tier's security groups reach the database port, and use private subnets for data stores."
  tags ["aws-fsbp:EC2.19", "pacbot:check-for-ec2-with-public-access-for-configured-port"]

  rule mssql on aws.ec2.security_group {
    violation when world_tcp_ingress_on_any_port(self, mssql_ports())
    message "{id} ({group_name}) exposes SQL Server (1433/1434) to 0.0.0.0/0 or ::/0"
  }
  rule mysql on aws.ec2.security_group {
    violation when world_tcp_ingress_on_any_port(self, mysql_ports())
    message "{id} ({group_name}) exposes MySQL/MariaDB (3306) to 0.0.0.0/0 or ::/0"
  }
  rule postgresql on aws.ec2.security_group {
    violation when world_tcp_ingress_on_any_port(self, postgresql_ports())
    message "{id} ({group_name}) exposes PostgreSQL (5432) to 0.0.0.0/0 or ::/0"
  }
  rule oracle on aws.ec2.security_group {
    violation when world_tcp_ingress_on_any_port(self, oracle_ports())
    message "{id} ({group_name}) exposes Oracle (1521) to 0.0.0.0/0 or ::/0"
  }
  rule mongodb on aws.ec2.security_group {
    violation when world_tcp_ingress_on_any_port(self, mongodb_ports())
    message "{id} ({group_name}) exposes MongoDB (27017/27018) to 0.0.0.0/0 or ::/0"
  }
  rule redis on aws.ec2.security_group {
    violation when world_tcp_ingress_on_any_port(self, redis_ports())
    message "{id} ({group_name}) exposes Redis (6379) to 0.0.0.0/0 or ::/0"
  }
  rule elasticsearch on aws.ec2.security_group {
    violation when world_tcp_ingress_on_any_port(self, elasticsearch_ports())
    message "{id} ({group_name}) exposes Elasticsearch (9200/9300) to 0.0.0.0/0 or ::/0"
  }

  autofix revoke_world_ingress(
    ports: [1433, 1434, 3306, 5432, 1521, 27017, 27018, 6379, 9200, 9300],
  )
    after 1d
    notify tags["owner"] ?? "secops@example.com"
}

test "MySQL and Redis from the world fail on their own rules" {
  given aws.ec2.security_group mysql {
    group_id: "sg-0db0mysql",
    group_name: "db",
    owner_id: "111122223333",
    ip_permissions: [
      { ip_protocol: "tcp", from_port: 3306, to_port: 3306, ip_ranges: [{ cidr_ip: 0.0.0.0/0 }] },
    ],
  }
  given aws.ec2.security_group redis {
    group_id: "sg-0db0redis",
    group_name: "cache",
    owner_id: "111122223333",
    ip_permissions: [
      { ip_protocol: "tcp", from_port: 6379, to_port: 6379, ipv6_ranges: [{ cidr_ipv6: "::/0" }] },
    ],
  }
  expect sg_database_ports_open_to_world fails mysql
  expect sg_database_ports_open_to_world.mysql fails mysql
  expect sg_database_ports_open_to_world.postgresql passes mysql
  expect sg_database_ports_open_to_world.redis fails redis
}

test "a wide port range catches PostgreSQL and SQL Server; the app tier's group passes" {
  given aws.ec2.security_group wide {
    group_id: "sg-0db0wide",
    group_name: "wide",
    owner_id: "111122223333",
    ip_permissions: [
      { ip_protocol: "tcp", from_port: 1000, to_port: 6000, ip_ranges: [{ cidr_ip: 0.0.0.0/0 }] },
    ],
  }
  given aws.ec2.security_group app_only {
    group_id: "sg-0db0app",
    group_name: "db-private",
    owner_id: "111122223333",
    ip_permissions: [
      {
        ip_protocol: "tcp",
        from_port: 5432,
        to_port: 5432,
        user_id_group_pairs: [{ group_id: "sg-0app", user_id: "111122223333" }],
      },
    ],
  }
  expect sg_database_ports_open_to_world.postgresql fails wide
  expect sg_database_ports_open_to_world.mssql fails wide
  expect sg_database_ports_open_to_world.mongodb passes wide
  expect sg_database_ports_open_to_world passes app_only
}

/// FTP, Telnet, NetBIOS/SMB, VNC and WinRM are clear-text or wormable
/// services with no place on the internet.
policy sg_admin_ports_open_to_world {
  title "Security group exposes legacy or remote-administration ports to the internet"
  description "An inbound rule open to 0.0.0.0/0 or ::/0 covers FTP (20/21), Telnet (23), RPC/NetBIOS/SMB (135, 137-139, 445), VNC (5900) or WinRM (5985/5986)."
  severity high
  category security
  remediation "Remove the internet sources for these ports; replace FTP and Telnet with SFTP/SSH, and reach admin services over a VPN or SSM."
  tags ["aws-fsbp:EC2.19", "pacbot:check-for-ec2-with-public-access-for-configured-port"]

  rule tcp on aws.ec2.security_group {
    violation when world_tcp_ingress_on_any_port(self, legacy_admin_tcp_ports())
    message "{id} ({group_name}) exposes FTP/Telnet/RPC/SMB/VNC/WinRM TCP ports to 0.0.0.0/0 or ::/0"
  }
  rule udp on aws.ec2.security_group {
    violation when world_udp_ingress_on_any_port(self, legacy_admin_udp_ports())
    message "{id} ({group_name}) exposes RPC/NetBIOS UDP ports (135, 137, 138) to 0.0.0.0/0 or ::/0"
  }

  autofix revoke_world_ingress(
    ports: [20, 21, 23, 135, 139, 445, 5900, 5985, 5986],
    protocol: "tcp",
  )
    for tcp
    after 1d
    notify tags["owner"] ?? "secops@example.com"
  autofix revoke_world_ingress(ports: [135, 137, 138], protocol: "udp")
    for udp
    after 1d
    notify tags["owner"] ?? "secops@example.com"
}

test "NetBIOS over UDP from the world fails the udp rule only; DNS over UDP is not an admin port" {
  given aws.ec2.security_group netbios {
    group_id: "sg-0adm0nb",
    group_name: "netbios",
    owner_id: "111122223333",
    ip_permissions: [
      { ip_protocol: "udp", from_port: 137, to_port: 138, ip_ranges: [{ cidr_ip: 0.0.0.0/0 }] },
    ],
  }
  given aws.ec2.security_group dns {
    group_id: "sg-0adm0dns",
    group_name: "dns",
    owner_id: "111122223333",
    ip_permissions: [
      { ip_protocol: "udp", from_port: 53, to_port: 53, ip_ranges: [{ cidr_ip: 0.0.0.0/0 }] },
    ],
  }
  expect sg_admin_ports_open_to_world.udp fails netbios
  expect sg_admin_ports_open_to_world.tcp passes netbios
  expect sg_admin_ports_open_to_world passes dns
}

test "SMB from the world fails, SMB inside the VPC passes" {
  given aws.ec2.security_group smb {
    group_id: "sg-0adm0smb",
    group_name: "fileserver",
    owner_id: "111122223333",
    ip_permissions: [
      { ip_protocol: "tcp", from_port: 445, to_port: 445, ip_ranges: [{ cidr_ip: 0.0.0.0/0 }] },
    ],
  }
  given aws.ec2.security_group smb_vpc {
    group_id: "sg-0adm0vpc",
    group_name: "fileserver-vpc",
    owner_id: "111122223333",
    ip_permissions: [
      { ip_protocol: "tcp", from_port: 445, to_port: 445, ip_ranges: [{ cidr_ip: 10.20.0.0/16 }] },
    ],
  }
  expect sg_admin_ports_open_to_world fails smb
  expect sg_admin_ports_open_to_world passes smb_vpc
}

test "ICMP from the world is not an admin port" {
  given aws.ec2.security_group ping {
    group_id: "sg-0adm0icmp",
    group_name: "ping",
    owner_id: "111122223333",
    ip_permissions: [
      { ip_protocol: "icmp", from_port: -1, to_port: -1, ip_ranges: [{ cidr_ip: 0.0.0.0/0 }] },
    ],
  }
  expect sg_admin_ports_open_to_world passes ping
  expect sg_ssh_open_to_world passes ping
}

// ---------------------------------------------------------------------------
// Default security group
// ---------------------------------------------------------------------------

/// Resources launched without an explicit group land in the VPC's default
/// security group; CIS wants it to allow nothing, so that every grant is a
/// deliberate, named group.
policy default_sg_has_rules {
  title "Default security group has inbound or outbound rules"
  description "The security group named `default` has at least one inbound or outbound rule. AWS creates it with an all-outbound rule and a self-referencing all-inbound rule; CIS 5.4 asks for both to be removed."
  severity medium
  category security
  remediation "Remove every inbound and outbound rule of the default security group, and move the resources that rely on it to purpose-built groups."
  tags ["cis-aws-1.5:5.4", "aws-fsbp:EC2.2"]

  rule on aws.ec2.security_group {
    let rules = len(ip_permissions) + len(ip_permissions_egress)
    violation when (group_name ?? "") == "default" and rules > 0
    message "the default security group {id} of VPC {vpc_id} has {rules} rule(s)"
  }
}

test "a default group as AWS creates it fails; an emptied default group passes" {
  given aws.ec2.security_group fresh {
    group_id: "sg-0def0fresh",
    group_name: "default",
    owner_id: "111122223333",
    vpc_id: "vpc-1",
    ip_permissions: [
      {
        ip_protocol: "-1",
        user_id_group_pairs: [{ group_id: "sg-0def0fresh", user_id: "111122223333" }],
      },
    ],
    ip_permissions_egress: [{ ip_protocol: "-1", ip_ranges: [{ cidr_ip: 0.0.0.0/0 }] }],
  }
  given aws.ec2.security_group emptied {
    group_id: "sg-0def0empty",
    group_name: "default",
    owner_id: "111122223333",
    vpc_id: "vpc-2",
  }
  given aws.ec2.security_group named {
    group_id: "sg-0def0named",
    group_name: "web",
    owner_id: "111122223333",
    ip_permissions_egress: [{ ip_protocol: "-1", ip_ranges: [{ cidr_ip: 0.0.0.0/0 }] }],
  }
  expect default_sg_has_rules fails fresh
  expect default_sg_has_rules passes emptied
  expect default_sg_has_rules passes named
}

// ---------------------------------------------------------------------------
// Unused groups and ACLs
// ---------------------------------------------------------------------------

/// Groups nobody uses pile up, keep their open rules, and get attached by
/// mistake to the next instance that needs "a group that allows 22".
policy sg_unused {
  title "Security group is attached to nothing and referenced by no other group"
  description "No aws.ec2.network_interface of the inventory (instances, load balancers, Lambda, RDS, endpoints all have one) lists the group, and no other security group of its VPC names it in an inbound or outbound rule. A cross-resource check; `default` groups are left out (they cannot be deleted). A group kept for a launch template whose Auto Scaling group is at zero, or referenced only from a peered VPC, is reported too (launch templates are not collected)."
  severity low
  category operations
  remediation "Check the group is not named by a launch template or a peered VPC's groups, then delete it: aws ec2 delete-security-group --group-id <id>."
  tags ["aws-fsbp:EC2.22", "pacbot:check-for-unused-security-group"]

  rule on aws.ec2.security_group {
    violation when
      (group_name ?? "") != "default"
      and (none n in aws.ec2.network_interface:
             has(n.vpc_id)
             and n.vpc_id == (vpc_id ?? "")
             and (any g in n.groups: (g.group_id ?? "") == id))
      and (none other in aws.ec2.security_group:
             has(other.vpc_id)
             and other.vpc_id == (vpc_id ?? "")
             and other.id != id
             and references_group(other, id))
    message "security group {id} ({group_name}, VPC {vpc_id}) is attached to no network interface and referenced by no other group"
  }

  autofix notify_only() notify tags["owner"] ?? "network-team@example.com"
}

test "a group no interface uses fails" {
  given aws.ec2.security_group orphan {
    id: "sg-0orphan",
    group_id: "sg-0orphan",
    group_name: "old-migration",
    owner_id: "111122223333",
    vpc_id: "vpc-1",
  }
  given aws.ec2.network_interface other_eni {
    network_interface_id: "eni-0other",
    interface_type: "interface",
    status: "in-use",
    subnet_id: "subnet-1",
    vpc_id: "vpc-1",
    availability_zone: "us-east-1a",
    private_ip_address: 10.0.1.30,
    mac_address: "0a:1b:2c:3d:4e:70",
    owner_id: "111122223333",
    requester_managed: false,
    source_dest_check: true,
    groups: [{ group_id: "sg-0web", group_name: "web" }],
  }
  expect sg_unused fails orphan
}

test "a group referenced by another group's rule passes; a group referencing only itself fails" {
  given aws.ec2.security_group db_clients {
    id: "sg-0dbclients",
    group_id: "sg-0dbclients",
    group_name: "db-clients",
    owner_id: "111122223333",
    vpc_id: "vpc-4",
  }
  given aws.ec2.security_group db {
    id: "sg-0db",
    group_id: "sg-0db",
    group_name: "db",
    owner_id: "111122223333",
    vpc_id: "vpc-4",
    ip_permissions: [
      {
        ip_protocol: "tcp",
        from_port: 5432,
        to_port: 5432,
        user_id_group_pairs: [{ group_id: "sg-0dbclients", user_id: "111122223333" }],
      },
    ],
  }
  given aws.ec2.security_group cluster {
    id: "sg-0cluster",
    group_id: "sg-0cluster",
    group_name: "cluster",
    owner_id: "111122223333",
    vpc_id: "vpc-4",
    ip_permissions: [
      {
        ip_protocol: "-1",
        user_id_group_pairs: [{ group_id: "sg-0cluster", user_id: "111122223333" }],
      },
    ],
    ip_permissions_egress: [
      { ip_protocol: "-1", user_id_group_pairs: [{ group_id: "sg-0db", user_id: "111122223333" }] },
    ],
  }
  expect sg_unused passes db_clients
  expect sg_unused passes db
  expect sg_unused fails cluster
}

test "an interface in the same VPC without groups does not use the group" {
  given aws.ec2.security_group leftover {
    id: "sg-0leftover",
    group_id: "sg-0leftover",
    group_name: "leftover",
    owner_id: "111122223333",
    vpc_id: "vpc-3",
  }
  given aws.ec2.network_interface bare_eni {
    network_interface_id: "eni-0bare",
    interface_type: "interface",
    status: "available",
    subnet_id: "subnet-3",
    vpc_id: "vpc-3",
    availability_zone: "us-east-1a",
    private_ip_address: 10.3.1.30,
    mac_address: "0a:1b:2c:3d:4e:72",
    owner_id: "111122223333",
    requester_managed: false,
    source_dest_check: true,
  }
  expect sg_unused fails leftover
}

test "a group attached to an interface passes, and so does a default group" {
  given aws.ec2.security_group web {
    id: "sg-0web",
    group_id: "sg-0web",
    group_name: "web",
    owner_id: "111122223333",
    vpc_id: "vpc-1",
  }
  given aws.ec2.security_group default_group {
    id: "sg-0default",
    group_id: "sg-0default",
    group_name: "default",
    owner_id: "111122223333",
    vpc_id: "vpc-1",
  }
  given aws.ec2.network_interface web_eni {
    network_interface_id: "eni-0web",
    interface_type: "interface",
    status: "in-use",
    subnet_id: "subnet-1",
    vpc_id: "vpc-1",
    availability_zone: "us-east-1a",
    private_ip_address: 10.0.1.31,
    mac_address: "0a:1b:2c:3d:4e:71",
    owner_id: "111122223333",
    requester_managed: false,
    source_dest_check: true,
    groups: [
      { group_id: "sg-0other", group_name: "other" },
      { group_id: "sg-0web", group_name: "web" },
    ],
  }
  expect sg_unused passes web
  expect sg_unused passes default_group
}

/// A custom network ACL associated with no subnet protects nothing, and
/// confuses whoever later reads the VPC's rules.
policy nacl_unused {
  title "Network ACL is not associated with any subnet"
  description "A network ACL other than the VPC's default has no subnet associations."
  severity low
  category operations
  remediation "Associate it with the subnets it was meant for (aws ec2 replace-network-acl-association), or delete it: aws ec2 delete-network-acl --network-acl-id <id>."
  tags ["aws-fsbp:EC2.16"]

  rule on aws.ec2.network_acl {
    violation when not (is_default ?? false) and len(associations) == 0
    message "network ACL {id} (VPC {vpc_id}) is associated with no subnet"
  }
}

test "a custom network ACL without associations fails" {
  given aws.ec2.network_acl spare {
    network_acl_id: "acl-0spare",
    vpc_id: "vpc-1",
    owner_id: "111122223333",
    is_default: false,
  }
  expect nacl_unused fails spare
}

test "an associated custom network ACL passes, and so does an unassociated default one" {
  given aws.ec2.network_acl in_use {
    network_acl_id: "acl-0inuse",
    vpc_id: "vpc-1",
    owner_id: "111122223333",
    is_default: false,
    associations: [
      {
        network_acl_association_id: "aclassoc-0a",
        network_acl_id: "acl-0inuse",
        subnet_id: "subnet-1",
      },
    ],
  }
  given aws.ec2.network_acl default_acl {
    network_acl_id: "acl-0default",
    vpc_id: "vpc-2",
    owner_id: "111122223333",
    is_default: true,
  }
  expect nacl_unused passes in_use
  expect nacl_unused passes default_acl
}

// ---------------------------------------------------------------------------
// Network ACLs
// ---------------------------------------------------------------------------

/// CIS 5.1: no network ACL may allow SSH or RDP from the whole internet.
policy nacl_admin_ports_open_to_world {
  title "Network ACL allows SSH or RDP from the internet"
  description "An inbound `allow` entry of the network ACL matches port 22 or 3389 (or all traffic) from 0.0.0.0/0 or ::/0. Like CIS 5.1, rule order is not considered: an earlier deny does not clear the finding."
  severity high
  category security
  remediation "Add explicit deny entries for 22 and 3389 from 0.0.0.0/0 and ::/0 before the allow entries, or narrow the allow entries to known ranges."
  tags ["cis-aws-1.5:5.1", "aws-fsbp:EC2.21"]

  rule on aws.ec2.network_acl {
    violation when nacl_allows_world_ingress(self, 22) or nacl_allows_world_ingress(self, 3389)
    message "network ACL {id} (VPC {vpc_id}, default: {is_default}) allows SSH or RDP from 0.0.0.0/0 or ::/0"
  }
}

test "an allow-all inbound entry fails CIS 5.1; a web-only ACL passes" {
  given aws.ec2.network_acl allow_all {
    network_acl_id: "acl-0allow0all",
    vpc_id: "vpc-1",
    owner_id: "111122223333",
    is_default: true,
    entries: [
      {
        rule_number: 100,
        protocol: "-1",
        rule_action: "allow",
        egress: false,
        cidr_block: 0.0.0.0/0,
      },
      {
        rule_number: 32767,
        protocol: "-1",
        rule_action: "deny",
        egress: false,
        cidr_block: 0.0.0.0/0,
      },
    ],
  }
  given aws.ec2.network_acl web_only {
    network_acl_id: "acl-0web0only",
    vpc_id: "vpc-1",
    owner_id: "111122223333",
    is_default: false,
    entries: [
      {
        rule_number: 100,
        protocol: "6",
        rule_action: "allow",
        egress: false,
        cidr_block: 0.0.0.0/0,
        port_range: { from: 443, to: 443 },
      },
      {
        rule_number: 110,
        protocol: "6",
        rule_action: "allow",
        egress: false,
        cidr_block: 10.0.0.0/8,
        port_range: { from: 22, to: 22 },
      },
    ],
  }
  expect nacl_admin_ports_open_to_world fails allow_all
  expect nacl_admin_ports_open_to_world passes web_only
}

test "an IPv6 RDP allow entry fails; an outbound allow-all entry does not count" {
  given aws.ec2.network_acl rdp6 {
    network_acl_id: "acl-0rdp6",
    vpc_id: "vpc-1",
    owner_id: "111122223333",
    is_default: false,
    entries: [
      {
        rule_number: 120,
        protocol: "6",
        rule_action: "allow",
        egress: false,
        ipv6_cidr_block: "::/0",
        port_range: { from: 3380, to: 3390 },
      },
    ],
  }
  given aws.ec2.network_acl egress_only {
    network_acl_id: "acl-0egress",
    vpc_id: "vpc-1",
    owner_id: "111122223333",
    is_default: false,
    entries: [
      {
        rule_number: 100,
        protocol: "-1",
        rule_action: "allow",
        egress: true,
        cidr_block: 0.0.0.0/0,
      },
    ],
  }
  expect nacl_admin_ports_open_to_world fails rdp6
  expect nacl_admin_ports_open_to_world passes egress_only
}

/// An ACL that allows every protocol from anywhere adds no protection of
/// its own. AWS's default ACLs are built this way, so the finding is low
/// severity: it records where the stateless layer is unused.
policy nacl_allows_all_ingress {
  title "Network ACL allows all inbound traffic from the internet"
  description "An inbound `allow` entry with protocol `-1` (all traffic) matches 0.0.0.0/0 or ::/0. Default network ACLs have such an entry; cover accepted ones with a sticky exception."
  severity low
  category security
  remediation "Replace the allow-all entry with entries for the ports the subnets serve (and the ephemeral return ports), or accept it with an exception."
  tags ["cis-aws-1.5:5.1"]

  rule on aws.ec2.network_acl {
    let allow_all =
      count e in entries:
        not (e.egress ?? false)
        and (e.rule_action ?? "allow") == "allow"
        and (e.protocol ?? "-1") == "-1"
        and acl_entry_open_to_world(e)
    violation when allow_all > 0
    message "network ACL {id} (VPC {vpc_id}) has {allow_all} inbound entry(ies) allowing all traffic from the internet"
  }
}

test "allow-all from the world fails; allow-all from the VPC range and deny-all pass" {
  given aws.ec2.network_acl open {
    network_acl_id: "acl-0open",
    vpc_id: "vpc-1",
    owner_id: "111122223333",
    is_default: true,
    entries: [
      {
        rule_number: 100,
        protocol: "-1",
        rule_action: "allow",
        egress: false,
        cidr_block: 0.0.0.0/0,
      },
    ],
  }
  given aws.ec2.network_acl vpc_only {
    network_acl_id: "acl-0vpconly",
    vpc_id: "vpc-1",
    owner_id: "111122223333",
    is_default: false,
    entries: [
      {
        rule_number: 100,
        protocol: "-1",
        rule_action: "allow",
        egress: false,
        cidr_block: 10.0.0.0/16,
      },
      {
        rule_number: 200,
        protocol: "-1",
        rule_action: "deny",
        egress: false,
        cidr_block: 0.0.0.0/0,
      },
    ],
  }
  expect nacl_allows_all_ingress fails open
  expect nacl_allows_all_ingress passes vpc_only
}

test "an entry that does not report its direction, action or protocol counts as an inbound allow-all" {
  given aws.ec2.network_acl sparse { entries: [{ rule_number: 100, cidr_block: 0.0.0.0/0 }] }
  given aws.ec2.network_acl sparse_inside {
    entries: [{ rule_number: 100, cidr_block: 10.0.0.0/8 }],
  }
  expect nacl_allows_all_ingress fails sparse
  expect nacl_admin_ports_open_to_world fails sparse
  expect nacl_allows_all_ingress passes sparse_inside
  expect nacl_admin_ports_open_to_world passes sparse_inside
}
