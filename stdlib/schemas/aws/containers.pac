package aws.containers

// Amazon ECR repositories and EKS clusters. Conventions: see
// docs/schemas.md.

/// An ECR repository (DescribeRepositories, GetRepositoryPolicy, ListTagsForResource); `id` is the repository name.
schema aws.ecr.repository {
  /// The repository's name, e.g. `payments/api`.
  repository_name: string?
  /// The repository's ARN.
  repository_arn: string?
  /// The URI images are pushed to.
  repository_uri: string?
  /// The registry (account) ID.
  registry_id: string?
  /// When the repository was created.
  created_at: timestamp?
  /// `MUTABLE` or `IMMUTABLE` (tags cannot be overwritten).
  image_tag_mutability: string?
  /// Whether images are scanned for vulnerabilities when pushed.
  scan_on_push: bool?
  /// `AES256` or `KMS`.
  encryption_type: string?
  /// The KMS key with `KMS` encryption.
  kms_key: string?
  /// The repository policy's statements; empty when it has none.
  policy_statements: list<aws.policy.PolicyStatement>
  /// Why the policy could not be read as a policy; absent when it could.
  policy_error: string?
  /// The repository's tags.
  tags: map<string>
}

/// An EKS cluster (ListClusters, DescribeCluster); `id` is the cluster name.
schema aws.eks.cluster {
  /// The cluster's name.
  name: string?
  /// The cluster's ARN.
  arn: string?
  /// The Kubernetes version, e.g. `1.31`.
  version: string?
  /// `ACTIVE`, `CREATING`, `UPDATING`, …
  status: string?
  /// The cluster's IAM role.
  role_arn: string?
  /// The EKS platform version.
  platform_version: string?
  /// When the cluster was created.
  created_at: timestamp?
  /// Whether the API server endpoint is reachable from the internet.
  endpoint_public_access: bool?
  /// Whether the API server endpoint is reachable from the VPC.
  endpoint_private_access: bool?
  /// The CIDR blocks allowed to reach the public endpoint (`0.0.0.0/0` for all).
  public_access_cidrs: list<string>
  /// The cluster's VPC.
  vpc_id: string?
  /// The control-plane log types that are on: `api`, `audit`, `authenticator`, `controllerManager`, `scheduler`.
  enabled_log_types: list<string>
  /// Whether Kubernetes secrets are envelope-encrypted with your KMS key (an encryption configuration with a provider key).
  secrets_encrypted: bool
  /// The cluster's tags.
  tags: map<string>
}
