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
  policy_name: string
  /// The policy's ARN, e.g. `arn:aws:iam::aws:policy/AdministratorAccess`.
  policy_arn: string
}

/// An IAM user's access key (ListAccessKeys, plus GetAccessKeyLastUsed); `id` is the access key ID.
schema aws.iam.access_key {
  /// The access key ID, e.g. `AKIAIOSFODNN7EXAMPLE`.
  access_key_id: string
  /// The user the key belongs to, e.g. `alice`.
  user_name: string
  /// `Active` or `Inactive`.
  status: string
  /// When the key was created.
  create_date: timestamp
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
