package aws.acm

// AWS Certificate Manager. Conventions: see docs/schemas.md.

/// An ACM certificate (ListCertificates with every key type); `id` is the certificate ARN.
schema aws.acm.certificate {
  /// The certificate's ARN.
  certificate_arn: string?
  /// The main domain name, e.g. `shop.example.com`.
  domain_name: string?
  /// `ISSUED`, `PENDING_VALIDATION`, `EXPIRED`, `REVOKED`, `FAILED`, …
  status: string?
  /// `AMAZON_ISSUED`, `IMPORTED` or `PRIVATE` (API member `Type`).
  certificate_type: string?
  /// The key, e.g. `RSA_2048`, `EC_prime256v1`.
  key_algorithm: string?
  /// Whether an AWS resource (a load balancer, a distribution) uses it.
  in_use: bool?
  /// `ELIGIBLE` when ACM can renew it itself.
  renewal_eligibility: string?
  /// Not valid before.
  not_before: timestamp?
  /// Not valid after: when it expires.
  not_after: timestamp?
  /// When it was requested or imported.
  created_at: timestamp?
  /// The names it covers.
  subject_alternative_names: list<string>
}
