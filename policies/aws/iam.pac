package policies.aws.iam

// IAM: the root user, users, access keys. Each policy's tests follow it.
// Access keys and the account summary have no tags, so their notifications
// go to a fixed address.

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// AWS managed policies that grant full administrative or full IAM access
/// (IAMFullAccess is a one-step privilege escalation to admin).
fn admin_managed_policies() -> list<string> = ["AdministratorAccess", "IAMFullAccess"]

/// True when the attached policy is an AWS managed admin policy, in any
/// partition (`arn:aws:`, `arn:aws-us-gov:`, `arn:aws-cn:`). The ARN decides;
/// an attachment reported without one is judged by its name.
fn is_admin_managed_policy(p: aws.iam.AttachedPolicy) -> bool =
  if has(p.policy_arn)
    then any n in admin_managed_policies(): ends_with(p.policy_arn, ":iam::aws:policy/" + n)
    else (p.policy_name ?? "") in admin_managed_policies()

// ---------------------------------------------------------------------------
// Root user
// ---------------------------------------------------------------------------

/// Root access keys cannot be scoped by IAM policies or SCPs' principal
/// conditions; a leaked one is a full account compromise.
policy root_access_keys_present {
  title "Root user has access keys"
  description "GetAccountSummary reports AccountAccessKeysPresent = 1."
  severity critical
  category security
  remediation "Sign in as root, delete the root access keys (Security credentials page), and move automation to IAM roles."
  tags ["cis-aws-1.5:1.4", "aws-fsbp:IAM.4"]

  rule on aws.iam.account_summary {
    violation when root_has_access_keys(self)
    message "the root user of account {account} has access keys"
  }

  autofix notify_only() notify "secops@example.com"
}

test "root keys fail, no root keys pass" {
  given aws.iam.account_summary keyed {
    id: "111122223333",
    account: "111122223333",
    account_access_keys_present: 1,
    account_mfa_enabled: 1,
    account_signing_certificates_present: 0,
    users: 12,
    groups: 3,
    roles: 40,
    policies: 15,
    mfa_devices: 10,
    mfa_devices_in_use: 10,
  }
  given aws.iam.account_summary clean {
    id: "444455556666",
    account: "444455556666",
    account_access_keys_present: 0,
    account_mfa_enabled: 1,
    account_signing_certificates_present: 0,
    users: 12,
    groups: 3,
    roles: 40,
    policies: 15,
    mfa_devices: 10,
    mfa_devices_in_use: 10,
  }
  expect root_access_keys_present fails keyed
  expect root_access_keys_present passes clean
}

/// The root user can do anything, including closing the account; a
/// password alone is not enough.
policy root_mfa_disabled {
  title "Root user has no MFA"
  description "GetAccountSummary reports AccountMFAEnabled = 0. PacBot ships this check as \"MFA should be enabled for Root User\" (without a rule key)."
  severity critical
  category security
  remediation "Sign in as root and assign an MFA device (a hardware key or passkey, per CIS 1.6) to the root user."
  tags ["cis-aws-1.5:1.5", "aws-fsbp:IAM.9"]

  rule on aws.iam.account_summary {
    violation when not root_has_mfa(self)
    message "the root user of account {account} has no MFA device ({users} IAM users, {mfa_devices_in_use} MFA devices in use)"
  }

  autofix notify_only() notify "secops@example.com"
}

test "no root MFA fails, root MFA passes" {
  given aws.iam.account_summary no_mfa {
    id: "111122223333",
    account: "111122223333",
    account_access_keys_present: 0,
    account_mfa_enabled: 0,
    account_signing_certificates_present: 0,
    users: 5,
    groups: 1,
    roles: 20,
    policies: 4,
    mfa_devices: 2,
    mfa_devices_in_use: 2,
  }
  given aws.iam.account_summary with_mfa {
    id: "444455556666",
    account: "444455556666",
    account_access_keys_present: 0,
    account_mfa_enabled: 1,
    account_signing_certificates_present: 0,
    users: 5,
    groups: 1,
    roles: 20,
    policies: 4,
    mfa_devices: 3,
    mfa_devices_in_use: 3,
  }
  expect root_mfa_disabled fails no_mfa
  expect root_mfa_disabled passes with_mfa
}

/// X.509 signing certificates of the root user authenticate SOAP calls
/// as root: a credential with every right that nobody should need.
policy root_signing_certificates_present {
  title "Root user has signing certificates"
  description "GetAccountSummary reports AccountSigningCertificatesPresent = 1: the root user has X.509 signing certificates."
  severity high
  category security
  remediation "Sign in as root, open Security credentials and delete the X.509 certificates (after checking nothing still signs with them)."
  tags ["root-credentials"]

  rule on aws.iam.account_summary {
    violation when account_signing_certificates_present > 0
    message "the root user of account {account} has X.509 signing certificates"
  }

  autofix notify_only() notify "secops@example.com"
}

test "a root user with signing certificates fails" {
  given aws.iam.account_summary signed {
    id: "111122223333",
    account: "111122223333",
    account_access_keys_present: 0,
    account_mfa_enabled: 1,
    account_signing_certificates_present: 1,
    users: 5,
    groups: 1,
    roles: 20,
    policies: 4,
    mfa_devices: 2,
    mfa_devices_in_use: 2,
  }
  expect root_signing_certificates_present fails signed
}

test "a root user without signing certificates passes" {
  given aws.iam.account_summary unsigned {
    id: "444455556666",
    account: "444455556666",
    account_access_keys_present: 0,
    account_mfa_enabled: 1,
    account_signing_certificates_present: 0,
    users: 5,
    groups: 1,
    roles: 20,
    policies: 4,
    mfa_devices: 2,
    mfa_devices_in_use: 2,
  }
  expect root_signing_certificates_present passes unsigned
}

// ---------------------------------------------------------------------------
// Users
// ---------------------------------------------------------------------------

/// A console password without MFA falls to phishing and password reuse.
policy iam_console_user_without_mfa {
  title "IAM user with a console password has no MFA"
  description "The user has a console password (login profile) and no MFA device."
  severity high
  category security
  remediation "Assign an MFA device to the user, and enforce MFA with an IAM policy denying actions when aws:MultiFactorAuthPresent is false; prefer IAM Identity Center for people."
  tags ["cis-aws-1.5:1.10", "aws-fsbp:IAM.5"]

  rule on aws.iam.user {
    let last_sign_in = if has(password_last_used) then format_date(password_last_used) else "never"
    violation when console_user_without_mfa(self)
    message "IAM user {user_name} ({arn}) can sign in to the console without MFA; last sign-in: {last_sign_in}"
  }

  autofix notify_only() notify tags["owner"] ?? "secops@example.com"
}

test "a console user without MFA fails; with MFA, or without a password, passes" {
  given aws.iam.user alice {
    user_name: "alice",
    user_id: "AIDAALICE000000000001",
    arn: "arn:aws:iam::111122223333:user/alice",
    create_date: 2025-01-10,
    password_enabled: true,
    password_last_used: 2026-10-01T08:00:00Z,
  }
  given aws.iam.user bob {
    user_name: "bob",
    user_id: "AIDABOB00000000000002",
    arn: "arn:aws:iam::111122223333:user/bob",
    create_date: 2025-01-10,
    password_enabled: true,
    mfa_devices: [
      {
        user_name: "bob",
        serial_number: "arn:aws:iam::111122223333:mfa/bob",
        enable_date: 2025-01-11,
      },
    ],
  }
  given aws.iam.user ci {
    user_name: "ci-deployer",
    user_id: "AIDACI000000000000003",
    arn: "arn:aws:iam::111122223333:user/ci-deployer",
    create_date: 2025-01-10,
    password_enabled: false,
  }
  expect iam_console_user_without_mfa fails alice
  expect iam_console_user_without_mfa passes bob
  expect iam_console_user_without_mfa passes ci
}

/// A console login nobody uses is an attack surface with no owner watching it.
policy iam_user_inactive {
  title "IAM user has not signed in for more than 90 days"
  description "The user has a console password and has not used it for more than 90 days (never used: counted from the user's creation)."
  severity medium
  category security
  remediation "Delete the user's login profile (console password), or the user if it is no longer needed."
  tags ["aws-fsbp:IAM.8", "pacbot:check-for-inactive-iam-users"]

  rule on aws.iam.user {
    let last = password_last_used ?? create_date
    let idle_days = in_days(age(last))
    let last_sign_in = if has(password_last_used) then format_date(password_last_used) else "never"
    violation when (password_enabled ?? false) and older_than(last, 90d)
    message "IAM user {user_name} has a console password unused for {idle_days} days (last sign-in: {last_sign_in}, created {create_date})"
  }

  autofix notify_only() notify tags["owner"] ?? "secops@example.com"
}

test "a password unused since spring fails; a recent sign-in passes; a never-used new user passes" {
  now 2026-11-01
  given aws.iam.user stale {
    user_name: "carol",
    user_id: "AIDACAROL000000000004",
    arn: "arn:aws:iam::111122223333:user/carol",
    create_date: 2024-01-10,
    password_enabled: true,
    password_last_used: 2026-04-01,
  }
  given aws.iam.user active {
    user_name: "dave",
    user_id: "AIDADAVE0000000000005",
    arn: "arn:aws:iam::111122223333:user/dave",
    create_date: 2024-01-10,
    password_enabled: true,
    password_last_used: 2026-10-30,
  }
  given aws.iam.user newcomer {
    user_name: "erin",
    user_id: "AIDAERIN0000000000006",
    arn: "arn:aws:iam::111122223333:user/erin",
    create_date: 2026-10-15,
    password_enabled: true,
  }
  expect iam_user_inactive fails stale
  expect iam_user_inactive passes active
  expect iam_user_inactive passes newcomer
}

/// Permissions granted to users one by one drift and are never reviewed;
/// grant them through groups (or roles).
policy iam_user_direct_policies {
  title "IAM user has policies attached directly"
  description "The user has managed policies attached or inline policies of its own, instead of receiving permissions only through IAM groups."
  severity low
  category governance
  remediation "Move the permissions to an IAM group (or a role) and add the user to it; detach the user's managed policies and delete its inline policies."
  tags ["cis-aws-1.5:1.15", "aws-fsbp:IAM.2"]

  rule on aws.iam.user {
    let direct = len(attached_policies) + len(policy_names)
    violation when direct > 0
    message "IAM user {user_name} has {direct} policy(ies) attached directly"
  }
}

test "an inline policy fails; a user with no direct policies passes" {
  given aws.iam.user inline {
    user_name: "frank",
    user_id: "AIDAFRANK000000000007",
    arn: "arn:aws:iam::111122223333:user/frank",
    create_date: 2025-01-10,
    policy_names: ["s3-temp-access"],
  }
  given aws.iam.user grouped {
    user_name: "grace",
    user_id: "AIDAGRACE000000000008",
    arn: "arn:aws:iam::111122223333:user/grace",
    create_date: 2025-01-10,
  }
  expect iam_user_direct_policies fails inline
  expect iam_user_direct_policies passes grouped
}

/// Full admin (or full IAM, which reaches admin in one step) on a long-lived
/// user is the most valuable credential in the account.
policy iam_user_admin_access {
  title "IAM user has AdministratorAccess or IAMFullAccess attached"
  description "The AWS managed policy AdministratorAccess or IAMFullAccess is attached directly to the user."
  severity high
  category security
  remediation "Detach the policy; give administrators a role assumed with MFA (or IAM Identity Center permission sets) with the least privilege they need."
  tags ["cis-aws-1.5:1.16", "pacbot:iam-user-with-unapproved-access"]

  rule on aws.iam.user {
    let admin = count p in attached_policies: is_admin_managed_policy(p)
    violation when admin > 0
    message "IAM user {user_name} ({arn}) has {admin} administrative managed policy(ies) attached"
  }

  autofix notify_only() notify tags["owner"] ?? "secops@example.com"
}

test "AdministratorAccess fails; ReadOnlyAccess passes" {
  given aws.iam.user admin {
    user_name: "heidi",
    user_id: "AIDAHEIDI000000000009",
    arn: "arn:aws:iam::111122223333:user/heidi",
    create_date: 2025-01-10,
    attached_policies: [
      {
        policy_name: "AdministratorAccess",
        policy_arn: "arn:aws:iam::aws:policy/AdministratorAccess",
      },
    ],
  }
  given aws.iam.user reader {
    user_name: "ivan",
    user_id: "AIDAIVAN0000000000010",
    arn: "arn:aws:iam::111122223333:user/ivan",
    create_date: 2025-01-10,
    attached_policies: [
      { policy_name: "ReadOnlyAccess", policy_arn: "arn:aws:iam::aws:policy/ReadOnlyAccess" },
    ],
  }
  expect iam_user_admin_access fails admin
  expect iam_user_admin_access passes reader
}

test "a customer managed policy named AdministratorAccess is not the AWS managed one" {
  given aws.iam.user lookalike {
    user_name: "judy",
    user_id: "AIDAJUDY0000000000011",
    arn: "arn:aws:iam::111122223333:user/judy",
    create_date: 2025-01-10,
    attached_policies: [
      {
        policy_name: "AdministratorAccess",
        policy_arn: "arn:aws:iam::111122223333:policy/AdministratorAccess",
      },
    ],
  }
  expect iam_user_admin_access passes lookalike
}

test "an admin attachment reported by ARN only, or by name only, fails" {
  given aws.iam.user by_arn {
    user_name: "judy",
    user_id: "AIDAJUDY0000000000011",
    arn: "arn:aws:iam::111122223333:user/judy",
    create_date: 2025-01-10,
    attached_policies: [{ policy_arn: "arn:aws:iam::aws:policy/IAMFullAccess" }],
  }
  given aws.iam.user by_name {
    user_name: "mallory",
    user_id: "AIDAMALLORY000000012",
    arn: "arn:aws:iam::111122223333:user/mallory",
    create_date: 2025-01-10,
    attached_policies: [{ policy_name: "AdministratorAccess" }],
  }
  given aws.iam.user unnamed {
    user_name: "niaj",
    user_id: "AIDANIAJ0000000000013",
    arn: "arn:aws:iam::111122223333:user/niaj",
    create_date: 2025-01-10,
    attached_policies: [{}],
  }
  expect iam_user_admin_access fails by_arn
  expect iam_user_admin_access fails by_name
  expect iam_user_admin_access passes unnamed
}

// ---------------------------------------------------------------------------
// Access keys
// ---------------------------------------------------------------------------

/// Long-lived keys leak (repositories, laptops, CI logs); rotating them
/// bounds how long a leaked key works.
policy iam_access_key_not_rotated {
  title "Active IAM access key older than 90 days"
  description "The access key is Active and was created more than 90 days ago. The auto-fix deactivates it (not deletes) after a 14-day notice."
  severity high
  category security
  remediation "Create a second key, switch the application to it, deactivate then delete the old key; better, replace the user's keys with a role."
  tags [
    "cis-aws-1.5:1.14",
    "aws-fsbp:IAM.3",
    "pacbot:check-for-accesskeys-rotated-in-every-90-days",
  ]

  rule on aws.iam.access_key {
    let age_days = in_days(age(create_date ?? now))
    violation when is_active_key(self) and (not has(create_date) or older_than(create_date, 90d))
    message "access key {id} of {user_name} is {age_days} days old (created {create_date})"
  }

  autofix deactivate_access_key() after 2w notify "secops@example.com"
}

test "a 10-month-old active key fails; a new key and an old inactive key pass" {
  now 2026-11-01
  given aws.iam.access_key old {
    access_key_id: "AKIAOLD0000000000001",
    user_name: "ci-deployer",
    status: "Active",
    create_date: 2026-01-01,
    last_used_date: 2026-10-31,
    last_used_service: "s3",
  }
  given aws.iam.access_key fresh {
    access_key_id: "AKIANEW0000000000002",
    user_name: "ci-deployer",
    status: "Active",
    create_date: 2026-09-15,
  }
  given aws.iam.access_key retired {
    access_key_id: "AKIARETIRED000000003",
    user_name: "ci-deployer",
    status: "Inactive",
    create_date: 2025-01-01,
  }
  expect iam_access_key_not_rotated fails old
  expect iam_access_key_not_rotated passes fresh
  expect iam_access_key_not_rotated passes retired
}

test "an active key that does not report its creation date fails; so does a key that does not report its status" {
  now 2026-11-01
  given aws.iam.access_key undated {
    access_key_id: "AKIAUNDATED000000001",
    user_name: "ci-deployer",
    status: "Active",
  }
  given aws.iam.access_key no_status {
    access_key_id: "AKIANOSTATUS00000002",
    user_name: "ci-deployer",
    create_date: 2025-01-01,
  }
  given aws.iam.access_key undated_inactive {
    access_key_id: "AKIAUNDATEDOFF000003",
    user_name: "ci-deployer",
    status: "Inactive",
  }
  expect iam_access_key_not_rotated fails undated
  expect iam_access_key_not_rotated fails no_status
  expect iam_access_key_not_rotated passes undated_inactive
}

/// A key nobody has used for three months is not needed; it is only a risk.
policy iam_access_key_unused {
  title "Active IAM access key unused for more than 90 days"
  description "The access key is Active and its last use (or, if never used, its creation) is more than 90 days ago. CIS 1.12 uses a stricter 45 days; adjust the duration to match your benchmark."
  severity medium
  category security
  remediation "Deactivate the key, then delete it if nothing breaks."
  tags ["cis-aws-1.5:1.12", "aws-fsbp:IAM.8", "pacbot:check-for-inactive-iam-users"]

  rule on aws.iam.access_key {
    let last = last_activity(self)
    let idle_days = in_days(age(last ?? now))
    let last_use = if has(last_used_date) then format_date(last_used_date) else "never"
    violation when is_active_key(self) and (not has(last) or older_than(last, 90d))
    message "access key {id} of {user_name} has been idle for {idle_days} days (last used: {last_use}, created {create_date})"
  }

  autofix deactivate_access_key() after 1w notify "secops@example.com"
}

test "a key last used in March fails; a never-used old key fails; a key used yesterday passes" {
  now 2026-11-01
  given aws.iam.access_key idle {
    access_key_id: "AKIAIDLE000000000001",
    user_name: "reporting",
    status: "Active",
    create_date: 2025-06-01,
    last_used_date: 2026-03-01,
    last_used_service: "athena",
    last_used_region: "eu-west-1",
  }
  given aws.iam.access_key never_used {
    access_key_id: "AKIANEVER00000000002",
    user_name: "reporting",
    status: "Active",
    create_date: 2026-02-01,
  }
  given aws.iam.access_key busy {
    access_key_id: "AKIABUSY000000000003",
    user_name: "reporting",
    status: "Active",
    create_date: 2025-06-01,
    last_used_date: 2026-10-31,
  }
  expect iam_access_key_unused fails idle
  expect iam_access_key_unused fails never_used
  expect iam_access_key_unused passes busy
}

test "an active key that reports neither a last use nor a creation date fails" {
  now 2026-11-01
  given aws.iam.access_key undated {
    access_key_id: "AKIAUNDATED000000001",
    user_name: "reporting",
    status: "Active",
  }
  expect iam_access_key_unused fails undated
}

/// CIS 1.8 and 1.9: console passwords long enough to resist guessing, and
/// no reuse of recent ones. An account without a password policy gets
/// AWS's default (8 characters, reuse allowed) and fails both rules.
policy iam_password_policy_weak {
  title "IAM password policy is missing or weak"
  description "The account has no IAM password policy, or it allows passwords shorter than 14 characters (CIS 1.8) or the reuse of any of the last 24 passwords (CIS 1.9)."
  severity medium
  category security
  remediation "Set the account password policy: aws iam update-account-password-policy --minimum-password-length 14 --password-reuse-prevention 24 (keep your other settings)."
  tags ["cis-aws-1.5:1.8", "cis-aws-1.5:1.9", "aws-fsbp:IAM.7", "pacbot:check-iam-password-policy"]

  rule length on aws.iam.password_policy {
    let length = minimum_password_length ?? 8
    violation when length < 14
    message "the account's password policy accepts passwords of {length} characters (CIS 1.8 asks for 14 or more)"
  }
  rule reuse on aws.iam.password_policy {
    let remembered = password_reuse_prevention ?? 0
    violation when remembered < 24
    message "the account's password policy blocks the reuse of only the last {remembered} passwords (CIS 1.9 asks for 24)"
  }

  autofix set_iam_password_policy(minimum_length: 14, reuse_prevention: 24)
    after 1d
    notify "secops@example.com"
}

test "no password policy fails both rules; CIS settings pass; a short minimum fails the length rule only" {
  given aws.iam.password_policy no_policy { present: false }
  given aws.iam.password_policy cis {
    present: true,
    minimum_password_length: 14,
    password_reuse_prevention: 24,
    require_symbols: true,
  }
  given aws.iam.password_policy short {
    present: true,
    minimum_password_length: 8,
    password_reuse_prevention: 24,
  }
  expect iam_password_policy_weak.length fails no_policy
  expect iam_password_policy_weak.reuse fails no_policy
  expect iam_password_policy_weak passes cis
  expect iam_password_policy_weak.length fails short
  expect iam_password_policy_weak.reuse passes short
}

/// Requiring every character class multiplies the space a password
/// guesser has to search at a given length.
policy iam_password_policy_no_complexity {
  title "IAM password policy does not require every character class"
  description "The account has no IAM password policy, or it does not require an uppercase letter (FSBP IAM.11), a lowercase letter (IAM.12), a symbol (IAM.13) or a number (IAM.14). One rule per class."
  severity low
  category security
  remediation "aws iam update-account-password-policy --require-uppercase-characters --require-lowercase-characters --require-symbols --require-numbers, repeating your other settings (the call replaces the whole policy)."
  tags ["aws-fsbp:IAM.11", "aws-fsbp:IAM.12", "aws-fsbp:IAM.13", "aws-fsbp:IAM.14"]

  rule uppercase on aws.iam.password_policy {
    violation when not (require_uppercase_characters ?? false)
    message "the account's password policy does not require an uppercase letter (present: {present})"
  }
  rule lowercase on aws.iam.password_policy {
    violation when not (require_lowercase_characters ?? false)
    message "the account's password policy does not require a lowercase letter (present: {present})"
  }
  rule symbols on aws.iam.password_policy {
    violation when not (require_symbols ?? false)
    message "the account's password policy does not require a symbol (present: {present})"
  }
  rule numbers on aws.iam.password_policy {
    violation when not (require_numbers ?? false)
    message "the account's password policy does not require a number (present: {present})"
  }
}

test "an account without a password policy fails every character-class rule" {
  given aws.iam.password_policy none_set { present: false }
  expect iam_password_policy_no_complexity.uppercase fails none_set
  expect iam_password_policy_no_complexity.lowercase fails none_set
  expect iam_password_policy_no_complexity.symbols fails none_set
  expect iam_password_policy_no_complexity.numbers fails none_set
}

test "a policy requiring every class passes" {
  given aws.iam.password_policy complex {
    present: true,
    minimum_password_length: 14,
    require_uppercase_characters: true,
    require_lowercase_characters: true,
    require_symbols: true,
    require_numbers: true,
  }
  expect iam_password_policy_no_complexity passes complex
}

test "a policy requiring letters but not symbols or numbers fails only those rules" {
  given aws.iam.password_policy letters_only {
    present: true,
    minimum_password_length: 14,
    require_uppercase_characters: true,
    require_lowercase_characters: true,
    require_symbols: false,
  }
  expect iam_password_policy_no_complexity.uppercase passes letters_only
  expect iam_password_policy_no_complexity.lowercase passes letters_only
  expect iam_password_policy_no_complexity.symbols fails letters_only
  expect iam_password_policy_no_complexity.numbers fails letters_only
}

/// FSBP asks for console passwords to expire within 90 days, bounding how
/// long a leaked password stays usable (NIST SP 800-63B argues against
/// forced expiry: except this policy if you follow it).
policy iam_password_policy_no_expiry {
  title "IAM passwords do not expire within 90 days"
  description "The account has no IAM password policy, its passwords do not expire (ExpirePasswords false), or MaxPasswordAge is over 90 days."
  severity low
  category security
  remediation "aws iam update-account-password-policy --max-password-age 90, repeating your other settings (the call replaces the whole policy)."
  tags ["aws-fsbp:IAM.17"]

  rule on aws.iam.password_policy {
    let max_age = max_password_age ?? 0
    violation when not (expire_passwords ?? false) or max_age == 0 or max_age > 90
    message "the account's passwords expire after {max_age} days (0: never); FSBP IAM.17 asks for 90 or fewer"
  }
}

test "passwords that never expire fail" {
  given aws.iam.password_policy never { present: true, expire_passwords: false }
  given aws.iam.password_policy absent { present: false }
  expect iam_password_policy_no_expiry fails never
  expect iam_password_policy_no_expiry fails absent
}

test "a 180-day maximum age fails" {
  given aws.iam.password_policy half_year {
    present: true,
    expire_passwords: true,
    max_password_age: 180,
  }
  expect iam_password_policy_no_expiry fails half_year
}

test "expiry on without a maximum age fails" {
  given aws.iam.password_policy no_age { present: true, expire_passwords: true }
  expect iam_password_policy_no_expiry fails no_age
}

test "a 90-day maximum age passes" {
  given aws.iam.password_policy quarterly {
    present: true,
    expire_passwords: true,
    max_password_age: 90,
  }
  expect iam_password_policy_no_expiry passes quarterly
}

/// Two active keys for one user double what can leak, and usually mean an
/// old key was never retired after a rotation.
policy iam_user_multiple_active_keys {
  title "IAM user has more than one active access key"
  description "The user has two active access keys (aws.iam.access_key documents of the same user with status Active)."
  severity medium
  category security
  remediation "Finish the rotation: move every client to the newer key, then deactivate and delete the older one."
  tags ["cis-aws-1.5:1.13"]

  rule on aws.iam.user {
    let active =
      count k in aws.iam.access_key:
        has(k.user_name) and k.user_name == user_name and is_active_key(k)
    violation when active > 1
    message "user {user_name} has {active} active access keys"
  }
}

test "two active keys fail; one active and one inactive pass" {
  given aws.iam.user two {
    user_name: "two",
    user_id: "AIDATWO",
    arn: "arn:aws:iam::111122223333:user/two",
    create_date: 2025-01-01,
  }
  given aws.iam.user one {
    user_name: "one",
    user_id: "AIDAONE",
    arn: "arn:aws:iam::111122223333:user/one",
    create_date: 2025-01-01,
  }
  given aws.iam.access_key two_a {
    access_key_id: "AKIATWOA",
    user_name: "two",
    status: "Active",
    create_date: 2026-01-01,
  }
  given aws.iam.access_key two_b {
    access_key_id: "AKIATWOB",
    user_name: "two",
    status: "Active",
    create_date: 2026-06-01,
  }
  given aws.iam.access_key one_a {
    access_key_id: "AKIAONEA",
    user_name: "one",
    status: "Active",
    create_date: 2026-01-01,
  }
  given aws.iam.access_key one_b {
    access_key_id: "AKIAONEB",
    user_name: "one",
    status: "Inactive",
    create_date: 2025-01-01,
  }
  expect iam_user_multiple_active_keys fails two
  expect iam_user_multiple_active_keys passes one
}

test "a key that does not report its status counts as active; a key that does not name its user counts for nobody" {
  given aws.iam.user three {
    user_name: "three",
    user_id: "AIDATHREE",
    arn: "arn:aws:iam::111122223333:user/three",
    create_date: 2025-01-01,
  }
  given aws.iam.user four {
    user_name: "four",
    user_id: "AIDAFOUR",
    arn: "arn:aws:iam::111122223333:user/four",
    create_date: 2025-01-01,
  }
  given aws.iam.access_key three_a {
    access_key_id: "AKIATHREEA",
    user_name: "three",
    status: "Active",
    create_date: 2026-01-01,
  }
  given aws.iam.access_key three_b { access_key_id: "AKIATHREEB", user_name: "three" }
  given aws.iam.access_key four_a {
    access_key_id: "AKIAFOURA",
    user_name: "four",
    status: "Active",
    create_date: 2026-01-01,
  }
  given aws.iam.access_key orphan { access_key_id: "AKIAORPHAN", status: "Active" }
  expect iam_user_multiple_active_keys fails three
  expect iam_user_multiple_active_keys passes four
}

/// An expired certificate left in IAM can be attached to a load balancer
/// by mistake and serves nothing.
policy iam_server_certificate_expired {
  title "Expired server certificate stored in IAM"
  description "An SSL/TLS server certificate stored in IAM has expired."
  severity low
  category operations
  remediation "Delete it: aws iam delete-server-certificate --server-certificate-name <name> (check no load balancer still uses it)."
  tags ["cis-aws-1.5:1.19"]

  rule on aws.iam.server_certificate {
    violation when has(expiration) and expiration < now
    message "server certificate {server_certificate_name} expired on {expiration}"
  }
}

test "a certificate that expired in June fails" {
  now 2026-12-01
  given aws.iam.server_certificate old {
    server_certificate_name: "shop-2025",
    server_certificate_id: "ASCA0OLD",
    arn: "arn:aws:iam::123456789012:server-certificate/shop-2025",
    path: "/",
    expiration: 2026-06-01,
  }
  expect iam_server_certificate_expired fails old
}

test "a valid certificate passes" {
  now 2026-12-01
  given aws.iam.server_certificate current {
    server_certificate_name: "shop-2026",
    server_certificate_id: "ASCA0NEW",
    arn: "arn:aws:iam::123456789012:server-certificate/shop-2026",
    path: "/",
    expiration: 2027-06-01,
  }
  expect iam_server_certificate_expired passes current
}

/// A certificate in IAM is never renewed by AWS: someone must replace it
/// before browsers start refusing the site.
policy iam_server_certificate_expiring {
  title "Server certificate stored in IAM expires within 30 days"
  description "An SSL/TLS server certificate stored in IAM expires within the next 30 days."
  severity high
  category operations
  remediation "Upload the renewed certificate (or move the listener to an ACM certificate, which renews itself) and switch the load balancers and distributions to it."
  tags ["pacbot:check-for-iam-certificate-expiry"]

  rule on aws.iam.server_certificate {
    violation when has(expiration) and expiration >= now and expiration < now + 30d
    message "server certificate {server_certificate_name} expires on {expiration}"
  }
}

test "a certificate expiring in two weeks fails" {
  now 2026-12-01
  given aws.iam.server_certificate soon {
    server_certificate_name: "api-2026",
    server_certificate_id: "ASCA0SOON",
    arn: "arn:aws:iam::123456789012:server-certificate/api-2026",
    path: "/",
    expiration: 2026-12-15,
  }
  expect iam_server_certificate_expiring fails soon
}

test "a certificate valid for months, and one already expired, pass" {
  now 2026-12-01
  given aws.iam.server_certificate later {
    server_certificate_name: "api-2027",
    server_certificate_id: "ASCA0LATER",
    arn: "arn:aws:iam::123456789012:server-certificate/api-2027",
    path: "/",
    expiration: 2027-05-01,
  }
  given aws.iam.server_certificate gone {
    server_certificate_name: "api-2025",
    server_certificate_id: "ASCA0GONE",
    arn: "arn:aws:iam::123456789012:server-certificate/api-2025",
    path: "/",
    expiration: 2025-05-01,
  }
  expect iam_server_certificate_expiring passes later
  expect iam_server_certificate_expiring passes gone
}

/// True for a user that a program, not a person, signs in as: tagged
/// `account-type=service`, or named `svc-…`. Edit to your convention.
fn is_service_account(u: aws.iam.user) -> bool =
  (u.tags["account-type"] ?? "") == "service" or starts_with(u.user_name, "svc-")

/// The privileges a service account may not hold: those that change
/// identities or let it act as someone else. Edit to your own list.
fn service_account_forbidden_actions() -> list<string> = [
  "iam:CreateUser",
  "iam:CreateAccessKey",
  "iam:AttachUserPolicy",
  "iam:PutUserPolicy",
  "iam:AttachRolePolicy",
  "iam:PutRolePolicy",
  "iam:PassRole",
  "iam:UpdateAssumeRolePolicy",
  "organizations:LeaveOrganization",
]

/// A service account's long-lived keys end up in build systems and config
/// files; with identity privileges a leaked key becomes an account takeover.
policy iam_service_account_privileges {
  title "Service account holds identity privileges"
  description "A service account (tagged account-type=service or named svc-…) is granted, by its attached or inline policies, an action that creates identities, grants permissions or passes roles (`service_account_forbidden_actions`)."
  severity high
  category security
  remediation "Remove the privilege from the user's policies; if the program must manage identities, give it a role it assumes with a narrow, conditioned policy."
  tags ["pacbot:iam-serviceaccount-privileges-rule"]

  rule on aws.iam.user {
    let held =
      count a in service_account_forbidden_actions(): allows_any_action(permission_statements, [a])
    violation when is_service_account(self) and held > 0
    message "service account {user_name} holds {held} identity privileges (iam:PassRole, iam:Create*, …)"
  }
}

test "a service account allowed iam:* fails" {
  given aws.iam.user ci {
    user_name: "svc-ci",
    user_id: "AIDA0CI",
    arn: "arn:aws:iam::123456789012:user/svc-ci",
    create_date: 2026-01-01,
    permission_statements: [
      {
        effect: "Allow",
        principals: [],
        not_principal: false,
        actions: ["iam:*"],
        resources: ["*"],
        conditions: [],
      },
    ],
  }
  expect iam_service_account_privileges fails ci
}

test "a tagged service account allowed iam:PassRole fails; a person with the same rights is another policy's concern" {
  given aws.iam.user deployer {
    user_name: "deployer",
    user_id: "AIDA0DEP",
    arn: "arn:aws:iam::123456789012:user/deployer",
    create_date: 2026-01-01,
    tags: { "account-type": "service" },
    permission_statements: [
      {
        effect: "Allow",
        principals: [],
        not_principal: false,
        actions: ["iam:PassRole", "ecs:*"],
        resources: ["*"],
        conditions: [],
      },
    ],
  }
  given aws.iam.user alice {
    user_name: "alice",
    user_id: "AIDA0ALICE",
    arn: "arn:aws:iam::123456789012:user/alice",
    create_date: 2026-01-01,
    permission_statements: [
      {
        effect: "Allow",
        principals: [],
        not_principal: false,
        actions: ["iam:PassRole"],
        resources: ["*"],
        conditions: [],
      },
    ],
  }
  expect iam_service_account_privileges fails deployer
  expect iam_service_account_privileges passes alice
}

test "a service account that only reads passes" {
  given aws.iam.user reader {
    user_name: "svc-reader",
    user_id: "AIDA0READ",
    arn: "arn:aws:iam::123456789012:user/svc-reader",
    create_date: 2026-01-01,
    permission_statements: [
      {
        effect: "Allow",
        principals: [],
        not_principal: false,
        actions: ["s3:GetObject", "iam:Get*"],
        resources: ["*"],
        conditions: [],
      },
    ],
  }
  expect iam_service_account_privileges passes reader
}
