package policies.aws.apigateway

// API Gateway REST APIs and their stages: anonymous methods, logs,
// tracing, cache encryption. Each policy's tests follow it.

/// A method without authorization is callable by anyone who finds the URL.
policy apigateway_method_without_authorization {
  title "API Gateway REST API has methods without authorization"
  description "A method of the API (other than OPTIONS, which CORS preflights call anonymously) has the authorization type NONE: no IAM, Cognito or Lambda authorizer checks the caller. An API key alone is not authorization."
  severity high
  category security
  remediation "Set an authorizer on each such method (aws apigateway update-method --patch-operations op=replace,path=/authorizationType,value=AWS_IAM or CUSTOM/COGNITO_USER_POOLS), then redeploy; make deliberately public methods explicit in an exception."
  tags ["authentication"]

  rule on aws.apigateway.rest_api {
    let open = methods_without_authorization
    violation when len(open) > 0
    message "API {id} ({name}) has methods without authorization: {open}"
  }
}

test "an anonymous GET fails; an API whose methods all authorize passes" {
  given aws.apigateway.rest_api open {
    name: "orders",
    methods_without_authorization: ["GET /orders"],
  }
  given aws.apigateway.rest_api closed { name: "billing", disable_execute_api_endpoint: false }
  expect apigateway_method_without_authorization fails open
  expect apigateway_method_without_authorization passes closed
}

/// Access logs say who called which method, from where, with what result.
policy apigateway_stage_access_logging_disabled {
  title "API Gateway stage has no access logging"
  description "A stage of the REST API sends no access logs (AccessLogSettings has no destination)."
  severity medium
  category security
  remediation "aws apigateway update-stage --rest-api-id <id> --stage-name <stage> --patch-operations op=replace,path=/accessLogSettings/destinationArn,value=<log group ARN> (and a format)."
  tags ["logging"]

  rule on aws.apigateway.rest_api {
    let unlogged = count s in stages: (s.access_log_destination_arn ?? "") == ""
    violation when unlogged > 0
    message "API {id} ({name}) has {unlogged} stage(s) without access logs"
  }
}

test "a stage without an access log destination fails; with one passes" {
  given aws.apigateway.rest_api silent {
    name: "orders",
    stages: [{ stage_name: "prod", tracing_enabled: false, cache_cluster_enabled: false }],
  }
  given aws.apigateway.rest_api logged {
    name: "orders",
    stages: [
      {
        stage_name: "prod",
        tracing_enabled: false,
        cache_cluster_enabled: false,
        access_log_destination_arn: "arn:aws:logs:us-east-1:111122223333:log-group:api",
      },
    ],
  }
  expect apigateway_stage_access_logging_disabled fails silent
  expect apigateway_stage_access_logging_disabled passes logged
}

/// X-Ray traces show where a request spent its time and failed, across
/// the services behind the API.
policy apigateway_stage_xray_disabled {
  title "API Gateway stage has no X-Ray tracing"
  description "A stage of the REST API does not trace requests with AWS X-Ray (tracingEnabled is false)."
  severity low
  category operations
  remediation "aws apigateway update-stage --rest-api-id <id> --stage-name <stage> --patch-operations op=replace,path=/tracingEnabled,value=true"
  tags ["aws-fsbp:APIGateway.3"]

  rule on aws.apigateway.rest_api {
    let untraced = count s in stages: not s.tracing_enabled
    violation when untraced > 0
    message "API {id} ({name}) has {untraced} stage(s) without X-Ray tracing"
  }
}

test "a stage without tracing fails; a traced stage passes" {
  given aws.apigateway.rest_api untraced {
    name: "orders",
    stages: [{ stage_name: "prod", tracing_enabled: false, cache_cluster_enabled: false }],
  }
  given aws.apigateway.rest_api traced {
    name: "orders",
    stages: [{ stage_name: "prod", tracing_enabled: true, cache_cluster_enabled: false }],
  }
  expect apigateway_stage_xray_disabled fails untraced
  expect apigateway_stage_xray_disabled passes traced
}

/// A stage cache holds response bodies, which may carry personal data.
policy apigateway_cache_unencrypted {
  title "API Gateway stage cache is not encrypted"
  description "A stage of the REST API has a cache cluster but its stage-wide method settings do not encrypt cached data (cacheDataEncrypted)."
  severity medium
  category security
  remediation "aws apigateway update-stage --rest-api-id <id> --stage-name <stage> --patch-operations op=replace,path=/*/*/caching/dataEncrypted,value=true"
  tags ["aws-fsbp:APIGateway.5"]

  rule on aws.apigateway.rest_api {
    let plain = count s in stages: s.cache_cluster_enabled and not (s.cache_data_encrypted ?? false)
    violation when plain > 0
    message "API {id} ({name}) has {plain} stage(s) caching unencrypted data"
  }
}

test "a cache without encryption fails; an encrypted cache or no cache passes" {
  given aws.apigateway.rest_api plain {
    name: "orders",
    stages: [
      {
        stage_name: "prod",
        tracing_enabled: true,
        cache_cluster_enabled: true,
        cache_data_encrypted: false,
      },
    ],
  }
  given aws.apigateway.rest_api encrypted {
    name: "orders",
    stages: [
      {
        stage_name: "prod",
        tracing_enabled: true,
        cache_cluster_enabled: true,
        cache_data_encrypted: true,
      },
    ],
  }
  given aws.apigateway.rest_api uncached {
    name: "orders",
    stages: [{ stage_name: "prod", tracing_enabled: true, cache_cluster_enabled: false }],
  }
  expect apigateway_cache_unencrypted fails plain
  expect apigateway_cache_unencrypted passes encrypted
  expect apigateway_cache_unencrypted passes uncached
}
