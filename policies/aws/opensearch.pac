package policies.aws.opensearch

// OpenSearch Service domains (OpenSearch and Elasticsearch engines):
// exposure, encryption at rest and in transit, fine-grained access
// control, audit logs. Each policy's tests follow it.

/// The TLS security policies that still accept TLS 1.0 and 1.1.
fn outdated_opensearch_tls() -> list<string> = ["Policy-Min-TLS-1-0-2019-07"]

/// A domain outside a VPC whose access policy allows everyone can be read,
/// written and deleted by anyone on the internet.
policy opensearch_domain_public {
  title "OpenSearch domain is open to the internet"
  description "The domain has a public endpoint (it is not in a VPC) and a statement of its access policy allows the principal `*` without a condition."
  severity critical
  category security
  remediation "Restrict the access policy to named principals or source IPs (aws opensearch update-domain-config --access-policies), turn on fine-grained access control, or recreate the domain in a VPC."
  tags ["pacbot:check-for-elastic-search-public-access"]

  rule on aws.opensearch.domain {
    violation when not has(vpc_options) and has_public_statement(policy_statements)
    message "OpenSearch domain {id} is public and its access policy allows everyone"
  }
}

test "a public domain with an open policy fails; in a VPC, or with a scoped policy, passes" {
  given aws.opensearch.domain open {
    domain_name: "logs",
    domain_id: "111122223333/logs",
    arn: "arn:aws:es:us-east-1:111122223333:domain/logs",
    endpoint: "search-logs-abc.us-east-1.es.amazonaws.com",
    policy_statements: [
      { effect: "Allow", principals: ["*"], not_principal: false, actions: ["es:*"] },
    ],
  }
  given aws.opensearch.domain in_vpc {
    domain_name: "logs",
    domain_id: "111122223333/logs",
    arn: "arn:aws:es:us-east-1:111122223333:domain/logs",
    vpc_options: { vpc_id: "vpc-1", subnet_ids: ["subnet-1"] },
    policy_statements: [
      { effect: "Allow", principals: ["*"], not_principal: false, actions: ["es:*"] },
    ],
  }
  given aws.opensearch.domain scoped {
    domain_name: "logs",
    domain_id: "111122223333/logs",
    arn: "arn:aws:es:us-east-1:111122223333:domain/logs",
    policy_statements: [
      {
        effect: "Allow",
        principals: ["arn:aws:iam::111122223333:role/search"],
        not_principal: false,
        actions: ["es:ESHttpGet"],
      },
    ],
  }
  expect opensearch_domain_public fails open
  expect opensearch_domain_public passes in_vpc
  expect opensearch_domain_public passes scoped
}

/// Unencrypted indices expose the data in snapshots and discarded disks.
policy opensearch_unencrypted_at_rest {
  title "OpenSearch domain is not encrypted at rest"
  description "The domain's indices, logs and automated snapshots are not encrypted at rest (EncryptionAtRestOptions.Enabled is false or unknown)."
  severity high
  category security
  remediation "aws opensearch update-domain-config --domain-name <name> --encryption-at-rest-options Enabled=true (OpenSearch 1.x+ / Elasticsearch 6.7+)."
  tags ["aws-fsbp:Opensearch.1"]

  rule on aws.opensearch.domain {
    violation when not (encryption_at_rest_options?.enabled ?? false)
    message "OpenSearch domain {id} is not encrypted at rest"
  }
}

test "encryption off fails; on passes" {
  given aws.opensearch.domain plain {
    domain_name: "logs",
    domain_id: "111122223333/logs",
    arn: "arn:aws:es:us-east-1:111122223333:domain/logs",
    encryption_at_rest_options: { enabled: false },
  }
  given aws.opensearch.domain enc {
    domain_name: "logs",
    domain_id: "111122223333/logs",
    arn: "arn:aws:es:us-east-1:111122223333:domain/logs",
    encryption_at_rest_options: { enabled: true },
  }
  expect opensearch_unencrypted_at_rest fails plain
  expect opensearch_unencrypted_at_rest passes enc
}

/// Without node-to-node encryption, shard traffic inside the domain is in
/// clear.
policy opensearch_node_to_node_unencrypted {
  title "OpenSearch domain node-to-node encryption is off"
  description "Traffic between the domain's nodes is not encrypted (NodeToNodeEncryptionOptions.Enabled is false or unknown)."
  severity medium
  category security
  remediation "aws opensearch update-domain-config --domain-name <name> --node-to-node-encryption-options Enabled=true"
  tags ["aws-fsbp:Opensearch.3"]

  rule on aws.opensearch.domain {
    violation when not (node_to_node_encryption_options?.enabled ?? false)
    message "OpenSearch domain {id} does not encrypt traffic between its nodes"
  }
}

test "node-to-node off fails; on passes" {
  given aws.opensearch.domain plain {
    domain_name: "logs",
    domain_id: "111122223333/logs",
    arn: "arn:aws:es:us-east-1:111122223333:domain/logs",
    node_to_node_encryption_options: { enabled: false },
  }
  given aws.opensearch.domain enc {
    domain_name: "logs",
    domain_id: "111122223333/logs",
    arn: "arn:aws:es:us-east-1:111122223333:domain/logs",
    node_to_node_encryption_options: { enabled: true },
  }
  expect opensearch_node_to_node_unencrypted fails plain
  expect opensearch_node_to_node_unencrypted passes enc
}

/// Plain HTTP to the endpoint exposes credentials and documents; TLS 1.0
/// and 1.1 are deprecated (RFC 8996).
policy opensearch_https_not_enforced {
  title "OpenSearch domain allows HTTP or TLS older than 1.2"
  description "The domain endpoint does not enforce HTTPS (DomainEndpointOptions.EnforceHTTPS), or its TLS security policy still accepts TLS 1.0 and 1.1."
  severity medium
  category security
  remediation "aws opensearch update-domain-config --domain-name <name> --domain-endpoint-options EnforceHTTPS=true,TLSSecurityPolicy=Policy-Min-TLS-1-2-PFS-2023-10"
  tags ["aws-fsbp:Opensearch.8"]

  rule on aws.opensearch.domain {
    let tls = domain_endpoint_options?.tls_security_policy ?? ""
    violation when
      not (domain_endpoint_options?.enforce_https ?? false) or tls in outdated_opensearch_tls()
    message "OpenSearch domain {id} allows plain HTTP or an outdated TLS version ({tls})"
  }
}

test "HTTPS not enforced fails; TLS 1.0 policy fails; HTTPS with TLS 1.2 passes" {
  given aws.opensearch.domain http {
    domain_name: "logs",
    domain_id: "111122223333/logs",
    arn: "arn:aws:es:us-east-1:111122223333:domain/logs",
    domain_endpoint_options: { enforce_https: false },
  }
  given aws.opensearch.domain old_tls {
    domain_name: "logs",
    domain_id: "111122223333/logs",
    arn: "arn:aws:es:us-east-1:111122223333:domain/logs",
    domain_endpoint_options: {
      enforce_https: true,
      tls_security_policy: "Policy-Min-TLS-1-0-2019-07",
    },
  }
  given aws.opensearch.domain modern {
    domain_name: "logs",
    domain_id: "111122223333/logs",
    arn: "arn:aws:es:us-east-1:111122223333:domain/logs",
    domain_endpoint_options: {
      enforce_https: true,
      tls_security_policy: "Policy-Min-TLS-1-2-PFS-2023-10",
    },
  }
  expect opensearch_https_not_enforced fails http
  expect opensearch_https_not_enforced fails old_tls
  expect opensearch_https_not_enforced passes modern
}

/// Fine-grained access control checks users and roles at index, document
/// and field level instead of trusting anyone the access policy lets in.
policy opensearch_fine_grained_access_off {
  title "OpenSearch domain fine-grained access control is off"
  description "The domain does not use fine-grained access control (AdvancedSecurityOptions.Enabled is false or unknown)."
  severity medium
  category security
  remediation "aws opensearch update-domain-config --domain-name <name> --advanced-security-options Enabled=true,InternalUserDatabaseEnabled=…,MasterUserOptions=… (needs HTTPS, node-to-node and at-rest encryption)."
  tags ["aws-fsbp:Opensearch.7"]

  rule on aws.opensearch.domain {
    violation when not (advanced_security_options?.enabled ?? false)
    message "OpenSearch domain {id} has no fine-grained access control"
  }
}

test "fine-grained access control off fails; on passes" {
  given aws.opensearch.domain off_ {
    domain_name: "logs",
    domain_id: "111122223333/logs",
    arn: "arn:aws:es:us-east-1:111122223333:domain/logs",
    advanced_security_options: { enabled: false },
  }
  given aws.opensearch.domain on_ {
    domain_name: "logs",
    domain_id: "111122223333/logs",
    arn: "arn:aws:es:us-east-1:111122223333:domain/logs",
    advanced_security_options: { enabled: true, internal_user_database_enabled: true },
  }
  expect opensearch_fine_grained_access_off fails off_
  expect opensearch_fine_grained_access_off passes on_
}

/// Audit logs record who read and changed which index: the trail an
/// investigation needs.
policy opensearch_audit_logs_disabled {
  title "OpenSearch domain audit logs are off"
  description "The domain does not publish audit logs to CloudWatch Logs (no enabled `AUDIT_LOGS` log publishing option)."
  severity medium
  category security
  remediation "Turn on fine-grained access control, then aws opensearch update-domain-config --domain-name <name> --log-publishing-options AUDIT_LOGS={CloudWatchLogsLogGroupArn=<arn>,Enabled=true}, and enable auditing in OpenSearch Dashboards."
  tags ["aws-fsbp:Opensearch.5"]

  rule on aws.opensearch.domain {
    violation when "AUDIT_LOGS" not in enabled_log_types
    message "OpenSearch domain {id} does not publish audit logs"
  }
}

test "no audit log fails; AUDIT_LOGS enabled passes" {
  given aws.opensearch.domain silent {
    domain_name: "logs",
    domain_id: "111122223333/logs",
    arn: "arn:aws:es:us-east-1:111122223333:domain/logs",
    enabled_log_types: ["INDEX_SLOW_LOGS"],
  }
  given aws.opensearch.domain audited {
    domain_name: "logs",
    domain_id: "111122223333/logs",
    arn: "arn:aws:es:us-east-1:111122223333:domain/logs",
    enabled_log_types: ["AUDIT_LOGS", "INDEX_SLOW_LOGS"],
  }
  expect opensearch_audit_logs_disabled fails silent
  expect opensearch_audit_logs_disabled passes audited
}
