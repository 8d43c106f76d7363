package vuln

// Findings of vulnerability scanners (Inspector, Qualys, Tenable, Trivy, …),
// normalized to one shape. Conventions: see docs/schemas.md.

/// One vulnerability found by a scanner on one resource; `id` is the finding's ID in the scanner.
schema vuln.finding {
  /// The ID of the affected resource, e.g. the EC2 instance ID `i-0abc123def4567890`.
  resource_id: string
  /// The type of the affected resource, e.g. `aws.ec2.instance`; absent when the scanner does not say.
  resource_type: string?
  /// The CVE ID, e.g. `CVE-2024-6387`.
  cve: string
  /// A one-line title, e.g. `OpenSSH regreSSHion remote code execution`.
  title: string
  /// The CVSS base score, 0.0 to 10.0, e.g. `8.1`.
  cvss: float
  /// `critical`, `high`, `medium` or `low` (lower case).
  severity: string
  /// When the scanner first reported the finding.
  first_seen: timestamp
  /// When the scanner last reported the finding; absent if seen only once.
  last_seen: timestamp?
  /// The vulnerable package, e.g. `openssh-server`.
  package_name: string?
  /// The installed version of the package, e.g. `1:8.9p1-3ubuntu0.6`.
  installed_version: string?
  /// The first version that fixes it; absent when no fix exists.
  fixed_version: string?
  /// The scanner that reported it, e.g. `inspector`.
  scanner: string
}
