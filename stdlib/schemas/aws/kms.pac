package aws.kms

// AWS KMS keys, per region. Conventions: see docs/schemas.md.

/// A KMS key (ListKeys, DescribeKey, plus GetKeyRotationStatus, GetKeyPolicy and ListResourceTags); `id` is the key ID.
schema aws.kms.key {
  /// The key ID, e.g. `1234abcd-12ab-34cd-56ef-1234567890ab`.
  key_id: string
  /// The key ARN.
  arn: string?
  /// The key's description; absent when empty.
  description: string?
  /// When the key was created.
  creation_date: timestamp?
  /// Whether the key is enabled.
  enabled: bool
  /// `Enabled`, `Disabled`, `PendingDeletion`, `PendingImport`, `Unavailable`, …
  key_state: string?
  /// `CUSTOMER` (yours) or `AWS` (an AWS-managed key).
  key_manager: string?
  /// `ENCRYPT_DECRYPT`, `SIGN_VERIFY`, `GENERATE_VERIFY_MAC`, `KEY_AGREEMENT`.
  key_usage: string?
  /// `SYMMETRIC_DEFAULT`, `RSA_2048`, `ECC_NIST_P256`, `HMAC_256`, …
  key_spec: string?
  /// Where the key material came from: `AWS_KMS`, `EXTERNAL`, `AWS_CLOUDHSM`, `EXTERNAL_KEY_STORE`.
  origin: string?
  /// Whether the key is a multi-Region key.
  multi_region: bool?
  /// When a key pending deletion will be deleted.
  deletion_date: timestamp?
  /// Whether automatic rotation is on (GetKeyRotationStatus); absent for keys that cannot rotate (asymmetric, HMAC, imported, custom key store) and pending deletion.
  key_rotation_enabled: bool?
  /// Days between automatic rotations (GetKeyRotationStatus); absent when rotation is off.
  rotation_period_in_days: int?
  /// The key policy's statements (GetKeyPolicy `default`).
  policy_statements: list<aws.policy.PolicyStatement>
  /// Why the key policy could not be read as a policy; absent when it could.
  policy_error: string?
  /// The key's tags (ListResourceTags; customer-managed keys only).
  tags: map<string>
}
