package aws.opensearch

// Amazon OpenSearch Service domains (OpenSearch and Elasticsearch
// engines). Conventions: see docs/schemas.md.

/// An OpenSearch Service domain (ListDomainNames, DescribeDomains, plus ListTags); `id` is the domain name.
schema aws.opensearch.domain {
  /// The domain's name.
  domain_name: string
  /// The domain's ID, `ACCOUNT/NAME`.
  domain_id: string
  /// The domain's ARN.
  arn: string
  /// The engine and version, e.g. `OpenSearch_2.13` or `Elasticsearch_7.10`.
  engine_version: string?
  /// The public endpoint (`search-…`); absent for a domain in a VPC.
  endpoint: string?
  /// The dual-stack endpoint.
  endpoint_v2: string?
  /// The VPC endpoints of a domain in a VPC (key `vpc`).
  endpoints: map<string>
  /// The VPC the domain is in; absent for a public domain.
  vpc_options: VpcOptions?
  /// Encryption at rest.
  encryption_at_rest_options: EncryptionAtRestOptions?
  /// Encryption of the traffic between the domain's nodes.
  node_to_node_encryption_options: NodeToNodeEncryptionOptions?
  /// HTTPS and the TLS policy of the endpoint.
  domain_endpoint_options: DomainEndpointOptions?
  /// Fine-grained access control.
  advanced_security_options: AdvancedSecurityOptions?
  /// The access policy's statements (`AccessPolicies`); empty when it has none.
  policy_statements: list<aws.policy.PolicyStatement>
  /// Why the access policy could not be read as a policy; absent when it could.
  policy_error: string?
  /// The log types published to CloudWatch Logs and enabled: `AUDIT_LOGS`, `ES_APPLICATION_LOGS`, `SEARCH_SLOW_LOGS`, `INDEX_SLOW_LOGS`.
  enabled_log_types: list<string>
  /// The domain's tags (ListTags).
  tags: map<string>
}

/// Where a domain in a VPC is (VpcDerivedInfo).
record VpcOptions {
  /// The VPC.
  vpc_id: string?
  /// The subnets.
  subnet_ids: list<string>
  /// The security groups.
  security_group_ids: list<string>
}

/// Encryption at rest of a domain (EncryptionAtRestOptions).
record EncryptionAtRestOptions {
  /// Whether the data is encrypted at rest.
  enabled: bool?
  /// The KMS key.
  kms_key_id: string?
}

/// Node-to-node encryption of a domain (NodeToNodeEncryptionOptions).
record NodeToNodeEncryptionOptions {
  /// Whether traffic between nodes is encrypted.
  enabled: bool?
}

/// The endpoint's HTTPS settings (DomainEndpointOptions).
record DomainEndpointOptions {
  /// Whether plain HTTP requests are refused.
  enforce_https: bool?
  /// The TLS policy, e.g. `Policy-Min-TLS-1-2-PFS-2023-10` or `Policy-Min-TLS-1-0-2019-07`.
  tls_security_policy: string?
  /// Whether a custom endpoint is on.
  custom_endpoint_enabled: bool?
  /// The custom endpoint's domain name.
  custom_endpoint: string?
}

/// Fine-grained access control of a domain (AdvancedSecurityOptions).
record AdvancedSecurityOptions {
  /// Whether fine-grained access control is on.
  enabled: bool?
  /// Whether users are kept in the domain's internal database.
  internal_user_database_enabled: bool?
  /// Whether anonymous requests are allowed (during a migration to fine-grained access control).
  anonymous_auth_enabled: bool?
}
