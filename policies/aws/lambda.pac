package policies.aws.lambda

// Lambda functions: who may call them, and runtimes that no longer get
// fixes. Each policy's tests follow it.

/// Runtimes AWS has deprecated (no more security patches; creation and
/// then updates get blocked).
fn deprecated_lambda_runtimes() -> list<string> = [
  "python2.7",
  "python3.6",
  "python3.7",
  "python3.8",
  "nodejs",
  "nodejs4.3",
  "nodejs6.10",
  "nodejs8.10",
  "nodejs10.x",
  "nodejs12.x",
  "nodejs14.x",
  "nodejs16.x",
  "java8",
  "dotnetcore1.0",
  "dotnetcore2.0",
  "dotnetcore2.1",
  "dotnetcore3.1",
  "dotnet6",
  "ruby2.5",
  "ruby2.7",
  "go1.x",
]

/// A function URL with auth type NONE is an unauthenticated HTTPS endpoint
/// on the internet.
policy lambda_url_without_auth {
  title "Lambda function URL needs no authentication"
  description "The function has a function URL whose auth type is NONE: anyone on the internet can invoke it."
  severity high
  category security
  remediation "Set the URL's auth type to AWS_IAM (aws lambda update-function-url-config --function-name <name> --auth-type AWS_IAM), or front it with API Gateway and an authorizer."
  tags ["aws-fsbp:Lambda.1"]

  rule on aws.lambda.function {
    violation when (url_auth_type ?? "") == "NONE"
    message "function {id} has an unauthenticated URL: {function_url}"
  }

  autofix require_lambda_url_auth() after 1d notify tags["owner"] ?? "secops@example.com"
}

test "a URL with NONE fails; AWS_IAM or no URL passes" {
  given aws.lambda.function open {
    function_url: "https://abc.lambda-url.us-east-1.on.aws/",
    url_auth_type: "NONE",
  }
  given aws.lambda.function iam {
    function_url: "https://def.lambda-url.us-east-1.on.aws/",
    url_auth_type: "AWS_IAM",
  }
  given aws.lambda.function no_url { runtime: "python3.12" }
  expect lambda_url_without_auth fails open
  expect lambda_url_without_auth passes iam
  expect lambda_url_without_auth passes no_url
}

/// A resource policy that lets `*` invoke the function makes it callable
/// by every AWS account.
policy lambda_policy_public {
  title "Lambda function policy allows everyone"
  description "A statement of the function's resource-based policy allows the principal `*` without a condition (such as aws:SourceArn or aws:SourceAccount)."
  severity critical
  category security
  remediation "Remove the statement (aws lambda remove-permission) or add a SourceArn/SourceAccount condition to it."
  tags ["aws-fsbp:Lambda.1"]

  rule on aws.lambda.function {
    let open = count s in policy_statements: is_public_statement(s)
    violation when open > 0
    message "function {id} has {open} policy statement(s) that let anyone invoke it"
  }
}

test "a statement for * without condition fails; one scoped by SourceArn passes" {
  given aws.lambda.function open {
    policy_statements: [
      {
        effect: "Allow",
        principals: ["*"],
        not_principal: false,
        actions: ["lambda:InvokeFunction"],
      },
    ],
  }
  given aws.lambda.function scoped {
    policy_statements: [
      {
        effect: "Allow",
        principals: ["s3.amazonaws.com"],
        not_principal: false,
        actions: ["lambda:InvokeFunction"],
        conditions: ["ArnLike AWS:SourceArn"],
      },
    ],
  }
  expect lambda_policy_public fails open
  expect lambda_policy_public passes scoped
}

/// Deprecated runtimes get no security patches.
policy lambda_deprecated_runtime {
  title "Lambda function uses a deprecated runtime"
  description "The function's runtime is one AWS has deprecated (`deprecated_lambda_runtimes()`)."
  severity medium
  category security
  remediation "Move the function to a supported runtime (e.g. python3.12, nodejs20.x, java21) and test it."
  tags ["aws-fsbp:Lambda.2"]

  rule on aws.lambda.function {
    violation when (runtime ?? "") in deprecated_lambda_runtimes()
    message "function {id} runs on {runtime}, which AWS no longer patches"
  }
}

test "python3.7 fails; python3.12 and container images pass" {
  given aws.lambda.function old { runtime: "python3.7" }
  given aws.lambda.function current { runtime: "python3.12" }
  given aws.lambda.function image { package_type: "Image" }
  expect lambda_deprecated_runtime fails old
  expect lambda_deprecated_runtime passes current
  expect lambda_deprecated_runtime passes image
}

/// A function attached to a VPC reaches private resources through the
/// VPC's security groups and route tables, and its traffic shows in the
/// VPC's flow logs; outside a VPC it talks to the internet directly.
policy lambda_not_in_vpc {
  title "Lambda function is not attached to a VPC"
  description "The function has no VPC configuration (no vpc_id): it runs in the Lambda service's network, outside the organisation's security groups and flow logs. Functions that only call public AWS APIs may be excepted."
  severity low
  category security
  remediation "Attach the function to private subnets of a VPC with a security group (aws lambda update-function-configuration --function-name <name> --vpc-config SubnetIds=<ids>,SecurityGroupIds=<sg>), with VPC endpoints or a NAT gateway for the services it calls."
  tags ["aws-fsbp:Lambda.3"]

  rule on aws.lambda.function {
    violation when not has(vpc_id)
    message "function {id} ({runtime}) is not attached to a VPC"
  }
}

test "a function without a VPC fails" {
  given aws.lambda.function outside { function_name: "thumbnailer", runtime: "python3.12" }
  expect lambda_not_in_vpc fails outside
}

test "a function attached to a VPC passes" {
  given aws.lambda.function inside {
    function_name: "orders-writer",
    runtime: "nodejs20.x",
    vpc_id: "vpc-0a1b2c3d",
  }
  expect lambda_not_in_vpc passes inside
}
