package aws.apigateway

// Amazon API Gateway REST APIs and their stages. Conventions: see
// docs/schemas.md.

/// An API Gateway REST API (GetRestApis, plus GetStages and GetResources with `embed=methods`); `id` is the API ID, e.g. `a1b2c3d4e5`.
schema aws.apigateway.rest_api {
  /// The API's name.
  name: string?
  /// The API's description.
  description: string?
  /// When the API was created.
  created_date: timestamp?
  /// The endpoint types: `EDGE`, `REGIONAL` or `PRIVATE`.
  endpoint_types: list<string>
  /// Where API keys are read from: `HEADER` or `AUTHORIZER`.
  api_key_source: string?
  /// Whether the default `execute-api` endpoint is off (clients must use a custom domain).
  disable_execute_api_endpoint: bool?
  /// The resource policy's statements (`policy`); empty when it has none.
  policy_statements: list<aws.policy.PolicyStatement>
  /// Why the policy could not be read as a policy; absent when it could.
  policy_error: string?
  /// The API's stages (GetStages).
  stages: list<Stage>
  /// The methods whose authorization type is `NONE`, as `METHOD /path` (OPTIONS left out: CORS preflights are anonymous by design); from GetResources with `embed=methods`.
  methods_without_authorization: list<string>
  /// Whether the API had more resources than were read (the first 500), so `methods_without_authorization` may be incomplete.
  methods_truncated: bool?
  /// The API's tags.
  tags: map<string>
}

/// A stage of a REST API (Stage).
record Stage {
  /// The stage's name, e.g. `prod`.
  stage_name: string?
  /// The deployment the stage serves.
  deployment_id: string?
  /// The stage's description.
  description: string?
  /// Whether X-Ray tracing is on.
  tracing_enabled: bool
  /// Whether a cache cluster is on.
  cache_cluster_enabled: bool
  /// Whether cached responses are encrypted (the `*/*` method setting `cacheDataEncrypted`); absent without stage-wide method settings.
  cache_data_encrypted: bool?
  /// Execution logging of every method (the `*/*` method setting `loggingLevel`): `OFF`, `ERROR` or `INFO`; absent without stage-wide method settings.
  logging_level: string?
  /// Where access logs go (AccessLogSettings `destinationArn`, a CloudWatch Logs group or Firehose stream); absent when access logging is off.
  access_log_destination_arn: string?
  /// The client certificate the stage presents to back ends.
  client_certificate_id: string?
  /// The AWS WAF web ACL associated with the stage.
  web_acl_arn: string?
  /// When the stage was created.
  created_date: timestamp?
  /// The stage's tags.
  tags: map<string>
}
