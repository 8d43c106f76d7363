//! The regional services beyond EC2 (KMS, CloudTrail, RDS, Lambda, SQS,
//! SNS, ECR, DynamoDB, EKS, GuardDuty, ELBv2, ACM, AWS Config, API
//! Gateway, Redshift, OpenSearch, classic ELB, Auto Scaling): one job per account, region and
//! service, each reading only the types the plan wants. Every service
//! module turns the SDK's answers into documents through [`Regional`].

use serde_json::{Value as Json, json};

use super::json::document;
use super::{AccountCtx, CallError, JobOutcome, Run, scope};

/// A service read per region.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Service {
    Kms,
    CloudTrail,
    Rds,
    Lambda,
    Sqs,
    Sns,
    Ecr,
    DynamoDb,
    Eks,
    GuardDuty,
    LoadBalancing,
    Acm,
    Config,
    ApiGateway,
    Redshift,
    OpenSearch,
    ClassicElb,
    AutoScaling,
}

impl Service {
    pub const ALL: &'static [Service] = &[
        Service::Kms,
        Service::CloudTrail,
        Service::Rds,
        Service::Lambda,
        Service::Sqs,
        Service::Sns,
        Service::Ecr,
        Service::DynamoDb,
        Service::Eks,
        Service::GuardDuty,
        Service::LoadBalancing,
        Service::Acm,
        Service::Config,
        Service::ApiGateway,
        Service::Redshift,
        Service::OpenSearch,
        Service::ClassicElb,
        Service::AutoScaling,
    ];

    /// The resource types the service's job reads.
    pub fn types(self) -> &'static [&'static str] {
        match self {
            Service::Kms => &["aws.kms.key"],
            Service::CloudTrail => &["aws.cloudtrail.trail"],
            Service::Rds => &["aws.rds.db_instance", "aws.rds.db_snapshot"],
            Service::Lambda => &["aws.lambda.function"],
            Service::Sqs => &["aws.sqs.queue"],
            Service::Sns => &["aws.sns.topic"],
            Service::Ecr => &["aws.ecr.repository"],
            Service::DynamoDb => &["aws.dynamodb.table"],
            Service::Eks => &["aws.eks.cluster"],
            Service::GuardDuty => &["aws.guardduty.detector"],
            Service::LoadBalancing => &["aws.elbv2.load_balancer"],
            Service::Acm => &["aws.acm.certificate"],
            Service::Config => &["aws.config.recorder"],
            Service::ApiGateway => &["aws.apigateway.rest_api"],
            Service::Redshift => &["aws.redshift.cluster"],
            Service::OpenSearch => &["aws.opensearch.domain"],
            Service::ClassicElb => &["aws.elb.load_balancer"],
            Service::AutoScaling => &[
                "aws.autoscaling.group",
                "aws.autoscaling.launch_configuration",
            ],
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Service::Kms => "kms",
            Service::CloudTrail => "cloudtrail",
            Service::Rds => "rds",
            Service::Lambda => "lambda",
            Service::Sqs => "sqs",
            Service::Sns => "sns",
            Service::Ecr => "ecr",
            Service::DynamoDb => "dynamodb",
            Service::Eks => "eks",
            Service::GuardDuty => "guardduty",
            Service::LoadBalancing => "elbv2",
            Service::Acm => "acm",
            Service::Config => "config",
            Service::ApiGateway => "apigateway",
            Service::Redshift => "redshift",
            Service::OpenSearch => "opensearch",
            Service::ClassicElb => "elb",
            Service::AutoScaling => "autoscaling",
        }
    }

    /// Reads each wanted type of the service in one region; a type whose
    /// read failed is an error of its scope, the others complete.
    pub async fn collect(self, run: &Run<'_>, acct: &AccountCtx, region: &str) -> JobOutcome {
        let r = Regional { run, acct, region };
        let mut outcome = JobOutcome::default();
        for &rtype in self.types() {
            if !run.source.wants(run.plan, rtype) {
                continue;
            }
            let read = match rtype {
                "aws.kms.key" => super::kms::keys(&r).await,
                "aws.cloudtrail.trail" => super::cloudtrail::trails(&r).await,
                "aws.rds.db_instance" => super::rds::instances(&r).await,
                "aws.rds.db_snapshot" => super::rds::snapshots(&r).await,
                "aws.lambda.function" => super::lambda::functions(&r).await,
                "aws.sqs.queue" => super::messaging::queues(&r).await,
                "aws.sns.topic" => super::messaging::topics(&r).await,
                "aws.ecr.repository" => super::containers::repositories(&r).await,
                "aws.eks.cluster" => super::containers::clusters(&r).await,
                "aws.dynamodb.table" => super::dynamodb::tables(&r).await,
                "aws.guardduty.detector" => super::guardduty::detector(&r).await,
                "aws.elbv2.load_balancer" => super::elb::load_balancers(&r).await,
                "aws.acm.certificate" => super::acm::certificates(&r).await,
                "aws.config.recorder" => super::config_service::recorder(&r).await,
                "aws.apigateway.rest_api" => super::apigateway::rest_apis(&r).await,
                "aws.redshift.cluster" => super::redshift::clusters(&r).await,
                "aws.opensearch.domain" => super::opensearch::domains(&r).await,
                "aws.elb.load_balancer" => super::classic_elb::load_balancers(&r).await,
                "aws.autoscaling.group" => super::autoscaling::groups(&r).await,
                "aws.autoscaling.launch_configuration" => {
                    super::autoscaling::launch_configurations(&r).await
                }
                _ => Ok(()),
            };
            let s = scope(&acct.id, Some(region), Some(rtype));
            match read {
                Ok(()) => outcome.complete.push(s),
                Err(e) => outcome.errors.push((s, e)),
            }
        }
        outcome
    }
}

/// Per-resource reads (sub-calls) run this many at once within a job.
pub(crate) const SUB_CALLS: usize = 8;

/// One per-resource read: the document's id and attributes, or nothing.
pub(crate) type Read<'f> =
    futures::future::BoxFuture<'f, Result<Option<(String, Json)>, CallError>>;

/// One account and region of one collection.
pub(crate) struct Regional<'a, 'r> {
    pub run: &'a Run<'r>,
    pub acct: &'a AccountCtx,
    pub region: &'a str,
}

impl Regional<'_, '_> {
    /// Whether a policy reads `field` of `rtype` (calls that only feed
    /// unread fields are skipped).
    pub fn wants(&self, rtype: &str, field: &str) -> bool {
        self.run.plan.wants_field(rtype, field)
    }

    pub fn sdk(&self) -> &aws_config::SdkConfig {
        &self.acct.sdk
    }

    /// Runs per-resource reads [`SUB_CALLS`] at a time and emits the
    /// documents they give, in list order (a read giving nothing is a
    /// resource the API listed without an id).
    pub async fn emit_all(&self, rtype: &str, reads: Vec<Read<'_>>) -> Result<(), CallError> {
        use futures::StreamExt;
        let mut docs = futures::stream::iter(reads).buffered(SUB_CALLS);
        while let Some(doc) = docs.next().await {
            if let Some((id, attrs)) = doc? {
                self.emit(rtype, &id, attrs).await?;
            }
        }
        Ok(())
    }

    /// Sends one document; an error when the collection was cancelled.
    pub async fn emit(&self, rtype: &str, id: &str, attrs: Json) -> Result<(), CallError> {
        let doc = document(rtype, id, &self.acct.id, self.region, attrs);
        self.run.emit(doc).await
    }
}

/// The most statements read from one resource policy; a larger document
/// is cut there and says so (`policy_truncated`).
const MAX_STATEMENTS: usize = 500;

/// A resource policy document (IAM JSON policy language) as the schema's
/// `aws.policy.Statement` records, plus `policy_error` when the text is not
/// a policy. Values are read, never interpreted as code; serde_json bounds
/// nesting.
pub(crate) fn policy_fields(text: Option<&str>) -> serde_json::Map<String, Json> {
    let parsed = statements(text);
    let mut out = serde_json::Map::new();
    out.insert("policy_statements".into(), Json::Array(parsed.list));
    if let Some(e) = parsed.error {
        out.insert("policy_error".into(), json!(e));
    }
    if parsed.truncated {
        out.insert("policy_truncated".into(), json!(true));
    }
    out
}

/// The statements of one policy document, as records.
pub(crate) struct Statements {
    pub list: Vec<Json>,
    /// Why the text is not a policy document (then `list` is empty).
    pub error: Option<String>,
    /// More than `MAX_STATEMENTS`: the rest were not read.
    pub truncated: bool,
}

/// Reads a policy document's statements (none for no text or blank text).
pub(crate) fn statements(text: Option<&str>) -> Statements {
    let mut out = Statements {
        list: vec![],
        error: None,
        truncated: false,
    };
    let Some(text) = text.filter(|t| !t.trim().is_empty()) else {
        return out;
    };
    let doc: Json = match serde_json::from_str(text) {
        Ok(d) => d,
        Err(e) => {
            out.error = Some(format!("the policy is not JSON: {e}"));
            return out;
        }
    };
    let stmts: Vec<&Json> = match doc.get("Statement") {
        Some(Json::Array(a)) => a.iter().collect(),
        Some(s @ Json::Object(_)) => vec![s],
        _ => vec![],
    };
    out.truncated = stmts.len() > MAX_STATEMENTS;
    out.list = stmts
        .into_iter()
        .take(MAX_STATEMENTS)
        .map(statement)
        .collect();
    out
}

/// Strings of a policy element that may be one string or a list of them.
fn strings(v: Option<&Json>) -> Vec<Json> {
    match v {
        Some(Json::String(s)) => vec![json!(s)],
        Some(Json::Array(a)) => a
            .iter()
            .filter_map(Json::as_str)
            .map(|s| json!(s))
            .collect(),
        _ => vec![],
    }
}

fn statement(s: &Json) -> Json {
    // `"Principal": "*"` or `{"AWS": "*"}` or `{"AWS": ["arn", …], "Service": …}`.
    let principals = match s.get("Principal") {
        Some(Json::String(p)) => vec![json!(p)],
        Some(Json::Object(m)) => m.values().flat_map(|v| strings(Some(v))).collect(),
        _ => vec![],
    };
    // Each condition as `Operator key`, e.g. `StringEquals aws:SourceAccount`.
    let conditions: Vec<Json> = match s.get("Condition") {
        Some(Json::Object(ops)) => ops
            .iter()
            .flat_map(|(op, keys)| match keys {
                Json::Object(k) => k.keys().map(|k| json!(format!("{op} {k}"))).collect(),
                _ => vec![json!(op)],
            })
            .collect(),
        _ => vec![],
    };
    let mut m = serde_json::Map::new();
    if let Some(sid) = s.get("Sid").and_then(Json::as_str) {
        m.insert("sid".into(), json!(sid));
    }
    m.insert(
        "effect".into(),
        json!(s.get("Effect").and_then(Json::as_str).unwrap_or("")),
    );
    m.insert("principals".into(), Json::Array(principals));
    m.insert(
        "not_principal".into(),
        json!(s.get("NotPrincipal").is_some()),
    );
    let mut actions = strings(s.get("Action"));
    // A NotAction statement allows everything but the list: read as `*`.
    if s.get("NotAction").is_some() {
        actions.push(json!("*"));
    }
    m.insert("actions".into(), Json::Array(actions));
    m.insert("resources".into(), Json::Array(strings(s.get("Resource"))));
    m.insert("conditions".into(), Json::Array(conditions));
    Json::Object(m)
}

/// AWS tag lists (`[{Key, Value}]`) as the schemas' `map<string>`.
pub(crate) fn tag_map<'t>(pairs: impl IntoIterator<Item = (&'t str, &'t str)>) -> Json {
    let mut m = serde_json::Map::new();
    for (k, v) in pairs {
        m.insert(k.to_owned(), json!(v));
    }
    Json::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_public_statement_reads_as_principal_star_without_conditions() {
        let f = policy_fields(Some(
            r#"{"Version":"2012-10-17","Statement":[
                {"Sid":"pub","Effect":"Allow","Principal":"*","Action":"sqs:SendMessage","Resource":"arn:q"},
                {"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::1:root","*"]},"Action":["sqs:*"],
                 "Condition":{"StringEquals":{"aws:SourceAccount":"1"},"Bool":{"aws:SecureTransport":"true"}}},
                {"Effect":"Deny","NotPrincipal":{"AWS":"arn:x"},"NotAction":"s3:Get*"}
            ]}"#,
        ));
        let s = f["policy_statements"].as_array().unwrap();
        assert_eq!(s.len(), 3);
        assert_eq!(s[0]["sid"], "pub");
        assert_eq!(s[0]["principals"], json!(["*"]));
        assert_eq!(s[0]["conditions"], json!([]));
        assert_eq!(s[1]["principals"], json!(["arn:aws:iam::1:root", "*"]));
        assert_eq!(
            s[1]["conditions"],
            json!(["Bool aws:SecureTransport", "StringEquals aws:SourceAccount"])
        );
        assert_eq!(s[2]["not_principal"], true);
        assert_eq!(s[2]["actions"], json!(["*"]));
        assert!(f.get("policy_error").is_none());
    }

    #[test]
    fn a_single_statement_object_and_no_policy_are_read() {
        let one = policy_fields(Some(r#"{"Statement":{"Effect":"Allow","Principal":"*"}}"#));
        assert_eq!(one["policy_statements"].as_array().unwrap().len(), 1);
        assert_eq!(policy_fields(None)["policy_statements"], json!([]));
        assert_eq!(policy_fields(Some(""))["policy_statements"], json!([]));
    }

    #[test]
    fn hostile_policy_text_is_an_error_not_a_panic() {
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        for text in [
            "{not json",
            &deep,
            "[]",
            "\"x\"",
            r#"{"Statement":[1,"a",null]}"#,
        ] {
            let f = policy_fields(Some(text));
            assert!(f["policy_statements"].is_array(), "{text:.20}");
        }
        assert!(policy_fields(Some(&deep)).contains_key("policy_error"));
        let many = format!(
            r#"{{"Statement":[{}]}}"#,
            vec![r#"{"Effect":"Allow"}"#; MAX_STATEMENTS + 5].join(",")
        );
        let f = policy_fields(Some(&many));
        assert_eq!(
            f["policy_statements"].as_array().unwrap().len(),
            MAX_STATEMENTS
        );
        assert_eq!(f["policy_truncated"], true);
    }
}
