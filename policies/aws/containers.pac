package policies.aws.containers

// ECR repositories and EKS clusters. Each policy's tests follow it.

/// The oldest Kubernetes minor version (`1.N`) EKS still gives standard
/// support; raise it as EKS retires versions
/// (https://docs.aws.amazon.com/eks/latest/userguide/kubernetes-versions.html).
fn eks_oldest_supported_minor() -> int = 32

/// The minor number of a Kubernetes version: 31 for `1.31`; absent when the
/// version does not read as `1.N`.
fn kubernetes_minor(version: string) -> int? =
  if starts_with(version, "1.") then parse_int(split(version, ".")[1] ?? "") else parse_int("")

/// Scanning on push finds known vulnerabilities before an image runs.
policy ecr_scan_on_push_disabled {
  title "ECR repository does not scan images on push"
  description "The repository's image scanning configuration has scan on push off."
  severity medium
  category security
  remediation "aws ecr put-image-scanning-configuration --repository-name <name> --image-scanning-configuration scanOnPush=true (or turn on enhanced scanning for the registry)."
  tags ["aws-fsbp:ECR.1"]

  rule on aws.ecr.repository {
    violation when not (scan_on_push ?? false)
    message "repository {id} does not scan images on push"
  }

  autofix enable_ecr_scan_on_push() after 1d notify tags["owner"] ?? "platform@example.com"
}

test "scan on push passes; off fails" {
  given aws.ecr.repository scanned { scan_on_push: true }
  given aws.ecr.repository unscanned { scan_on_push: false }
  expect ecr_scan_on_push_disabled passes scanned
  expect ecr_scan_on_push_disabled fails unscanned
}

/// A mutable tag can be repointed at another image after review.
policy ecr_tags_mutable {
  title "ECR repository allows tags to be overwritten"
  description "The repository's image tag mutability is MUTABLE: a pushed tag (e.g. `v1.4.2`) can later point at a different image."
  severity low
  category security
  remediation "aws ecr put-image-tag-mutability --repository-name <name> --image-tag-mutability IMMUTABLE"
  tags ["aws-fsbp:ECR.2"]

  rule on aws.ecr.repository {
    violation when (image_tag_mutability ?? "") == "MUTABLE"
    message "repository {id} lets tags be overwritten"
  }
}

test "MUTABLE fails; IMMUTABLE passes" {
  given aws.ecr.repository mutable { image_tag_mutability: "MUTABLE" }
  given aws.ecr.repository immutable { image_tag_mutability: "IMMUTABLE" }
  expect ecr_tags_mutable fails mutable
  expect ecr_tags_mutable passes immutable
}

/// A repository policy that lets anyone pull publishes the images (and the
/// secrets baked into them).
policy ecr_repository_public {
  title "ECR repository policy allows everyone"
  description "A statement of the repository policy allows the principal `*` without a condition."
  severity high
  category security
  remediation "Limit the repository policy to the accounts that pull from it, or add an aws:PrincipalOrgID condition."
  tags ["aws-fsbp:ECR.4"]

  rule on aws.ecr.repository {
    let open = count s in policy_statements: is_public_statement(s)
    violation when open > 0
    message "repository {id} has {open} policy statement(s) that allow everyone"
  }
}

test "an open repository policy fails; none passes" {
  given aws.ecr.repository open {
    policy_statements: [
      { effect: "Allow", principals: ["*"], not_principal: false, actions: ["ecr:BatchGetImage"] },
    ],
  }
  given aws.ecr.repository closed { scan_on_push: true }
  expect ecr_repository_public fails open
  expect ecr_repository_public passes closed
}

/// The Kubernetes API open to the whole internet invites credential
/// stuffing and exploits of the API server.
policy eks_endpoint_public {
  title "EKS cluster API endpoint is open to the internet"
  description "The cluster's public endpoint is on and reachable from 0.0.0.0/0 (no public_access_cidrs narrower than the world)."
  severity high
  category security
  remediation "Turn off the public endpoint (aws eks update-cluster-config --resources-vpc-config endpointPublicAccess=false,endpointPrivateAccess=true) or limit publicAccessCidrs to your networks."
  tags ["aws-fsbp:EKS.1"]

  rule on aws.eks.cluster {
    violation when
      (endpoint_public_access ?? false)
      and (len(public_access_cidrs) == 0 or "0.0.0.0/0" in public_access_cidrs)
    message "cluster {id}'s API endpoint is open to the internet"
  }
}

test "public to the world fails; public to one network or private passes" {
  given aws.eks.cluster world {
    endpoint_public_access: true,
    public_access_cidrs: ["0.0.0.0/0"],
    secrets_encrypted: true,
  }
  given aws.eks.cluster office {
    endpoint_public_access: true,
    public_access_cidrs: ["203.0.113.0/24"],
    secrets_encrypted: true,
  }
  given aws.eks.cluster private_api {
    endpoint_public_access: false,
    endpoint_private_access: true,
    secrets_encrypted: true,
  }
  expect eks_endpoint_public fails world
  expect eks_endpoint_public passes office
  expect eks_endpoint_public passes private_api
}

/// Kubernetes secrets are only base64 in etcd unless envelope-encrypted.
policy eks_secrets_unencrypted {
  title "EKS cluster does not encrypt Kubernetes secrets with KMS"
  description "The cluster has no encryption configuration for the `secrets` resource."
  severity medium
  category security
  remediation "aws eks associate-encryption-config --cluster-name <name> --encryption-config resources=secrets,provider={keyArn=<key>}"
  tags ["aws-fsbp:EKS.3"]

  rule on aws.eks.cluster {
    violation when not secrets_encrypted
    message "cluster {id} does not envelope-encrypt its secrets"
  }
}

test "encrypted secrets pass; plain fail" {
  given aws.eks.cluster enc { secrets_encrypted: true }
  given aws.eks.cluster plain { secrets_encrypted: false }
  expect eks_secrets_unencrypted passes enc
  expect eks_secrets_unencrypted fails plain
}

/// The audit log is the record of who did what in the cluster.
policy eks_audit_logging_disabled {
  title "EKS cluster does not send its audit log"
  description "The cluster's control-plane logging does not include the `audit` log type."
  severity medium
  category security
  remediation "Turn on the audit log type: aws eks update-cluster-config --name <name> --logging with clusterLogging types api, audit and authenticator enabled."
  tags ["aws-fsbp:EKS.8"]

  rule on aws.eks.cluster {
    violation when "audit" not in enabled_log_types
    message "cluster {id} does not send its audit log (enabled: {enabled_log_types})"
  }
}

test "audit on passes; only api fails" {
  given aws.eks.cluster audited { secrets_encrypted: true, enabled_log_types: ["api", "audit"] }
  given aws.eks.cluster api_only { secrets_encrypted: true, enabled_log_types: ["api"] }
  expect eks_audit_logging_disabled passes audited
  expect eks_audit_logging_disabled fails api_only
}

/// Versions out of standard support get no more Kubernetes or EKS
/// security fixes (and extended support costs six times more per hour).
policy eks_unsupported_version {
  title "EKS cluster runs a Kubernetes version out of standard support"
  description "The cluster's Kubernetes version is older than 1.N, with N from `eks_oldest_supported_minor()` (1.32 as shipped). A version that does not read as `1.N` is not judged."
  severity high
  category security
  remediation "Upgrade the control plane one minor version at a time (aws eks update-cluster-version --name <cluster> --kubernetes-version 1.<n+1>), then the node groups and add-ons."
  tags ["aws-fsbp:EKS.2"]

  rule on aws.eks.cluster {
    let minor = kubernetes_minor(version ?? "") ?? 999
    violation when minor < eks_oldest_supported_minor()
    message "EKS cluster {id} runs Kubernetes {version}, which is out of standard support"
  }
}

test "a cluster on 1.28 fails" {
  given aws.eks.cluster old_cluster { name: "legacy", version: "1.28", secrets_encrypted: true }
  expect eks_unsupported_version fails old_cluster
}

test "a cluster on 1.33 passes" {
  given aws.eks.cluster current_cluster { name: "apps", version: "1.33", secrets_encrypted: true }
  expect eks_unsupported_version passes current_cluster
}

test "a cluster without a readable version is not judged" {
  given aws.eks.cluster creating { name: "new", status: "CREATING", secrets_encrypted: false }
  given aws.eks.cluster odd { name: "odd", version: "2.0", secrets_encrypted: false }
  expect eks_unsupported_version passes creating
  expect eks_unsupported_version passes odd
}
