//! Subcommands.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};
use pac_compiler::{Compiled, Diagnostic, Severity, compile_sources, render};

#[derive(Parser)]
#[command(
    name = "pacc",
    version,
    about = "Pac: typed compliance policies for cloud estates"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// `pacc serve --log-format`.
#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum LogFormatArg {
    Text,
    Json,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
}

/// `pacc check --format`.
#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum CheckFormat {
    Text,
    Json,
    /// SARIF 2.1.0, for code scanning.
    Sarif,
    /// GitHub Actions workflow commands (annotations).
    Github,
}

/// `pacc test --format`.
#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum TestFormat {
    Text,
    Json,
    /// JUnit XML, for CI test reports.
    Junit,
}

/// Which engine evaluates rule conditions. Both give the same results;
/// messages, error reasons and explanations always come from the
/// interpreter.
#[derive(Clone, Copy, ValueEnum, PartialEq, Eq, Debug)]
pub enum EngineKind {
    /// `pacc eval`'s default: the native engine for an inventory of at
    /// least 24 MiB, the interpreter for a smaller one (compiling the
    /// library to native code takes longer than interpreting it over a
    /// few thousand resources). Elsewhere, the same as `jit`.
    Auto,
    /// Rules compiled to native code (a rule the compiler cannot handle
    /// falls back to the interpreter; `-v` says which).
    Jit,
    /// The reference interpreter.
    Interp,
}

#[derive(Subcommand)]
enum TokenCmd {
    /// Create a token; prints it alone on stdout (shown this once).
    Create {
        /// The server's URL.
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        server: String,
        /// viewer, requester, approver or admin.
        #[arg(long)]
        role: String,
        /// An asset group the role holds on (repeat for more; `*` for all).
        #[arg(long = "group", required = true)]
        groups: Vec<String>,
        /// Days until it expires, e.g. 90d.
        #[arg(long)]
        expires: String,
        /// What it is for (shown in lists).
        #[arg(long, default_value = "cli")]
        name: String,
    },
    /// List tokens (never their secrets) with status and last use.
    List {
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        server: String,
    },
    /// Revoke a token at once.
    Revoke {
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        server: String,
        id: i64,
    },
}

#[derive(Subcommand)]
enum Command {
    /// Serve the Language Server Protocol on stdin/stdout (for editors).
    Lsp {
        /// Accepted because many clients pass it (vscode-languageclient's
        /// `TransportKind.stdio`); stdin/stdout is the only transport.
        #[arg(long)]
        stdio: bool,
    },
    /// Parse and type-check policies; print diagnostics.
    Check {
        /// Files or directories of `.pac` files.
        #[arg(default_value = "policies")]
        paths: Vec<PathBuf>,
        #[arg(long, value_enum, default_value = "text")]
        format: CheckFormat,
        /// Treat warnings as errors.
        #[arg(long)]
        deny_warnings: bool,
    },
    /// Run the `test` blocks of the policies (in parallel).
    Test {
        #[arg(default_value = "policies")]
        paths: Vec<PathBuf>,
        /// Only tests whose name contains this text.
        #[arg(long)]
        filter: Option<String>,
        /// Report which rules and condition branches the tests exercised.
        #[arg(long)]
        coverage: bool,
        /// With --coverage: fail when branch coverage is below this percentage.
        #[arg(long, requires = "coverage")]
        min: Option<u32>,
        #[arg(long, value_enum, default_value = "text")]
        format: TestFormat,
        /// The engine that evaluates rule conditions.
        #[arg(long, value_enum, default_value = "jit")]
        engine: EngineKind,
        /// Say which rules the native engine leaves to the interpreter.
        #[arg(short, long)]
        verbose: bool,
    },
    /// Evaluate policies over an inventory and print the compliance summary.
    Eval {
        /// Policy files or directories.
        #[arg(long, num_args = 1.., default_value = "policies")]
        policies: Vec<PathBuf>,
        /// Inventory file (JSON array or NDJSON).
        #[arg(long, default_value = "examples/demo/inventory.json")]
        inventory: PathBuf,
        #[arg(long, value_enum, default_value = "table")]
        format: EvalFormat,
        /// The evaluation clock (a date or RFC 3339 time); default: now.
        #[arg(long)]
        now: Option<String>,
        /// Fail (exit 2) when a document does not match its schema, instead
        /// of reporting and skipping it.
        #[arg(long)]
        strict: bool,
        /// Attach explanations to failures (in JSON output).
        #[arg(long)]
        explain: bool,
        /// The engine that evaluates rule conditions (`auto`: native code
        /// for an inventory of 24 MiB or more, the interpreter below).
        #[arg(long, value_enum, default_value = "auto")]
        engine: EngineKind,
        /// Say which engine runs and which rules the native engine leaves
        /// to the interpreter, and time every phase (on stderr).
        #[arg(short, long)]
        verbose: bool,
        /// Report by the controls of one compliance framework, from the
        /// policies' tags (`cis-aws` for `cis-aws-1.5:3.8`, `aws-fsbp` for
        /// `aws-fsbp:KMS.4`) instead of by policy.
        #[arg(long, value_name = "NAME")]
        framework: Option<String>,
    },
    /// Search an inventory without a server: its resources (with their
    /// compliance, evaluated as `pacc eval` does), policies and rules
    /// (docs/search.md).
    #[command(after_help = "Queries:\n  \
        web prod                     free text: every word must match (typos forgiven)\n  \
        type:aws.ec2.instance        a field; `type:aws.ec2.*` for a prefix\n  \
        tag:env=prod  tag:owner      a tag's value, or that the tag is set\n  \
        state.name:running           any attribute by its path\n  \
        size:>100  size:10..100      ranges on numbers and times (launch_time:>=2026-01-01)\n  \
        status:failing               failing, exempted or passing; also severity:, policy:, group:\n  \
        -status:passing              `-` excludes\n\n\
        Exit status: 0 something matched, 1 nothing matched, 2 the query, the policies or the inventory cannot be used.")]
    Search {
        /// The query; quote it when it has spaces: `pacc search 'web prod'`.
        #[arg(allow_hyphen_values = true)]
        query: String,
        /// Inventory file (JSON array or NDJSON).
        #[arg(long, default_value = "examples/demo/inventory.json")]
        inventory: PathBuf,
        /// Policy files or directories (what `status:`, `severity:` and
        /// `policy:` are evaluated with).
        #[arg(long, num_args = 1.., default_value = "policies")]
        policies: Vec<PathBuf>,
        /// The evaluation clock (a date or RFC 3339 time); default: now.
        #[arg(long)]
        now: Option<String>,
        /// Fail (exit 2) when a document does not match its schema, instead
        /// of reporting and skipping it.
        #[arg(long)]
        strict: bool,
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
        /// Results per page (1 to 1000).
        #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u16).range(1..=1000))]
        limit: u16,
        /// Which page of results (from 1).
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=100_000))]
        page: u32,
    },
    /// Explain why a resource passes or fails a rule.
    Explain {
        /// A rule (`policy` or `policy.rule`).
        rule: String,
        /// The resource id.
        resource: String,
        #[arg(long, num_args = 1.., default_value = "policies")]
        policies: Vec<PathBuf>,
        #[arg(long, default_value = "examples/demo/inventory.json")]
        inventory: PathBuf,
        #[arg(long)]
        now: Option<String>,
        /// The engine that decides the outcome (the explanation is always
        /// the interpreter's trace).
        #[arg(long, value_enum, default_value = "jit")]
        engine: EngineKind,
    },
    /// Review a change to the policies between two git commits: what
    /// changed, rule by rule, and what it does to an inventory
    /// (docs/review.md). Run inside a checkout of the policy repository.
    /// Exit 1 when a gate (--fail-on, --max-new-failures) trips.
    Review {
        /// The commit the change is compared with (`origin/main`).
        #[arg(long)]
        base: String,
        /// The changed commit.
        #[arg(long, default_value = "HEAD")]
        head: String,
        /// Policy folders or files inside the repository, read from each
        /// commit (not from the working tree).
        #[arg(long, num_args = 1.., default_value = "policies")]
        policies: Vec<PathBuf>,
        /// Inventory both sides are evaluated over (read from disk); the
        /// default is the demo inventory.
        #[arg(long, default_value = "examples/demo/inventory.json")]
        inventory: PathBuf,
        /// Evaluate over the inventory a running `pacc serve` last
        /// collected instead (GET /api/v1/inventory, within the token's
        /// asset groups), e.g. https://pac.example.com.
        #[arg(long, conflicts_with = "inventory", value_name = "URL")]
        server: Option<String>,
        /// The API token for --server; default: the PAC_TOKEN environment
        /// variable (preferred: a command line is visible to other users).
        #[arg(long, requires = "server")]
        token: Option<String>,
        /// With --server: only the members of this asset group.
        #[arg(long, requires = "server")]
        group: Option<String>,
        /// What to print on stdout.
        #[arg(long, value_enum, default_value = "markdown")]
        format: crate::review::ReviewFormat,
        /// Also write a format to a file: FORMAT=FILE (repeatable), e.g.
        /// --output sarif=review.sarif --output markdown=review.md.
        #[arg(long = "output")]
        outputs: Vec<String>,
        /// The evaluation clock (a date or RFC 3339 time); default: now.
        #[arg(long)]
        now: Option<String>,
        /// How many resource ids (with messages) each rule lists per kind
        /// of movement.
        #[arg(long, default_value_t = 5)]
        sample: usize,
        /// Exit 1 on these (repeatable).
        #[arg(long, value_enum)]
        fail_on: Vec<crate::review::FailOnArg>,
        /// Exit 1 when more failures than this newly open (newly failing
        /// or un-exempted, over all rules).
        #[arg(long)]
        max_new_failures: Option<usize>,
        /// Warn when a changed rule fails more than this percentage of
        /// the resources it evaluates.
        #[arg(long, default_value_t = 50)]
        warn_failure_rate: u32,
        /// Warn when an auto-fix is newly bound to a rule with at least
        /// this many open failures.
        #[arg(long, default_value_t = 10)]
        warn_autofix_targets: usize,
        /// Warn when a new or changed exception expires further ahead
        /// than this many days.
        #[arg(long, default_value_t = 365)]
        warn_exception_days: i64,
    },
    /// Format `.pac` files in place (or check that they are formatted).
    Fmt {
        #[arg(default_value = "policies")]
        paths: Vec<PathBuf>,
        /// Do not write; exit 1 if a file is not formatted.
        #[arg(long)]
        check: bool,
    },
    /// Collect resource documents from the configured sources (AWS,
    /// files, commands, HTTP) into an NDJSON inventory (docs/connectors.md).
    Collect {
        /// The source configuration (TOML).
        #[arg(long)]
        config: PathBuf,
        /// Collect only what these policies read (default: everything).
        #[arg(long, num_args = 1..)]
        policies: Option<Vec<PathBuf>>,
        /// The inventory file to write (NDJSON).
        #[arg(long, short)]
        out: PathBuf,
        /// The summary's format.
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
    /// Run the auto-fixes bound to failing rules (never on exempted
    /// resources): `--dry-run` says what would change, `--apply` changes it.
    Fix {
        /// The source configuration (TOML): credentials, roles, endpoints.
        #[arg(long)]
        config: PathBuf,
        #[arg(long, num_args = 1.., default_value = "policies")]
        policies: Vec<PathBuf>,
        /// Inventory file (JSON array or NDJSON), e.g. from `pacc collect`.
        #[arg(long)]
        inventory: PathBuf,
        /// Only say what would change.
        #[arg(long, conflicts_with = "apply", required_unless_present = "apply")]
        dry_run: bool,
        /// Change the resources.
        #[arg(long)]
        apply: bool,
        #[arg(long)]
        now: Option<String>,
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
        #[arg(long, value_enum, default_value = "jit")]
        engine: EngineKind,
    },
    /// Write a synthetic AWS inventory (NDJSON) for benchmarks (the `estate` crate).
    GenInventory {
        /// Exactly this many documents.
        #[arg(long)]
        count: u64,
        /// The same seed gives the same bytes.
        #[arg(long, default_value_t = pac_estate::DEFAULT_SEED)]
        seed: u64,
        /// Output file (default: stdout).
        #[arg(long, short)]
        out: Option<PathBuf>,
    },
    /// Convert a scanner's findings into `vuln.finding` inventory
    /// documents (NDJSON): today Amazon Inspector's (the output of `aws
    /// inspector2 list-findings`, a JSON array, or one finding per line).
    ImportFindings {
        /// The findings file.
        file: PathBuf,
        /// Output file (default: stdout); append it to an inventory, or
        /// list it in a source's `paths`.
        #[arg(long, short)]
        out: Option<PathBuf>,
    },
    /// Benchmark the native engine against the interpreter on generated
    /// inventories (bench/src/engines.rs, docs/benchmarks.md).
    Bench {
        /// Inventory sizes, comma-separated.
        #[arg(long, value_delimiter = ',', default_value = "100000,1000000")]
        count: Vec<u64>,
        #[arg(long, default_value_t = pac_estate::DEFAULT_SEED)]
        seed: u64,
        /// Runs per measurement; the table shows medians.
        #[arg(long, default_value_t = 5)]
        runs: usize,
        /// Policy files or directories.
        #[arg(long, num_args = 1.., default_value = "policies")]
        policies: Vec<PathBuf>,
        /// Measure every phase on this inventory (JSON array or NDJSON)
        /// instead of generated estates (`--count` is then ignored).
        #[arg(long)]
        inventory: Option<PathBuf>,
        /// The evaluation clock for `--inventory` (a date or RFC 3339
        /// time); generated estates use their own, 2026-11-01.
        #[arg(long)]
        now: Option<String>,
    },
    /// Benchmark `pacc review` on a one-policy change over a generated
    /// inventory (bench/src/review.rs, docs/review.md).
    BenchReview {
        #[arg(long, default_value_t = 100_000)]
        count: u64,
        #[arg(long, default_value_t = pac_estate::DEFAULT_SEED)]
        seed: u64,
        /// Runs; the table shows medians.
        #[arg(long, default_value_t = 5)]
        runs: usize,
        /// The policy library to put in the scratch repository.
        #[arg(long, num_args = 1.., default_value = "policies")]
        policies: Vec<PathBuf>,
    },
    /// Run the compliance server: scheduled scans, issues, exceptions,
    /// auto-fix and the REST API (docs/server.md). Without --config: the
    /// bundled policies and demo inventory, a SQLite store in .pac-data/,
    /// the API on 127.0.0.1:8080.
    Serve {
        /// Configuration file (TOML).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Listen address, overriding the configuration.
        #[arg(long)]
        listen: Option<String>,
        /// Data directory of the SQLite store, overriding the configuration.
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Log lines as text (colours only on a terminal) or one JSON
        /// object per line; `RUST_LOG` sets the levels.
        #[arg(long, value_enum, default_value = "text")]
        log_format: LogFormatArg,
        /// Listen on a non-loopback address although the API has no
        /// authentication (anyone who reaches it can read and change it).
        #[arg(long)]
        insecure_no_auth: bool,
    },
    /// API tokens of a running server (docs/auth.md): create, list,
    /// revoke. Authenticates with the admin token in PAC_TOKEN.
    Token {
        #[command(subcommand)]
        command: TokenCmd,
    },
    /// Benchmark the server: full scan and 1% rescan of a generated
    /// inventory, and API latency under concurrent clients (docs/server.md).
    BenchServer {
        #[arg(long, default_value_t = 100_000)]
        count: u64,
        #[arg(long, default_value_t = pac_estate::DEFAULT_SEED)]
        seed: u64,
        #[arg(long, default_value_t = 200)]
        concurrency: usize,
        /// Requests per endpoint.
        #[arg(long, default_value_t = 20_000)]
        requests: usize,
        #[arg(long, num_args = 1.., default_value = "policies")]
        policies: Vec<PathBuf>,
    },
    /// Benchmark the search index on a generated estate: build, size,
    /// a 1% update, and query latency under concurrent clients, beside
    /// issue 17's targets (bench/src/search.rs, docs/benchmarks.md).
    BenchSearch {
        #[arg(long, default_value_t = 1_000_000)]
        count: u64,
        #[arg(long, default_value_t = pac_estate::DEFAULT_SEED)]
        seed: u64,
        /// Concurrent clients, each sending its next query when the last
        /// is answered.
        #[arg(long, default_value_t = 50)]
        clients: usize,
        /// How long the clients query.
        #[arg(long, default_value_t = 10.0)]
        seconds: f64,
        #[arg(long, num_args = 1.., default_value = "policies")]
        policies: Vec<PathBuf>,
    },
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum EvalFormat {
    Table,
    Json,
}

pub fn run() -> i32 {
    let cli = Cli::parse();
    match cli.command {
        Command::Lsp { stdio: _ } => pac_lsp::run_stdio(),
        Command::Check {
            paths,
            format,
            deny_warnings,
        } => check(&paths, format, deny_warnings),
        Command::Test {
            paths,
            filter,
            coverage,
            min,
            format,
            engine,
            verbose,
        } => test(
            &paths,
            filter.as_deref(),
            coverage,
            min,
            format,
            engine,
            verbose,
        ),
        Command::Eval {
            policies,
            inventory,
            format,
            now,
            strict,
            explain,
            engine,
            verbose,
            framework,
        } => eval(
            &EvalArgs {
                policies: &policies,
                inventory: &inventory,
                format,
                now: now.as_deref(),
                strict,
                explain,
                framework: framework.as_deref(),
            },
            engine,
            verbose,
        ),
        Command::Search {
            query,
            inventory,
            policies,
            now,
            strict,
            format,
            limit,
            page,
        } => crate::search::run(&crate::search::SearchArgs {
            query: &query,
            inventory: &inventory,
            policies: &policies,
            now: now.as_deref(),
            strict,
            format,
            limit: usize::from(limit),
            page: page as usize,
        }),
        Command::Explain {
            rule,
            resource,
            policies,
            inventory,
            now,
            engine,
        } => explain(
            &rule,
            &resource,
            &policies,
            &inventory,
            now.as_deref(),
            engine,
        ),
        Command::Fmt { paths, check } => fmt(&paths, check),
        Command::Review {
            base,
            head,
            policies,
            inventory,
            server,
            token,
            group,
            format,
            outputs,
            now,
            sample,
            fail_on,
            max_new_failures,
            warn_failure_rate,
            warn_autofix_targets,
            warn_exception_days,
        } => crate::review::run(&crate::review::ReviewArgs {
            base: &base,
            head: &head,
            policies: &policies,
            inventory: match server {
                Some(url) => crate::review::InventoryFrom::Server { url, token, group },
                None => crate::review::InventoryFrom::File(inventory),
            },
            format,
            outputs: &outputs,
            now: now.as_deref(),
            sample,
            fail_on: &fail_on,
            max_new_failures,
            thresholds: pac_review::Thresholds {
                failure_rate: warn_failure_rate,
                autofix_targets: warn_autofix_targets,
                exception_days: warn_exception_days,
            },
        }),
        Command::Collect {
            config,
            policies,
            out,
            format,
        } => crate::collect::run(&crate::collect::CollectArgs {
            config: &config,
            policies: policies.as_deref(),
            out: &out,
            format,
        }),
        Command::Fix {
            config,
            policies,
            inventory,
            dry_run: _,
            apply,
            now,
            format,
            engine,
        } => crate::fix::run(&crate::fix::FixArgs {
            config: &config,
            policies: &policies,
            inventory: &inventory,
            apply,
            now: now.as_deref(),
            format,
            engine,
        }),
        Command::GenInventory { count, seed, out } => pac_estate::run(count, seed, out.as_deref()),
        Command::ImportFindings { file, out } => import_findings(&file, out.as_deref()),
        Command::Bench {
            count,
            seed,
            runs,
            policies,
            inventory,
            now,
        } => {
            let now = match (&inventory, now.as_deref()) {
                (Some(_), n) => match parse_now(n) {
                    Ok(t) => t,
                    Err(code) => return code,
                },
                (None, _) => pac_estate::NOW,
            };
            pac_bench::engines::run(&count, seed, runs, &policies, inventory.as_deref(), now)
        }
        Command::BenchReview {
            count,
            seed,
            runs,
            policies,
        } => pac_bench::review::run(count, seed, runs, &policies),
        Command::Serve {
            config,
            listen,
            data_dir,
            log_format,
            insecure_no_auth,
        } => pac_server::run_cli(
            config.as_deref(),
            listen.as_deref(),
            data_dir.as_deref(),
            match log_format {
                LogFormatArg::Text => pac_server::logging::LogFormat::Text,
                LogFormatArg::Json => pac_server::logging::LogFormat::Json,
            },
            insecure_no_auth,
        ),
        Command::Token { command } => {
            use pac_server::auth::cli::{TokenCommand, run};
            match command {
                TokenCmd::Create {
                    server,
                    role,
                    groups,
                    expires,
                    name,
                } => run(
                    &server,
                    TokenCommand::Create {
                        name,
                        role,
                        groups,
                        expires,
                    },
                ),
                TokenCmd::List { server } => run(&server, TokenCommand::List),
                TokenCmd::Revoke { server, id } => run(&server, TokenCommand::Revoke { id }),
            }
        }
        Command::BenchServer {
            count,
            seed,
            concurrency,
            requests,
            policies,
        } => pac_bench::server::run(count, seed, concurrency, requests, &policies),
        Command::BenchSearch {
            count,
            seed,
            clients,
            seconds,
            policies,
        } => pac_bench::search::run(&pac_bench::search::Args {
            count,
            seed,
            clients,
            seconds,
            policies: &policies,
            dir: None,
        }),
    }
}

/// Loads and compiles; on an I/O problem prints it and returns None.
pub fn load(paths: &[PathBuf]) -> Option<Compiled> {
    // The default `policies` is the embedded library outside a checkout.
    let files = match pac_bundle::policy_sources(paths) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: {e}");
            return None;
        }
    };
    Some(compile_sources(files))
}

/// The compile diagnostics plus those that depend on today's date.
pub fn all_diagnostics(c: &Compiled, now: i64) -> Vec<Diagnostic> {
    let mut all: Vec<Diagnostic> = c.diagnostics.iter().cloned().collect();
    all.extend(pac_compiler::expiry_diagnostics(&c.program, now));
    all.sort_by_key(|d| (d.file, d.span.start));
    all
}

/// Prints diagnostics; returns (errors, warnings).
pub fn print_diagnostics(c: &Compiled, diags: &[Diagnostic], format: Format) -> (usize, usize) {
    let errors = diags
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count();
    let warnings = diags.len() - errors;
    let mut renderer = render::Renderer::new(&c.program.files);
    match format {
        Format::Json => {
            let v: Vec<_> = diags.iter().map(|d| renderer.to_json(d)).collect();
            println!(
                "{}",
                serde_json::to_string_pretty(&v).unwrap_or_else(|_| "[]".into())
            );
        }
        Format::Text => {
            let color = std::io::stderr().is_terminal();
            let mut err = std::io::stderr().lock();
            for d in diags {
                let _ = renderer.render(d, color, &mut err);
            }
            let _ = err.flush();
        }
    }
    (errors, warnings)
}

fn check(paths: &[PathBuf], format: CheckFormat, deny_warnings: bool) -> i32 {
    let Some(c) = load(paths) else { return 2 };
    let diags = all_diagnostics(&c, now_secs());
    let (errors, warnings) = match format {
        CheckFormat::Text => print_diagnostics(&c, &diags, Format::Text),
        CheckFormat::Json => print_diagnostics(&c, &diags, Format::Json),
        CheckFormat::Sarif | CheckFormat::Github => {
            let (kinds, findings) = pac_review::findings::check_findings(&c.program.files, &diags);
            if format == CheckFormat::Sarif {
                println!(
                    "{}",
                    pac_review::sarif::render("pacc-check/", &kinds, &findings)
                );
            } else {
                print!("{}", pac_review::github::render(&findings));
            }
            let errors = diags.iter().filter(|d| d.is_error()).count();
            (errors, diags.len() - errors)
        }
    };
    if format == CheckFormat::Text {
        let p = &c.program;
        let user_files = p.files.len() - pac_compiler::stdlib_file_count();
        eprintln!(
            "checked {user_files} file(s): {} policies, {} rules, {} groups, {} exceptions, {} tests; {errors} error(s), {warnings} warning(s)",
            p.policies.len(),
            p.rules.len(),
            p.groups.len(),
            p.exceptions.len(),
            p.tests.len(),
        );
    }
    if errors > 0 || (deny_warnings && warnings > 0) {
        2
    } else {
        0
    }
}

/// The wall clock, in Unix seconds.
pub fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn fmt(paths: &[PathBuf], check_only: bool) -> i32 {
    let files = match pac_compiler::files::pac_files(paths) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    let mut unformatted = 0;
    for f in files {
        let Ok(text) = std::fs::read_to_string(&f) else {
            eprintln!("error: {}: cannot read", f.display());
            return 2;
        };
        match pac_lang::fmt::format(&text) {
            Ok(out) if out == text => {}
            Ok(out) => {
                unformatted += 1;
                if check_only {
                    println!("{}: not formatted", f.display());
                } else if let Err(e) = std::fs::write(&f, out) {
                    eprintln!("error: {}: {e}", f.display());
                    return 2;
                }
            }
            Err(errors) => {
                for e in errors {
                    let (line, col) = render::line_col(&text, e.span.start);
                    let what = if e.code == "E0001" {
                        "syntax error: "
                    } else {
                        ""
                    };
                    eprintln!(
                        "error[{}]: {}:{line}:{col}: {what}{}",
                        e.code,
                        f.display(),
                        e.message
                    );
                }
                return 2;
            }
        }
    }
    i32::from(check_only && unformatted > 0)
}

/// Compiles and prints diagnostics; None when there are errors.
pub(crate) fn compile_or_report(paths: &[PathBuf]) -> Option<Compiled> {
    let c = load(paths)?;
    let diags: Vec<Diagnostic> = c
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .cloned()
        .collect();
    if diags.is_empty() {
        return Some(c);
    }
    let (errors, _) = print_diagnostics(&c, &diags, Format::Text);
    eprintln!(
        "error: {errors} compile error(s); fix them first (`pacc check` lists every diagnostic)"
    );
    None
}

pub(crate) fn parse_now(now: Option<&str>) -> Result<i64, i32> {
    match now {
        None => Ok(now_secs()),
        Some(t) => pac_lang::lexer::parse_timestamp(t).ok_or_else(|| {
            eprintln!("error: --now {t:?} is not a date or time (write 2026-11-01 or 2026-11-01T12:00:00Z)");
            2
        }),
    }
}

/// From this inventory size on, `pacc eval --engine auto` compiles the
/// rules to native code. Below it the interpreter is faster end to end:
/// compiling the library takes ~0.1 s (215 rules), which the native
/// engine wins back at some 30,000 resources (docs/benchmarks.md: the
/// generated estate's documents average 840 bytes).
const AUTO_JIT_BYTES: u64 = 24 << 20;

/// From this inventory size on, the native engine also compiles the
/// messages that read `let`s or expressions. Compiling the library's 87
/// such messages takes ~40 ms more; computing them natively instead of
/// interpreting them saves ~35 ms of the report at 100,000 resources
/// (84 MB) and ~1.1 s at a million (docs/benchmarks.md).
const MESSAGES_BYTES: u64 = 128 << 20;

/// The engine `auto` means for an inventory file of `bytes` (0 for one
/// that cannot be read, which the reader then reports).
fn auto_engine(kind: EngineKind, bytes: u64, verbose: bool) -> EngineKind {
    if kind != EngineKind::Auto {
        return kind;
    }
    let chosen = if bytes >= AUTO_JIT_BYTES {
        EngineKind::Jit
    } else {
        EngineKind::Interp
    };
    if verbose {
        eprintln!(
            "engine: auto chose {} for an inventory of {:.1} MiB (native code from {} MiB; --engine jit|interp to choose)",
            if chosen == EngineKind::Jit {
                "jit"
            } else {
                "the interpreter"
            },
            bytes as f64 / f64::from(1u32 << 20),
            AUTO_JIT_BYTES >> 20
        );
    }
    chosen
}

/// Compiles the rules for the native engine (`None` for the interpreter);
/// with `verbose`, says on stderr which rules stay interpreted and why.
pub(crate) fn native_engine(
    program: &pac_compiler::Program,
    kind: EngineKind,
    coverage: bool,
    verbose: bool,
) -> Option<pac_jit::Engine> {
    native_engine_with(program, kind, coverage, false, verbose)
}

/// [`native_engine`], with `messages`: also compile the messages that
/// read more than the resource's fields (for a report of many failures).
pub(crate) fn native_engine_with(
    program: &pac_compiler::Program,
    kind: EngineKind,
    coverage: bool,
    messages: bool,
    verbose: bool,
) -> Option<pac_jit::Engine> {
    if kind == EngineKind::Interp {
        if verbose {
            eprintln!("engine: interpreter");
        }
        return None;
    }
    let start = std::time::Instant::now();
    let engine =
        pac_jit::Engine::compile_with(program, pac_jit::CompileOptions { coverage, messages });
    if verbose {
        eprintln!(
            "engine: jit, {} of {} rules{} compiled to native code in {:.1} ms",
            program.rules.len() - engine.fallbacks().len(),
            program.rules.len(),
            match engine.compiled_messages() {
                0 => String::new(),
                n => format!(" and {n} messages"),
            },
            start.elapsed().as_secs_f64() * 1000.0
        );
        for (what, why) in pac_jit::fallback_report(program, &engine) {
            eprintln!("{what}: interpreted ({why})");
        }
    }
    Some(engine)
}

fn test(
    paths: &[PathBuf],
    filter: Option<&str>,
    coverage: bool,
    min: Option<u32>,
    format: TestFormat,
    engine: EngineKind,
    verbose: bool,
) -> i32 {
    let Some(c) = compile_or_report(paths) else {
        return 2;
    };
    // The runner always records coverage, so the native code does too.
    let native = native_engine(&c.program, engine, true, verbose);
    let report = pac_runtime::run_tests_with(
        &c.program,
        filter,
        now_secs(),
        native
            .as_ref()
            .map(|e| e as &dyn pac_runtime::PrepareEngine),
    );
    match format {
        TestFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        ),
        TestFormat::Junit => print!("{}", pac_review::junit::render(&report)),
        TestFormat::Text => {
            print!("{}", pac_runtime::testing::render_text(&report));
            if coverage {
                print!(
                    "{}",
                    pac_runtime::testing::render_coverage(&report.coverage)
                );
            }
        }
    }
    if report.tests.is_empty() {
        eprintln!("error: no tests matched");
        return 1;
    }
    if !report.ok() {
        return 1;
    }
    if let Some(min) = min {
        let pct = report.coverage.percent();
        if pct < min {
            eprintln!("error: branch coverage {pct}% is below --min {min}%");
            return 1;
        }
    }
    0
}

/// [`read_inventory`], and how many documents of each resource type were
/// skipped (a document whose type is not known counts for no type).
fn read_inventory_counted(
    c: &Compiled,
    path: &std::path::Path,
    strict: bool,
    layout: Option<&mut pac_jit::LayoutBuilder>,
) -> Option<(
    pac_runtime::Inventory,
    Vec<(pac_compiler::types::RecordId, usize)>,
)> {
    let mut skipped: Vec<(pac_compiler::types::RecordId, usize)> = Vec::new();
    let mask = pac_compiler::reads::ReadMask::of(&c.program);
    let inv = read_inventory_with(c, path, strict, Some(&mask), layout, &mut |e| {
        // A duplicate leaves its first document in: nothing is unknown.
        if e.message.starts_with("duplicate of the document at ") {
            return;
        }
        let Some(t) = c.program.schemas.resource(&e.type_name) else {
            return;
        };
        match skipped.iter_mut().find(|(r, _)| *r == t) {
            Some((_, n)) => *n += 1,
            None => skipped.push((t, 1)),
        }
    })?;
    Some((inv, skipped))
}

/// Reads the inventory, reporting bad documents; None on a fatal problem.
pub(crate) fn read_inventory(
    c: &Compiled,
    path: &std::path::Path,
    strict: bool,
) -> Option<pac_runtime::Inventory> {
    read_inventory_with(c, path, strict, None, None, &mut |_| {})
}

/// [`read_inventory`] of only the fields `c`'s program reads (see
/// [`pac_runtime::Inventory::read_text`]): for commands whose output
/// is what the program computes.
pub(crate) fn read_inventory_reading(
    c: &Compiled,
    path: &std::path::Path,
    strict: bool,
) -> Option<pac_runtime::Inventory> {
    let mask = pac_compiler::reads::ReadMask::of(&c.program);
    read_inventory_with(c, path, strict, Some(&mask), None, &mut |_| {})
}

fn read_inventory_with(
    c: &Compiled,
    path: &std::path::Path,
    strict: bool,
    mask: Option<&pac_compiler::reads::ReadMask>,
    layout: Option<&mut pac_jit::LayoutBuilder>,
    skipped: &mut dyn FnMut(&pac_runtime::IngestError),
) -> Option<pac_runtime::Inventory> {
    let source = pac_bundle::inventory_display(path);
    let text = match pac_bundle::map_inventory(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            eprintln!("error: {source}: no such inventory file");
            return None;
        }
        Err(e) => {
            eprintln!("error: {source}: cannot read the inventory: {e}");
            return None;
        }
    };
    // Each block's pages leave the process once it is read; with a
    // layout, its resources are laid out and keep only their identity.
    let schemas = &c.program.schemas;
    let (inv, errors) = match layout {
        // The documents the fast path takes are read straight into cells.
        Some(l) => {
            let pieces = l.pieces();
            pac_runtime::Inventory::read_text_built(
                schemas,
                mask,
                &source,
                &text,
                &pieces,
                &mut |b| {
                    text.release(b.block.bytes.clone());
                    l.add_built(b);
                },
            )
        }
        None => pac_runtime::Inventory::read_text(schemas, mask, &source, &text, &mut |b| {
            text.release(b.bytes.clone());
        }),
    };
    for e in &errors {
        eprintln!("{}: {e}", if strict { "error" } else { "warning" });
        skipped(e);
    }
    if !errors.is_empty() {
        eprintln!(
            "{} document(s) skipped; {} resource(s) read{}",
            errors.len(),
            inv.len(),
            if strict { " (--strict: stopping)" } else { "" }
        );
        if strict {
            return None;
        }
    }
    Some(inv)
}

/// `pacc import-findings`: 0, or 2 when the file cannot be read or holds
/// no findings; each finding left out is named on stderr.
fn import_findings(file: &std::path::Path, out: Option<&std::path::Path>) -> i32 {
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {}: {e}", file.display());
            return 2;
        }
    };
    let converted = match pac_connectors::inspector::convert(&text) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {}: {e}", file.display());
            return 2;
        }
    };
    for (name, why) in &converted.skipped {
        eprintln!("note: {name}: left out: {why}");
    }
    let mut body = String::new();
    for d in &converted.documents {
        body.push_str(&d.to_string());
        body.push('\n');
    }
    let written = match out {
        Some(p) => std::fs::write(p, body.as_bytes()),
        None => std::io::stdout().lock().write_all(body.as_bytes()),
    };
    if let Err(e) = written {
        eprintln!("error: cannot write the documents: {e}");
        return 2;
    }
    eprintln!(
        "{} vuln.finding document(s) from {}, {} finding(s) left out",
        converted.documents.len(),
        file.display(),
        converted.skipped.len()
    );
    0
}

struct EvalArgs<'a> {
    policies: &'a [PathBuf],
    inventory: &'a std::path::Path,
    format: EvalFormat,
    now: Option<&'a str>,
    strict: bool,
    explain: bool,
    framework: Option<&'a str>,
}

fn eval(args: &EvalArgs, engine: EngineKind, verbose: bool) -> i32 {
    let EvalArgs {
        policies,
        inventory,
        format,
        now,
        strict,
        explain,
        framework,
    } = *args;
    let now = match parse_now(now) {
        Ok(n) => n,
        Err(code) => return code,
    };
    let phase = Phases::new(verbose);
    // A short process whose blocks free what the next ones allocate: a
    // tenth of a second's delay keeps those pages (~55 MB more at the peak
    // at 1M, ~10% less time).
    crate::purge_after(100);
    let Some(c) = compile_or_report(policies) else {
        return 2;
    };
    phase.done("compile", "");
    let bytes = std::fs::metadata(inventory).map_or(0, |m| m.len());
    let engine = auto_engine(engine, bytes, verbose);
    let native = native_engine_with(&c.program, engine, false, bytes >= MESSAGES_BYTES, verbose);
    phase.done("engine", "");
    // The native engine's layout is built as the inventory is read, and
    // the inventory keeps only each resource's identity (the records of
    // the few the interpreter needs, for messages, are read back from the
    // layout): one copy of the data, not two.
    let hint = bytes as usize / 512;
    let mut builder = native.as_ref().map(|e| e.layout_builder(hint));
    let Some((inv, skipped)) = read_inventory_counted(&c, inventory, strict, builder.as_mut())
    else {
        return 2;
    };
    phase.done("read + layout", &format!("{} resources", inv.len()));
    let opts = pac_runtime::EvalOptions {
        now,
        explain,
        coverage: None,
    };
    let prepared = native
        .as_ref()
        .zip(builder)
        .map(|(e, b)| e.prepare_with(&inv, b.finish()));
    if let Some(p) = &prepared {
        phase.done(
            "layout",
            &format!("{} resources, {} KiB", inv.len(), p.layout().bytes() / 1024),
        );
    }
    // Passes are counted, not kept: the report lists none. The messages
    // of the native engine's failures are rendered as the report is
    // written, not kept (a million failures, a million messages).
    let engine = prepared.as_ref().map(|p| p as &dyn pac_runtime::RuleEngine);
    let report = pac_runtime::evaluate_failures_deferred(&c.program, &inv, &opts, engine, &skipped);
    let late = pac_runtime::Messages::new(&c.program, &inv, now, engine);
    phase.done(
        "evaluate",
        &format!(
            "{} results, {} kept",
            report.summary.total.evaluated + report.summary.total.errors,
            report.results.len()
        ),
    );
    let by_framework = match framework {
        Some(name) => match crate::framework::report(&c.program, &report.summary, name) {
            Ok(r) => Some(r),
            Err(e) => {
                eprintln!("error: {e}");
                return 2;
            }
        },
        None => None,
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(1 << 16, stdout.lock());
    let written = match (format, &by_framework) {
        (EvalFormat::Table, Some(r)) => crate::framework::write_text(&mut out, r),
        (EvalFormat::Json, Some(r)) => serde_json::to_writer(&mut out, r)
            .map_err(std::io::Error::other)
            .and_then(|()| writeln!(out)),
        (EvalFormat::Table, None) => {
            let color = std::io::stdout().is_terminal();
            pac_runtime::report::write_text_with(
                &mut out,
                &c.program,
                &inv,
                &report,
                color,
                Some(&late),
            )
        }
        (EvalFormat::Json, None) => {
            pac_runtime::report::write_json_with(&mut out, &c.program, &inv, &report, Some(&late))
                .and_then(|()| writeln!(out))
        }
    }
    .and_then(|()| out.flush());
    drop(out);
    if let Err(e) = written
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        eprintln!("error: cannot write the report: {e}");
        return 2;
    }
    phase.done("report", "");
    // 1: open failures; 3: none, but documents some rule reads were
    // skipped, so those results are unknown; 0: everything known passes
    // or is exempt.
    let code = if report.open_failures().next().is_some() {
        1
    } else if report.summary.total.skipped > 0 {
        3
    } else {
        0
    };
    // The OS takes the memory back at exit: freeing a million resources,
    // their layout and their results one by one took seconds.
    std::mem::forget(report);
    std::mem::forget(late);
    std::mem::forget(prepared);
    std::mem::forget(native);
    std::mem::forget(inv);
    phase.done("free", "");
    let _ = std::io::stdout().flush();
    code
}

/// With `-v`, the time of each phase of a command on stderr (and the
/// process's peak memory at the end), for benchmarks of the whole path.
struct Phases {
    verbose: bool,
    last: std::cell::Cell<std::time::Instant>,
    last_cpu: std::cell::Cell<Option<u64>>,
}

impl Phases {
    fn new(verbose: bool) -> Phases {
        Phases {
            verbose,
            last: std::cell::Cell::new(std::time::Instant::now()),
            last_cpu: std::cell::Cell::new(cpu_ms()),
        }
    }

    fn done(&self, what: &str, detail: &str) {
        if !self.verbose {
            return;
        }
        let now = std::time::Instant::now();
        let ms = (now - self.last.get()).as_secs_f64() * 1000.0;
        self.last.set(now);
        // The CPU time of all threads: with the wall time, how well the
        // phase used the cores (and a figure less shaken by other load).
        let cpu = cpu_ms();
        let cpu_text = match (cpu, self.last_cpu.get()) {
            (Some(c), Some(l)) => format!(", cpu {} ms", c.saturating_sub(l)),
            _ => String::new(),
        };
        self.last_cpu.set(cpu);
        let sep = if detail.is_empty() { "" } else { ", " };
        eprintln!(
            "phase {what}: {ms:.1} ms{sep}{detail}{cpu_text} (peak RSS {} MiB)",
            peak_rss_kib() / 1024
        );
    }
}

/// The CPU time of the process so far (user and system, all threads) in
/// milliseconds, from `/proc/self/stat` (in clock ticks of 10 ms, the
/// Linux `USER_HZ`); `None` where /proc is absent.
fn cpu_ms() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name may hold spaces: fields are counted after its `)`.
    let rest = stat.get(stat.rfind(')')? + 1..)?;
    let mut fields = rest.split_whitespace();
    // utime and stime are fields 14 and 15; `rest` starts at field 3.
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some((utime + stime) * 10)
}

/// The process's peak resident memory (`VmHWM`), 0 where /proc is absent.
fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

fn explain(
    rule: &str,
    resource: &str,
    policies: &[PathBuf],
    inventory: &std::path::Path,
    now: Option<&str>,
    engine: EngineKind,
) -> i32 {
    let now = match parse_now(now) {
        Ok(n) => n,
        Err(code) => return code,
    };
    let Some(c) = compile_or_report(policies) else {
        return 2;
    };
    let p = &c.program;
    let rules: Vec<usize> = match p.rule(rule) {
        Some(r) => vec![r],
        None => match p.policies.iter().find(|x| x.name == rule) {
            Some(pol) => pol.rules.clone(),
            None => {
                let names: Vec<&str> = p.rules.iter().map(|r| r.id.as_str()).collect();
                let hint = pac_compiler::suggest::did_you_mean(rule, names)
                    .map(|s| format!(" (did you mean `{s}`?)"))
                    .unwrap_or_default();
                eprintln!("error: no policy or rule `{rule}`{hint}");
                return 2;
            }
        },
    };
    let Some(inv) = read_inventory_reading(&c, inventory, false) else {
        return 2;
    };
    let Some(idx) = inv.resources.iter().position(|r| &*r.id == resource) else {
        eprintln!(
            "error: no resource with id `{resource}` in {}",
            inventory.display()
        );
        return 2;
    };
    let res = &inv.resources[idx];
    let opts = pac_runtime::EvalOptions {
        now,
        explain: true,
        coverage: None,
    };
    let native = native_engine(p, engine, false, false);
    let prepared = native.as_ref().map(|e| e.prepare(&inv));
    let report = pac_runtime::evaluate_with(
        p,
        &inv,
        &opts,
        prepared.as_ref().map(|x| x as &dyn pac_runtime::RuleEngine),
    );
    let mut any_fail = false;
    let mut applied = false;
    for r in rules {
        let rule = &p.rules[r];
        if rule.resource != res.rtype {
            continue;
        }
        applied = true;
        let Some(result) = report.result(r, idx) else {
            println!(
                "{}: `{}` is outside the rule's scope (group `{}`), so it is not evaluated",
                rule.id,
                resource,
                rule.scope.map(|g| p.groups[g].name.as_str()).unwrap_or("?")
            );
            continue;
        };
        let verdict = match &result.outcome {
            pac_runtime::Outcome::Pass => "PASS".to_string(),
            pac_runtime::Outcome::Fail => {
                any_fail |= result.exempted_by.is_none();
                match result.exempted_by {
                    Some(e) => format!(
                        "FAIL (exempted by `{}`: {})",
                        p.exceptions[e].name, p.exceptions[e].reason
                    ),
                    None => "FAIL".to_string(),
                }
            }
            pac_runtime::Outcome::Error(e) => format!("ERROR: {e}"),
        };
        println!(
            "{} on {} `{}` ({} / {}): {verdict}",
            rule.id, rule.resource_type, res.id, res.account, res.region
        );
        if let Some(m) = &result.message {
            println!("  message: {m}");
        }
        let expl = result.explanation.as_deref().cloned().unwrap_or_else(|| {
            let env = pac_runtime::Env::for_program(p, &inv, now);
            pac_runtime::explain::explain_rule(p, &env, r, idx)
        });
        print!("{}", pac_runtime::explain::render_text(&expl, 1));
    }
    if !applied {
        eprintln!("error: `{rule}` has no rule on `{}`", res.type_name);
        return 2;
    }
    i32::from(any_fail)
}
