package aws.lambda

// AWS Lambda functions. Conventions: see docs/schemas.md.

/// A Lambda function (ListFunctions, plus GetFunctionUrlConfig, GetPolicy and ListTags); `id` is the function name.
schema aws.lambda.function {
  /// The function's name.
  function_name: string?
  /// The function's ARN.
  function_arn: string?
  /// The runtime, e.g. `python3.12`; absent for container images.
  runtime: string?
  /// The execution role's ARN.
  role: string?
  /// The handler, e.g. `app.handler`.
  handler: string?
  /// The description; absent when empty.
  description: string?
  /// The timeout in seconds.
  timeout: int?
  /// The memory in MB.
  memory_size: int?
  /// When the function was last updated (ISO 8601 text, as the API sends it).
  last_modified: string?
  /// The KMS key encrypting the environment variables; absent for the AWS-managed key.
  kms_key_arn: string?
  /// `Zip` or `Image`.
  package_type: string?
  /// X-Ray tracing: `Active` or `PassThrough`.
  tracing_mode: string?
  /// The VPC the function runs in; absent when it is not attached to one.
  vpc_id: string?
  /// `x86_64` or `arm64`.
  architectures: list<string>
  /// The function URL; absent when the function has none.
  function_url: string?
  /// The function URL's auth type: `AWS_IAM` or `NONE` (anyone may call it); absent without a URL.
  url_auth_type: string?
  /// The resource-based policy's statements (GetPolicy); empty when it has none.
  policy_statements: list<aws.policy.PolicyStatement>
  /// Why the policy could not be read as a policy; absent when it could.
  policy_error: string?
  /// What the function's code may do: every statement of its execution role's attached and inline policies (read through IAM).
  role_statements: list<aws.policy.PolicyStatement>
  /// Why the execution role's policies could not all be read (e.g. the role no longer exists); absent when they were.
  role_error: string?
  /// The function's tags.
  tags: map<string>
}
