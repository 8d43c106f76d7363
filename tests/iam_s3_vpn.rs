//! IAM beyond users, S3 bucket websites and policies, and VPN gateways, end
//! to end against a real moto server: roles with what their attached and
//! inline policies allow, managed policies (customer ones, attached AWS ones
//! and AWSSupportAccess), the credential report, server certificates, a
//! Lambda function's execution role, a website bucket, a bucket whose
//! policy denies plain HTTP, an untagged VPN gateway. Seeded with the SDK,
//! collected by `pacc collect` (every document valid against the schemas),
//! evaluated with the bundled library.

mod moto_server;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use moto_server::*;
use serde_json::Value as Json;

const TYPES: &[&str] = &[
    "aws.iam.role",
    "aws.iam.policy",
    "aws.iam.credential_report",
    "aws.lambda.function",
    "aws.iam.server_certificate",
    "aws.iam.user",
    "aws.s3.bucket",
    "aws.ec2.vpn_gateway",
];

const TLS_ONLY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::acme-secure","arn:aws:s3:::acme-secure/*"],"Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}"#;

const LAMBDA_TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
const ANYONE_TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}]}"#;
const EVERYTHING: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
const IAM_ALL: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:*"],"Resource":"*"}]}"#;
const READ_BUCKET: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject"],"Resource":"arn:aws:s3:::images/*"}]}"#;
const ADMIN: &str = "arn:aws:iam::aws:policy/AdministratorAccess";

/// Seeds what is not IAM: a website bucket, a TLS-only bucket, an untagged
/// VPN gateway; returns the gateway's ID.
async fn seed_s3_and_vpn(moto: &Moto) -> String {
    let s3 = moto.s3("us-east-1").await;
    for b in ["acme-www", "acme-secure"] {
        s3.create_bucket()
            .bucket(b)
            .send()
            .await
            .expect("CreateBucket");
    }
    s3.put_bucket_website()
        .bucket("acme-www")
        .website_configuration(
            aws_sdk_s3::types::WebsiteConfiguration::builder()
                .index_document(
                    aws_sdk_s3::types::IndexDocument::builder()
                        .suffix("index.html")
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .send()
        .await
        .expect("PutBucketWebsite");
    s3.put_bucket_policy()
        .bucket("acme-secure")
        .policy(TLS_ONLY)
        .send()
        .await
        .expect("PutBucketPolicy");
    let ec2 = moto.ec2("us-east-1").await;
    ec2.create_vpn_gateway()
        .r#type(aws_sdk_ec2::types::GatewayType::Ipsec1)
        .send()
        .await
        .expect("CreateVpnGateway")
        .vpn_gateway()
        .and_then(|g| g.vpn_gateway_id().map(str::to_owned))
        .unwrap()
}

async fn seed(moto: &Moto) {
    let iam = moto.iam().await;
    let role = |name: &'static str, trust: &'static str| {
        let iam = iam.clone();
        async move {
            iam.create_role()
                .role_name(name)
                .assume_role_policy_document(trust)
                .send()
                .await
                .expect("CreateRole");
        }
    };
    // An admin role for a Lambda function (AdministratorAccess attached).
    role("fn-admin", LAMBDA_TRUST).await;
    iam.attach_role_policy()
        .role_name("fn-admin")
        .policy_arn(ADMIN)
        .send()
        .await
        .expect("AttachRolePolicy");
    // A deploy role with an inline iam:* policy and a customer policy
    // granting everything attached.
    role("deploy", LAMBDA_TRUST).await;
    iam.put_role_policy()
        .role_name("deploy")
        .policy_name("iam-all")
        .policy_document(IAM_ALL)
        .send()
        .await
        .expect("PutRolePolicy");
    let everything = iam
        .create_policy()
        .policy_name("everything")
        .policy_document(EVERYTHING)
        .send()
        .await
        .expect("CreatePolicy")
        .policy()
        .and_then(|p| p.arn().map(str::to_owned))
        .unwrap();
    iam.attach_role_policy()
        .role_name("deploy")
        .policy_arn(&everything)
        .send()
        .await
        .expect("AttachRolePolicy");
    // A role anyone may assume, with a narrow inline policy.
    role("shared-reader", ANYONE_TRUST).await;
    iam.put_role_policy()
        .role_name("shared-reader")
        .policy_name("read")
        .policy_document(READ_BUCKET)
        .send()
        .await
        .expect("PutRolePolicy");
    // A narrow, well-trusted role for the second function.
    role("thumbnails", LAMBDA_TRUST).await;
    iam.put_role_policy()
        .role_name("thumbnails")
        .policy_name("read")
        .policy_document(READ_BUCKET)
        .send()
        .await
        .expect("PutRolePolicy");
    // A user with a console password (the credential report's row).
    iam.create_user()
        .user_name("carol")
        .send()
        .await
        .expect("CreateUser");
    iam.create_login_profile()
        .user_name("carol")
        .password("correct-Horse-battery-9")
        .send()
        .await
        .expect("CreateLoginProfile");
    // A service account with an inline iam:* policy.
    iam.create_user()
        .user_name("svc-ci")
        .send()
        .await
        .expect("CreateUser");
    iam.put_user_policy()
        .user_name("svc-ci")
        .policy_name("iam-all")
        .policy_document(IAM_ALL)
        .send()
        .await
        .expect("PutUserPolicy");
    // A server certificate (moto reports every one as expired in 2012).
    iam.upload_server_certificate()
        .server_certificate_name("legacy-shop")
        .certificate_body("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----")
        .private_key("-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----")
        .send()
        .await
        .expect("UploadServerCertificate");

    let sdk = moto.sdk("us-east-1").await;
    let lambda = aws_sdk_lambda::Client::new(&sdk);
    for (name, role) in [("resize", "fn-admin"), ("thumbs", "thumbnails")] {
        create_function(
            &lambda,
            name,
            &format!("arn:aws:iam::{ACCOUNT}:role/{role}"),
        )
        .await;
    }
}

fn library() -> PathBuf {
    std::path::PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"),
    )
    .join("policies")
}

fn collect(dir: &Path, moto: &Moto) -> (Json, Vec<Json>) {
    let types: Vec<String> = TYPES.iter().map(|t| format!("\"{t}\"")).collect();
    let config = dir.join("pac.toml");
    std::fs::write(
        &config,
        format!(
            "[[source]]\nkind = \"aws\"\nname = \"moto\"\nregions = [\"us-east-1\"]\nendpoint_url = \"{}\"\nmax_attempts = 2\ntimeout_secs = 20\ntypes = [{}]\n",
            moto.url,
            types.join(", ")
        ),
    )
    .unwrap();
    let out = dir.join("inventory.ndjson");
    let (code, stdout, stderr) = run(aws_env(&mut pacc())
        .arg("collect")
        .arg("--config")
        .arg(&config)
        .arg("--policies")
        .arg(library())
        .arg("--out")
        .arg(&out)
        .args(["--format", "json"]));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    (serde_json::from_str(&stdout).unwrap(), read_ndjson(&out))
}

#[test]
fn roles_managed_policies_and_the_credential_report_are_collected_and_evaluated() {
    let moto = Moto::start_with(&[("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")]);
    let vgw = runtime().block_on(async {
        seed(&moto).await;
        seed_s3_and_vpn(&moto).await
    });
    let dir = tempfile::tempdir().unwrap();
    let (summary, docs) = collect(dir.path(), &moto);
    assert_eq!(summary["errors"], serde_json::json!([]), "{summary:#}");
    assert_eq!(summary["rejected"].as_u64().unwrap_or(0), 0, "{summary:#}");
    let doc = |rtype: &str, id: &str| -> Json {
        docs.iter()
            .find(|d| d["type"] == rtype && d["id"] == id)
            .unwrap_or_else(|| panic!("no {rtype} {id} in {docs:#?}"))["attributes"]
            .clone()
    };

    // A role's statements: its attached managed policies (read through
    // GetPolicyVersion) and its inline ones.
    let deploy = doc("aws.iam.role", "deploy");
    let actions: BTreeSet<&str> = deploy["permission_statements"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["actions"].as_array().unwrap())
        .filter_map(Json::as_str)
        .collect();
    assert_eq!(actions, BTreeSet::from(["*", "iam:*"]), "{deploy:#}");
    assert_eq!(deploy["policy_names"], serde_json::json!(["iam-all"]));
    assert_eq!(deploy["service_linked"], false);
    let shared = doc("aws.iam.role", "shared-reader");
    assert_eq!(
        shared["trust_statements"][0]["principals"],
        serde_json::json!(["*"])
    );
    // The customer policy, and AWSSupportAccess though attached to nothing.
    let policy = doc(
        "aws.iam.policy",
        &format!("arn:aws:iam::{ACCOUNT}:policy/everything"),
    );
    assert_eq!(policy["attachment_count"], 1);
    assert_eq!(policy["aws_managed"], false);
    let support = doc("aws.iam.policy", "arn:aws:iam::aws:policy/AWSSupportAccess");
    assert_eq!(support["attachment_count"], 0);
    // The credential report's row for carol (a console password).
    let carol = doc("aws.iam.credential_report", "carol");
    assert_eq!(carol["password_enabled"], true);
    assert_eq!(carol["is_root"], false);
    // The function's execution role read through IAM.
    let resize = doc("aws.lambda.function", "resize");
    assert_eq!(
        resize["role_statements"][0]["actions"],
        serde_json::json!(["*"]),
        "{resize:#}"
    );
    assert!(resize.get("role_error").is_none());

    let failing = failing(&library(), dir.path(), &[]);
    let expect = |policy: &str, ids: &[&str]| {
        let got = failing.get(policy).cloned().unwrap_or_default();
        let want: BTreeSet<String> = ids.iter().map(|s| s.to_string()).collect();
        assert_eq!(got, want, "{policy}: {failing:#?}");
    };
    expect("iam_role_full_iam_access", &["deploy", "fn-admin"]);
    expect("iam_role_trusts_anyone", &["shared-reader"]);
    expect("lambda_role_admin_privileges", &["resize"]);
    expect(
        "iam_policy_full_admin",
        &[ADMIN, &format!("arn:aws:iam::{ACCOUNT}:policy/everything")],
    );
    expect(
        "iam_support_role_missing",
        &["arn:aws:iam::aws:policy/AWSSupportAccess"],
    );
    // Fresh credentials are not unused ones.
    expect("iam_credentials_unused_45_days", &[]);
    expect("iam_server_certificate_expired", &["legacy-shop"]);
    expect("iam_service_account_privileges", &["svc-ci"]);
    expect("s3_website_hosting", &["acme-www"]);
    let http = failing
        .get("s3_http_not_denied")
        .cloned()
        .unwrap_or_default();
    assert!(
        http.contains("acme-www") && !http.contains("acme-secure"),
        "{http:?}"
    );
    let tags = failing
        .get("network_mandatory_tags")
        .cloned()
        .unwrap_or_default();
    assert!(tags.contains(&vgw), "{vgw} not in {tags:?}");
    let website = doc("aws.s3.bucket", "acme-www");
    assert_eq!(website["website"]["index_document"], "index.html");
    let secure = doc("aws.s3.bucket", "acme-secure");
    assert_eq!(
        secure["policy_statements"][0]["conditions"],
        serde_json::json!(["Bool aws:SecureTransport"])
    );
}
