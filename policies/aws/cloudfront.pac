package policies.aws.cloudfront

// CloudFront distributions: access logs, HTTPS to viewers and origins, TLS
// versions, S3 origins reachable only through CloudFront, AWS WAF. Each
// policy's tests follow it.

/// The buckets CloudFront access logs must go to (their S3 domain names,
/// e.g. `central-logs.s3.amazonaws.com`); empty: any bucket.
fn cloudfront_log_buckets() -> list<string> = []

/// The TLS security policies CloudFront still offers for old clients:
/// SSLv3, TLS 1.0 and TLS 1.1.
fn outdated_cloudfront_tls() -> list<string> = ["SSLv3", "TLSv1", "TLSv1_2016", "TLSv1.1_2016"]

/// Without access logs there is no record of who fetched what, nor of an
/// attack through the edge.
policy cloudfront_access_logging_disabled {
  title "CloudFront distribution access logging is off"
  description "The distribution does not send standard access logs to S3 (DistributionConfig Logging.Enabled), or sends them to a bucket not in `cloudfront_log_buckets()`. Logs delivered only through CloudWatch Logs delivery (standard logging v2) are not visible in the distribution's configuration."
  severity medium
  category security
  remediation "aws cloudfront update-distribution with Logging.Enabled=true and Bucket=<logs bucket>.s3.amazonaws.com (get the config and ETag first with get-distribution-config)."
  tags ["aws-fsbp:CloudFront.5", "pacbot:check-access-log-for-cloudfront"]

  rule on aws.cloudfront.distribution {
    let bucket = logging_bucket ?? ""
    violation when
      not (logging_enabled ?? false)
      or (len(cloudfront_log_buckets()) > 0 and bucket not in cloudfront_log_buckets())
    message "distribution {id} ({domain_name}) does not log to an approved bucket"
  }
}

test "logging off fails; logging to a bucket passes" {
  given aws.cloudfront.distribution silent {
    arn: "arn:aws:cloudfront::111122223333:distribution/E1",
    domain_name: "d1.cloudfront.net",
    enabled: true,
    logging_enabled: false,
  }
  given aws.cloudfront.distribution logged {
    arn: "arn:aws:cloudfront::111122223333:distribution/E2",
    domain_name: "d2.cloudfront.net",
    enabled: true,
    logging_enabled: true,
    logging_bucket: "logs.s3.amazonaws.com",
  }
  expect cloudfront_access_logging_disabled fails silent
  expect cloudfront_access_logging_disabled passes logged
}

/// Plain HTTP between viewer and edge can be read and changed on the way.
policy cloudfront_viewer_http_allowed {
  title "CloudFront distribution serves viewers over plain HTTP"
  description "The default cache behaviour or another behaviour has the viewer protocol policy `allow-all`, so viewers may use HTTP without being redirected to HTTPS."
  severity medium
  category security
  remediation "Set ViewerProtocolPolicy to redirect-to-https (or https-only) on every cache behaviour (aws cloudfront update-distribution)."
  tags ["aws-fsbp:CloudFront.3"]

  rule on aws.cloudfront.distribution {
    let plain = count b in cache_behaviors: b.viewer_protocol_policy == "allow-all"
    let default_plain = (default_cache_behavior?.viewer_protocol_policy ?? "") == "allow-all"
    violation when default_plain or plain > 0
    message "distribution {id} ({domain_name}) lets viewers use plain HTTP"
  }
}

test "allow-all on the default or a path behaviour fails; redirect passes" {
  given aws.cloudfront.distribution plain_default {
    arn: "arn:aws:cloudfront::111122223333:distribution/E1",
    domain_name: "d1.cloudfront.net",
    enabled: true,
    default_cache_behavior: { target_origin_id: "web", viewer_protocol_policy: "allow-all" },
  }
  given aws.cloudfront.distribution plain_path {
    arn: "arn:aws:cloudfront::111122223333:distribution/E2",
    domain_name: "d2.cloudfront.net",
    enabled: true,
    default_cache_behavior: { target_origin_id: "web", viewer_protocol_policy: "https-only" },
    cache_behaviors: [
      { path_pattern: "/img/*", target_origin_id: "img", viewer_protocol_policy: "allow-all" },
    ],
  }
  given aws.cloudfront.distribution redirected {
    arn: "arn:aws:cloudfront::111122223333:distribution/E3",
    domain_name: "d3.cloudfront.net",
    enabled: true,
    default_cache_behavior: {
      target_origin_id: "web",
      viewer_protocol_policy: "redirect-to-https",
    },
  }
  expect cloudfront_viewer_http_allowed fails plain_default
  expect cloudfront_viewer_http_allowed fails plain_path
  expect cloudfront_viewer_http_allowed passes redirected
}

/// SSLv3, TLS 1.0 and 1.1 have known weaknesses and are deprecated
/// (RFC 8996).
policy cloudfront_outdated_tls {
  title "CloudFront distribution accepts TLS older than 1.2"
  description "The distribution serves its own certificate with a security policy that still accepts SSLv3, TLS 1.0 or TLS 1.1 (ViewerCertificate MinimumProtocolVersion). The default *.cloudfront.net certificate, which always accepts TLS 1.0, is not judged here."
  severity medium
  category security
  remediation "Set the viewer certificate's MinimumProtocolVersion to TLSv1.2_2021 or later (aws cloudfront update-distribution)."
  tags ["tls"]

  rule on aws.cloudfront.distribution {
    let version = viewer_certificate?.minimum_protocol_version ?? ""
    violation when
      not (viewer_certificate?.cloud_front_default_certificate ?? false)
      and version in outdated_cloudfront_tls()
    message "distribution {id} ({domain_name}) accepts viewers on {version}"
  }
}

test "a custom certificate on TLSv1 fails; TLSv1.2_2021 and the default certificate pass" {
  given aws.cloudfront.distribution old {
    arn: "arn:aws:cloudfront::111122223333:distribution/E1",
    domain_name: "d1.cloudfront.net",
    enabled: true,
    viewer_certificate: {
      cloud_front_default_certificate: false,
      acm_certificate_arn: "arn:aws:acm:us-east-1:111122223333:certificate/c1",
      minimum_protocol_version: "TLSv1",
    },
  }
  given aws.cloudfront.distribution modern {
    arn: "arn:aws:cloudfront::111122223333:distribution/E2",
    domain_name: "d2.cloudfront.net",
    enabled: true,
    viewer_certificate: {
      cloud_front_default_certificate: false,
      minimum_protocol_version: "TLSv1.2_2021",
    },
  }
  given aws.cloudfront.distribution default_cert {
    arn: "arn:aws:cloudfront::111122223333:distribution/E3",
    domain_name: "d3.cloudfront.net",
    enabled: true,
    viewer_certificate: {
      cloud_front_default_certificate: true,
      minimum_protocol_version: "TLSv1",
    },
  }
  expect cloudfront_outdated_tls fails old
  expect cloudfront_outdated_tls passes modern
  expect cloudfront_outdated_tls passes default_cert
}

/// An S3 origin without an origin access identity or control must be a
/// public bucket, reachable around CloudFront (and its WAF and logs).
policy cloudfront_s3_origin_without_access_control {
  title "CloudFront S3 origin has no origin access identity or control"
  description "An S3 bucket origin of the distribution has neither an origin access identity (OAI) nor an origin access control (OAC), so the bucket must be readable by everyone."
  severity high
  category security
  remediation "Create an origin access control (aws cloudfront create-origin-access-control), set it on the origin, allow cloudfront.amazonaws.com with an AWS:SourceArn condition in the bucket policy, then remove public access."
  tags ["s3", "data-protection"]

  rule on aws.cloudfront.distribution {
    let open =
      count o in origins:
        o.s3_origin
        and (o.origin_access_identity ?? "") == ""
        and (o.origin_access_control_id ?? "") == ""
    violation when open > 0
    message "distribution {id} reads {open} S3 origin(s) without an origin access identity or control"
  }
}

test "an S3 origin without OAI or OAC fails; with either, or a custom origin, passes" {
  given aws.cloudfront.distribution bare {
    arn: "arn:aws:cloudfront::111122223333:distribution/E1",
    domain_name: "d1.cloudfront.net",
    enabled: true,
    origins: [{ id: "assets", domain_name: "assets.s3.amazonaws.com", s3_origin: true }],
  }
  given aws.cloudfront.distribution oac {
    arn: "arn:aws:cloudfront::111122223333:distribution/E2",
    domain_name: "d2.cloudfront.net",
    enabled: true,
    origins: [
      {
        id: "assets",
        domain_name: "assets.s3.amazonaws.com",
        s3_origin: true,
        origin_access_control_id: "E2OAC",
      },
    ],
  }
  given aws.cloudfront.distribution oai {
    arn: "arn:aws:cloudfront::111122223333:distribution/E3",
    domain_name: "d3.cloudfront.net",
    enabled: true,
    origins: [
      {
        id: "assets",
        domain_name: "assets.s3.amazonaws.com",
        s3_origin: true,
        origin_access_identity: "origin-access-identity/cloudfront/E3OAI",
      },
    ],
  }
  given aws.cloudfront.distribution custom {
    arn: "arn:aws:cloudfront::111122223333:distribution/E4",
    domain_name: "d4.cloudfront.net",
    enabled: true,
    origins: [
      {
        id: "api",
        domain_name: "api.example.com",
        s3_origin: false,
        origin_protocol_policy: "https-only",
      },
    ],
  }
  expect cloudfront_s3_origin_without_access_control fails bare
  expect cloudfront_s3_origin_without_access_control passes oac
  expect cloudfront_s3_origin_without_access_control passes oai
  expect cloudfront_s3_origin_without_access_control passes custom
}

/// Requests CloudFront forwards over plain HTTP can be read between the
/// edge and the origin.
policy cloudfront_origin_http {
  title "CloudFront reaches a custom origin over plain HTTP"
  description "A custom origin of the distribution has the origin protocol policy `http-only` or `match-viewer` (HTTP when the viewer used HTTP)."
  severity medium
  category security
  remediation "Set the origin's OriginProtocolPolicy to https-only (aws cloudfront update-distribution)."
  tags ["aws-fsbp:CloudFront.9"]

  rule on aws.cloudfront.distribution {
    let plain =
      count o in origins: (o.origin_protocol_policy ?? "") in ["http-only", "match-viewer"]
    violation when plain > 0
    message "distribution {id} reaches {plain} origin(s) over plain HTTP"
  }
}

test "an http-only origin fails; https-only passes" {
  given aws.cloudfront.distribution plain {
    arn: "arn:aws:cloudfront::111122223333:distribution/E1",
    domain_name: "d1.cloudfront.net",
    enabled: true,
    origins: [
      {
        id: "api",
        domain_name: "api.example.com",
        s3_origin: false,
        origin_protocol_policy: "http-only",
      },
    ],
  }
  given aws.cloudfront.distribution tls {
    arn: "arn:aws:cloudfront::111122223333:distribution/E2",
    domain_name: "d2.cloudfront.net",
    enabled: true,
    origins: [
      {
        id: "api",
        domain_name: "api.example.com",
        s3_origin: false,
        origin_protocol_policy: "https-only",
      },
    ],
  }
  expect cloudfront_origin_http fails plain
  expect cloudfront_origin_http passes tls
}

/// AWS WAF at the edge stops common web attacks and floods before they
/// reach the origin.
policy cloudfront_without_waf {
  title "CloudFront distribution has no AWS WAF web ACL"
  description "No AWS WAF web ACL is associated with the enabled distribution (WebACLId is empty)."
  severity medium
  category security
  remediation "Associate a WAFv2 web ACL (scope CLOUDFRONT) with the distribution: aws cloudfront update-distribution with WebACLId=<web ACL ARN>."
  tags ["aws-fsbp:CloudFront.6"]

  rule on aws.cloudfront.distribution {
    violation when enabled and (web_acl_id ?? "") == ""
    message "distribution {id} ({domain_name}) has no AWS WAF web ACL"
  }
}

test "an enabled distribution without a web ACL fails; with one, or disabled, passes" {
  given aws.cloudfront.distribution open {
    arn: "arn:aws:cloudfront::111122223333:distribution/E1",
    domain_name: "d1.cloudfront.net",
    enabled: true,
  }
  given aws.cloudfront.distribution guarded {
    arn: "arn:aws:cloudfront::111122223333:distribution/E2",
    domain_name: "d2.cloudfront.net",
    enabled: true,
    web_acl_id: "arn:aws:wafv2:us-east-1:111122223333:global/webacl/edge/abc",
  }
  given aws.cloudfront.distribution off_ {
    arn: "arn:aws:cloudfront::111122223333:distribution/E3",
    domain_name: "d3.cloudfront.net",
    enabled: false,
  }
  expect cloudfront_without_waf fails open
  expect cloudfront_without_waf passes guarded
  expect cloudfront_without_waf passes off_
}
