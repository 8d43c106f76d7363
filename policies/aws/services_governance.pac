package policies.aws.services_governance

// The tagging standard and approved regions, for the services beyond EC2
// and S3 (KMS, Lambda, RDS, DynamoDB, SQS, SNS, ELBv2, CloudFront, API
// Gateway, Redshift, OpenSearch). Each policy's tests follow it.

/// The tags every database, function and customer key must carry, with a
/// non-empty value.
fn service_mandatory_tags() -> list<string> = ["owner", "cost-center"]

/// Untagged databases, functions and keys cannot be charged back or traced
/// to a team when they fail a check.
policy service_mandatory_tags {
  title "Database, function, load balancer, Auto Scaling group, distribution, API, search domain or key lacks owner or cost-center tags"
  description "An RDS DB instance, DynamoDB table, Redshift cluster, Lambda function, load balancer (ELBv2 or classic), Auto Scaling group, CloudFront distribution, API Gateway REST API, OpenSearch domain or customer-managed KMS key lacks the `owner` or `cost-center` tag, or has it empty."
  severity low
  category tagging
  remediation "Tag the resource with owner and cost-center (aws resourcegroupstaggingapi tag-resources works across these services)."
  tags ["pacbot:check-for-missing-mandatory-tags", "tagging-standard"]

  rule databases on aws.rds.db_instance {
    let missing = missing_keys(tags, service_mandatory_tags())
    violation when not has_all_tags(tags, service_mandatory_tags())
    message "DB instance {id} lacks mandatory tags: {missing}"
  }
  rule classic_load_balancers on aws.elb.load_balancer {
    let missing = missing_keys(tags, service_mandatory_tags())
    violation when not has_all_tags(tags, service_mandatory_tags())
    message "classic load balancer {id} lacks mandatory tags: {missing}"
  }
  rule auto_scaling_groups on aws.autoscaling.group {
    let missing = missing_keys(tags, service_mandatory_tags())
    violation when not has_all_tags(tags, service_mandatory_tags())
    message "Auto Scaling group {id} lacks mandatory tags: {missing}"
  }
  rule tables on aws.dynamodb.table {
    let missing = missing_keys(tags, service_mandatory_tags())
    violation when not has_all_tags(tags, service_mandatory_tags())
    message "table {id} lacks mandatory tags: {missing}"
  }
  rule functions on aws.lambda.function {
    let missing = missing_keys(tags, service_mandatory_tags())
    violation when not has_all_tags(tags, service_mandatory_tags())
    message "function {id} lacks mandatory tags: {missing}"
  }
  rule load_balancers on aws.elbv2.load_balancer {
    let missing = missing_keys(tags, service_mandatory_tags())
    violation when not has_all_tags(tags, service_mandatory_tags())
    message "load balancer {id} lacks mandatory tags: {missing}"
  }
  rule warehouses on aws.redshift.cluster {
    let missing = missing_keys(tags, service_mandatory_tags())
    violation when not has_all_tags(tags, service_mandatory_tags())
    message "Redshift cluster {id} lacks mandatory tags: {missing}"
  }
  rule distributions on aws.cloudfront.distribution {
    let missing = missing_keys(tags, service_mandatory_tags())
    violation when not has_all_tags(tags, service_mandatory_tags())
    message "CloudFront distribution {id} lacks mandatory tags: {missing}"
  }
  rule apis on aws.apigateway.rest_api {
    let missing = missing_keys(tags, service_mandatory_tags())
    violation when not has_all_tags(tags, service_mandatory_tags())
    message "REST API {id} lacks mandatory tags: {missing}"
  }
  rule search_domains on aws.opensearch.domain {
    let missing = missing_keys(tags, service_mandatory_tags())
    violation when not has_all_tags(tags, service_mandatory_tags())
    message "OpenSearch domain {id} lacks mandatory tags: {missing}"
  }
  rule keys on aws.kms.key {
    let missing = missing_keys(tags, service_mandatory_tags())
    violation when
      (key_manager ?? "") == "CUSTOMER" and not has_all_tags(tags, service_mandatory_tags())
    message "KMS key {id} lacks mandatory tags: {missing}"
  }

  autofix notify_only() notify tags["owner"] ?? "finops@example.com"
}

test "untagged resources of each service fail; tagged ones and AWS-managed keys pass" {
  given aws.rds.db_instance bare_db { engine: "postgres" }
  given aws.rds.db_instance tagged_db { tags: { owner: "data@example.com", "cost-center": "CC-7" } }
  given aws.dynamodb.table bare_table { table_status: "ACTIVE" }
  given aws.lambda.function half_fn { tags: { owner: "web@example.com", "cost-center": "" } }
  given aws.kms.key bare_key { key_id: "k1", enabled: true, key_manager: "CUSTOMER" }
  given aws.elbv2.load_balancer tagged_lb {
    tags: { owner: "web@example.com", "cost-center": "CC-9" },
  }
  given aws.kms.key aws_key { key_id: "k2", enabled: true, key_manager: "AWS" }
  expect service_mandatory_tags fails bare_db
  expect service_mandatory_tags passes tagged_db
  expect service_mandatory_tags fails bare_table
  expect service_mandatory_tags fails half_fn
  expect service_mandatory_tags fails bare_key
  expect service_mandatory_tags passes aws_key
  expect service_mandatory_tags passes tagged_lb
}

test "untagged distributions, APIs, clusters and search domains fail; tagged ones pass" {
  given aws.cloudfront.distribution bare_cdn {
    arn: "arn:aws:cloudfront::111122223333:distribution/E1",
    domain_name: "d1.cloudfront.net",
    enabled: true,
  }
  given aws.cloudfront.distribution tagged_cdn {
    arn: "arn:aws:cloudfront::111122223333:distribution/E2",
    domain_name: "d2.cloudfront.net",
    enabled: true,
    tags: { owner: "web@example.com", "cost-center": "CC-1" },
  }
  given aws.apigateway.rest_api bare_api { name: "orders" }
  given aws.redshift.cluster bare_warehouse { node_type: "ra3.xlplus" }
  given aws.redshift.cluster tagged_warehouse {
    tags: { owner: "data@example.com", "cost-center": "CC-2" },
  }
  given aws.opensearch.domain bare_search {
    domain_name: "logs",
    domain_id: "111122223333/logs",
    arn: "arn:aws:es:us-east-1:111122223333:domain/logs",
  }
  expect service_mandatory_tags fails bare_cdn
  expect service_mandatory_tags passes tagged_cdn
  expect service_mandatory_tags fails bare_api
  expect service_mandatory_tags fails bare_warehouse
  expect service_mandatory_tags passes tagged_warehouse
  expect service_mandatory_tags fails bare_search
}

/// Resources outside the organisation's regions escape its guardrails and
/// data-residency commitments.
policy service_unapproved_region {
  title "Database, function, load balancer, key, queue, topic, API, search domain or bucket in a non-approved region"
  description "The resource's region is not in `approved_regions()` (the list the EC2 region policy uses); for an S3 bucket, the region GetBucketLocation reports."
  severity medium
  category governance
  remediation "Move the workload to an approved region, or delete it; block other regions with an SCP (aws:RequestedRegion)."
  tags ["pacbot:check-for-non-standard-region-rule"]

  rule databases on aws.rds.db_instance {
    violation when region not in approved_regions()
    message "DB instance {id} is in {region}, which is not an approved region"
  }
  rule classic_load_balancers on aws.elb.load_balancer {
    violation when region not in approved_regions()
    message "classic load balancer {id} is in {region}, which is not an approved region"
  }
  rule auto_scaling_groups on aws.autoscaling.group {
    violation when region not in approved_regions()
    message "Auto Scaling group {id} is in {region}, which is not an approved region"
  }
  rule launch_configurations on aws.autoscaling.launch_configuration {
    violation when region not in approved_regions()
    message "launch configuration {id} is in {region}, which is not an approved region"
  }
  rule db_snapshots on aws.rds.db_snapshot {
    violation when region not in approved_regions()
    message "DB snapshot {id} is in {region}, which is not an approved region"
  }
  rule tables on aws.dynamodb.table {
    violation when region not in approved_regions()
    message "table {id} is in {region}, which is not an approved region"
  }
  rule functions on aws.lambda.function {
    violation when region not in approved_regions()
    message "function {id} is in {region}, which is not an approved region"
  }
  rule keys on aws.kms.key {
    violation when (key_manager ?? "") == "CUSTOMER" and region not in approved_regions()
    message "KMS key {id} is in {region}, which is not an approved region"
  }
  rule load_balancers on aws.elbv2.load_balancer {
    violation when region not in approved_regions()
    message "load balancer {id} is in {region}, which is not an approved region"
  }
  rule topics on aws.sns.topic {
    violation when region not in approved_regions()
    message "topic {id} is in {region}, which is not an approved region"
  }
  rule queues on aws.sqs.queue {
    violation when region not in approved_regions()
    message "queue {id} is in {region}, which is not an approved region"
  }
  rule buckets on aws.s3.bucket {
    violation when region not in approved_regions()
    message "bucket {name} is in {region}, which is not an approved region"
  }
  rule apis on aws.apigateway.rest_api {
    violation when region not in approved_regions()
    message "REST API {id} is in {region}, which is not an approved region"
  }
  rule warehouses on aws.redshift.cluster {
    violation when region not in approved_regions()
    message "Redshift cluster {id} is in {region}, which is not an approved region"
  }
  rule search_domains on aws.opensearch.domain {
    violation when region not in approved_regions()
    message "OpenSearch domain {id} is in {region}, which is not an approved region"
  }
}

test "resources in ap-southeast-3 fail; us-east-1 passes" {
  given aws.rds.db_instance far_db { region: "ap-southeast-3" }
  given aws.rds.db_instance near_db { region: "us-east-1" }
  given aws.sns.topic far_topic {
    region: "ap-southeast-3",
    topic_name: "t",
    topic_arn: "arn:aws:sns:ap-southeast-3:1:t",
  }
  given aws.sqs.queue near_queue { region: "eu-west-1", queue_name: "q", queue_url: "https://q/q" }
  given aws.elbv2.load_balancer far_lb { region: "sa-east-1" }
  given aws.kms.key far_aws_key {
    region: "ap-southeast-3",
    key_id: "k",
    enabled: true,
    key_manager: "AWS",
  }
  expect service_unapproved_region fails far_db
  expect service_unapproved_region passes near_db
  expect service_unapproved_region fails far_topic
  expect service_unapproved_region passes near_queue
  expect service_unapproved_region passes far_aws_key
  expect service_unapproved_region fails far_lb
}

test "a bucket in ap-southeast-3 fails; a bucket in eu-west-1 passes" {
  given aws.s3.bucket far_bucket {
    region: "ap-southeast-3",
    name: "acme-far-bucket",
    creation_date: 2025-05-01,
    acl: { owner: { id: "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be" } },
    versioning: {},
  }
  given aws.s3.bucket home_bucket {
    region: "eu-west-1",
    name: "acme-home-bucket",
    creation_date: 2025-05-01,
    acl: { owner: { id: "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be" } },
    versioning: {},
  }
  expect service_unapproved_region.buckets fails far_bucket
  expect service_unapproved_region.buckets passes home_bucket
}

test "APIs, clusters and search domains outside the approved regions fail" {
  given aws.apigateway.rest_api far_api { region: "ap-southeast-3", name: "orders" }
  given aws.apigateway.rest_api near_api { region: "us-east-1", name: "orders" }
  given aws.redshift.cluster far_warehouse { region: "sa-east-1" }
  given aws.opensearch.domain far_search {
    region: "ap-southeast-3",
    domain_name: "logs",
    domain_id: "111122223333/logs",
    arn: "arn:aws:es:ap-southeast-3:111122223333:domain/logs",
  }
  given aws.opensearch.domain near_search {
    region: "eu-west-1",
    domain_name: "logs",
    domain_id: "111122223333/logs",
    arn: "arn:aws:es:eu-west-1:111122223333:domain/logs",
  }
  expect service_unapproved_region fails far_api
  expect service_unapproved_region passes near_api
  expect service_unapproved_region fails far_warehouse
  expect service_unapproved_region fails far_search
  expect service_unapproved_region passes near_search
}

test "a classic load balancer and an Auto Scaling group without tags fail; tagged ones pass" {
  given aws.elb.load_balancer bare_elb { scheme: "internal" }
  given aws.elb.load_balancer tagged_elb {
    scheme: "internal",
    tags: { owner: "web@example.com", "cost-center": "CC-1" },
  }
  given aws.autoscaling.group bare_asg { instance_count: 1 }
  given aws.autoscaling.group tagged_asg {
    instance_count: 1,
    tags: { owner: "web@example.com", "cost-center": "CC-1" },
  }
  expect service_mandatory_tags.classic_load_balancers fails bare_elb
  expect service_mandatory_tags.classic_load_balancers passes tagged_elb
  expect service_mandatory_tags.auto_scaling_groups fails bare_asg
  expect service_mandatory_tags.auto_scaling_groups passes tagged_asg
}

test "classic load balancers, groups and launch configurations outside the approved regions fail" {
  given aws.elb.load_balancer far_elb { region: "ap-southeast-3" }
  given aws.autoscaling.group far_asg { region: "sa-east-1", instance_count: 0 }
  given aws.autoscaling.launch_configuration far_lc { region: "sa-east-1" }
  given aws.autoscaling.launch_configuration near_lc { region: "us-east-1" }
  expect service_unapproved_region.classic_load_balancers fails far_elb
  expect service_unapproved_region.auto_scaling_groups fails far_asg
  expect service_unapproved_region.launch_configurations fails far_lc
  expect service_unapproved_region.launch_configurations passes near_lc
}
