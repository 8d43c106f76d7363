package policies.aws.iam_roles

// IAM roles, managed policies and what Lambda functions may do through
// their execution roles. Each policy's tests follow it.
//
// A role's `permission_statements` are every statement of its attached and
// inline policies; the checks look at what they grant (Allow statements),
// not at conditions or denies that might narrow it.

/// Roles allowed to administer IAM: the organisation's break-glass and
/// account-access roles. Edit this list to your own.
fn iam_admin_roles() -> list<string> = [
  "OrganizationAccountAccessRole",
  "AWSControlTowerExecution",
  "break-glass-admin",
]

/// Roles allowed to launch instances, deploy Lambda code or change the
/// core network (the platform's deployment roles). Edit to your own.
fn platform_roles() -> list<string> = [
  "OrganizationAccountAccessRole",
  "AWSControlTowerExecution",
  "platform-deployer",
]

/// The actions that change the core network: VPCs, subnets, gateways,
/// routes, peering and Direct Connect.
fn core_networking_actions() -> list<string> = [
  "ec2:CreateVpc",
  "ec2:DeleteVpc",
  "ec2:CreateSubnet",
  "ec2:DeleteSubnet",
  "ec2:AttachInternetGateway",
  "ec2:CreateRoute",
  "ec2:ReplaceRoute",
  "ec2:CreateVpcPeeringConnection",
  "ec2:AcceptVpcPeeringConnection",
  "ec2:CreateTransitGateway",
  "directconnect:CreateConnection",
]

/// True for a role the organisation manages (not one AWS created for a
/// service) that is not on `allowed`.
fn unlisted_customer_role(r: aws.iam.role, allowed: list<string>) -> bool =
  not r.service_linked and r.role_name not in allowed

/// A role that can change IAM can grant itself anything: every role
/// outside the short list of administrator roles must be kept from it.
policy iam_role_full_iam_access {
  title "Non-admin IAM role has full IAM access"
  description "A role that is not one of the administrator roles (`iam_admin_roles`) is granted every IAM action (`iam:*` or `*`) by its attached or inline policies."
  severity high
  category security
  remediation "Replace the role's broad policy with one listing the IAM actions it needs (IAM Access Analyzer can generate it from CloudTrail), or add the role to iam_admin_roles if it is an administrator role."
  tags ["pacbot:check-non-admin-accounts-for-iamfullccess", "aws-fsbp:IAM.21"]

  rule on aws.iam.role {
    let grants = count s in permission_statements: allows_admin_actions(s)
    violation when unlisted_customer_role(self, iam_admin_roles()) and grants > 0
    message "role {role_name} may perform every IAM action ({grants} statements grant iam:* or *)"
  }
}

test "a deploy role granted iam:* fails" {
  given aws.iam.role deploy {
    role_name: "deploy",
    role_id: "AROA0DEPLOY",
    arn: "arn:aws:iam::123456789012:role/deploy",
    path: "/",
    create_date: 2026-01-01,
    service_linked: false,
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
  expect iam_role_full_iam_access fails deploy
}

test "an administrator role, a service-linked role and a role with narrow IAM rights pass" {
  given aws.iam.role breakglass {
    role_name: "break-glass-admin",
    role_id: "AROA0BREAK",
    arn: "arn:aws:iam::123456789012:role/break-glass-admin",
    path: "/",
    create_date: 2026-01-01,
    service_linked: false,
    permission_statements: [
      {
        effect: "Allow",
        principals: [],
        not_principal: false,
        actions: ["*"],
        resources: ["*"],
        conditions: [],
      },
    ],
  }
  given aws.iam.role service {
    role_name: "AWSServiceRoleForSupport",
    role_id: "AROA0SUPPORT",
    arn: "arn:aws:iam::123456789012:role/aws-service-role/support.amazonaws.com/AWSServiceRoleForSupport",
    path: "/aws-service-role/support.amazonaws.com/",
    create_date: 2026-01-01,
    service_linked: true,
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
  given aws.iam.role narrow {
    role_name: "key-rotator",
    role_id: "AROA0ROTATOR",
    arn: "arn:aws:iam::123456789012:role/key-rotator",
    path: "/",
    create_date: 2026-01-01,
    service_linked: false,
    permission_statements: [
      {
        effect: "Allow",
        principals: [],
        not_principal: false,
        actions: ["iam:ListAccessKeys", "iam:UpdateAccessKey"],
        resources: ["*"],
        conditions: [],
      },
      {
        effect: "Deny",
        principals: [],
        not_principal: false,
        actions: ["iam:*"],
        resources: ["*"],
        conditions: [],
      },
    ],
  }
  expect iam_role_full_iam_access passes breakglass
  expect iam_role_full_iam_access passes service
  expect iam_role_full_iam_access passes narrow
}

/// Launching instances, deploying Lambda code and changing the core
/// network are the privileges an attacker with a role wants first; only
/// the platform's deployment roles should hold them.
policy iam_role_unapproved_privileges {
  title "IAM role outside the approved list holds launch, Lambda or network privileges"
  description "A role that is not one of the platform roles (`platform_roles`) may launch EC2 instances (`ec2:RunInstances`), change Lambda functions, or change the core network (VPCs, subnets, gateways, routes, peering)."
  severity high
  category security
  remediation "Remove the privilege from the role's policies, or add the role to platform_roles after review."
  tags ["pacbot:iam-role-with-unapproved-access"]

  rule run_instances on aws.iam.role {
    violation when
      unlisted_customer_role(self, platform_roles())
      and allows_any_action(permission_statements, ["ec2:RunInstances"])
    message "role {role_name} may launch EC2 instances (ec2:RunInstances) and is not an approved platform role"
  }
  rule lambda on aws.iam.role {
    violation when
      unlisted_customer_role(self, platform_roles())
      and allows_any_action(
            permission_statements,
            [
              "lambda:CreateFunction",
              "lambda:UpdateFunctionCode",
              "lambda:UpdateFunctionConfiguration",
              "lambda:AddPermission",
            ],
          )
    message "role {role_name} may create or change Lambda functions and is not an approved platform role"
  }
  rule networking on aws.iam.role {
    let actions =
      count a in core_networking_actions(): allows_any_action(permission_statements, [a])
    violation when unlisted_customer_role(self, platform_roles()) and actions > 0
    message "role {role_name} may change the core network ({actions} of the core networking actions) and is not an approved platform role"
  }
}

test "a role with ec2:* may launch instances and change the network" {
  given aws.iam.role app {
    role_name: "app-server",
    role_id: "AROA0APP",
    arn: "arn:aws:iam::123456789012:role/app-server",
    path: "/",
    create_date: 2026-01-01,
    service_linked: false,
    permission_statements: [
      {
        effect: "Allow",
        principals: [],
        not_principal: false,
        actions: ["ec2:*"],
        resources: ["*"],
        conditions: [],
      },
    ],
  }
  expect iam_role_unapproved_privileges.run_instances fails app
  expect iam_role_unapproved_privileges.networking fails app
  expect iam_role_unapproved_privileges.lambda passes app
}

test "a role allowed lambda:Update* may change Lambda code" {
  given aws.iam.role ci {
    role_name: "ci-runner",
    role_id: "AROA0CI",
    arn: "arn:aws:iam::123456789012:role/ci-runner",
    path: "/",
    create_date: 2026-01-01,
    service_linked: false,
    permission_statements: [
      {
        effect: "Allow",
        principals: [],
        not_principal: false,
        actions: ["LAMBDA:update*"],
        resources: ["*"],
        conditions: [],
      },
    ],
  }
  expect iam_role_unapproved_privileges.lambda fails ci
  expect iam_role_unapproved_privileges.run_instances passes ci
}

test "the platform deployer and a read-only role pass" {
  given aws.iam.role deployer {
    role_name: "platform-deployer",
    role_id: "AROA0DEPLOYER",
    arn: "arn:aws:iam::123456789012:role/platform-deployer",
    path: "/",
    create_date: 2026-01-01,
    service_linked: false,
    permission_statements: [
      {
        effect: "Allow",
        principals: [],
        not_principal: false,
        actions: ["*"],
        resources: ["*"],
        conditions: [],
      },
    ],
  }
  given aws.iam.role reader {
    role_name: "auditor",
    role_id: "AROA0AUDIT",
    arn: "arn:aws:iam::123456789012:role/auditor",
    path: "/",
    create_date: 2026-01-01,
    service_linked: false,
    permission_statements: [
      {
        effect: "Allow",
        principals: [],
        not_principal: false,
        actions: ["ec2:Describe*", "lambda:Get*"],
        resources: ["*"],
        conditions: [],
      },
      {
        effect: "Deny",
        principals: [],
        not_principal: false,
        actions: ["ec2:RunInstances"],
        resources: ["*"],
        conditions: [],
      },
    ],
  }
  expect iam_role_unapproved_privileges passes deployer
  expect iam_role_unapproved_privileges passes reader
}

/// A trust policy open to every principal lets anyone with an AWS account
/// assume the role.
policy iam_role_trusts_anyone {
  title "IAM role can be assumed by anyone"
  description "The role's trust policy allows the principal `*` without a condition, so any AWS account can assume it."
  severity critical
  category security
  remediation "Name the accounts, roles or services that may assume the role in its trust policy, or add a condition such as aws:PrincipalOrgID or sts:ExternalId."
  tags ["security-baseline"]

  rule on aws.iam.role {
    violation when has_public_statement(trust_statements)
    message "role {role_name} can be assumed by any principal (its trust policy allows * without a condition)"
  }
}

test "a trust policy for everyone fails" {
  given aws.iam.role open {
    role_name: "shared-reader",
    role_id: "AROA0OPEN",
    arn: "arn:aws:iam::123456789012:role/shared-reader",
    path: "/",
    create_date: 2026-01-01,
    service_linked: false,
    trust_statements: [
      {
        effect: "Allow",
        principals: ["*"],
        not_principal: false,
        actions: ["sts:AssumeRole"],
        resources: [],
        conditions: [],
      },
    ],
  }
  expect iam_role_trusts_anyone fails open
}

test "a trust policy naming a service, or open with an organisation condition, passes" {
  given aws.iam.role lambda_role {
    role_name: "orders-fn",
    role_id: "AROA0FN",
    arn: "arn:aws:iam::123456789012:role/orders-fn",
    path: "/",
    create_date: 2026-01-01,
    service_linked: false,
    trust_statements: [
      {
        effect: "Allow",
        principals: ["lambda.amazonaws.com"],
        not_principal: false,
        actions: ["sts:AssumeRole"],
        resources: [],
        conditions: [],
      },
    ],
  }
  given aws.iam.role org {
    role_name: "org-reader",
    role_id: "AROA0ORG",
    arn: "arn:aws:iam::123456789012:role/org-reader",
    path: "/",
    create_date: 2026-01-01,
    service_linked: false,
    trust_statements: [
      {
        effect: "Allow",
        principals: ["*"],
        not_principal: false,
        actions: ["sts:AssumeRole"],
        resources: [],
        conditions: ["StringEquals aws:PrincipalOrgID"],
      },
    ],
  }
  expect iam_role_trusts_anyone passes lambda_role
  expect iam_role_trusts_anyone passes org
}

/// A policy granting `*` on `*` gives whoever holds it the whole account;
/// CIS asks that no such policy be attached (administrators get it through
/// a reviewed, separate path such as a break-glass role).
policy iam_policy_full_admin {
  title "Attached IAM policy grants full administrator rights"
  description "A managed policy attached to a user, group or role has a statement allowing every action (`*`) on every resource (`*`). AWS managed policies such as AdministratorAccess count when attached."
  severity high
  category security
  remediation "Detach the policy and grant the actions each principal needs; keep full rights only on a break-glass role reviewed separately."
  tags ["cis-aws-1.5:1.16", "aws-fsbp:IAM.1"]

  rule on aws.iam.policy {
    violation when (attachment_count ?? 0) > 0 and (any s in statements: allows_full_admin(s))
    message "policy {id} grants * on * and is attached {attachment_count ?? 0} times"
  }
}

test "an attached customer policy with Action * and Resource * fails" {
  given aws.iam.policy everything {
    policy_name: "everything",
    arn: "arn:aws:iam::123456789012:policy/everything",
    attachment_count: 2,
    aws_managed: false,
    statements: [
      {
        effect: "Allow",
        principals: [],
        not_principal: false,
        actions: ["*"],
        resources: ["*"],
        conditions: [],
      },
    ],
  }
  expect iam_policy_full_admin fails everything
}

test "an unattached admin policy, a scoped policy and a policy with * on one bucket pass" {
  given aws.iam.policy spare {
    policy_name: "spare-admin",
    arn: "arn:aws:iam::123456789012:policy/spare-admin",
    attachment_count: 0,
    aws_managed: false,
    statements: [
      {
        effect: "Allow",
        principals: [],
        not_principal: false,
        actions: ["*"],
        resources: ["*"],
        conditions: [],
      },
    ],
  }
  given aws.iam.policy scoped {
    policy_name: "s3-everything",
    arn: "arn:aws:iam::123456789012:policy/s3-everything",
    attachment_count: 4,
    aws_managed: false,
    statements: [
      {
        effect: "Allow",
        principals: [],
        not_principal: false,
        actions: ["s3:*"],
        resources: ["*"],
        conditions: [],
      },
      {
        effect: "Allow",
        principals: [],
        not_principal: false,
        actions: ["*"],
        resources: ["arn:aws:s3:::scratch/*"],
        conditions: [],
      },
    ],
  }
  expect iam_policy_full_admin passes spare
  expect iam_policy_full_admin passes scoped
}

/// Someone must be able to open and follow AWS Support cases during an
/// incident without the root user.
policy iam_support_role_missing {
  title "No role or user can manage AWS Support cases"
  description "The AWS managed policy AWSSupportAccess is attached to nothing, so no IAM principal can open or follow support cases."
  severity low
  category governance
  remediation "Create a support role (aws iam create-role) and attach arn:aws:iam::aws:policy/AWSSupportAccess to it, or attach it to the incident responders' group."
  tags ["cis-aws-1.5:1.17"]

  rule on aws.iam.policy {
    violation when
      (arn ?? "") == "arn:aws:iam::aws:policy/AWSSupportAccess" and (attachment_count ?? 0) == 0
    message "AWSSupportAccess is attached to no user, group or role in account {account}"
  }
}

test "AWSSupportAccess attached to nothing fails" {
  given aws.iam.policy support {
    policy_name: "AWSSupportAccess",
    arn: "arn:aws:iam::aws:policy/AWSSupportAccess",
    attachment_count: 0,
    aws_managed: true,
  }
  expect iam_support_role_missing fails support
}

test "AWSSupportAccess attached once passes; other unattached policies are not its concern" {
  given aws.iam.policy support {
    policy_name: "AWSSupportAccess",
    arn: "arn:aws:iam::aws:policy/AWSSupportAccess",
    attachment_count: 1,
    aws_managed: true,
  }
  given aws.iam.policy other {
    policy_name: "ReadOnlyAccess",
    arn: "arn:aws:iam::aws:policy/ReadOnlyAccess",
    attachment_count: 0,
    aws_managed: true,
  }
  expect iam_support_role_missing passes support
  expect iam_support_role_missing passes other
}

/// A function's code runs with its role's rights: a compromised
/// dependency in a function with admin or IAM rights owns the account.
policy lambda_role_admin_privileges {
  title "Lambda function runs with administrator or IAM privileges"
  description "The function's execution role is granted every action (`*`) or every IAM action (`iam:*`)."
  severity high
  category security
  remediation "Give the function a role of its own with only the actions its code calls (IAM Access Analyzer can generate the policy from CloudTrail)."
  tags ["pacbot:check-for-lambda-fun-with-admin-or-IAM-privileges"]

  rule on aws.lambda.function {
    let grants = count s in role_statements: allows_admin_actions(s)
    let role_arn = role ?? "an unknown role"
    violation when grants > 0
    message "function {function_name} runs as {role_arn} which grants * or iam:* ({grants} statements)"
  }
}

test "a function whose role grants * fails" {
  given aws.lambda.function admin {
    function_name: "resize-images",
    function_arn: "arn:aws:lambda:us-east-1:123456789012:function:resize-images",
    role: "arn:aws:iam::123456789012:role/admin",
    role_statements: [
      {
        effect: "Allow",
        principals: [],
        not_principal: false,
        actions: ["*"],
        resources: ["*"],
        conditions: [],
      },
    ],
  }
  expect lambda_role_admin_privileges fails admin
}

test "a function whose role grants a few actions, or whose role could not be read, passes" {
  given aws.lambda.function narrow {
    function_name: "thumbnails",
    function_arn: "arn:aws:lambda:us-east-1:123456789012:function:thumbnails",
    role: "arn:aws:iam::123456789012:role/thumbnails",
    role_statements: [
      {
        effect: "Allow",
        principals: [],
        not_principal: false,
        actions: ["s3:GetObject", "s3:PutObject"],
        resources: ["arn:aws:s3:::images/*"],
        conditions: [],
      },
    ],
  }
  given aws.lambda.function orphan {
    function_name: "legacy",
    function_arn: "arn:aws:lambda:us-east-1:123456789012:function:legacy",
    role: "arn:aws:iam::123456789012:role/deleted",
    role_error: "the execution role deleted does not exist",
  }
  expect lambda_role_admin_privileges passes narrow
  expect lambda_role_admin_privileges passes orphan
}
