package policies.aws.kms

// KMS keys: rotation, keys left pending deletion, policies open to anyone.
// Each policy's tests follow it.

/// True for a key you manage that encrypts data with symmetric material
/// AWS can rotate: the keys CIS asks to rotate.
fn rotatable_customer_key(k: aws.kms.key) -> bool =
  (k.key_manager ?? "") == "CUSTOMER"
  and (k.key_spec ?? "SYMMETRIC_DEFAULT") == "SYMMETRIC_DEFAULT"
  and (k.origin ?? "AWS_KMS") == "AWS_KMS"
  and (k.key_state ?? "") == "Enabled"

/// Rotation limits how much data one key version protects and how long a
/// leaked version stays useful.
policy kms_key_rotation_disabled {
  title "KMS key rotation is off"
  description "A customer-managed symmetric KMS key (material from KMS, enabled) does not rotate automatically."
  severity medium
  category security
  remediation "Turn on automatic rotation: aws kms enable-key-rotation --key-id <key-id>."
  tags ["cis-aws-1.5:3.8", "aws-fsbp:KMS.4"]

  rule on aws.kms.key {
    violation when rotatable_customer_key(self) and not (key_rotation_enabled ?? false)
    message "KMS key {id} ({description}) does not rotate automatically"
  }

  autofix enable_kms_key_rotation() after 1d notify tags["owner"] ?? "secops@example.com"
}

test "a customer key without rotation fails; with rotation, AWS-managed or asymmetric keys pass" {
  given aws.kms.key plain {
    key_id: "1111aaaa-1111-1111-1111-111111111111",
    enabled: true,
    key_state: "Enabled",
    key_manager: "CUSTOMER",
    key_spec: "SYMMETRIC_DEFAULT",
    origin: "AWS_KMS",
    key_rotation_enabled: false,
  }
  given aws.kms.key rotating {
    key_id: "2222bbbb-2222-2222-2222-222222222222",
    enabled: true,
    key_state: "Enabled",
    key_manager: "CUSTOMER",
    key_spec: "SYMMETRIC_DEFAULT",
    origin: "AWS_KMS",
    key_rotation_enabled: true,
    rotation_period_in_days: 365,
  }
  given aws.kms.key aws_managed {
    key_id: "3333cccc-3333-3333-3333-333333333333",
    enabled: true,
    key_state: "Enabled",
    key_manager: "AWS",
    key_spec: "SYMMETRIC_DEFAULT",
  }
  given aws.kms.key signing {
    key_id: "4444dddd-4444-4444-4444-444444444444",
    enabled: true,
    key_state: "Enabled",
    key_manager: "CUSTOMER",
    key_spec: "RSA_2048",
    key_usage: "SIGN_VERIFY",
  }
  expect kms_key_rotation_disabled fails plain
  expect kms_key_rotation_disabled passes rotating
  expect kms_key_rotation_disabled passes aws_managed
  expect kms_key_rotation_disabled passes signing
}

test "a disabled or imported key is not asked to rotate; an unknown rotation state fails" {
  given aws.kms.key disabled {
    key_id: "5555eeee-5555-5555-5555-555555555555",
    enabled: false,
    key_state: "Disabled",
    key_manager: "CUSTOMER",
  }
  given aws.kms.key imported {
    key_id: "6666ffff-6666-6666-6666-666666666666",
    enabled: true,
    key_state: "Enabled",
    key_manager: "CUSTOMER",
    origin: "EXTERNAL",
  }
  given aws.kms.key unknown {
    key_id: "7777aaaa-7777-7777-7777-777777777777",
    enabled: true,
    key_state: "Enabled",
    key_manager: "CUSTOMER",
  }
  expect kms_key_rotation_disabled passes disabled
  expect kms_key_rotation_disabled passes imported
  expect kms_key_rotation_disabled fails unknown
}

/// A key policy that lets anyone use the key hands its data to anyone who
/// can reach the ciphertext.
policy kms_key_policy_public {
  title "KMS key policy allows everyone"
  description "A statement of the key policy allows the principal `*` without a condition."
  severity critical
  category security
  remediation "Replace the `*` principal with the accounts or roles that need the key, or add a condition such as aws:PrincipalOrgID."
  tags ["aws-fsbp:KMS.5"]

  rule on aws.kms.key {
    let open = count s in policy_statements: is_public_statement(s)
    violation when open > 0
    message "KMS key {id} has {open} key policy statement(s) that allow everyone"
  }
}

test "a key policy for the account root passes; Principal * without a condition fails; with one passes" {
  given aws.kms.key private {
    key_id: "8888bbbb-8888-8888-8888-888888888888",
    enabled: true,
    policy_statements: [
      {
        effect: "Allow",
        principals: ["arn:aws:iam::111122223333:root"],
        not_principal: false,
        actions: ["kms:*"],
      },
    ],
  }
  given aws.kms.key open {
    key_id: "9999cccc-9999-9999-9999-999999999999",
    enabled: true,
    policy_statements: [
      { effect: "Allow", principals: ["*"], not_principal: false, actions: ["kms:Decrypt"] },
    ],
  }
  given aws.kms.key org_only {
    key_id: "aaaadddd-aaaa-aaaa-aaaa-aaaaaaaaaaaa",
    enabled: true,
    policy_statements: [
      {
        effect: "Allow",
        principals: ["*"],
        not_principal: false,
        actions: ["kms:Decrypt"],
        conditions: ["StringEquals aws:PrincipalOrgID"],
      },
    ],
  }
  expect kms_key_policy_public passes private
  expect kms_key_policy_public fails open
  expect kms_key_policy_public passes org_only
}

/// A key scheduled for deletion takes every piece of data it encrypts with
/// it when the waiting period ends.
policy kms_key_pending_deletion {
  title "KMS key is scheduled for deletion"
  description "A customer-managed KMS key is in the PendingDeletion state: when the waiting period ends, data encrypted under it can no longer be decrypted."
  severity high
  category operations
  remediation "If anything still uses the key, cancel the deletion: aws kms cancel-key-deletion --key-id <key-id>."
  tags ["aws-fsbp:KMS.3"]

  rule on aws.kms.key {
    violation when (key_manager ?? "") == "CUSTOMER" and (key_state ?? "") == "PendingDeletion"
    message "KMS key {id} will be deleted on {deletion_date ?? now}"
  }
}

test "a key pending deletion fails; an enabled key passes" {
  given aws.kms.key doomed {
    key_id: "bbbbeeee-bbbb-bbbb-bbbb-bbbbbbbbbbbb",
    enabled: false,
    key_state: "PendingDeletion",
    key_manager: "CUSTOMER",
    deletion_date: 2026-12-31,
  }
  given aws.kms.key fine {
    key_id: "ccccffff-cccc-cccc-cccc-cccccccccccc",
    enabled: true,
    key_state: "Enabled",
    key_manager: "CUSTOMER",
  }
  expect kms_key_pending_deletion fails doomed
  expect kms_key_pending_deletion passes fine
}
