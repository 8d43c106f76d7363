package policies.aws.messaging

// SQS queues and SNS topics: open access policies and encryption. Each
// policy's tests follow it.

/// A queue anyone can send to (or read from) is a spam channel into the
/// consumers, or a leak of every message.
policy sqs_queue_public {
  title "SQS queue policy allows everyone"
  description "A statement of the queue's access policy allows the principal `*` without a condition."
  severity critical
  category security
  remediation "Replace the `*` principal with the accounts, roles or services that need the queue, or add an aws:SourceArn / aws:SourceAccount condition."
  tags ["aws-fsbp:SQS.3", "pacbot:check-for-sqs-public-access"]

  rule on aws.sqs.queue {
    let open = count s in policy_statements: is_public_statement(s)
    violation when open > 0
    message "queue {id} has {open} policy statement(s) that allow everyone"
  }
}

test "Principal * without a condition fails; scoped by SourceArn or to an account passes" {
  given aws.sqs.queue open {
    queue_name: "orders",
    queue_url: "https://sqs.us-east-1.amazonaws.com/111122223333/orders",
    policy_statements: [
      { effect: "Allow", principals: ["*"], not_principal: false, actions: ["sqs:SendMessage"] },
    ],
  }
  given aws.sqs.queue from_topic {
    queue_name: "events",
    queue_url: "https://sqs.us-east-1.amazonaws.com/111122223333/events",
    policy_statements: [
      {
        effect: "Allow",
        principals: ["*"],
        not_principal: false,
        actions: ["sqs:SendMessage"],
        conditions: ["ArnEquals aws:SourceArn"],
      },
    ],
  }
  given aws.sqs.queue account {
    queue_name: "jobs",
    queue_url: "https://sqs.us-east-1.amazonaws.com/111122223333/jobs",
    policy_statements: [
      {
        effect: "Allow",
        principals: ["arn:aws:iam::111122223333:root"],
        not_principal: false,
        actions: ["sqs:*"],
      },
    ],
  }
  expect sqs_queue_public fails open
  expect sqs_queue_public passes from_topic
  expect sqs_queue_public passes account
}

/// Messages at rest should be encrypted; SSE-SQS costs nothing.
policy sqs_queue_unencrypted {
  title "SQS queue is not encrypted at rest"
  description "The queue has neither SSE-SQS (SqsManagedSseEnabled) nor a KMS key (KmsMasterKeyId)."
  severity medium
  category security
  remediation "aws sqs set-queue-attributes --queue-url <url> --attributes SqsManagedSseEnabled=true (or KmsMasterKeyId=<key>)."
  tags ["aws-fsbp:SQS.1"]

  rule on aws.sqs.queue {
    violation when not (sqs_managed_sse_enabled ?? false) and not has(kms_master_key_id)
    message "queue {id} stores messages unencrypted"
  }
}

test "SSE-SQS or a KMS key passes; neither fails" {
  given aws.sqs.queue sse {
    queue_name: "a",
    queue_url: "https://q/a",
    sqs_managed_sse_enabled: true,
  }
  given aws.sqs.queue kms {
    queue_name: "b",
    queue_url: "https://q/b",
    kms_master_key_id: "alias/aws/sqs",
  }
  given aws.sqs.queue plain {
    queue_name: "c",
    queue_url: "https://q/c",
    sqs_managed_sse_enabled: false,
  }
  expect sqs_queue_unencrypted passes sse
  expect sqs_queue_unencrypted passes kms
  expect sqs_queue_unencrypted fails plain
}

/// A topic anyone may publish to or subscribe to leaks or forges
/// notifications.
policy sns_topic_public {
  title "SNS topic policy allows everyone"
  description "A statement of the topic's access policy allows the principal `*` without a condition."
  severity high
  category security
  remediation "Limit the statement to the accounts or services that publish or subscribe, or add an aws:SourceOwner / aws:SourceArn condition."
  tags ["aws-fsbp:SNS.4"]

  rule on aws.sns.topic {
    let open = count s in policy_statements: is_public_statement(s)
    violation when open > 0
    message "topic {id} has {open} policy statement(s) that allow everyone"
  }
}

test "an open topic fails; the default owner-only policy passes" {
  given aws.sns.topic open {
    topic_name: "alerts",
    topic_arn: "arn:aws:sns:us-east-1:111122223333:alerts",
    policy_statements: [
      { effect: "Allow", principals: ["*"], not_principal: false, actions: ["SNS:Publish"] },
    ],
  }
  given aws.sns.topic default_policy {
    topic_name: "deploys",
    topic_arn: "arn:aws:sns:us-east-1:111122223333:deploys",
    policy_statements: [
      {
        effect: "Allow",
        principals: ["*"],
        not_principal: false,
        actions: ["SNS:Publish", "SNS:Subscribe"],
        conditions: ["StringEquals AWS:SourceOwner"],
      },
    ],
  }
  expect sns_topic_public fails open
  expect sns_topic_public passes default_policy
}

/// Notifications often carry the data they are about.
policy sns_topic_unencrypted {
  title "SNS topic is not encrypted at rest"
  description "The topic has no KMS key (KmsMasterKeyId)."
  severity low
  category security
  remediation "aws sns set-topic-attributes --topic-arn <arn> --attribute-name KmsMasterKeyId --attribute-value alias/aws/sns"
  tags ["aws-fsbp:SNS.1"]

  rule on aws.sns.topic {
    violation when not has(kms_master_key_id)
    message "topic {id} is not encrypted with a KMS key"
  }
}

test "a topic with a key passes; without fails" {
  given aws.sns.topic enc {
    topic_name: "a",
    topic_arn: "arn:aws:sns:us-east-1:1:a",
    kms_master_key_id: "alias/aws/sns",
  }
  given aws.sns.topic plain { topic_name: "b", topic_arn: "arn:aws:sns:us-east-1:1:b" }
  expect sns_topic_unencrypted passes enc
  expect sns_topic_unencrypted fails plain
}

/// Without a dead-letter queue a message its consumer cannot process is
/// retried until its retention period ends, then silently dropped.
policy sqs_queue_no_dead_letter_queue {
  title "SQS queue has no dead-letter queue"
  description "The queue has no redrive policy (dead_letter_target_arn) and is not itself the dead-letter queue of another queue of the inventory."
  severity low
  category operations
  remediation "Create a dead-letter queue and set the redrive policy: aws sqs set-queue-attributes --queue-url <url> --attributes RedrivePolicy=<json with deadLetterTargetArn and maxReceiveCount>, and alarm on its ApproximateNumberOfMessagesVisible."
  tags ["sqs-reliability"]

  rule on aws.sqs.queue {
    let arn = queue_arn ?? queue_url
    violation when
      not has(dead_letter_target_arn)
      and none q in aws.sqs.queue: has(q.dead_letter_target_arn) and q.dead_letter_target_arn == arn
    message "queue {queue_name} has no dead-letter queue"
  }
}

test "a queue without a dead-letter queue fails" {
  given aws.sqs.queue orders {
    queue_name: "orders",
    queue_url: "https://sqs.us-east-1.amazonaws.com/111122223333/orders",
    queue_arn: "arn:aws:sqs:us-east-1:111122223333:orders",
  }
  expect sqs_queue_no_dead_letter_queue fails orders
}

test "a queue whose dead-letter queue is another queue is not that queue's source" {
  given aws.sqs.queue invoices {
    queue_name: "invoices",
    queue_url: "https://sqs.us-east-1.amazonaws.com/111122223333/invoices",
    queue_arn: "arn:aws:sqs:us-east-1:111122223333:invoices",
  }
  given aws.sqs.queue receipts {
    queue_name: "receipts",
    queue_url: "https://sqs.us-east-1.amazonaws.com/111122223333/receipts",
    queue_arn: "arn:aws:sqs:us-east-1:111122223333:receipts",
    dead_letter_target_arn: "arn:aws:sqs:us-east-1:111122223333:receipts-dlq",
  }
  expect sqs_queue_no_dead_letter_queue fails invoices
  expect sqs_queue_no_dead_letter_queue passes receipts
}

test "a queue with a dead-letter queue passes, and so does the dead-letter queue itself" {
  given aws.sqs.queue payments {
    queue_name: "payments",
    queue_url: "https://sqs.us-east-1.amazonaws.com/111122223333/payments",
    queue_arn: "arn:aws:sqs:us-east-1:111122223333:payments",
    dead_letter_target_arn: "arn:aws:sqs:us-east-1:111122223333:payments-dlq",
  }
  given aws.sqs.queue payments_dlq {
    queue_name: "payments-dlq",
    queue_url: "https://sqs.us-east-1.amazonaws.com/111122223333/payments-dlq",
    queue_arn: "arn:aws:sqs:us-east-1:111122223333:payments-dlq",
  }
  expect sqs_queue_no_dead_letter_queue passes payments
  expect sqs_queue_no_dead_letter_queue passes payments_dlq
}
