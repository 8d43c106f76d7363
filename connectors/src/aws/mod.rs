//! The AWS connector: EC2, S3, IAM, CloudFront and the regional services
//! of [`regional::Service`] (KMS, CloudTrail, RDS, Lambda, SQS, SNS, ECR,
//! DynamoDB, EKS, GuardDuty, ELBv2, ACM, AWS Config, API Gateway, Redshift,
//! OpenSearch) in several accounts and regions, read with the AWS SDK for
//! Rust, and the AWS auto-fix actions.
//!
//! Work is split into jobs (account × region × resource type for EC2;
//! account × region × service for the regional services; one S3, one IAM
//! and one CloudFront job per account) run concurrently under a bound. A job
//! that fails is reported as an [`Event::Error`] for its scope; when a
//! region cannot be reached at all, its other jobs are skipped and the
//! region is reported once. Every page of every paginated call is read;
//! the SDK's standard retry mode backs off on throttling; every call has a
//! timeout.

mod acm;
pub mod actions;
mod apigateway;
mod autoscaling;
mod classic_elb;
mod cloudfront;
pub mod cloudtrail;
mod config_service;
mod containers;
mod dynamodb;
mod ec2;
mod elb;
mod guardduty;
mod iam;
pub(crate) mod json;
mod kms;
mod lambda;
mod messaging;
mod opensearch;
mod rds;
mod redshift;
mod regional;
mod s3;

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use futures::{FutureExt, StreamExt};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use crate::source::{CollectPlan, Connector, Event, Scope, SourceError};

/// The resource types this connector reads, in collection order.
pub const TYPES: &[&str] = &[
    "aws.ec2.instance",
    "aws.ec2.security_group",
    "aws.ec2.volume",
    "aws.ec2.snapshot",
    "aws.ec2.image",
    "aws.ec2.vpc",
    "aws.ec2.subnet",
    "aws.ec2.network_acl",
    "aws.ec2.network_interface",
    "aws.ec2.address",
    "aws.ec2.key_pair",
    "aws.ec2.flow_log",
    "aws.ec2.vpn_gateway",
    "aws.s3.bucket",
    "aws.iam.user",
    "aws.iam.access_key",
    "aws.iam.account_summary",
    "aws.iam.password_policy",
    "aws.iam.role",
    "aws.iam.policy",
    "aws.iam.credential_report",
    "aws.iam.server_certificate",
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
];

/// A `kind = "aws"` source (docs/connectors.md).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AwsSource {
    pub name: String,
    /// The regions to read; IAM and CloudFront (global) are read once per
    /// account and stamped with the first of them.
    pub regions: Vec<String>,
    /// A named profile of the shared config files for the base credentials.
    #[serde(default)]
    pub profile: Option<String>,
    /// Send every call here instead of AWS (VPC endpoints, other
    /// AWS-compatible clouds, a local moto server).
    #[serde(default)]
    pub endpoint_url: Option<String>,
    /// Per-region endpoint overrides (region → URL).
    #[serde(default)]
    pub region_endpoints: BTreeMap<String, String>,
    /// The accounts to read; empty means the base credentials' own account.
    #[serde(default)]
    pub accounts: Vec<AwsAccount>,
    /// Only these resource types (default: all of [`TYPES`]).
    #[serde(default)]
    pub types: Option<Vec<String>>,
    /// At most this many jobs (account × region × type) at once.
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
    /// Per-call timeout, seconds (all attempts of one call).
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
    /// Attempts per call (with exponential back-off on throttling and
    /// transient errors).
    #[serde(default = "default_attempts")]
    pub max_attempts: u32,
    /// MaxResults of paginated EC2 calls (5–100); default: the API's.
    #[serde(default)]
    pub page_size: Option<i32>,
}

/// One account to read: the base credentials' own, or one reached by
/// assuming a role.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AwsAccount {
    /// The account ID; default: the role ARN's, else STS GetCallerIdentity.
    #[serde(default)]
    pub id: Option<String>,
    /// A role to assume in the account (`arn:aws:iam::ID:role/NAME`).
    #[serde(default)]
    pub role_arn: Option<String>,
    #[serde(default)]
    pub external_id: Option<String>,
    /// A profile for this account's base credentials (default: the
    /// source's).
    #[serde(default)]
    pub profile: Option<String>,
}

fn default_concurrency() -> usize {
    8
}
fn default_timeout() -> u64 {
    30
}
fn default_attempts() -> u32 {
    5
}

/// Counts the API calls (operations) and HTTP attempts made.
#[derive(Debug, Default)]
pub struct ApiStats {
    calls: Mutex<BTreeMap<String, u64>>,
    attempts: AtomicU64,
}

impl ApiStats {
    /// Calls made per `Service:Operation`.
    pub fn calls(&self) -> BTreeMap<String, u64> {
        self.calls.lock().map(|c| c.clone()).unwrap_or_default()
    }
    pub fn attempts(&self) -> u64 {
        self.attempts.load(Ordering::Relaxed)
    }
}

#[derive(Debug)]
struct Counter(Arc<ApiStats>);

impl Intercept for Counter {
    fn name(&self) -> &'static str {
        "pac-api-counter"
    }
    /// Once per operation (serialization is not repeated on retries).
    fn read_after_serialization(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let op = cfg
            .load::<Metadata>()
            .map(|m| format!("{}:{}", m.service(), m.name()))
            .unwrap_or_else(|| "unknown".into());
        if let Ok(mut calls) = self.0.calls.lock() {
            *calls.entry(op).or_default() += 1;
        }
        Ok(())
    }
    fn read_before_attempt(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.0.attempts.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

/// A failed call: what and why; `unreachable` when the endpoint could not
/// be reached at all (connection refused, timeout), which fails the region.
#[derive(Debug)]
pub(crate) struct CallError {
    pub message: String,
    pub unreachable: bool,
}

/// Describes an SDK error for a person: the call, the service's code and
/// message, or the transport problem.
pub(crate) fn call_error<E, R>(call: &str, e: SdkError<E, R>) -> CallError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let unreachable = matches!(e, SdkError::DispatchFailure(_) | SdkError::TimeoutError(_));
    let message = match &e {
        SdkError::ServiceError(se) => {
            let err = se.err();
            let Some(code) = err.code() else {
                // No error code: the response could not be read (e.g. an
                // unexpected XML root); the context says what was wrong.
                return CallError {
                    message: format!(
                        "{call}: {}",
                        aws_smithy_types::error::display::DisplayErrorContext(&e)
                    ),
                    unreachable,
                };
            };
            let hint = match code {
                "AccessDenied" | "AccessDeniedException" | "UnauthorizedOperation" => {
                    " (grant the reading role this permission)"
                }
                "AuthFailure" | "InvalidClientTokenId" | "SignatureDoesNotMatch" => {
                    " (check the credentials or the role)"
                }
                _ => "",
            };
            format!("{call}: {code}: {}{hint}", err.message().unwrap_or(""))
        }
        SdkError::TimeoutError(_) => format!("{call}: timed out"),
        _ => format!(
            "{call}: {}",
            aws_smithy_types::error::display::DisplayErrorContext(&e)
        ),
    };
    CallError {
        message,
        unreachable,
    }
}

/// The service error code of a failed call, if the service answered.
pub(crate) fn error_code<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>) -> Option<String> {
    match e {
        SdkError::ServiceError(se) => se.err().code().map(str::to_owned),
        _ => None,
    }
}

/// One account, resolved: its ID and the SDK configuration with its
/// credentials.
#[derive(Clone, Debug)]
pub(crate) struct AccountCtx {
    pub id: String,
    pub sdk: SdkConfig,
}

impl AwsSource {
    pub(crate) fn wants(&self, plan: &CollectPlan, rtype: &str) -> bool {
        plan.wants_type(rtype)
            && self
                .types
                .as_ref()
                .is_none_or(|t| t.iter().any(|x| x == rtype))
    }

    fn endpoint(&self, region: &str) -> Option<&str> {
        self.region_endpoints
            .get(region)
            .or(self.endpoint_url.as_ref())
            .map(String::as_str)
    }

    /// The region global services (IAM, STS, S3 listing) are called in.
    pub(crate) fn home_region(&self) -> &str {
        self.regions
            .first()
            .map(String::as_str)
            .unwrap_or("us-east-1")
    }

    /// Checks what serde cannot.
    pub fn validate(&self) -> Result<(), String> {
        if self.regions.is_empty() {
            return Err(format!(
                "source `{}`: `regions` is empty; name at least one (e.g. regions = [\"us-east-1\"])",
                self.name
            ));
        }
        if let Some(types) = &self.types {
            for t in types {
                if !TYPES.contains(&t.as_str()) {
                    return Err(format!(
                        "source `{}`: unknown resource type `{t}` in `types` (the AWS connector reads {})",
                        self.name,
                        TYPES.join(", ")
                    ));
                }
            }
        }
        if let Some(p) = self.page_size
            && !(5..=100).contains(&p)
        {
            return Err(format!(
                "source `{}`: page_size {p} is out of range (5 to 100)",
                self.name
            ));
        }
        if self.concurrency == 0 {
            return Err(format!(
                "source `{}`: concurrency must be at least 1",
                self.name
            ));
        }
        Ok(())
    }

    /// Loads the base configuration of an account and assumes its role.
    pub(crate) async fn account(
        &self,
        acct: &AwsAccount,
        stats: &Arc<ApiStats>,
    ) -> Result<AccountCtx, String> {
        let home = self.home_region().to_owned();
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(home.clone()))
            .retry_config(RetryConfig::standard().with_max_attempts(self.max_attempts.max(1)))
            .timeout_config(
                TimeoutConfig::builder()
                    .operation_timeout(Duration::from_secs(self.timeout_secs))
                    .connect_timeout(Duration::from_secs(self.timeout_secs.min(10)))
                    .build(),
            );
        if let Some(p) = acct.profile.as_ref().or(self.profile.as_ref()) {
            loader = loader.profile_name(p);
        }
        if let Some(url) = self.endpoint(&home) {
            loader = loader.endpoint_url(url);
        }
        let mut sdk = loader.load().await;
        if let Some(role) = &acct.role_arn {
            let mut b = aws_config::sts::AssumeRoleProvider::builder(role.clone())
                .session_name("pac-collect")
                .configure(&sdk);
            if let Some(x) = &acct.external_id {
                b = b.external_id(x.clone());
            }
            let provider = b.build().await;
            sdk = sdk
                .to_builder()
                .credentials_provider(
                    aws_credential_types::provider::SharedCredentialsProvider::new(provider),
                )
                .build();
        }
        let id = match (&acct.id, &acct.role_arn) {
            (Some(id), _) => id.clone(),
            (None, Some(role)) => role
                .split(':')
                .nth(4)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .ok_or_else(|| {
                    format!("role_arn `{role}` is not a role ARN (arn:aws:iam::ACCOUNT:role/NAME)")
                })?,
            (None, None) => {
                let sts = self.sts(&sdk, stats);
                let out = sts
                    .get_caller_identity()
                    .send()
                    .await
                    .map_err(|e| call_error("sts:GetCallerIdentity", e).message)?;
                out.account().unwrap_or_default().to_owned()
            }
        };
        Ok(AccountCtx { id, sdk })
    }

    fn sts(&self, sdk: &SdkConfig, stats: &Arc<ApiStats>) -> aws_sdk_sts::Client {
        let mut b = aws_sdk_sts::config::Builder::from(sdk).interceptor(Counter(stats.clone()));
        if let Some(url) = self.endpoint(self.home_region()) {
            b = b.endpoint_url(url);
        }
        aws_sdk_sts::Client::from_conf(b.build())
    }

    pub(crate) fn ec2(
        &self,
        sdk: &SdkConfig,
        region: &str,
        stats: &Arc<ApiStats>,
    ) -> aws_sdk_ec2::Client {
        let mut b = aws_sdk_ec2::config::Builder::from(sdk)
            .region(Region::new(region.to_owned()))
            .interceptor(Counter(stats.clone()));
        if let Some(url) = self.endpoint(region) {
            b = b.endpoint_url(url);
        }
        aws_sdk_ec2::Client::from_conf(b.build())
    }

    pub(crate) fn s3(
        &self,
        sdk: &SdkConfig,
        region: &str,
        stats: &Arc<ApiStats>,
    ) -> aws_sdk_s3::Client {
        let mut b = aws_sdk_s3::config::Builder::from(sdk)
            .region(Region::new(region.to_owned()))
            .interceptor(Counter(stats.clone()))
            .interceptor(s3::VersioningRootCompat);
        if let Some(url) = self.endpoint(region) {
            // Custom endpoints (moto, most S3-compatible stores) need
            // path-style addressing.
            b = b.endpoint_url(url).force_path_style(true);
        }
        aws_sdk_s3::Client::from_conf(b.build())
    }

    pub(crate) fn iam(&self, sdk: &SdkConfig, stats: &Arc<ApiStats>) -> aws_sdk_iam::Client {
        let mut b = aws_sdk_iam::config::Builder::from(sdk)
            .region(Region::new(self.home_region().to_owned()))
            .interceptor(Counter(stats.clone()));
        if let Some(url) = self.endpoint(self.home_region()) {
            b = b.endpoint_url(url);
        }
        aws_sdk_iam::Client::from_conf(b.build())
    }

    /// CloudFront is global: called in the home region (the SDK resolves
    /// its one endpoint).
    pub(crate) fn cloudfront(
        &self,
        sdk: &SdkConfig,
        stats: &Arc<ApiStats>,
    ) -> aws_sdk_cloudfront::Client {
        let mut b = aws_sdk_cloudfront::config::Builder::from(sdk)
            .region(Region::new(self.home_region().to_owned()))
            .interceptor(Counter(stats.clone()));
        if let Some(url) = self.endpoint(self.home_region()) {
            b = b.endpoint_url(url);
        }
        aws_sdk_cloudfront::Client::from_conf(b.build())
    }
}

/// A regional client of one SDK crate: the account's configuration, the
/// region, the call counter and the source's endpoint override.
macro_rules! regional_client {
    ($name:ident, $krate:ident $(, $extra:expr)?) => {
        pub(crate) fn $name(
            &self,
            sdk: &SdkConfig,
            region: &str,
            stats: &Arc<ApiStats>,
        ) -> $krate::Client {
            let mut b = $krate::config::Builder::from(sdk)
                .region(Region::new(region.to_owned()))
                .interceptor(Counter(stats.clone()));
            $(b = b.interceptor($extra);)?
            if let Some(url) = self.endpoint(region) {
                b = b.endpoint_url(url);
            }
            $krate::Client::from_conf(b.build())
        }
    };
}

impl AwsSource {
    regional_client!(kms, aws_sdk_kms);
    regional_client!(
        cloudtrail,
        aws_sdk_cloudtrail,
        cloudtrail::CloudTrailTargetCompat
    );
    regional_client!(rds, aws_sdk_rds);
    regional_client!(lambda, aws_sdk_lambda);
    regional_client!(sqs, aws_sdk_sqs);
    regional_client!(sns, aws_sdk_sns);
    regional_client!(ecr, aws_sdk_ecr);
    regional_client!(dynamodb, aws_sdk_dynamodb);
    regional_client!(eks, aws_sdk_eks);
    regional_client!(guardduty, aws_sdk_guardduty);
    regional_client!(elbv2, aws_sdk_elasticloadbalancingv2);
    regional_client!(acm, aws_sdk_acm);
    regional_client!(config, aws_sdk_config);
    regional_client!(apigateway, aws_sdk_apigateway);
    regional_client!(redshift, aws_sdk_redshift);
    regional_client!(opensearch, aws_sdk_opensearch);
    regional_client!(elb, aws_sdk_elasticloadbalancing);
    regional_client!(autoscaling, aws_sdk_autoscaling);
}

/// What one job reads.
#[derive(Clone, Debug)]
enum Job {
    Ec2 {
        account: usize,
        region: String,
        rtype: &'static str,
    },
    S3 {
        account: usize,
    },
    Iam {
        account: usize,
    },
    CloudFront {
        account: usize,
    },
    Regional {
        account: usize,
        region: String,
        service: regional::Service,
    },
}

/// Shared by the jobs of one collection.
pub(crate) struct Run<'a> {
    pub source: &'a AwsSource,
    pub plan: &'a CollectPlan,
    pub out: mpsc::Sender<Event>,
    pub stats: Arc<ApiStats>,
}

impl Run<'_> {
    /// Sends a document; false when the receiver has gone (stop).
    pub async fn send(&self, doc: serde_json::Value) -> bool {
        self.out.send(Event::Document(doc)).await.is_ok()
    }

    /// Sends a document; an error when the collection was cancelled.
    pub async fn emit(&self, doc: serde_json::Value) -> Result<(), CallError> {
        if self.send(doc).await {
            Ok(())
        } else {
            Err(CallError {
                message: "collection cancelled".into(),
                unreachable: false,
            })
        }
    }

    pub async fn error(&self, scope: Scope, message: String) {
        let _ = self
            .out
            .send(Event::Error(SourceError {
                source_name: self.source.name.clone(),
                scope,
                message,
            }))
            .await;
    }
}

/// The result of one job: the scopes it completed and the errors of the
/// scopes it could not.
#[derive(Default)]
pub(crate) struct JobOutcome {
    pub complete: Vec<Scope>,
    pub errors: Vec<(Scope, CallError)>,
}

pub(crate) fn scope(account: &str, region: Option<&str>, rtype: Option<&str>) -> Scope {
    Scope {
        account: Some(account.to_owned()),
        region: region.map(str::to_owned),
        resource_type: rtype.map(str::to_owned),
    }
}

/// The AWS connector.
pub struct AwsConnector {
    source: AwsSource,
    stats: Arc<ApiStats>,
}

impl AwsConnector {
    pub fn new(source: AwsSource) -> AwsConnector {
        AwsConnector {
            source,
            stats: Arc::default(),
        }
    }

    pub fn stats(&self) -> &Arc<ApiStats> {
        &self.stats
    }
}

#[async_trait]
impl Connector for AwsConnector {
    fn name(&self) -> &str {
        &self.source.name
    }

    fn api_calls(&self) -> BTreeMap<String, u64> {
        self.stats.calls()
    }

    async fn collect(
        &self,
        plan: &CollectPlan,
        out: mpsc::Sender<Event>,
    ) -> Result<(), SourceError> {
        let src = &self.source;
        src.validate().map_err(|message| SourceError {
            source_name: src.name.clone(),
            scope: Scope::default(),
            message,
        })?;
        let run = Run {
            source: src,
            plan,
            out: out.clone(),
            stats: self.stats.clone(),
        };
        let wanted_accounts = if src.accounts.is_empty() {
            vec![AwsAccount::default()]
        } else {
            src.accounts.clone()
        };
        // Resolve the accounts (credentials, role, ID) first.
        let lookups: Vec<futures::future::BoxFuture<'_, Result<AccountCtx, String>>> =
            wanted_accounts
                .iter()
                .map(|a| src.account(a, &self.stats).boxed())
                .collect();
        let resolved: Vec<Result<AccountCtx, String>> = futures::stream::iter(lookups)
            .buffered(src.concurrency)
            .collect()
            .await;
        let mut accounts = Vec::new();
        for (acct, r) in wanted_accounts.iter().zip(resolved) {
            match r {
                Ok(ctx) => accounts.push(ctx),
                Err(message) => {
                    let name = acct
                        .id
                        .clone()
                        .or_else(|| acct.role_arn.clone())
                        .unwrap_or_else(|| "the default account".into());
                    run.error(
                        Scope {
                            account: Some(name),
                            ..Scope::default()
                        },
                        format!("cannot read the account: {message}"),
                    )
                    .await;
                }
            }
        }
        let mut jobs = Vec::new();
        for (i, _) in accounts.iter().enumerate() {
            for region in &src.regions {
                for rtype in ec2::TYPES {
                    if src.wants(plan, rtype) {
                        jobs.push(Job::Ec2 {
                            account: i,
                            region: region.clone(),
                            rtype,
                        });
                    }
                }
            }
            for region in &src.regions {
                for &service in regional::Service::ALL {
                    if service.types().iter().any(|t| src.wants(plan, t)) {
                        jobs.push(Job::Regional {
                            account: i,
                            region: region.clone(),
                            service,
                        });
                    }
                }
            }
            if src.wants(plan, "aws.s3.bucket") {
                jobs.push(Job::S3 { account: i });
            }
            if iam::TYPES.iter().any(|t| src.wants(plan, t)) {
                jobs.push(Job::Iam { account: i });
            }
            if src.wants(plan, cloudfront::TYPE) {
                jobs.push(Job::CloudFront { account: i });
            }
        }
        let total = jobs.len() as u64;
        let dead: Mutex<HashSet<(String, String)>> = Mutex::default();
        let is_dead = |a: &str, r: &str| {
            dead.lock()
                .map(|d| d.contains(&(a.to_owned(), r.to_owned())))
                .unwrap_or(false)
        };
        let run_ref = &run;
        let accounts_ref = &accounts;
        let is_dead_ref = &is_dead;
        let futs: Vec<futures::future::BoxFuture<'_, (Job, JobOutcome)>> = jobs
            .into_iter()
            .map(|job| {
                let run = run_ref;
                let accounts = accounts_ref;
                let is_dead = is_dead_ref;
                async move {
                    let outcome = match &job {
                        Job::Ec2 {
                            account,
                            region,
                            rtype,
                        } => {
                            let acct = &accounts[*account];
                            if is_dead(&acct.id, region) {
                                JobOutcome::default()
                            } else {
                                ec2::collect(run, acct, region, rtype).await
                            }
                        }
                        Job::S3 { account } => s3::collect(run, &accounts[*account]).await,
                        Job::Iam { account } => iam::collect(run, &accounts[*account]).await,
                        Job::CloudFront { account } => {
                            cloudfront::collect(run, &accounts[*account]).await
                        }
                        Job::Regional {
                            account,
                            region,
                            service,
                        } => {
                            let acct = &accounts[*account];
                            if is_dead(&acct.id, region) {
                                JobOutcome::default()
                            } else {
                                service.collect(run, acct, region).await
                            }
                        }
                    };
                    (job, outcome)
                }
                .boxed()
            })
            .collect();
        let mut results = futures::stream::iter(futs).buffer_unordered(src.concurrency);
        let mut done = 0u64;
        while let Some((job, outcome)) = results.next().await {
            done += 1;
            for s in outcome.complete {
                let _ = out.send(Event::Complete(s)).await;
            }
            for (s, e) in outcome.errors {
                let (Some(a), Some(r)) = (s.account.clone(), s.region.clone()) else {
                    run.error(s, e.message).await;
                    continue;
                };
                if e.unreachable {
                    // The whole region is unreachable: say so once, skip the rest.
                    let first = dead
                        .lock()
                        .map(|mut d| d.insert((a.clone(), r.clone())))
                        .unwrap_or(true);
                    if first {
                        run.error(
                            scope(&a, Some(&r), None),
                            format!("region unreachable, nothing collected there: {}", e.message),
                        )
                        .await;
                    }
                } else if !is_dead(&a, &r) {
                    run.error(s, e.message).await;
                }
            }
            let what = match &job {
                Job::Ec2 {
                    account,
                    region,
                    rtype,
                } => {
                    format!("{} {} {}", accounts[*account].id, region, rtype)
                }
                Job::S3 { account } => format!("{} s3", accounts[*account].id),
                Job::Iam { account } => format!("{} iam", accounts[*account].id),
                Job::CloudFront { account } => format!("{} cloudfront", accounts[*account].id),
                Job::Regional {
                    account,
                    region,
                    service,
                } => format!("{} {} {}", accounts[*account].id, region, service.name()),
            };
            let _ = out
                .send(Event::Progress {
                    source_name: src.name.clone(),
                    done,
                    total: Some(total),
                    what,
                })
                .await;
        }
        Ok(())
    }
}
