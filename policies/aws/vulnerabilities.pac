package policies.aws.vulnerabilities

// Vulnerability findings joined with the inventory: findings come from any
// scanner (Inspector, Qualys, Tenable, Trivy, …) as `vuln.finding`
// documents whose `resource_id` is the instance ID. Each policy's tests
// follow it.
//
// Score bands follow CVSS v3: critical >= 9.0, high 7.0-8.9.

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// True when the security group `gid` (from the inventory) has an inbound
/// rule open to 0.0.0.0/0 or ::/0.
fn sg_has_world_ingress(gid: string) -> bool =
  any sg in aws.ec2.security_group: sg.id == gid and any p in sg.ip_permissions: open_to_world(p)

// ---------------------------------------------------------------------------
// Policies
// ---------------------------------------------------------------------------

/// PacBot's S5 rule: a critical, usually remotely exploitable, CVE on an
/// instance is an incident waiting to happen, wherever the instance runs.
policy instance_critical_vulnerabilities {
  title "Instance has critical vulnerabilities (CVSS >= 9.0)"
  description "At least one scanner finding for the instance (vuln.finding whose resource_id is the instance ID, its `id`) has a CVSS base score of 9.0 or more."
  severity critical
  category security
  remediation "Patch the affected packages (or rebuild from a patched AMI) and rescan; the findings list the fixed versions."
  tags ["pacbot:check-for-resource-with-severity-vulnerabilities", "severity:S5"]

  rule on aws.ec2.instance {
    let critical = count v in vuln.finding: v.resource_id == id and v.cvss >= 9.0
    violation when
      (state?.name ?? "running") != "terminated"
      and any v in vuln.finding: v.resource_id == id and v.cvss >= 9.0
    message "{id} ({instance_type}, AMI {image_id}) has {critical} critical vulnerability finding(s)"
  }

  autofix notify_only() notify tags["owner"] ?? "secops@example.com"
}

test "a CVSS 9.8 finding fails its instance only" {
  given aws.ec2.instance vulnerable {
    id: "i-0vuln",
    instance_id: "i-0vuln",
    image_id: "ami-old",
    instance_type: "t3.medium",
    launch_time: 2026-01-01,
    state: { code: 16, name: "running" },
    placement: { availability_zone: "us-east-1a", tenancy: "default" },
    monitoring: { state: "disabled" },
  }
  given aws.ec2.instance patched {
    id: "i-0patched",
    instance_id: "i-0patched",
    image_id: "ami-new",
    instance_type: "t3.medium",
    launch_time: 2026-01-01,
    state: { code: 16, name: "running" },
    placement: { availability_zone: "us-east-1a", tenancy: "default" },
    monitoring: { state: "disabled" },
  }
  given vuln.finding crit {
    resource_id: "i-0vuln",
    resource_type: "aws.ec2.instance",
    cve: "CVE-2024-6387",
    title: "OpenSSH regreSSHion remote code execution",
    cvss: 9.8,
    severity: "critical",
    first_seen: 2026-07-02,
    package_name: "openssh-server",
    fixed_version: "1:8.9p1-3ubuntu0.10",
    scanner: "inspector",
  }
  given vuln.finding medium_on_patched {
    resource_id: "i-0patched",
    cve: "CVE-2023-0001",
    title: "A medium issue",
    cvss: 5.3,
    severity: "medium",
    first_seen: 2026-07-02,
    scanner: "inspector",
  }
  expect instance_critical_vulnerabilities fails vulnerable
  expect instance_critical_vulnerabilities passes patched
}

/// In production the bar is lower: high-severity findings (the brief's
/// `cvss > 7.0`) count too.
policy production_instance_high_vulnerabilities {
  title "Production instance has high-severity vulnerabilities (CVSS > 7.0)"
  description "A member of the `production` asset group has a scanner finding with a CVSS base score above 7.0."
  severity high
  category security
  remediation "Patch within the production SLA (14 days for high, 7 for critical), or rebuild from a patched AMI and redeploy."
  tags ["pacbot:check-for-resource-with-severity-vulnerabilities", "severity:S4"]

  rule on aws.ec2.instance in production {
    let high = count v in vuln.finding: v.resource_id == id and v.cvss > 7.0
    violation when any v in vuln.finding: v.resource_id == id and v.cvss > 7.0
    message "production instance {id} ({instance_type}) has {high} finding(s) with CVSS above 7.0"
  }

  autofix notify_only() notify tags["owner"] ?? "secops@example.com"
}

test "a CVSS 7.5 finding fails a production instance; a 7.0 finding does not" {
  given aws.ec2.instance prod_high {
    id: "i-0prodhigh",
    instance_id: "i-0prodhigh",
    image_id: "ami-1",
    instance_type: "m6i.large",
    launch_time: 2026-01-01,
    state: { code: 16, name: "running" },
    placement: { availability_zone: "us-east-1a", tenancy: "default" },
    monitoring: { state: "enabled" },
    tags: { env: "prod" },
  }
  given aws.ec2.instance prod_edge {
    id: "i-0prodedge",
    instance_id: "i-0prodedge",
    image_id: "ami-1",
    instance_type: "m6i.large",
    launch_time: 2026-01-01,
    state: { code: 16, name: "running" },
    placement: { availability_zone: "us-east-1a", tenancy: "default" },
    monitoring: { state: "enabled" },
    tags: { env: "prod" },
  }
  given vuln.finding high {
    resource_id: "i-0prodhigh",
    cve: "CVE-2025-1111",
    title: "Privilege escalation in the kernel",
    cvss: 7.5,
    severity: "high",
    first_seen: 2026-09-01,
    scanner: "qualys",
  }
  given vuln.finding edge {
    resource_id: "i-0prodedge",
    cve: "CVE-2025-2222",
    title: "Information disclosure",
    cvss: 7.0,
    severity: "high",
    first_seen: 2026-09-01,
    scanner: "qualys",
  }
  expect production_instance_high_vulnerabilities fails prod_high
  expect production_instance_high_vulnerabilities passes prod_edge
}

/// PacBot's "EC2 with a remotely exploitable (S5) vulnerability should not
/// be open to the internet": exposure and a critical CVE together are the
/// highest-priority finding in the library.
policy internet_exposed_instance_with_critical_vulnerabilities {
  title "Internet-exposed instance has critical vulnerabilities"
  description "The instance has a public IP, one of its security groups has an inbound rule open to 0.0.0.0/0 or ::/0, and a scanner finding for it has CVSS >= 9.0. Joins three resource types: the instance, its security groups, its findings."
  severity critical
  category security
  remediation "Cut the exposure first (remove the world-open rule or the public IP), then patch the vulnerability and rescan."
  tags [
    "pacbot:check-for-ec2-public-access-port-with-s5-vulnerabilities",
    "pacbot:check-for-ec2-public-access",
  ]

  rule on aws.ec2.instance {
    violation when
      is_running(self)
      and has_public_ip(self)
      and (any g in security_groups: has(g.group_id) and sg_has_world_ingress(g.group_id))
      and has_vuln_at_least(id, 9.0)
    message "{id} (public IP {public_ip_address}) is reachable from the internet and has a critical vulnerability"
  }

  autofix stop_instance() after 1d notify tags["owner"] ?? "secops@example.com"
}

test "exposure plus a critical CVE fails; the same CVE behind a private group passes" {
  given aws.ec2.security_group world {
    id: "sg-0world",
    group_id: "sg-0world",
    group_name: "web-open",
    owner_id: "111122223333",
    ip_permissions: [
      { ip_protocol: "tcp", from_port: 8080, to_port: 8080, ip_ranges: [{ cidr_ip: 0.0.0.0/0 }] },
    ],
  }
  given aws.ec2.security_group internal {
    id: "sg-0internal",
    group_id: "sg-0internal",
    group_name: "internal",
    owner_id: "111122223333",
    ip_permissions: [
      { ip_protocol: "tcp", from_port: 8080, to_port: 8080, ip_ranges: [{ cidr_ip: 10.0.0.0/8 }] },
    ],
  }
  given aws.ec2.instance exposed {
    id: "i-0exposed",
    instance_id: "i-0exposed",
    image_id: "ami-1",
    instance_type: "t3.large",
    launch_time: 2026-01-01,
    state: { code: 16, name: "running" },
    placement: { availability_zone: "us-east-1a", tenancy: "default" },
    monitoring: { state: "disabled" },
    public_ip_address: 54.20.30.40,
    security_groups: [{ group_id: "sg-0world", group_name: "web-open" }],
  }
  given aws.ec2.instance shielded {
    id: "i-0shielded",
    instance_id: "i-0shielded",
    image_id: "ami-1",
    instance_type: "t3.large",
    launch_time: 2026-01-01,
    state: { code: 16, name: "running" },
    placement: { availability_zone: "us-east-1a", tenancy: "default" },
    monitoring: { state: "disabled" },
    public_ip_address: 54.20.30.41,
    security_groups: [{ group_id: "sg-0internal", group_name: "internal" }],
  }
  given vuln.finding on_exposed {
    resource_id: "i-0exposed",
    cve: "CVE-2021-44228",
    title: "Log4Shell",
    cvss: 10.0,
    severity: "critical",
    first_seen: 2026-06-01,
    scanner: "tenable",
  }
  given vuln.finding on_shielded {
    resource_id: "i-0shielded",
    cve: "CVE-2021-44228",
    title: "Log4Shell",
    cvss: 10.0,
    severity: "critical",
    first_seen: 2026-06-01,
    scanner: "tenable",
  }
  expect internet_exposed_instance_with_critical_vulnerabilities fails exposed
  expect internet_exposed_instance_with_critical_vulnerabilities passes shielded
  expect instance_critical_vulnerabilities fails shielded
}

test "an exposed instance without findings passes" {
  given aws.ec2.security_group world {
    id: "sg-0world2",
    group_id: "sg-0world2",
    group_name: "web-open",
    owner_id: "111122223333",
    ip_permissions: [
      { ip_protocol: "tcp", from_port: 443, to_port: 443, ip_ranges: [{ cidr_ip: 0.0.0.0/0 }] },
    ],
  }
  given aws.ec2.instance clean {
    id: "i-0cleanpub",
    instance_id: "i-0cleanpub",
    image_id: "ami-1",
    instance_type: "t3.large",
    launch_time: 2026-01-01,
    state: { code: 16, name: "running" },
    placement: { availability_zone: "us-east-1a", tenancy: "default" },
    monitoring: { state: "disabled" },
    public_ip_address: 54.20.30.42,
    security_groups: [{ group_id: "sg-0world2", group_name: "web-open" }],
  }
  expect internet_exposed_instance_with_critical_vulnerabilities passes clean
}

test "a security group reference without a group ID matches no group" {
  given aws.ec2.security_group world {
    id: "sg-0world",
    group_id: "sg-0world",
    ip_permissions: [
      { ip_protocol: "tcp", from_port: 8080, to_port: 8080, ip_ranges: [{ cidr_ip: 0.0.0.0/0 }] },
    ],
  }
  given aws.ec2.instance unnamed_group {
    id: "i-0unnamedgroup",
    instance_id: "i-0unnamedgroup",
    state: { code: 16, name: "running" },
    public_ip_address: 54.20.30.42,
    security_groups: [{ group_name: "web-open" }],
  }
  given vuln.finding on_unnamed {
    resource_id: "i-0unnamedgroup",
    cve: "CVE-2021-44228",
    title: "Log4Shell",
    cvss: 10.0,
    severity: "critical",
    first_seen: 2026-06-01,
    scanner: "tenable",
  }
  expect internet_exposed_instance_with_critical_vulnerabilities passes unnamed_group
  expect instance_critical_vulnerabilities fails unnamed_group
}

/// Patch SLA: a critical finding with a fix available must not stay open
/// for more than 30 days. Evaluated on the findings themselves, so each
/// overdue CVE is its own issue.
policy critical_finding_past_patch_sla {
  title "Critical vulnerability with an available fix open for more than 30 days"
  description "A scanner finding with CVSS >= 9.0 and a `fixed_version` was first seen more than 30 days ago and is still reported."
  severity high
  category operations
  remediation "Upgrade the package to the fixed version (or rebuild from a patched image) on the affected resource; the finding closes at the next scan."
  tags ["patch-sla"]

  rule on vuln.finding {
    let open_days = in_days(age(first_seen))
    // An empty `fixed_version` (some scanners' "no fix yet") is no fix.
    violation when cvss >= 9.0 and (fixed_version ?? "") != "" and older_than(first_seen, 30d)
    message "{cve} ({title}) on {resource_id} has been open {open_days} days; fixed in {package_name} {fixed_version}"
  }

  autofix notify_only() notify "secops@example.com"
}

test "an old fixable critical finding fails; a new one and one without a fix pass" {
  now 2026-11-01
  given vuln.finding overdue {
    resource_id: "i-0abc",
    cve: "CVE-2024-6387",
    title: "OpenSSH regreSSHion",
    cvss: 9.8,
    severity: "critical",
    first_seen: 2026-08-01,
    last_seen: 2026-10-31,
    package_name: "openssh-server",
    installed_version: "1:8.9p1-3ubuntu0.6",
    fixed_version: "1:8.9p1-3ubuntu0.10",
    scanner: "inspector",
  }
  given vuln.finding recent {
    resource_id: "i-0abc",
    cve: "CVE-2026-0001",
    title: "New critical bug",
    cvss: 9.1,
    severity: "critical",
    first_seen: 2026-10-20,
    package_name: "libfoo",
    fixed_version: "2.0.1",
    scanner: "inspector",
  }
  given vuln.finding no_fix {
    resource_id: "i-0abc",
    cve: "CVE-2026-0002",
    title: "Unfixed critical bug",
    cvss: 9.1,
    severity: "critical",
    first_seen: 2026-05-01,
    package_name: "libbar",
    scanner: "inspector",
  }
  given vuln.finding empty_fix {
    resource_id: "i-0abc",
    cve: "CVE-2026-0003",
    title: "Unfixed critical bug, empty fixed version",
    cvss: 9.1,
    severity: "critical",
    first_seen: 2026-05-01,
    package_name: "libbaz",
    fixed_version: "",
    scanner: "trivy",
  }
  expect critical_finding_past_patch_sla fails overdue
  expect critical_finding_past_patch_sla passes recent
  expect critical_finding_past_patch_sla passes no_fix
  expect critical_finding_past_patch_sla passes empty_fix
}
