//! The services beyond EC2 (KMS, CloudTrail, RDS, Lambda, SQS, SNS, ECR,
//! DynamoDB, EKS, GuardDuty, ELBv2, ACM, AWS Config, CloudFront, API
//! Gateway, Redshift, OpenSearch) end to end against a real moto server: seeded with the SDK, collected by `pacc collect` (every document
//! valid against the stdlib schemas), evaluated with the bundled library,
//! then fixed by `pacc fix` (a dry run changes nothing, an applied run
//! changes what the API then reports, a second run finds it already fixed).

mod moto_server;

use std::path::{Path, PathBuf};

use moto_server::*;
use serde_json::Value as Json;

const REGION: &str = "us-east-1";
const TYPES: &[&str] = &[
    "aws.kms.key",
    "aws.cloudtrail.trail",
    "aws.rds.db_instance",
    "aws.rds.db_snapshot",
    "aws.lambda.function",
    "aws.sqs.queue",
    "aws.sns.topic",
    "aws.ecr.repository",
    "aws.dynamodb.table",
    "aws.eks.cluster",
    "aws.guardduty.detector",
    "aws.elbv2.load_balancer",
    "aws.acm.certificate",
    "aws.config.recorder",
    "aws.cloudfront.distribution",
    "aws.apigateway.rest_api",
    "aws.redshift.cluster",
    "aws.opensearch.domain",
    "aws.elb.load_balancer",
    "aws.autoscaling.group",
    "aws.autoscaling.launch_configuration",
    "aws.ec2.security_group",
    "aws.s3.bucket",
];

const PUBLIC_POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"open","Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]}"#;

struct Seeded {
    key: String,
    trail_arn: String,
    cert: String,
    distribution: String,
    api: String,
    warehouse_sg: String,
}

/// One resource of each service, each with the problems the library finds.
async fn seed(moto: &Moto) -> Seeded {
    let sdk = moto.sdk(REGION).await;
    // KMS: a customer key without rotation and with a public key policy.
    let kms = aws_sdk_kms::Client::new(&sdk);
    let key = kms
        .create_key()
        .description("orders data key")
        .send()
        .await
        .expect("CreateKey")
        .key_metadata()
        .map(|k| k.key_id().to_owned())
        .unwrap();
    kms.put_key_policy()
        .key_id(&key)
        .policy_name("default")
        .policy(PUBLIC_POLICY)
        .send()
        .await
        .expect("PutKeyPolicy");

    // CloudTrail: a single-region trail without validation, never started.
    let s3 = moto.s3(REGION).await;
    s3.create_bucket()
        .bucket("trail-logs")
        .send()
        .await
        .expect("CreateBucket");
    let ct = aws_sdk_cloudtrail::Client::from_conf(
        aws_sdk_cloudtrail::config::Builder::from(&sdk)
            .interceptor(pac_connectors::aws::cloudtrail::CloudTrailTargetCompat)
            .build(),
    );
    let trail_arn = ct
        .create_trail()
        .name("legacy")
        .s3_bucket_name("trail-logs")
        .send()
        .await
        .expect("CreateTrail")
        .trail_arn()
        .unwrap()
        .to_owned();

    // RDS: a public, unencrypted instance without backups, and a public
    // snapshot of it.
    let rds = aws_sdk_rds::Client::new(&sdk);
    rds.create_db_instance()
        .db_instance_identifier("orders")
        .db_instance_class("db.t3.micro")
        .engine("postgres")
        .allocated_storage(20)
        .master_username("admin")
        .master_user_password("not-a-real-password-1")
        .publicly_accessible(true)
        .backup_retention_period(0)
        .send()
        .await
        .expect("CreateDBInstance");
    rds.create_db_snapshot()
        .db_instance_identifier("orders")
        .db_snapshot_identifier("orders-snap")
        .send()
        .await
        .expect("CreateDBSnapshot");
    rds.modify_db_snapshot_attribute()
        .db_snapshot_identifier("orders-snap")
        .attribute_name("restore")
        .values_to_add("all")
        .send()
        .await
        .expect("ModifyDBSnapshotAttribute");

    // Lambda: a function with an unauthenticated URL and a public policy.
    let iam = moto.iam().await;
    let role = iam
        .create_role()
        .role_name("fn-role")
        .assume_role_policy_document(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#,
        )
        .send()
        .await
        .expect("CreateRole")
        .role()
        .map(|r| r.arn().to_owned())
        .unwrap();
    let lambda = aws_sdk_lambda::Client::new(&sdk);
    create_function(&lambda, "webhook", &role).await;
    lambda
        .create_function_url_config()
        .function_name("webhook")
        .auth_type(aws_sdk_lambda::types::FunctionUrlAuthType::None)
        .send()
        .await
        .expect("CreateFunctionUrlConfig");
    lambda
        .add_permission()
        .function_name("webhook")
        .statement_id("anyone")
        .action("lambda:InvokeFunction")
        .principal("*")
        .send()
        .await
        .expect("AddPermission");

    // SQS and SNS with public policies.
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    sqs.create_queue()
        .queue_name("orders-events")
        .attributes(
            aws_sdk_sqs::types::QueueAttributeName::Policy,
            PUBLIC_POLICY,
        )
        .send()
        .await
        .expect("CreateQueue");
    let sns = aws_sdk_sns::Client::new(&sdk);
    let topic = sns
        .create_topic()
        .name("alerts")
        .send()
        .await
        .expect("CreateTopic")
        .topic_arn()
        .unwrap()
        .to_owned();
    sns.set_topic_attributes()
        .topic_arn(&topic)
        .attribute_name("Policy")
        .attribute_value(PUBLIC_POLICY)
        .send()
        .await
        .expect("SetTopicAttributes");

    // ECR without scan on push; DynamoDB without PITR.
    let ecr = aws_sdk_ecr::Client::new(&sdk);
    ecr.create_repository()
        .repository_name("payments/api")
        .send()
        .await
        .expect("CreateRepository");
    let ddb = aws_sdk_dynamodb::Client::new(&sdk);
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    };
    ddb.create_table()
        .table_name("carts")
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("id")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("id")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .expect("CreateTable");

    // EKS with its API open to the world.
    let eks = aws_sdk_eks::Client::new(&sdk);
    eks.create_cluster()
        .name("apps")
        .role_arn(&role)
        .resources_vpc_config(
            aws_sdk_eks::types::VpcConfigRequest::builder()
                .subnet_ids("subnet-00000001")
                .endpoint_public_access(true)
                .build(),
        )
        .send()
        .await
        .expect("CreateCluster");
    // An internet-facing application load balancer in the default VPC,
    // without access logs, and a requested certificate.
    let ec2 = moto.ec2(REGION).await;
    let subnets: Vec<String> = ec2
        .describe_subnets()
        .send()
        .await
        .expect("DescribeSubnets")
        .subnets()
        .iter()
        .filter_map(|s| s.subnet_id().map(str::to_owned))
        .take(2)
        .collect();
    let elb = aws_sdk_elasticloadbalancingv2::Client::new(&sdk);
    elb.create_load_balancer()
        .name("web")
        .set_subnets(Some(subnets))
        .scheme(aws_sdk_elasticloadbalancingv2::types::LoadBalancerSchemeEnum::InternetFacing)
        .send()
        .await
        .expect("CreateLoadBalancer");
    let acm = aws_sdk_acm::Client::new(&sdk);
    let cert = acm
        .request_certificate()
        .domain_name("shop.example.com")
        .send()
        .await
        .expect("RequestCertificate")
        .certificate_arn()
        .unwrap()
        .to_owned();
    let (distribution, api, warehouse_sg) = seed_edge_and_data(&sdk, &ec2).await;
    // GuardDuty and AWS Config: nothing (neither is set up in the region).
    Seeded {
        key,
        trail_arn,
        cert,
        distribution,
        api,
        warehouse_sg,
    }
}

/// A classic load balancer (internet-facing, no instances, no logs, no
/// tags) and an Auto Scaling group behind it launched from a launch
/// configuration that gives public addresses and allows IMDSv1.
async fn seed_classic_and_asg(sdk: &aws_config::SdkConfig) {
    let elb = aws_sdk_elasticloadbalancing::Client::new(sdk);
    elb.create_load_balancer()
        .load_balancer_name("legacy-web")
        .availability_zones("us-east-1a")
        .listeners(
            aws_sdk_elasticloadbalancing::types::Listener::builder()
                .protocol("HTTP")
                .load_balancer_port(80)
                .instance_port(8080)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .expect("CreateLoadBalancer (classic)");
    let asg = aws_sdk_autoscaling::Client::new(sdk);
    asg.create_launch_configuration()
        .launch_configuration_name("workers-lc")
        .image_id(AMI)
        .instance_type("t3.micro")
        .associate_public_ip_address(true)
        .send()
        .await
        .expect("CreateLaunchConfiguration");
    asg.create_auto_scaling_group()
        .auto_scaling_group_name("workers")
        .launch_configuration_name("workers-lc")
        .min_size(0)
        .max_size(2)
        .desired_capacity(0)
        .availability_zones("us-east-1a")
        .load_balancer_names("legacy-web")
        .send()
        .await
        .expect("CreateAutoScalingGroup");
}

/// CloudFront, API Gateway, Redshift and OpenSearch, each with the problems
/// the library finds: the distribution's ID, the API's ID and the Redshift
/// cluster's security group.
async fn seed_edge_and_data(
    sdk: &aws_config::SdkConfig,
    ec2: &aws_sdk_ec2::Client,
) -> (String, String, String) {
    // CloudFront: viewers on HTTP, an S3 origin without OAI or OAC, a
    // custom origin over HTTP, no access logs, no WAF.
    use aws_sdk_cloudfront::types::{
        CustomOriginConfig, DefaultCacheBehavior, DistributionConfig, Origin, OriginProtocolPolicy,
        Origins, S3OriginConfig, ViewerProtocolPolicy,
    };
    let cf = aws_sdk_cloudfront::Client::new(sdk);
    let origins = Origins::builder()
        .quantity(2)
        .items(
            Origin::builder()
                .id("assets")
                .domain_name("shop-assets.s3.amazonaws.com")
                .s3_origin_config(S3OriginConfig::builder().origin_access_identity("").build())
                .build()
                .unwrap(),
        )
        .items(
            Origin::builder()
                .id("api")
                .domain_name("api.example.com")
                .custom_origin_config(
                    CustomOriginConfig::builder()
                        .http_port(80)
                        .https_port(443)
                        .origin_protocol_policy(OriginProtocolPolicy::HttpOnly)
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    let behavior = DefaultCacheBehavior::builder()
        .target_origin_id("assets")
        .viewer_protocol_policy(ViewerProtocolPolicy::AllowAll)
        // The managed CachingOptimized cache policy.
        .cache_policy_id("658327ea-f89d-4fab-a63d-7e88639e58f6")
        .build()
        .unwrap();
    let distribution = cf
        .create_distribution()
        .distribution_config(
            DistributionConfig::builder()
                .caller_reference("shop")
                .comment("shop")
                .enabled(true)
                .origins(origins)
                .default_cache_behavior(behavior)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .expect("CreateDistribution")
        .distribution()
        .map(|d| d.id().to_owned())
        .unwrap();

    // API Gateway: an anonymous GET on a deployed stage without access
    // logs or tracing.
    let apigw = aws_sdk_apigateway::Client::new(sdk);
    let api = apigw
        .create_rest_api()
        .name("orders-api")
        .send()
        .await
        .expect("CreateRestApi")
        .id()
        .unwrap()
        .to_owned();
    let root = apigw
        .get_resources()
        .rest_api_id(&api)
        .send()
        .await
        .expect("GetResources")
        .items()
        .iter()
        .find(|r| r.path() == Some("/"))
        .and_then(|r| r.id().map(str::to_owned))
        .unwrap();
    apigw
        .put_method()
        .rest_api_id(&api)
        .resource_id(&root)
        .http_method("GET")
        .authorization_type("NONE")
        .send()
        .await
        .expect("PutMethod");
    apigw
        .put_integration()
        .rest_api_id(&api)
        .resource_id(&root)
        .http_method("GET")
        .r#type(aws_sdk_apigateway::types::IntegrationType::Mock)
        .send()
        .await
        .expect("PutIntegration");
    apigw
        .create_deployment()
        .rest_api_id(&api)
        .stage_name("prod")
        .send()
        .await
        .expect("CreateDeployment");

    // Redshift: public behind a group open to the world on its port,
    // unencrypted, without audit logs.
    let warehouse_sg = group(ec2, "warehouse", 5439, "0.0.0.0/0").await;
    let redshift = aws_sdk_redshift::Client::new(sdk);
    redshift
        .create_cluster()
        .cluster_identifier("warehouse")
        .cluster_type("single-node")
        .node_type("ra3.xlplus")
        .master_username("admin")
        .master_user_password("Not-a-real-passw0rd")
        .publicly_accessible(true)
        .encrypted(false)
        .vpc_security_group_ids(&warehouse_sg)
        .send()
        .await
        .expect("CreateCluster");

    // OpenSearch: a public domain whose access policy allows everyone,
    // without encryption or audit logs.
    let search = aws_sdk_opensearch::Client::new(sdk);
    search
        .create_domain()
        .domain_name("search")
        .engine_version("OpenSearch_2.13")
        .access_policies(PUBLIC_POLICY)
        .send()
        .await
        .expect("CreateDomain");
    (distribution, api, warehouse_sg)
}

fn library() -> PathBuf {
    std::path::PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"),
    )
    .join("policies")
}

fn config(moto: &Moto) -> String {
    let types: Vec<String> = TYPES.iter().map(|t| format!("\"{t}\"")).collect();
    format!(
        "[[source]]\nkind = \"aws\"\nname = \"moto\"\nregions = [\"{REGION}\"]\nendpoint_url = \"{}\"\nmax_attempts = 2\ntimeout_secs = 20\ntypes = [{}]\n",
        moto.url,
        types.join(", ")
    )
}

fn collect(dir: &Path) -> (Json, Vec<Json>) {
    let out = dir.join("inventory.ndjson");
    let (code, stdout, stderr) = run(aws_env(&mut pacc())
        .arg("collect")
        .arg("--config")
        .arg(dir.join("pac.toml"))
        .arg("--policies")
        .arg(library())
        .arg("--out")
        .arg(&out)
        .args(["--format", "json"]));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let summary: Json = serde_json::from_str(&stdout).unwrap();
    (summary, read_ndjson(&out))
}

fn fix(dir: &Path, mode: &str) -> Json {
    let (code, stdout, stderr) = run(aws_env(&mut pacc())
        .arg("fix")
        .arg("--config")
        .arg(dir.join("pac.toml"))
        .arg("--policies")
        .arg(library())
        .arg("--inventory")
        .arg(dir.join("inventory.ndjson"))
        .arg(mode)
        .args(["--format", "json", "--now", "2026-12-01"]));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}\n{stderr}"))
}

/// Every (action, resource) of `wanted` has `status` in the fix report.
fn expect_statuses(report: &Json, wanted: &[(&str, &str)], status: &str) {
    let st = fix_statuses(report);
    for (action, id) in wanted {
        let key = (action.to_string(), id.to_string());
        assert_eq!(
            st.get(&key).map(String::as_str),
            Some(status),
            "{action} on {id}: {report:#}"
        );
    }
}

#[test]
fn the_regional_services_are_collected_evaluated_and_fixed() {
    let moto = Moto::start();
    let rt = runtime();
    let s = rt.block_on(async {
        let s = seed(&moto).await;
        seed_classic_and_asg(&moto.sdk(REGION).await).await;
        s
    });
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("pac.toml"), config(&moto)).unwrap();

    // Collected, and every document is valid against its schema.
    let (summary, docs) = collect(dir.path());
    assert_eq!(summary["errors"], Json::Array(vec![]), "{summary:#}");
    assert_eq!(summary["rejected"], Json::Array(vec![]), "{summary:#}");
    let doc = |t: &str, id: &str| -> Json {
        docs.iter()
            .find(|d| d["type"] == t && d["id"] == id)
            .unwrap_or_else(|| panic!("no {t} {id} among {docs:#?}"))["attributes"]
            .clone()
    };
    let key = doc("aws.kms.key", &s.key);
    assert_eq!(key["key_manager"], "CUSTOMER");
    assert_eq!(key["key_rotation_enabled"], false);
    assert_eq!(key["policy_statements"][0]["principals"][0], "*");
    let trail = doc("aws.cloudtrail.trail", &s.trail_arn);
    assert_eq!(trail["name"], "legacy");
    assert_eq!(trail["is_multi_region_trail"], false);
    assert_eq!(trail["is_logging"], false);
    let db = doc("aws.rds.db_instance", "orders");
    assert_eq!(db["publicly_accessible"], true);
    assert_eq!(db["engine"], "postgres");
    assert_eq!(
        doc("aws.rds.db_snapshot", "orders-snap")["restore_by"][0],
        "all"
    );
    let f = doc("aws.lambda.function", "webhook");
    assert_eq!(f["url_auth_type"], "NONE");
    assert_eq!(f["runtime"], "python3.12");
    assert!(
        f["policy_statements"]
            .as_array()
            .unwrap()
            .iter()
            .any(|st| st["principals"][0] == "*"),
        "{f:#}"
    );
    let q = doc("aws.sqs.queue", "orders-events");
    assert!(q["queue_url"].as_str().unwrap().ends_with("/orders-events"));
    assert_eq!(q["policy_statements"][0]["sid"], "open");
    assert_eq!(
        doc("aws.sns.topic", "alerts")["policy_statements"][0]["sid"],
        "open"
    );
    assert_eq!(
        doc("aws.ecr.repository", "payments/api")["scan_on_push"],
        false
    );
    assert_eq!(
        doc("aws.dynamodb.table", "carts")["point_in_time_recovery_status"],
        "DISABLED"
    );
    assert_eq!(
        doc("aws.eks.cluster", "apps")["endpoint_public_access"],
        true
    );
    assert_eq!(doc("aws.guardduty.detector", REGION)["present"], false);
    let lb = doc("aws.elbv2.load_balancer", "web");
    assert_eq!(lb["scheme"], "internet-facing");
    assert_eq!(lb["load_balancer_type"], "application");
    // moto leaves `access_logs.s3.enabled` out of the attributes (AWS sends
    // `false`): absent, and read by the policy as off.
    assert_ne!(lb["access_logs_enabled"], true);
    assert_eq!(
        doc("aws.acm.certificate", &s.cert)["domain_name"],
        "shop.example.com"
    );
    assert_eq!(doc("aws.config.recorder", REGION)["present"], false);
    let cdn = doc("aws.cloudfront.distribution", &s.distribution);
    assert_eq!(
        cdn["default_cache_behavior"]["viewer_protocol_policy"],
        "allow-all"
    );
    assert_eq!(cdn["logging_enabled"], false, "{cdn:#}");
    assert_eq!(cdn["origins"][0]["s3_origin"], true);
    assert_eq!(cdn["origins"][1]["origin_protocol_policy"], "http-only");
    let api = doc("aws.apigateway.rest_api", &s.api);
    assert_eq!(api["name"], "orders-api");
    assert_eq!(
        api["methods_without_authorization"],
        serde_json::json!(["GET /"])
    );
    assert_eq!(api["stages"][0]["stage_name"], "prod");
    assert_eq!(api["stages"][0]["tracing_enabled"], false);
    let warehouse = doc("aws.redshift.cluster", "warehouse");
    assert_eq!(warehouse["publicly_accessible"], true);
    assert_eq!(warehouse["encrypted"], false);
    assert_eq!(warehouse["logging_enabled"], false);
    assert_eq!(warehouse["require_ssl"], false);
    assert_eq!(
        warehouse["vpc_security_groups"],
        serde_json::json!([s.warehouse_sg])
    );
    let search = doc("aws.opensearch.domain", "search");
    assert_eq!(search["policy_statements"][0]["principals"][0], "*");
    assert!(search.get("vpc_options").is_none(), "{search:#}");
    assert_eq!(search["encryption_at_rest_options"]["enabled"], false);

    // The bundled library finds the seeded problems.
    let fails = failing(&library(), dir.path(), &["--now", "2026-12-01"]);
    let ids = |p: &str| -> Vec<String> {
        fails
            .get(p)
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default()
    };
    for (policy, id) in [
        ("kms_key_rotation_disabled", s.key.as_str()),
        ("kms_key_policy_public", s.key.as_str()),
        ("cloudtrail_not_multi_region", s.trail_arn.as_str()),
        ("cloudtrail_log_validation_disabled", s.trail_arn.as_str()),
        ("cloudtrail_not_logging", s.trail_arn.as_str()),
        ("rds_instance_public", "orders"),
        ("rds_backups_too_short", "orders"),
        ("rds_snapshot_public", "orders-snap"),
        ("lambda_url_without_auth", "webhook"),
        ("lambda_policy_public", "webhook"),
        ("sqs_queue_public", "orders-events"),
        ("sns_topic_public", "alerts"),
        ("ecr_scan_on_push_disabled", "payments/api"),
        ("dynamodb_pitr_disabled", "carts"),
        ("eks_endpoint_public", "apps"),
        ("guardduty_disabled", REGION),
        ("elb_internet_facing_unapproved", "web"),
        ("elb_access_logs_disabled", "web"),
        ("config_recorder_disabled", REGION),
        (
            "cloudfront_access_logging_disabled",
            s.distribution.as_str(),
        ),
        ("cloudfront_viewer_http_allowed", s.distribution.as_str()),
        (
            "cloudfront_s3_origin_without_access_control",
            s.distribution.as_str(),
        ),
        ("cloudfront_origin_http", s.distribution.as_str()),
        ("cloudfront_without_waf", s.distribution.as_str()),
        ("apigateway_method_without_authorization", s.api.as_str()),
        ("apigateway_stage_access_logging_disabled", s.api.as_str()),
        ("apigateway_stage_xray_disabled", s.api.as_str()),
        ("redshift_public_and_world_open", "warehouse"),
        ("redshift_cluster_public", "warehouse"),
        ("redshift_cluster_unencrypted", "warehouse"),
        ("redshift_require_ssl_off", "warehouse"),
        ("redshift_audit_logging_disabled", "warehouse"),
        ("redshift_snapshots_too_short", "warehouse"),
        ("opensearch_domain_public", "search"),
        ("opensearch_unencrypted_at_rest", "search"),
        ("opensearch_node_to_node_unencrypted", "search"),
        ("opensearch_https_not_enforced", "search"),
        ("opensearch_fine_grained_access_off", "search"),
        ("opensearch_audit_logs_disabled", "search"),
        ("service_mandatory_tags", s.distribution.as_str()),
        ("service_mandatory_tags", "warehouse"),
        ("service_mandatory_tags", "search"),
        ("elb_internet_facing_unapproved", "legacy-web"),
        ("elb_access_logs_disabled", "legacy-web"),
        ("classic_elb_unused", "legacy-web"),
        ("service_mandatory_tags", "legacy-web"),
        ("service_mandatory_tags", "workers"),
        ("autoscaling_group_elb_health_check_off", "workers"),
        ("launch_configuration_imdsv1", "workers-lc"),
        ("launch_configuration_public_ip", "workers-lc"),
    ] {
        assert!(
            ids(policy).iter().any(|i| i == id),
            "{policy} should fail {id}: {fails:#?}"
        );
    }

    // Fixes: a dry run says what it would change and changes nothing.
    let wanted: Vec<(&str, &str)> = vec![
        ("enable_kms_key_rotation", s.key.as_str()),
        ("enable_cloudtrail_log_validation", s.trail_arn.as_str()),
        ("start_cloudtrail_logging", s.trail_arn.as_str()),
        ("make_rds_instance_private", "orders"),
        ("make_rds_snapshot_private", "orders-snap"),
        ("enable_ecr_scan_on_push", "payments/api"),
        ("enable_dynamodb_pitr", "carts"),
        ("require_lambda_url_auth", "webhook"),
        ("enable_guardduty", REGION),
    ];
    let dry = fix(dir.path(), "--dry-run");
    expect_statuses(&dry, &wanted, "would_change");
    let (_, again) = collect(dir.path());
    assert_eq!(
        again.iter().find(|d| d["type"] == "aws.kms.key").unwrap()["attributes"]["key_rotation_enabled"],
        false,
        "a dry run changes nothing"
    );

    // Applied: every fix is changed, and the API says so.
    let applied = fix(dir.path(), "--apply");
    expect_statuses(&applied, &wanted, "changed");
    let after = applied["fixes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["action"] == "make_rds_snapshot_private")
        .unwrap();
    assert_eq!(after["before"]["restore_by"][0], "all");
    assert_eq!(after["after"]["restore_by"], Json::Array(vec![]));

    // Collected again: the fixed policies pass.
    let (_, docs) = collect(dir.path());
    assert!(docs.len() >= 12, "{docs:#?}");
    let fails = failing(&library(), dir.path(), &["--now", "2026-12-01"]);
    for policy in [
        "kms_key_rotation_disabled",
        "cloudtrail_log_validation_disabled",
        "cloudtrail_not_logging",
        "rds_instance_public",
        "rds_snapshot_public",
        "lambda_url_without_auth",
        "ecr_scan_on_push_disabled",
        "dynamodb_pitr_disabled",
        "guardduty_disabled",
    ] {
        assert!(
            !fails.contains_key(policy),
            "{policy} still fails: {fails:#?}"
        );
    }

    // A second applied run on the new inventory has nothing of these to do.
    let second = fix(dir.path(), "--apply");
    let st = fix_statuses(&second);
    for (action, id) in &wanted {
        let key = (action.to_string(), id.to_string());
        assert_ne!(
            st.get(&key).map(String::as_str),
            Some("changed"),
            "{action} on {id} ran twice"
        );
    }
}
