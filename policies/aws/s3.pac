package policies.aws.s3

// S3 buckets: public access (ACLs, bucket policies, Block Public Access),
// encryption, versioning, logging. Each policy's tests follow it.

// ---------------------------------------------------------------------------
// Asset group and helpers
// ---------------------------------------------------------------------------

/// Buckets holding confidential or restricted data (tag `data-classification`).
group critical_data_buckets {
  title "Buckets with confidential or restricted data"
  aws.s3.bucket where lower(tags["data-classification"] ?? "") in ["confidential", "restricted"]
}

/// True when the grant's grantee is everyone (`AllUsers`) or every AWS
/// account holder (`AuthenticatedUsers`).
fn is_public_grant(g: aws.s3.Grant) -> bool =
  (g.grantee?.uri ?? "") in [
    "http://acs.amazonaws.com/groups/global/AllUsers",
    "http://acs.amazonaws.com/groups/global/AuthenticatedUsers",
  ]

/// True when Block Public Access makes S3 ignore the bucket's public ACLs.
fn ignores_public_acls(b: aws.s3.bucket) -> bool =
  b.public_access_block?.ignore_public_acls ?? false

// ---------------------------------------------------------------------------
// Public access
// ---------------------------------------------------------------------------

/// An ACL grant to AllUsers or AuthenticatedUsers lets anyone (or any AWS
/// account) list and read the bucket: the classic S3 data leak.
policy s3_public_read_acl {
  title "S3 bucket ACL grants public read access"
  description "A grant of the bucket ACL gives READ, READ_ACP or FULL_CONTROL to the AllUsers or AuthenticatedUsers group, and Block Public Access does not ignore public ACLs."
  severity critical
  category security
  remediation "Remove the public grants from the bucket ACL (or set Object Ownership to BucketOwnerEnforced, which disables ACLs) and turn on Block Public Access."
  tags ["aws-fsbp:S3.2", "pacbot:check-for-s3-global-access"]

  rule on aws.s3.bucket {
    let public_reads =
      count g in acl.grants:
        is_public_grant(g)
        and (g.permission ?? "FULL_CONTROL") in ["READ", "READ_ACP", "FULL_CONTROL"]
    violation when public_reads > 0 and not ignores_public_acls(self)
    message "bucket {name} ({region}) has {public_reads} ACL grant(s) giving public read access"
  }

  autofix block_s3_public_access() after 1d notify tags["owner"] ?? "secops@example.com"
}

test "an AllUsers READ grant fails; the same grant under ignore_public_acls passes; a private ACL passes" {
  given aws.s3.bucket public {
    name: "acme-public-read",
    creation_date: 2024-03-01,
    acl: {
      owner: { id: "owner-canonical-id" },
      grants: [
        {
          grantee: { type: "CanonicalUser", id: "owner-canonical-id" },
          permission: "FULL_CONTROL",
        },
        {
          grantee: { type: "Group", uri: "http://acs.amazonaws.com/groups/global/AllUsers" },
          permission: "READ",
        },
      ],
    },
    versioning: {},
  }
  given aws.s3.bucket neutralised {
    name: "acme-public-read-blocked",
    creation_date: 2024-03-01,
    acl: {
      owner: { id: "owner-canonical-id" },
      grants: [
        {
          grantee: { type: "Group", uri: "http://acs.amazonaws.com/groups/global/AllUsers" },
          permission: "READ",
        },
      ],
    },
    public_access_block: {
      block_public_acls: true,
      ignore_public_acls: true,
      block_public_policy: true,
      restrict_public_buckets: true,
    },
    versioning: {},
  }
  given aws.s3.bucket private {
    name: "acme-private",
    creation_date: 2024-03-01,
    acl: {
      owner: { id: "owner-canonical-id" },
      grants: [
        {
          grantee: { type: "CanonicalUser", id: "owner-canonical-id" },
          permission: "FULL_CONTROL",
        },
      ],
    },
    versioning: {},
  }
  expect s3_public_read_acl fails public
  expect s3_public_read_acl passes neutralised
  expect s3_public_read_acl passes private
}

test "AuthenticatedUsers counts as public" {
  given aws.s3.bucket any_aws {
    name: "acme-any-aws-account",
    creation_date: 2024-03-01,
    acl: {
      owner: { id: "owner-canonical-id" },
      grants: [
        {
          grantee: {
            type: "Group",
            uri: "http://acs.amazonaws.com/groups/global/AuthenticatedUsers",
          },
          permission: "FULL_CONTROL",
        },
      ],
    },
    versioning: {},
  }
  expect s3_public_read_acl fails any_aws
  expect s3_public_write_acl fails any_aws
}

/// Public write lets anyone upload (malware hosting, cost attacks) or
/// overwrite and delete your objects.
policy s3_public_write_acl {
  title "S3 bucket ACL grants public write access"
  description "A grant of the bucket ACL gives WRITE, WRITE_ACP or FULL_CONTROL to the AllUsers or AuthenticatedUsers group, and Block Public Access does not ignore public ACLs."
  severity critical
  category security
  remediation "Remove the public grants from the bucket ACL at once and turn on Block Public Access; review the bucket's objects for tampering."
  tags ["aws-fsbp:S3.3", "pacbot:check-for-s3-global-access"]

  rule on aws.s3.bucket {
    let public_writes =
      count g in acl.grants:
        is_public_grant(g)
        and (g.permission ?? "FULL_CONTROL") in ["WRITE", "WRITE_ACP", "FULL_CONTROL"]
    violation when public_writes > 0 and not ignores_public_acls(self)
    message "bucket {name} ({region}) has {public_writes} ACL grant(s) giving public write access"
  }

  autofix block_s3_public_access() after 1h notify tags["owner"] ?? "secops@example.com"
}

test "an AllUsers WRITE grant fails; an AllUsers READ grant is not a write" {
  given aws.s3.bucket writable {
    name: "acme-dropbox",
    creation_date: 2024-03-01,
    acl: {
      owner: { id: "owner-canonical-id" },
      grants: [
        {
          grantee: { type: "Group", uri: "http://acs.amazonaws.com/groups/global/AllUsers" },
          permission: "WRITE",
        },
      ],
    },
    versioning: {},
  }
  given aws.s3.bucket readable {
    name: "acme-readable",
    creation_date: 2024-03-01,
    acl: {
      owner: { id: "owner-canonical-id" },
      grants: [
        {
          grantee: { type: "Group", uri: "http://acs.amazonaws.com/groups/global/AllUsers" },
          permission: "READ",
        },
      ],
    },
    versioning: {},
  }
  expect s3_public_write_acl fails writable
  expect s3_public_write_acl passes readable
}

test "a public grant that does not report its permission counts as read and write; a grant without a grantee is not public" {
  given aws.s3.bucket unreported {
    name: "acme-grant-unreported",
    creation_date: 2024-03-01,
    acl: {
      owner: { id: "owner-canonical-id" },
      grants: [
        { grantee: { type: "Group", uri: "http://acs.amazonaws.com/groups/global/AllUsers" } },
      ],
    },
    versioning: {},
  }
  given aws.s3.bucket no_grantee {
    name: "acme-grantee-unreported",
    creation_date: 2024-03-01,
    acl: { owner: { id: "owner-canonical-id" }, grants: [{ permission: "FULL_CONTROL" }] },
    versioning: {},
  }
  expect s3_public_read_acl fails unreported
  expect s3_public_write_acl fails unreported
  expect s3_public_read_acl passes no_grantee
  expect s3_public_write_acl passes no_grantee
}

/// A bucket policy with a `"Principal": "*"` statement and no restricting
/// condition makes the bucket public (S3's own policy-status analysis).
policy s3_policy_public {
  title "S3 bucket policy makes the bucket public"
  description "GetBucketPolicyStatus reports `is_public`, and Block Public Access's restrict_public_buckets is off (with it on, only AWS services and the owner account can use the public statements)."
  severity critical
  category security
  remediation "Remove or condition the public statements of the bucket policy (aws:SourceVpce, aws:PrincipalOrgID, …); serve public content through CloudFront with origin access control."
  tags ["aws-fsbp:S3.2", "aws-fsbp:S3.3", "pacbot:check-for-s3-global-access"]

  rule on aws.s3.bucket {
    violation when
      (policy_status?.is_public ?? false)
      and not (public_access_block?.restrict_public_buckets ?? false)
    message "bucket {name} ({region}) is public through its bucket policy"
  }

  autofix block_s3_public_access() after 1d notify tags["owner"] ?? "secops@example.com"
}

test "a public policy fails; a non-public policy and a restricted public policy pass" {
  given aws.s3.bucket public_policy {
    name: "acme-public-policy",
    creation_date: 2024-03-01,
    acl: { owner: { id: "owner-canonical-id" } },
    versioning: {},
    policy_status: { is_public: true },
  }
  given aws.s3.bucket private_policy {
    name: "acme-private-policy",
    creation_date: 2024-03-01,
    acl: { owner: { id: "owner-canonical-id" } },
    versioning: {},
    policy_status: { is_public: false },
  }
  given aws.s3.bucket restricted {
    name: "acme-restricted",
    creation_date: 2024-03-01,
    acl: { owner: { id: "owner-canonical-id" } },
    versioning: {},
    policy_status: { is_public: true },
    public_access_block: {
      block_public_acls: false,
      ignore_public_acls: false,
      block_public_policy: false,
      restrict_public_buckets: true,
    },
  }
  expect s3_policy_public fails public_policy
  expect s3_policy_public passes private_policy
  expect s3_policy_public passes restricted
}

/// Block Public Access is the guard rail that keeps a future ACL or policy
/// mistake from publishing the bucket.
policy s3_public_access_block_missing {
  title "S3 bucket does not block public access"
  description "Not all four bucket-level Block Public Access settings are on (block_public_acls, ignore_public_acls, block_public_policy, restrict_public_buckets), or none is configured. Account-level settings are not modelled. Intentionally public buckets (static websites) need an exception."
  severity high
  category security
  remediation "Turn on all four Block Public Access settings for the bucket (aws s3api put-public-access-block) and at the account level."
  tags ["cis-aws-1.5:2.1.5", "aws-fsbp:S3.8", "pacbot:check-for-s3-global-access"]

  rule on aws.s3.bucket {
    violation when not public_access_fully_blocked(self)
    message "bucket {name} ({region}) does not turn on all four Block Public Access settings"
  }

  autofix block_s3_public_access() after 3d notify tags["owner"] ?? "secops@example.com"
}

test "no block and a partial block fail; a full block passes" {
  given aws.s3.bucket none_set {
    name: "acme-no-bpa",
    creation_date: 2024-03-01,
    acl: { owner: { id: "owner-canonical-id" } },
    versioning: {},
  }
  given aws.s3.bucket partial {
    name: "acme-partial-bpa",
    creation_date: 2024-03-01,
    acl: { owner: { id: "owner-canonical-id" } },
    versioning: {},
    public_access_block: {
      block_public_acls: true,
      ignore_public_acls: true,
      block_public_policy: false,
      restrict_public_buckets: true,
    },
  }
  given aws.s3.bucket full {
    name: "acme-full-bpa",
    creation_date: 2024-03-01,
    acl: { owner: { id: "owner-canonical-id" } },
    versioning: {},
    public_access_block: {
      block_public_acls: true,
      ignore_public_acls: true,
      block_public_policy: true,
      restrict_public_buckets: true,
    },
  }
  expect s3_public_access_block_missing fails none_set
  expect s3_public_access_block_missing fails partial
  expect s3_public_access_block_missing passes full
}

// ---------------------------------------------------------------------------
// Data protection
// ---------------------------------------------------------------------------

/// Default encryption guarantees every new object is encrypted at rest.
/// Since January 2023 S3 applies SSE-S3 to new buckets itself; a bucket
/// still reporting none is old or unreadable and worth a look.
policy s3_default_encryption_missing {
  title "S3 bucket has no default encryption"
  description "GetBucketEncryption returned no rule with a default server-side encryption (SSE-S3, SSE-KMS or DSSE-KMS)."
  severity medium
  category security
  remediation "Set default encryption on the bucket (aws s3api put-bucket-encryption), with SSE-KMS and a bucket key for sensitive data."
  tags ["cis-aws-1.5:2.1.1", "aws-fsbp:S3.4"]

  rule on aws.s3.bucket {
    violation when not bucket_default_encrypted(self)
    message "bucket {name} ({region}, created {creation_date}) has no default encryption"
  }
}

test "a bucket without encryption fails; SSE-S3 and SSE-KMS pass" {
  given aws.s3.bucket plain {
    name: "acme-plain",
    creation_date: 2019-06-01,
    acl: { owner: { id: "owner-canonical-id" } },
    versioning: {},
  }
  given aws.s3.bucket sse_s3 {
    name: "acme-sse-s3",
    creation_date: 2024-03-01,
    acl: { owner: { id: "owner-canonical-id" } },
    versioning: {},
    encryption: {
      rules: [{ apply_server_side_encryption_by_default: { sse_algorithm: "AES256" } }],
    },
  }
  given aws.s3.bucket sse_kms {
    name: "acme-sse-kms",
    creation_date: 2024-03-01,
    acl: { owner: { id: "owner-canonical-id" } },
    versioning: {},
    encryption: {
      rules: [
        {
          apply_server_side_encryption_by_default: {
            sse_algorithm: "aws:kms",
            kms_master_key_id: "alias/data",
          },
          bucket_key_enabled: true,
        },
      ],
    },
  }
  expect s3_default_encryption_missing fails plain
  expect s3_default_encryption_missing passes sse_s3
  expect s3_default_encryption_missing passes sse_kms
}

test "an encryption configuration with an empty rule is not encryption" {
  given aws.s3.bucket empty_rule {
    name: "acme-empty-rule",
    creation_date: 2020-01-01,
    acl: { owner: { id: "owner-canonical-id" } },
    versioning: {},
    encryption: { rules: [{ bucket_key_enabled: false }] },
  }
  expect s3_default_encryption_missing fails empty_rule
}

/// Versioning keeps overwritten and deleted objects recoverable (accidents,
/// ransomware); replication and Object Lock require it.
policy s3_versioning_disabled {
  title "S3 bucket versioning is not enabled"
  description "The bucket's versioning status is not `Enabled`: never enabled, or `Suspended`."
  severity medium
  category operations
  remediation "Enable versioning (aws s3api put-bucket-versioning --versioning-configuration Status=Enabled) and add a lifecycle rule expiring noncurrent versions."
  tags ["aws-fsbp:S3.14"]

  rule on aws.s3.bucket {
    let status = versioning.status ?? "never enabled"
    violation when not versioning_enabled(self)
    message "bucket {name} ({region}) has versioning {status}"
  }
}

test "never-enabled and suspended versioning fail; enabled passes" {
  given aws.s3.bucket never {
    name: "acme-unversioned",
    creation_date: 2024-03-01,
    acl: { owner: { id: "owner-canonical-id" } },
    versioning: {},
  }
  given aws.s3.bucket suspended {
    name: "acme-suspended",
    creation_date: 2024-03-01,
    acl: { owner: { id: "owner-canonical-id" } },
    versioning: { status: "Suspended" },
  }
  given aws.s3.bucket enabled {
    name: "acme-versioned",
    creation_date: 2024-03-01,
    acl: { owner: { id: "owner-canonical-id" } },
    versioning: { status: "Enabled" },
  }
  expect s3_versioning_disabled fails never
  expect s3_versioning_disabled fails suspended
  expect s3_versioning_disabled passes enabled
}

/// For confidential data, deleting a version (or suspending versioning)
/// should take the root user's MFA, so that stolen credentials cannot wipe
/// the history.
policy s3_mfa_delete_disabled {
  title "Confidential bucket does not have MFA delete"
  description "A bucket in the asset group `critical_data_buckets` (data-classification confidential or restricted) does not have MFA delete enabled."
  severity medium
  category security
  remediation "Enable versioning with MFA delete, as the root user with its MFA device: aws s3api put-bucket-versioning --versioning-configuration Status=Enabled,MFADelete=Enabled --mfa '<serial> <code>'."
  tags ["cis-aws-1.5:2.1.3"]

  rule on aws.s3.bucket in critical_data_buckets {
    let mfa = versioning.mfa_delete ?? "never configured"
    violation when not mfa_delete_enabled(self)
    message "confidential bucket {name} has MFA delete {mfa}"
  }
}

test "a restricted bucket without MFA delete fails; one with MFA delete passes; internal data is out of scope" {
  given aws.s3.bucket restricted {
    name: "acme-pii",
    creation_date: 2024-03-01,
    acl: { owner: { id: "owner-canonical-id" } },
    versioning: { status: "Enabled" },
    tags: { "data-classification": "Restricted" },
  }
  given aws.s3.bucket protected {
    name: "acme-pii-protected",
    creation_date: 2024-03-01,
    acl: { owner: { id: "owner-canonical-id" } },
    versioning: { status: "Enabled", mfa_delete: "Enabled" },
    tags: { "data-classification": "confidential" },
  }
  given aws.s3.bucket internal {
    name: "acme-internal",
    creation_date: 2024-03-01,
    acl: { owner: { id: "owner-canonical-id" } },
    versioning: {},
    tags: { "data-classification": "internal" },
  }
  expect s3_mfa_delete_disabled fails restricted
  expect s3_mfa_delete_disabled passes protected
  expect critical_data_buckets contains restricted
  expect critical_data_buckets excludes internal
}

/// With SSE-KMS, reading an object also takes kms:Decrypt on the bucket's
/// key: a second permission, logged in CloudTrail, that a leaked S3-only
/// role or a mistaken bucket policy does not grant.
policy s3_confidential_not_kms_encrypted {
  title "Confidential bucket is not encrypted with KMS"
  description "A bucket in the asset group `critical_data_buckets` (data-classification confidential or restricted) has no default encryption with KMS (`aws:kms` or `aws:kms:dsse`); SSE-S3 (AES256) or no default encryption fails."
  severity medium
  category security
  remediation "aws s3api put-bucket-encryption --bucket <name> --server-side-encryption-configuration 'Rules=[{ApplyServerSideEncryptionByDefault={SSEAlgorithm=aws:kms,KMSMasterKeyID=<key-arn>},BucketKeyEnabled=true}]'; existing objects keep their encryption until rewritten (S3 Batch Operations copy)."
  tags ["aws-fsbp:S3.17"]

  rule on aws.s3.bucket in critical_data_buckets {
    violation when not bucket_kms_encrypted(self)
    message "confidential bucket {name} is not encrypted with a KMS key by default"
  }
}

test "a restricted bucket with SSE-S3 only fails" {
  given aws.s3.bucket sse_s3 {
    name: "acme-hr-records",
    creation_date: 2024-03-01,
    acl: { owner: { id: "owner-canonical-id" } },
    versioning: { status: "Enabled" },
    encryption: {
      rules: [{ apply_server_side_encryption_by_default: { sse_algorithm: "AES256" } }],
    },
    tags: { "data-classification": "restricted" },
  }
  expect s3_confidential_not_kms_encrypted fails sse_s3
}

test "a confidential bucket without default encryption fails" {
  given aws.s3.bucket unencrypted {
    name: "acme-legal",
    creation_date: 2024-03-01,
    acl: { owner: { id: "owner-canonical-id" } },
    versioning: {},
    tags: { "data-classification": "confidential" },
  }
  expect s3_confidential_not_kms_encrypted fails unencrypted
}

test "a confidential bucket with SSE-KMS passes; an internal bucket is out of scope" {
  given aws.s3.bucket kms {
    name: "acme-payroll",
    creation_date: 2024-03-01,
    acl: { owner: { id: "owner-canonical-id" } },
    versioning: { status: "Enabled" },
    encryption: {
      rules: [
        {
          apply_server_side_encryption_by_default: {
            sse_algorithm: "aws:kms",
            kms_master_key_id: "arn:aws:kms:us-east-1:111122223333:key/1111aaaa-1111-1111-1111-111111111111",
          },
          bucket_key_enabled: true,
        },
      ],
    },
    tags: { "data-classification": "Confidential" },
  }
  given aws.s3.bucket internal_sse_s3 {
    name: "acme-wiki-assets",
    creation_date: 2024-03-01,
    acl: { owner: { id: "owner-canonical-id" } },
    versioning: {},
    encryption: {
      rules: [{ apply_server_side_encryption_by_default: { sse_algorithm: "AES256" } }],
    },
    tags: { "data-classification": "internal" },
  }
  expect s3_confidential_not_kms_encrypted passes kms
  expect critical_data_buckets excludes internal_sse_s3
}

// ---------------------------------------------------------------------------
// Logging
// ---------------------------------------------------------------------------

/// Server access logs record every request to the bucket: needed to
/// investigate a leak and to prove who read what.
policy s3_access_logging_disabled {
  title "S3 bucket server access logging is off"
  description "GetBucketLogging returns no LoggingEnabled target. Log-target buckets themselves should be excepted (logging a log bucket into itself loops)."
  severity low
  category security
  remediation "Enable server access logging to a dedicated log bucket (aws s3api put-bucket-logging), or CloudTrail S3 data events."
  tags ["aws-fsbp:S3.9", "pacbot:check-for-s3-access-logs"]

  rule on aws.s3.bucket {
    violation when not has(logging)
    message "bucket {name} ({region}) has server access logging off"
  }
}

test "a bucket without logging fails; a logged bucket passes" {
  given aws.s3.bucket silent {
    name: "acme-silent",
    creation_date: 2024-03-01,
    acl: { owner: { id: "owner-canonical-id" } },
    versioning: {},
  }
  given aws.s3.bucket logged {
    name: "acme-logged",
    creation_date: 2024-03-01,
    acl: { owner: { id: "owner-canonical-id" } },
    versioning: {},
    logging: { target_bucket: "acme-access-logs", target_prefix: "s3/acme-logged/" },
  }
  expect s3_access_logging_disabled fails silent
  expect s3_access_logging_disabled passes logged
}

/// A bucket serving a website is meant to be read by anyone; a data bucket
/// that does so was usually opened by mistake, and a website bucket is
/// better served through CloudFront with origin access.
policy s3_website_hosting {
  title "S3 bucket hosts a website or redirects requests"
  description "The bucket has static website hosting on (an index document or a redirect of every request)."
  severity medium
  category security
  remediation "Turn website hosting off (aws s3api delete-bucket-website --bucket <name>) and serve the site through CloudFront with origin access control."
  tags ["pacbot:check-for-s3-hosting-website"]

  rule on aws.s3.bucket {
    let serves = website?.index_document ?? "a redirect"
    violation when has(website)
    message "bucket {name} hosts a website ({serves})"
  }
}

test "a bucket serving index.html fails" {
  given aws.s3.bucket site {
    name: "acme-www",
    creation_date: 2026-01-01,
    acl: { owner: { id: "o" }, grants: [] },
    versioning: {},
    website: { index_document: "index.html", routing_rules: 0 },
  }
  expect s3_website_hosting fails site
}

test "a bucket that only redirects fails; a plain bucket passes" {
  given aws.s3.bucket redirect {
    name: "acme-old-www",
    creation_date: 2026-01-01,
    acl: { owner: { id: "o" }, grants: [] },
    versioning: {},
    website: { redirect_all_requests_to: "www.example.com", routing_rules: 0 },
  }
  given aws.s3.bucket data {
    name: "acme-data",
    creation_date: 2026-01-01,
    acl: { owner: { id: "o" }, grants: [] },
    versioning: {},
  }
  expect s3_website_hosting fails redirect
  expect s3_website_hosting passes data
}

/// True when a statement denies S3 requests made without TLS: `Deny` on
/// `s3:*` (or `*`) with a condition on `aws:SecureTransport`. The
/// collector keeps a condition's operator and key, not its value.
fn denies_insecure_transport(s: aws.policy.PolicyStatement) -> bool =
  s.effect == "Deny"
  and ("s3:*" in s.actions or "*" in s.actions)
  and (any c in s.conditions: ends_with(c, "aws:SecureTransport"))

/// Without a policy denying plain HTTP, clients may read and write the
/// bucket's objects unencrypted in transit.
policy s3_http_not_denied {
  title "S3 bucket policy does not deny HTTP requests"
  description "The bucket policy has no statement denying every S3 action when `aws:SecureTransport` is false."
  severity medium
  category security
  remediation "Add a statement to the bucket policy: Effect Deny, Principal *, Action s3:*, Resource the bucket and its objects, Condition Bool aws:SecureTransport false."
  tags ["cis-aws-1.5:2.1.2", "aws-fsbp:S3.5"]

  rule on aws.s3.bucket {
    violation when
      not has(policy_error) and not (any s in policy_statements: denies_insecure_transport(s))
    message "the policy of bucket {name} does not deny requests over plain HTTP ({len(policy_statements)} statements)"
  }
}

test "a bucket without a policy fails" {
  given aws.s3.bucket open {
    name: "acme-exports",
    creation_date: 2026-01-01,
    acl: { owner: { id: "o" }, grants: [] },
    versioning: {},
  }
  expect s3_http_not_denied fails open
}

test "a policy that only allows fails; one denying insecure transport passes" {
  given aws.s3.bucket allows {
    name: "acme-shared",
    creation_date: 2026-01-01,
    acl: { owner: { id: "o" }, grants: [] },
    versioning: {},
    policy_statements: [
      {
        effect: "Allow",
        principals: ["arn:aws:iam::123456789012:root"],
        not_principal: false,
        actions: ["s3:GetObject"],
        resources: ["arn:aws:s3:::acme-shared/*"],
        conditions: [],
      },
    ],
  }
  given aws.s3.bucket tls_only {
    name: "acme-secure",
    creation_date: 2026-01-01,
    acl: { owner: { id: "o" }, grants: [] },
    versioning: {},
    policy_statements: [
      {
        effect: "Deny",
        principals: ["*"],
        not_principal: false,
        actions: ["s3:*"],
        resources: ["arn:aws:s3:::acme-secure", "arn:aws:s3:::acme-secure/*"],
        conditions: ["Bool aws:SecureTransport"],
      },
    ],
  }
  expect s3_http_not_denied fails allows
  expect s3_http_not_denied passes tls_only
}
