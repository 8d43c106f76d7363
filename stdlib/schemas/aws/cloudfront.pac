package aws.cloudfront

// Amazon CloudFront distributions (a global service: read once per
// account, documents carry the source's first region). Conventions: see
// docs/schemas.md.

/// A CloudFront distribution (ListDistributions, plus GetDistributionConfig and ListTagsForResource); `id` is the distribution ID, e.g. `E2QWRUHEXAMPLE`.
schema aws.cloudfront.distribution {
  /// The distribution's ARN.
  arn: string
  /// `Deployed` or `InProgress`.
  status: string?
  /// The CloudFront domain name, e.g. `d111111abcdef8.cloudfront.net`.
  domain_name: string
  /// The alternate domain names (CNAMEs), e.g. `shop.example.com`.
  aliases: list<string>
  /// Whether the distribution serves requests.
  enabled: bool
  /// The distribution's comment; absent when empty.
  comment: string?
  /// `PriceClass_All`, `PriceClass_200` or `PriceClass_100`.
  price_class: string?
  /// The AWS WAF web ACL (a WAFv2 ARN or a WAF Classic ID); absent when none is attached.
  web_acl_id: string?
  /// `http1.1`, `http2`, `http2and3`, `http3`.
  http_version: string?
  /// Whether IPv6 is on.
  is_ipv6_enabled: bool?
  /// The default cache behaviour (requests no other behaviour matches).
  default_cache_behavior: CacheBehavior?
  /// The other cache behaviours, by path pattern.
  cache_behaviors: list<CacheBehavior>
  /// The certificate and TLS settings viewers see.
  viewer_certificate: ViewerCertificate?
  /// The origins the distribution fetches from.
  origins: list<Origin>
  /// Whether standard (legacy) access logs go to S3 (GetDistributionConfig `Logging.Enabled`).
  logging_enabled: bool?
  /// The S3 bucket of the access logs, e.g. `logs.s3.amazonaws.com`; absent when none.
  logging_bucket: string?
  /// The distribution's tags (ListTagsForResource).
  tags: map<string>
}

/// A cache behaviour of a distribution (DefaultCacheBehavior or CacheBehavior).
record CacheBehavior {
  /// The path pattern, e.g. `/images/*`; absent for the default behaviour.
  path_pattern: string?
  /// The origin requests go to.
  target_origin_id: string
  /// `allow-all` (HTTP and HTTPS), `redirect-to-https` or `https-only`.
  viewer_protocol_policy: string
}

/// What certificate viewers see and the TLS versions they may use (ViewerCertificate).
record ViewerCertificate {
  /// Whether the distribution uses the `*.cloudfront.net` certificate (which allows TLS 1.0).
  cloud_front_default_certificate: bool?
  /// The ACM certificate's ARN.
  acm_certificate_arn: string?
  /// The IAM server certificate's ID.
  iam_certificate_id: string?
  /// `sni-only`, `vip` or `static-ip`.
  ssl_support_method: string?
  /// The oldest TLS version viewers may use, e.g. `TLSv1.2_2021`, `TLSv1`, `SSLv3`.
  minimum_protocol_version: string?
}

/// An origin of a distribution (Origin).
record Origin {
  /// The origin's ID within the distribution.
  id: string
  /// The origin's domain, e.g. `assets.s3.us-east-1.amazonaws.com` or `api.example.com`.
  domain_name: string
  /// The path prefix requested from the origin.
  origin_path: string?
  /// Whether the origin is an S3 bucket origin (it has an S3OriginConfig).
  s3_origin: bool
  /// The origin access identity of an S3 origin, e.g. `origin-access-identity/cloudfront/E1ABC`; absent when none.
  origin_access_identity: string?
  /// The origin access control (OAC) ID; absent when none.
  origin_access_control_id: string?
  /// How CloudFront reaches a custom origin: `http-only`, `match-viewer` or `https-only`; absent for S3 origins.
  origin_protocol_policy: string?
}
