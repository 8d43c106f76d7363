package aws.policy

// Resource policies (the IAM JSON policy language) as the collector reads
// them: one record per statement. Used by SQS, SNS, Lambda, KMS, ECR, API
// Gateway and OpenSearch.

/// One statement of a resource policy (`Statement[]`), as read by the collector; values are taken as they are, never evaluated.
record PolicyStatement {
  /// The statement ID (`Sid`); absent when the statement has none.
  sid: string?
  /// `Allow` or `Deny` (`Effect`).
  effect: string
  /// Who the statement applies to (`Principal`): `*` for everyone, else each AWS, Service, Federated or CanonicalUser value, e.g. `arn:aws:iam::123456789012:root`; empty with `NotPrincipal`.
  principals: list<string>
  /// Whether the statement uses `NotPrincipal` (applies to everyone except the listed principals).
  not_principal: bool
  /// The actions (`Action`), e.g. `sqs:SendMessage`; a `NotAction` statement reads as `*`.
  actions: list<string>
  /// The resources (`Resource`).
  resources: list<string>
  /// The conditions as `Operator key`, e.g. `StringEquals aws:SourceAccount`; empty when unconditional.
  conditions: list<string>
}
