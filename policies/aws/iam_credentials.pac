package policies.aws.iam_credentials

// The IAM credential report: the root user's use and MFA, and credentials
// left unused. One document per row of the report (the root user's row is
// `<root_account>`). Each policy's tests follow it.

/// True when the row's password has not been used for longer than `d`
/// (never used: since it was set, or since the user was created).
fn password_idle(r: aws.iam.credential_report, d: duration) -> bool =
  if has(r.password_last_used)
    then older_than(r.password_last_used, d)
    else if has(r.password_last_changed)
      then older_than(r.password_last_changed, d)
      else has(r.user_creation_time) and older_than(r.user_creation_time, d)

/// True when an access key of the row is active and has not been used
/// (never used: since it was rotated) for longer than `d`.
fn key_idle(active: bool, last_used: timestamp?, rotated: timestamp?, d: duration) -> bool =
  active
  and (if has(last_used) then older_than(last_used, d) else has(rotated) and older_than(rotated, d))

/// True when `t` is present and within `d` of now.
fn within(t: timestamp?, d: duration) -> bool = has(t) and not older_than(t, d)

/// The root user can do anything and cannot be limited by IAM; daily work
/// with it leaves no way to tell who did what.
policy root_account_used_recently {
  title "Root user used in the last 30 days"
  description "The root user signed in with its password or called the API with an access key within the last 30 days."
  severity high
  category security
  remediation "Find who used the root user (CloudTrail userIdentity.type = Root), give them an IAM role for the task, and keep the root credentials locked away."
  tags ["cis-aws-1.5:1.7"]

  rule on aws.iam.credential_report {
    let by_password = within(password_last_used, 30d)
    let by_key =
      within(access_key_1_last_used_date, 30d) or within(access_key_2_last_used_date, 30d)
    violation when is_root and (by_password or by_key)
    message "the root user was used in the last 30 days (password: {by_password}, access key: {by_key})"
  }
}

test "a root sign-in last week fails" {
  now 2026-12-01
  given aws.iam.credential_report root {
    user: "<root_account>",
    arn: "arn:aws:iam::123456789012:root",
    is_root: true,
    password_last_used: 2026-11-24,
    mfa_active: true,
    access_key_1_active: false,
    access_key_2_active: false,
    cert_1_active: false,
    cert_2_active: false,
  }
  expect root_account_used_recently fails root
}

test "a root access key used yesterday fails" {
  now 2026-12-01
  given aws.iam.credential_report root {
    user: "<root_account>",
    is_root: true,
    password_last_used: 2025-01-01,
    mfa_active: true,
    access_key_1_active: true,
    access_key_1_last_used_date: 2026-11-30,
    access_key_2_active: false,
    cert_1_active: false,
    cert_2_active: false,
  }
  expect root_account_used_recently fails root
}

test "a root user last used in spring passes, and so does a busy IAM user" {
  now 2026-12-01
  given aws.iam.credential_report root {
    user: "<root_account>",
    is_root: true,
    password_last_used: 2026-04-01,
    mfa_active: true,
    access_key_1_active: false,
    access_key_2_active: false,
    cert_1_active: false,
    cert_2_active: false,
  }
  given aws.iam.credential_report alice {
    user: "alice",
    is_root: false,
    password_enabled: true,
    password_last_used: 2026-11-30,
    mfa_active: true,
    access_key_1_active: false,
    access_key_2_active: false,
    cert_1_active: false,
    cert_2_active: false,
  }
  expect root_account_used_recently passes root
  expect root_account_used_recently passes alice
}

/// A virtual MFA device lives on a phone that is also used for everything
/// else; CIS asks for a hardware device for the root user.
policy root_hardware_mfa_missing {
  title "Root user's MFA is a virtual device"
  description "The root user has MFA, but through a virtual device (an authenticator app), not a hardware key."
  severity medium
  category security
  remediation "Register a hardware MFA device (a FIDO security key or a hardware TOTP token) for the root user and remove the virtual one."
  tags ["cis-aws-1.5:1.6", "aws-fsbp:IAM.6"]

  rule on aws.iam.credential_report {
    violation when is_root and mfa_active and (virtual_mfa ?? false)
    message "the root user's MFA device is virtual, not hardware"
  }
}

test "a root user with a virtual MFA device fails" {
  given aws.iam.credential_report root {
    user: "<root_account>",
    is_root: true,
    mfa_active: true,
    virtual_mfa: true,
    access_key_1_active: false,
    access_key_2_active: false,
    cert_1_active: false,
    cert_2_active: false,
  }
  expect root_hardware_mfa_missing fails root
}

test "a root user with a hardware device passes; without MFA it is root_mfa_disabled's case" {
  given aws.iam.credential_report hardware {
    user: "<root_account>",
    is_root: true,
    mfa_active: true,
    virtual_mfa: false,
    access_key_1_active: false,
    access_key_2_active: false,
    cert_1_active: false,
    cert_2_active: false,
  }
  given aws.iam.credential_report without {
    user: "<root_account>",
    is_root: true,
    mfa_active: false,
    access_key_1_active: false,
    access_key_2_active: false,
    cert_1_active: false,
    cert_2_active: false,
  }
  expect root_hardware_mfa_missing passes hardware
  expect root_hardware_mfa_missing passes without
}

/// A password or key nobody uses is a credential nobody watches.
policy iam_credentials_unused_45_days {
  title "IAM user credentials unused for 45 days"
  description "An IAM user's console password has not been used (or, never used, set) for more than 45 days, or an active access key has not been used (or, never used, rotated) for more than 45 days."
  severity medium
  category security
  remediation "Remove the console password (aws iam delete-login-profile) or deactivate the key (aws iam update-access-key --status Inactive); delete what nobody claims."
  tags ["cis-aws-1.5:1.12", "aws-fsbp:IAM.22"]

  rule passwords on aws.iam.credential_report {
    violation when not is_root and (password_enabled ?? false) and password_idle(self, 45d)
    message "the console password of {user} has not been used for more than 45 days"
  }
  rule access_keys on aws.iam.credential_report {
    let first =
      key_idle(access_key_1_active, access_key_1_last_used_date, access_key_1_last_rotated, 45d)
    let second =
      key_idle(access_key_2_active, access_key_2_last_used_date, access_key_2_last_rotated, 45d)
    violation when not is_root and (first or second)
    message "an active access key of {user} has not been used for more than 45 days (key 1: {first}, key 2: {second})"
  }
}

test "a password unused since summer fails" {
  now 2026-12-01
  given aws.iam.credential_report bob {
    user: "bob",
    is_root: false,
    password_enabled: true,
    password_last_used: 2026-07-01,
    mfa_active: true,
    access_key_1_active: false,
    access_key_2_active: false,
    cert_1_active: false,
    cert_2_active: false,
  }
  expect iam_credentials_unused_45_days.passwords fails bob
  expect iam_credentials_unused_45_days.access_keys passes bob
}

test "a password set in January and never used fails" {
  now 2026-12-01
  given aws.iam.credential_report carol {
    user: "carol",
    is_root: false,
    user_creation_time: 2026-01-10,
    password_enabled: true,
    password_last_changed: 2026-01-10,
    mfa_active: false,
    access_key_1_active: false,
    access_key_2_active: false,
    cert_1_active: false,
    cert_2_active: false,
  }
  expect iam_credentials_unused_45_days.passwords fails carol
}

test "a second key rotated long ago and never used fails" {
  now 2026-12-01
  given aws.iam.credential_report deploy {
    user: "deploy-bot",
    is_root: false,
    password_enabled: false,
    mfa_active: false,
    access_key_1_active: true,
    access_key_1_last_rotated: 2026-01-01,
    access_key_1_last_used_date: 2026-11-30,
    access_key_2_active: true,
    access_key_2_last_rotated: 2026-02-01,
    cert_1_active: false,
    cert_2_active: false,
  }
  expect iam_credentials_unused_45_days.access_keys fails deploy
  expect iam_credentials_unused_45_days.passwords passes deploy
}

test "recently used credentials, inactive keys and the root user pass" {
  now 2026-12-01
  given aws.iam.credential_report dana {
    user: "dana",
    is_root: false,
    password_enabled: true,
    password_last_used: 2026-11-20,
    mfa_active: true,
    access_key_1_active: true,
    access_key_1_last_rotated: 2026-01-01,
    access_key_1_last_used_date: 2026-11-29,
    access_key_2_active: false,
    access_key_2_last_rotated: 2025-01-01,
    cert_1_active: false,
    cert_2_active: false,
  }
  given aws.iam.credential_report root {
    user: "<root_account>",
    is_root: true,
    password_last_used: 2025-01-01,
    mfa_active: true,
    access_key_1_active: false,
    access_key_2_active: false,
    cert_1_active: false,
    cert_2_active: false,
  }
  expect iam_credentials_unused_45_days passes dana
  expect iam_credentials_unused_45_days passes root
}
