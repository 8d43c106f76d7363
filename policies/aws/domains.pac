package policies.aws.domains

// Compliance domains: named sets of policies, each with its own figures,
// trend and dashboard in the portal (`/domains`) and in the API
// (`/api/v1/domains`). A policy belongs to every domain that selects it, by
// category, by tag (`*` matches any run of characters) or by name. Add a
// business unit's own set with `policies ["…", "…"]`.

/// Exposure to the internet, encryption, identity and vulnerabilities.
domain cloud_security {
  title "Cloud security"
  description "Network exposure, encryption, identity and vulnerabilities."
  categories ["security"]
}

/// Mandatory tags, and resources that cost money for nothing.
domain tagging_and_cost {
  title "Tagging and cost"
  description "Mandatory tags, idle and previous-generation resources."
  categories ["tagging", "cost"]
}

/// Governance and day-to-day operations: approved regions, lifecycle.
domain operations {
  title "Governance and operations"
  description "Approved regions, lifecycle and operational hygiene."
  categories ["governance", "operations"]
}

/// The automated controls of the CIS AWS Foundations Benchmark v1.5 that
/// the library checks, mapped through each policy's `cis-aws-1.5:` tags.
domain cis_aws {
  title "CIS AWS Foundations Benchmark v1.5"
  description "The benchmark's automated controls that Pac checks."
  tags ["cis-aws-1.5:*"]
}

/// The AWS Foundational Security Best Practices controls the library
/// checks, through each policy's `aws-fsbp:` tags.
domain aws_fsbp {
  title "AWS Foundational Security Best Practices"
  description "The Security Hub standard's controls that Pac checks."
  tags ["aws-fsbp:*"]
}

/// PacBot's classic AWS rules that the library expresses (docs/pacbot-coverage.md),
/// through each policy's `pacbot:` tags: a team moving from PacBot keeps its figure.
domain pacbot_rules {
  title "PacBot rules"
  description "The PacBot AWS rules that Pac expresses."
  tags ["pacbot:*"]
}
