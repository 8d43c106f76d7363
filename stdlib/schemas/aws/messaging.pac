package aws.messaging

// Amazon SQS queues and SNS topics: who may use them and how they are
// encrypted. Conventions: see docs/schemas.md.

/// An SQS queue (ListQueues, GetQueueAttributes `All`, ListQueueTags); `id` is the queue name.
schema aws.sqs.queue {
  /// The queue's name.
  queue_name: string
  /// The queue's URL (what the API's calls take).
  queue_url: string
  /// The queue's ARN (`QueueArn`).
  queue_arn: string?
  /// The KMS key of SSE-KMS (`KmsMasterKeyId`); absent without it.
  kms_master_key_id: string?
  /// Whether SSE-SQS (SQS-owned keys) is on (`SqsManagedSseEnabled`).
  sqs_managed_sse_enabled: bool?
  /// Seconds a message is kept (`MessageRetentionPeriod`).
  message_retention_period: int?
  /// Seconds a received message stays hidden (`VisibilityTimeout`).
  visibility_timeout: int?
  /// The dead-letter queue's ARN (`RedrivePolicy.deadLetterTargetArn`); absent without one.
  dead_letter_target_arn: string?
  /// The access policy's statements (`Policy`); empty when it has none.
  policy_statements: list<aws.policy.PolicyStatement>
  /// Why the policy could not be read as a policy; absent when it could.
  policy_error: string?
  /// The queue's tags.
  tags: map<string>
}

/// An SNS topic (ListTopics, GetTopicAttributes, ListTagsForResource); `id` is the topic name.
schema aws.sns.topic {
  /// The topic's name.
  topic_name: string
  /// The topic's ARN.
  topic_arn: string
  /// The display name; absent when empty.
  display_name: string?
  /// The KMS key of server-side encryption (`KmsMasterKeyId`); absent when unencrypted.
  kms_master_key_id: string?
  /// Confirmed subscriptions (`SubscriptionsConfirmed`).
  subscriptions_confirmed: int?
  /// The access policy's statements (`Policy`).
  policy_statements: list<aws.policy.PolicyStatement>
  /// Why the policy could not be read as a policy; absent when it could.
  policy_error: string?
  /// The topic's tags.
  tags: map<string>
}
