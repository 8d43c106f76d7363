package aws.s3

// Amazon S3 resource types. A bucket is assembled from ListBuckets and the
// per-bucket Get* calls (GetBucketAcl, GetBucketPolicyStatus,
// GetPublicAccessBlock, GetBucketEncryption, GetBucketVersioning,
// GetBucketLogging, GetBucketTagging, GetBucketWebsite, GetBucketPolicy). Conventions: see docs/schemas.md.
// The implicit `region` is the bucket's region (GetBucketLocation).

/// An S3 bucket (ListBuckets plus the per-bucket configuration calls); `id` is the bucket name.
schema aws.s3.bucket {
  /// The bucket name, e.g. `acme-logs-prod`.
  name: string
  /// When the bucket was created (ListBuckets `CreationDate`).
  creation_date: timestamp
  /// The bucket's ACL (GetBucketAcl): its owner and grants.
  acl: AccessControlPolicy
  /// Whether the bucket policy makes the bucket public (GetBucketPolicyStatus); absent when the bucket has no policy.
  policy_status: PolicyStatus?
  /// The bucket-level Block Public Access settings (GetPublicAccessBlock); absent when none are set.
  public_access_block: PublicAccessBlockConfiguration?
  /// The default encryption (GetBucketEncryption); absent when not configured (before 2023, or not readable).
  encryption: ServerSideEncryptionConfiguration?
  /// The versioning state (GetBucketVersioning); both fields are absent when versioning was never enabled.
  versioning: VersioningConfiguration
  /// Server access logging (GetBucketLogging `LoggingEnabled`); absent when logging is off.
  logging: LoggingEnabled?
  /// The bucket's tags (GetBucketTagging), e.g. `{"owner": "data-team@example.com"}`.
  tags: map<string>
  /// Static website hosting (GetBucketWebsite); absent when the bucket does not serve a website.
  website: WebsiteConfiguration?
  /// The bucket policy's statements (GetBucketPolicy); empty when the bucket has no policy.
  policy_statements: list<aws.policy.PolicyStatement>
  /// Why the bucket policy could not be read as a policy; absent when it could.
  policy_error: string?
}

/// A bucket's website configuration (GetBucketWebsite output).
record WebsiteConfiguration {
  /// The index document served for a directory, e.g. `index.html`; absent when every request is redirected.
  index_document: string?
  /// The host every request is redirected to; absent unless the bucket only redirects.
  redirect_all_requests_to: string?
  /// How many routing rules the configuration has.
  routing_rules: int
}

/// A bucket ACL: its owner and grants (GetBucketAcl output, AccessControlPolicy).
record AccessControlPolicy {
  /// The bucket owner.
  owner: Owner
  /// The grants of the ACL; the owner's FULL_CONTROL grant is usually one of them.
  grants: list<Grant>
}

/// The owner of a bucket (Owner).
record Owner {
  /// The canonical user ID, e.g. `79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be`.
  id: string?
  /// The owner's display name; AWS omits it in most regions.
  display_name: string?
}

/// One grant of an ACL: a grantee and a permission (Grant).
record Grant {
  /// Who is granted the permission.
  grantee: Grantee?
  /// `FULL_CONTROL`, `WRITE`, `WRITE_ACP`, `READ` or `READ_ACP`.
  permission: string?
}

/// The grantee of an ACL grant (Grantee).
record Grantee {
  /// `CanonicalUser`, `AmazonCustomerByEmail` or `Group` (the API's xsi:type).
  type: string
  /// The canonical user ID, for a `CanonicalUser` grantee.
  id: string?
  /// The display name, for a `CanonicalUser` grantee; AWS may omit it.
  display_name: string?
  /// The email address, for an `AmazonCustomerByEmail` grantee.
  email_address: string?
  /// The group URI, for a `Group` grantee, e.g. `http://acs.amazonaws.com/groups/global/AllUsers` (public).
  uri: string?
}

/// Whether a bucket policy makes the bucket public (PolicyStatus).
record PolicyStatus {
  /// True when the bucket policy grants public access.
  is_public: bool
}

/// The four Block Public Access settings (PublicAccessBlockConfiguration).
record PublicAccessBlockConfiguration {
  /// Rejects requests that add public ACLs.
  block_public_acls: bool?
  /// Ignores the public ACLs already on the bucket and its objects.
  ignore_public_acls: bool?
  /// Rejects bucket policies that grant public access.
  block_public_policy: bool?
  /// Restricts access to a bucket with a public policy to AWS services and the owner's account.
  restrict_public_buckets: bool?
}

/// The default encryption of a bucket (ServerSideEncryptionConfiguration).
record ServerSideEncryptionConfiguration {
  /// The encryption rules; in practice one.
  rules: list<ServerSideEncryptionRule>
}

/// A default encryption rule (ServerSideEncryptionRule).
record ServerSideEncryptionRule {
  /// The default encryption applied to new objects; absent when the rule sets none.
  apply_server_side_encryption_by_default: ServerSideEncryptionByDefault?
  /// Whether S3 Bucket Keys are used for SSE-KMS.
  bucket_key_enabled: bool?
}

/// The default server-side encryption of new objects (ServerSideEncryptionByDefault).
record ServerSideEncryptionByDefault {
  /// `AES256` (SSE-S3), `aws:kms` (SSE-KMS) or `aws:kms:dsse` (DSSE-KMS).
  sse_algorithm: string
  /// The KMS key ID or ARN, for `aws:kms`; absent when the AWS managed key `aws/s3` is used.
  kms_master_key_id: string?
}

/// The versioning state of a bucket (GetBucketVersioning output).
record VersioningConfiguration {
  /// `Enabled` or `Suspended`; absent when versioning was never enabled.
  status: string?
  /// `Enabled` or `Disabled`; absent when MFA delete was never configured.
  mfa_delete: string?
}

/// Where a bucket's server access logs go (LoggingEnabled).
record LoggingEnabled {
  /// The bucket receiving the logs, e.g. `acme-access-logs`.
  target_bucket: string
  /// The key prefix of the log objects, e.g. `s3/acme-logs-prod/`; may be `""`.
  target_prefix: string
}
