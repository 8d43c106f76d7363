package aws.iam

// AWS IAM resource types. IAM is global: the implicit `region` is the
// region the inventory was read from (usually `us-east-1`).
// Conventions: see docs/schemas.md.

/// An IAM user (ListUsers/GetUser, plus ListMFADevices, ListAttachedUserPolicies, ListUserPolicies, GetLoginProfile); `id` is the user name.
schema aws.iam.user {
  /// The user name, e.g. `alice`.
  user_name: string
  /// The stable unique ID, e.g. `AIDACKCEVSQ6C2EXAMPLE`.
  user_id: string
  /// The ARN, e.g. `arn:aws:iam::123456789012:user/alice`.
  arn: string
  /// When the user was created.
  create_date: timestamp
  /// When the user's password was last used to sign in; absent if never (or not since Oct 2014).
  password_last_used: timestamp?
  /// Whether the user has a console password (GetLoginProfile, or the credential report); absent when unknown.
  password_enabled: bool?
  /// The user's MFA devices (ListMFADevices); empty when none.
  mfa_devices: list<MfaDevice>
  /// The managed policies attached to the user (ListAttachedUserPolicies).
  attached_policies: list<AttachedPolicy>
  /// The names of the user's inline policies (ListUserPolicies `PolicyNames`).
  policy_names: list<string>
  /// What the user may do through its attached managed policies (default versions) and its inline policies; not through its groups.
  permission_statements: list<aws.policy.PolicyStatement>
  /// Why some of the user's policies could not be read as policy documents; absent when all were.
  policy_error: string?
  /// The user's tags, e.g. `{"team": "payments"}`.
  tags: map<string>
}

/// An MFA device of a user (MFADevice).
record MfaDevice {
  /// The user the device belongs to, e.g. `alice`.
  user_name: string
  /// The serial number (the ARN of a virtual device), e.g. `arn:aws:iam::123456789012:mfa/alice`.
  serial_number: string
  /// When the device was enabled for the user.
  enable_date: timestamp
}

/// A managed policy attached to a user (AttachedPolicy).
record AttachedPolicy {
  /// The policy's name, e.g. `AdministratorAccess`.
  policy_name: string?
  /// The policy's ARN, e.g. `arn:aws:iam::aws:policy/AdministratorAccess`.
  policy_arn: string?
}

/// An IAM user's access key (ListAccessKeys, plus GetAccessKeyLastUsed); `id` is the access key ID.
schema aws.iam.access_key {
  /// The access key ID, e.g. `AKIAIOSFODNN7EXAMPLE`.
  access_key_id: string?
  /// The user the key belongs to, e.g. `alice`.
  user_name: string?
  /// `Active` or `Inactive`.
  status: string?
  /// When the key was created.
  create_date: timestamp?
  /// When the key was last used (GetAccessKeyLastUsed `LastUsedDate`); absent if never used.
  last_used_date: timestamp?
  /// The service the key last accessed, e.g. `s3` (`ServiceName`); absent if never used (AWS sends `N/A`).
  last_used_service: string?
  /// The region the key was last used in, e.g. `us-east-1` (`Region`); absent if never used (AWS sends `N/A`).
  last_used_region: string?
}

/// The account's IAM usage and root-user summary (GetAccountSummary `SummaryMap`); `id` is the account ID.
schema aws.iam.account_summary {
  /// 1 when the root user has access keys, else 0 (`AccountAccessKeysPresent`).
  account_access_keys_present: int
  /// 1 when the root user has MFA enabled, else 0 (`AccountMFAEnabled`).
  account_mfa_enabled: int
  /// 1 when the root user has signing certificates, else 0 (`AccountSigningCertificatesPresent`).
  account_signing_certificates_present: int
  /// The number of IAM users (`Users`).
  users: int
  /// The number of IAM groups (`Groups`).
  groups: int
  /// The number of IAM roles (`Roles`).
  roles: int
  /// The number of customer managed policies (`Policies`).
  policies: int
  /// The number of MFA devices, assigned or not (`MFADevices`).
  mfa_devices: int
  /// The number of MFA devices assigned to a user (`MFADevicesInUse`).
  mfa_devices_in_use: int
}

/// The account's IAM password policy (GetAccountPasswordPolicy); `id` is the account ID. `present` is false when the account has none (AWS then requires 8 characters and nothing else); every other field follows the SDK's shape (the numbers are absent when unset).
schema aws.iam.password_policy {
  /// Whether the account has a password policy at all.
  present: bool
  /// The minimum length (`MinimumPasswordLength`).
  minimum_password_length: int?
  /// Whether a symbol is required (`RequireSymbols`).
  require_symbols: bool?
  /// Whether a number is required (`RequireNumbers`).
  require_numbers: bool?
  /// Whether an uppercase letter is required (`RequireUppercaseCharacters`).
  require_uppercase_characters: bool?
  /// Whether a lowercase letter is required (`RequireLowercaseCharacters`).
  require_lowercase_characters: bool?
  /// Whether users may change their own password (`AllowUsersToChangePassword`).
  allow_users_to_change_password: bool?
  /// Whether passwords expire (`ExpirePasswords`).
  expire_passwords: bool?
  /// Days before a password expires (`MaxPasswordAge`).
  max_password_age: int?
  /// How many previous passwords may not be reused (`PasswordReusePrevention`).
  password_reuse_prevention: int?
  /// Whether an expired password can only be reset by an administrator (`HardExpiry`).
  hard_expiry: bool?
}

/// An IAM role (ListRoles, plus ListAttachedRolePolicies, ListRolePolicies, GetPolicyVersion and GetRolePolicy for what it may do, GetRole for its last use, ListRoleTags); `id` is the role name.
schema aws.iam.role {
  /// The role name, e.g. `deploy`.
  role_name: string
  /// The stable unique ID, e.g. `AROADBQP57FF2AEXAMPLE`.
  role_id: string
  /// The ARN, e.g. `arn:aws:iam::123456789012:role/deploy`.
  arn: string
  /// The path, e.g. `/` or `/aws-service-role/` for a service-linked role.
  path: string
  /// When the role was created.
  create_date: timestamp
  /// The description.
  description: string?
  /// The longest session, in seconds (`MaxSessionDuration`).
  max_session_duration: int?
  /// Whether AWS created the role for a service (path `/aws-service-role/`); its permissions are AWS's to set.
  service_linked: bool
  /// Who may assume the role: the statements of its trust policy (`AssumeRolePolicyDocument`).
  trust_statements: list<aws.policy.PolicyStatement>
  /// The managed policies attached to the role (ListAttachedRolePolicies).
  attached_policies: list<AttachedPolicy>
  /// The names of the role's inline policies (ListRolePolicies).
  policy_names: list<string>
  /// What the role may do: every statement of its attached managed policies (default versions) and of its inline policies.
  permission_statements: list<aws.policy.PolicyStatement>
  /// Why some of the role's policies could not be read as policy documents, or that there were more than 2,000 statements; absent when all were read.
  policy_error: string?
  /// When the role was last used to make a call (GetRole `RoleLastUsed`); absent if never, or not within AWS's tracking period.
  last_used_date: timestamp?
  /// The region the role was last used in.
  last_used_region: string?
  /// The role's tags.
  tags: map<string>
}

/// A managed IAM policy (ListPolicies: every customer managed policy, the AWS managed ones attached to something, and always `AWSSupportAccess`); `id` is the policy ARN.
schema aws.iam.policy {
  /// The name, e.g. `AdministratorAccess`.
  policy_name: string?
  /// The stable unique ID.
  policy_id: string?
  /// The ARN, e.g. `arn:aws:iam::aws:policy/AdministratorAccess`.
  arn: string?
  /// The path, e.g. `/`.
  path: string?
  /// The description.
  description: string?
  /// The version in force, e.g. `v3`.
  default_version_id: string?
  /// How many users, groups and roles it is attached to.
  attachment_count: int?
  /// How many users and roles use it as a permissions boundary.
  permissions_boundary_usage_count: int?
  /// Whether it can be attached.
  is_attachable: bool?
  /// When it was created.
  create_date: timestamp?
  /// When its default version last changed.
  update_date: timestamp?
  /// Whether AWS maintains it (an ARN `arn:aws:iam::aws:policy/…`).
  aws_managed: bool
  /// The statements of its default version (GetPolicyVersion).
  statements: list<aws.policy.PolicyStatement>
  /// Why the default version could not be read as a policy document; absent when it was.
  policy_error: string?
}

/// One row of the account's IAM credential report (GenerateCredentialReport, GetCredentialReport): a user, or the root user (`<root_account>`); `id` is the user name. Values the report gives as `N/A`, `no_information` or `not_supported` are absent.
schema aws.iam.credential_report {
  /// The user name, or `<root_account>`.
  user: string
  /// The user's ARN (for the root user `arn:aws:iam::123456789012:root`).
  arn: string?
  /// Whether this row is the root user's.
  is_root: bool
  /// When the user was created.
  user_creation_time: timestamp?
  /// Whether the user has a console password (absent for the root user: the report says `not_supported`).
  password_enabled: bool?
  /// When the password was last used to sign in; absent if never, or not since October 2014.
  password_last_used: timestamp?
  /// When the password was last set.
  password_last_changed: timestamp?
  /// When the password policy requires the next change.
  password_next_rotation: timestamp?
  /// Whether an MFA device is enabled for the user.
  mfa_active: bool
  /// Whether the root user's MFA device is virtual (ListVirtualMFADevices); only on the root user's row, absent elsewhere.
  virtual_mfa: bool?
  /// Whether the first access key is active.
  access_key_1_active: bool
  /// When the first access key was created or last rotated.
  access_key_1_last_rotated: timestamp?
  /// When the first access key was last used.
  access_key_1_last_used_date: timestamp?
  /// Where the first access key was last used.
  access_key_1_last_used_region: string?
  /// Which service the first access key last called.
  access_key_1_last_used_service: string?
  /// Whether the second access key is active.
  access_key_2_active: bool
  /// When the second access key was created or last rotated.
  access_key_2_last_rotated: timestamp?
  /// When the second access key was last used.
  access_key_2_last_used_date: timestamp?
  /// Where the second access key was last used.
  access_key_2_last_used_region: string?
  /// Which service the second access key last called.
  access_key_2_last_used_service: string?
  /// Whether the first X.509 signing certificate is active.
  cert_1_active: bool
  /// Whether the second X.509 signing certificate is active.
  cert_2_active: bool
}

/// An SSL/TLS server certificate stored in IAM (ListServerCertificates `ServerCertificateMetadataList`), the older alternative to ACM for load balancers and CloudFront; `id` is the certificate name.
schema aws.iam.server_certificate {
  /// The certificate's name, e.g. `shop-2025`.
  server_certificate_name: string
  /// The stable unique ID.
  server_certificate_id: string
  /// The ARN, e.g. `arn:aws:iam::123456789012:server-certificate/shop-2025`.
  arn: string
  /// The path, e.g. `/` or `/cloudfront/`.
  path: string
  /// When it was uploaded.
  upload_date: timestamp?
  /// When it expires.
  expiration: timestamp?
}
