//! Running a program's `test` blocks, and measuring how much of each rule
//! the tests exercise.
//!
//! Each test gets its own inventory (its `given` resources, then the
//! documents of its `given from` files), is evaluated at its `now` (or the
//! current time), and its expectations are checked against the results. A
//! failed expectation says what happened instead and, where a condition
//! decided it, carries the explanation of that condition on the resource.
//!
//! Coverage: every boolean node records the outcomes it produced across all
//! tests; a rule's branch coverage is the number of (node, outcome) pairs
//! seen over twice the number of boolean nodes of its condition (constants
//! and `let` wrappers aside).

use std::collections::HashMap;
use std::fmt::Write as _;

use pac_compiler::ir::{ExpectTarget, Expectation, ExprKind, Program, Test, Verb};
use pac_compiler::types::Ty;
use pac_stdlib::Value;
use rayon::prelude::*;
use serde::Serialize;

use crate::engine::PrepareEngine;
use crate::eval::{EvalReport, Outcome, evaluate_in_with, exception_matches, in_exception_scope};
use crate::explain::{Explanation, explain_cond, explain_rule, render_text as render_explanation};
use crate::interp::{Coverage, Env};
use crate::inventory::Inventory;

/// One expectation that did not hold (or a test input that could not be read).
#[derive(Clone, Debug, Serialize)]
pub struct TestFailure {
    /// The expectation's source text: `expect ssh_open fails sg`.
    pub expectation: String,
    /// Its 1-based line in the test file.
    pub line: usize,
    /// What happened instead.
    pub message: String,
    /// The condition that decided it, evaluated on the resource.
    pub explanation: Option<Explanation>,
}

#[derive(Clone, Debug, Serialize)]
pub struct TestOutcome {
    pub name: String,
    /// The path of the file declaring the test.
    pub file: String,
    pub line: usize,
    pub passed: bool,
    pub failures: Vec<TestFailure>,
}

/// How well the tests exercise one rule.
#[derive(Clone, Debug, Serialize)]
pub struct RuleCoverage {
    pub rule: String,
    /// Some test evaluated the rule on a resource.
    pub evaluated: bool,
    /// Some test saw it pass / fail.
    pub pass_seen: bool,
    pub fail_seen: bool,
    /// (boolean node, outcome) pairs seen, of `branches_total`.
    pub branches_seen: usize,
    pub branches_total: usize,
}

fn percent(seen: usize, total: usize) -> u32 {
    (seen * 100).checked_div(total).map_or(100, |p| p as u32)
}

impl RuleCoverage {
    /// floor(branches_seen × 100 / branches_total); 100 without branches.
    pub fn percent(&self) -> u32 {
        percent(self.branches_seen, self.branches_total)
    }
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct CoverageReport {
    pub rules: Vec<RuleCoverage>,
    pub branches_seen: usize,
    pub branches_total: usize,
}

impl CoverageReport {
    pub fn percent(&self) -> u32 {
        percent(self.branches_seen, self.branches_total)
    }
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct TestReport {
    /// The tests run, in program order.
    pub tests: Vec<TestOutcome>,
    /// Tests whose name did not contain the filter.
    pub filtered_out: usize,
    pub coverage: CoverageReport,
}

impl TestReport {
    pub fn passed(&self) -> usize {
        self.tests.iter().filter(|t| t.passed).count()
    }
    pub fn failed(&self) -> usize {
        self.tests.len() - self.passed()
    }
    pub fn ok(&self) -> bool {
        self.failed() == 0
    }
}

/// Runs the tests whose name contains `filter` (all when `None`); tests
/// without `now` run at the current time.
pub fn run_tests(program: &Program, filter: Option<&str>) -> TestReport {
    run_tests_at(program, filter, chrono::Utc::now().timestamp())
}

/// [`run_tests`] with the clock for tests that do not set `now`.
pub fn run_tests_at(program: &Program, filter: Option<&str>, default_now: i64) -> TestReport {
    run_tests_with(program, filter, default_now, None)
}

/// [`run_tests_at`] with an engine for rule conditions: each test's
/// inventory gets the engine prepared for it (see [`crate::engine`]). The
/// engine must record coverage, or leave those rules to the interpreter.
pub fn run_tests_with(
    program: &Program,
    filter: Option<&str>,
    default_now: i64,
    engine: Option<&dyn PrepareEngine>,
) -> TestReport {
    let selected: Vec<&Test> = program
        .tests
        .iter()
        .filter(|t| filter.is_none_or(|f| t.name.contains(f)))
        .collect();
    let coverage = Coverage::for_program(program);
    let runs: Vec<(TestOutcome, Vec<(usize, Outcome)>)> = selected
        .par_iter()
        .map(|t| run_one(program, t, default_now, &coverage, engine))
        .collect();
    let mut seen = vec![(false, false, false); program.rules.len()];
    let mut tests = Vec::with_capacity(runs.len());
    for (outcome, results) in runs {
        for (rule, o) in results {
            if let Some(s) = seen.get_mut(rule) {
                s.0 = true;
                match o {
                    Outcome::Pass => s.1 = true,
                    Outcome::Fail => s.2 = true,
                    Outcome::Error(_) => {}
                }
            }
        }
        tests.push(outcome);
    }
    TestReport {
        filtered_out: program.tests.len() - tests.len(),
        tests,
        coverage: coverage_report(program, &coverage, &seen),
    }
}

fn line_of(program: &Program, file: u32, offset: usize) -> usize {
    program.files.get(file as usize).map_or(0, |f| {
        let end = offset.min(f.text.len());
        f.text.as_bytes()[..end]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1
    })
}

fn collapse(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn day(t: i64) -> String {
    let s = Value::Time(t).to_string();
    s.get(..10).unwrap_or(&s).to_string()
}

struct Run<'a> {
    program: &'a Program,
    env: &'a Env<'a>,
    report: &'a EvalReport,
}

fn run_one(
    program: &Program,
    test: &Test,
    default_now: i64,
    coverage: &Coverage,
    engine: Option<&dyn PrepareEngine>,
) -> (TestOutcome, Vec<(usize, Outcome)>) {
    let mut failures = Vec::new();
    let mut inv = Inventory::from_values(
        &program.schemas,
        test.resources.iter().map(|r| (r.resource, r.value.clone())),
    );
    let mut handles: HashMap<String, usize> = HashMap::new();
    for (i, r) in test.resources.iter().enumerate() {
        handles.entry(r.handle.clone()).or_insert(i);
    }
    for (path, span) in &test.from_files {
        let (more, errors) = Inventory::read_path(&program.schemas, path);
        for e in errors {
            failures.push(TestFailure {
                expectation: collapse(program.snippet(test.file, *span)),
                line: line_of(program, test.file, span.start),
                message: e.to_string(),
                explanation: None,
            });
        }
        let base = inv.len();
        for (j, r) in more.resources.iter().enumerate() {
            handles.entry(r.id.to_string()).or_insert(base + j);
        }
        inv.extend(more);
    }
    let now = test.now.unwrap_or(default_now);
    let env = Env::for_program(program, &inv, now).with_coverage(Some(coverage));
    let prepared = engine.map(|e| e.prepare_for(&inv));
    let report = evaluate_in_with(program, &env, false, prepared.as_deref());
    let run = Run {
        program,
        env: &env,
        report: &report,
    };
    for x in &test.expects {
        let failure = match handles.get(&x.handle) {
            None => Some((
                format!("no resource `{}` is given in this test", x.handle),
                None,
            )),
            Some(&res) => run.check(x, res),
        };
        if let Some((message, explanation)) = failure {
            failures.push(TestFailure {
                expectation: collapse(program.snippet(x.file, x.span)),
                line: line_of(program, x.file, x.span.start),
                message,
                explanation,
            });
        }
    }
    let results = report
        .results
        .iter()
        .map(|r| (r.rule, r.outcome.clone()))
        .collect();
    let outcome = TestOutcome {
        name: test.name.clone(),
        file: program
            .files
            .get(test.file as usize)
            .map_or(String::new(), |f| f.path.clone()),
        line: line_of(program, test.file, test.span.start),
        passed: failures.is_empty(),
        failures,
    };
    (outcome, results)
}

type Failure = Option<(String, Option<Explanation>)>;

impl Run<'_> {
    fn check(&self, x: &Expectation, res: usize) -> Failure {
        match (&x.target, &x.verb) {
            (ExpectTarget::Rules { name, rules }, Verb::Passes | Verb::Fails | Verb::Errors) => {
                self.check_rules(name, rules, &x.verb, &x.handle, res)
            }
            (ExpectTarget::Group(g), Verb::Contains | Verb::Excludes) => {
                self.check_group(*g, x.verb == Verb::Contains, &x.handle, res)
            }
            (ExpectTarget::Exception(e), Verb::Exempts) => self.check_exception(*e, &x.handle, res),
            _ => Some((
                "internal: this expectation's verb does not fit its target".into(),
                None,
            )),
        }
    }

    fn check_rules(
        &self,
        name: &str,
        rules: &[usize],
        verb: &Verb,
        handle: &str,
        res: usize,
    ) -> Failure {
        let p = self.program;
        let resource = &self.env.inv.resources[res];
        let applicable: Vec<usize> = rules
            .iter()
            .copied()
            .filter(|&r| p.rules.get(r).is_some_and(|r| r.resource == resource.rtype))
            .collect();
        if applicable.is_empty() {
            return Some((
                format!("rule `{name}` does not apply to {}", resource.type_name),
                None,
            ));
        }
        let results: Vec<(usize, Option<&Outcome>)> = applicable
            .iter()
            .map(|&r| (r, self.report.result(r, res).map(|x| &x.outcome)))
            .collect();
        let explain = |r: usize| Some(explain_rule(p, self.env, r, res));
        let describe = |r: usize, o: Option<&Outcome>| -> String {
            let rule = &p.rules[r];
            match o {
                Some(Outcome::Pass) => format!("`{}` passes", rule.id),
                Some(Outcome::Fail) => {
                    let msg = self
                        .report
                        .result(r, res)
                        .and_then(|x| x.message.clone())
                        .unwrap_or_default();
                    format!("`{}` fails: {msg}", rule.id)
                }
                Some(Outcome::Error(reason)) => format!("`{}` errors: {reason}", rule.id),
                None => {
                    let group = rule
                        .scope
                        .and_then(|g| p.groups.get(g))
                        .map_or("its group", |g| g.name.as_str());
                    format!(
                        "`{}` does not evaluate it (not a member of `{group}`)",
                        rule.id
                    )
                }
            }
        };
        match verb {
            Verb::Passes => {
                // Out of a rule's scope is "not evaluated", not "passes":
                // say so rather than let the expectation hold vacuously.
                let bad = results
                    .iter()
                    .find(|(_, o)| !matches!(o, Some(Outcome::Pass)))?;
                Some((
                    format!(
                        "expected `{name}` to pass on `{handle}`, but {}",
                        describe(bad.0, bad.1)
                    ),
                    bad.1.and(explain(bad.0)),
                ))
            }
            Verb::Fails => {
                if results
                    .iter()
                    .any(|(_, o)| matches!(o, Some(Outcome::Fail)))
                {
                    return None;
                }
                let first = results
                    .iter()
                    .find(|(_, o)| o.is_some())
                    .unwrap_or(&results[0]);
                Some((
                    format!(
                        "expected `{name}` to fail on `{handle}`, but {}",
                        describe(first.0, first.1)
                    ),
                    first.1.and(explain(first.0)),
                ))
            }
            _ => {
                if results
                    .iter()
                    .any(|(_, o)| matches!(o, Some(Outcome::Error(_))))
                {
                    return None;
                }
                let first = results
                    .iter()
                    .find(|(_, o)| o.is_some())
                    .unwrap_or(&results[0]);
                Some((
                    format!(
                        "expected `{name}` to error on `{handle}`, but {}",
                        describe(first.0, first.1)
                    ),
                    first.1.and(explain(first.0)),
                ))
            }
        }
    }

    fn check_group(&self, g: usize, contains: bool, handle: &str, res: usize) -> Failure {
        let p = self.program;
        let Some(group) = p.groups.get(g) else {
            return Some(("internal: unknown group".into(), None));
        };
        let resource = &self.env.inv.resources[res];
        let member = self.report.is_member(g, res);
        if member == contains {
            return None;
        }
        let error = self
            .report
            .groups
            .get(g)
            .and_then(|m| m.errors.iter().find(|(i, _)| *i == res))
            .map(|(_, reason)| reason.clone());
        let clause = group.members.iter().find(|m| m.resource == resource.rtype);
        let explanation = clause
            .and_then(|m| m.cond.as_ref())
            .map(|c| explain_cond(p, self.env, c, group.slots, res));
        let message = match (contains, error, clause) {
            (true, Some(reason), _) => format!(
                "expected group `{}` to contain `{handle}`, but its condition errors: {reason}",
                group.name
            ),
            (true, None, None) => format!(
                "expected group `{}` to contain `{handle}`, but it has no {} members",
                group.name, resource.type_name
            ),
            (true, None, Some(_)) => format!(
                "expected group `{}` to contain `{handle}`, but its condition is false",
                group.name
            ),
            (false, _, _) => format!(
                "expected group `{}` to exclude `{handle}`, but it contains it",
                group.name
            ),
        };
        Some((message, explanation))
    }

    fn check_exception(&self, x: usize, handle: &str, res: usize) -> Failure {
        let p = self.program;
        let Some(exc) = p.exceptions.get(x) else {
            return Some(("internal: unknown exception".into(), None));
        };
        let resource = &self.env.inv.resources[res];
        let now = self.env.ctx.now;
        let cond = exc
            .conds
            .iter()
            .find(|(t, _)| *t == resource.rtype)
            .map(|(_, c)| c);
        if !in_exception_scope(exc, &self.report.groups, res) {
            let g = exc.scope.and_then(|g| p.groups.get(g));
            return Some((
                format!(
                    "exception `{}` exempts members of group `{}` only, and `{handle}` is not one",
                    exc.name,
                    g.map_or("?", |g| g.name.as_str())
                ),
                None,
            ));
        }
        match exception_matches(p, self.env, x, res) {
            Err(e) => Some((
                format!(
                    "exception `{}`: its condition cannot be evaluated on `{handle}`: {}",
                    exc.name, e.reason
                ),
                cond.map(|c| explain_cond(p, self.env, c, exc.slots, res)),
            )),
            Ok(true) if now < exc.expires => None,
            Ok(true) => Some((
                format!(
                    "exception `{}` matches `{handle}` but expired on {} (the test runs at {})",
                    exc.name,
                    day(exc.expires),
                    day(now)
                ),
                None,
            )),
            Ok(false) if !exc.sticky => Some((
                format!("exception `{}` does not list `{}`", exc.name, resource.id),
                None,
            )),
            Ok(false) => match cond {
                Some(c) => Some((
                    format!(
                        "exception `{}`: its condition is false for `{handle}`",
                        exc.name
                    ),
                    Some(explain_cond(p, self.env, c, exc.slots, res)),
                )),
                None => Some((
                    format!(
                        "exception `{}` does not apply to {} (none of its rules does)",
                        exc.name, resource.type_name
                    ),
                    None,
                )),
            },
        }
    }
}

/// The boolean nodes whose outcomes count for coverage.
fn branch_nodes(e: &pac_compiler::ir::Expr) -> Vec<u32> {
    let mut out = Vec::new();
    e.walk(&mut |n| {
        if n.ty == Ty::Bool && !matches!(n.kind, ExprKind::Const(_) | ExprKind::Let(..)) {
            out.push(n.id);
        }
    });
    out
}

fn coverage_report(
    program: &Program,
    cov: &Coverage,
    seen: &[(bool, bool, bool)],
) -> CoverageReport {
    let mut report = CoverageReport::default();
    for (i, rule) in program.rules.iter().enumerate() {
        let nodes = branch_nodes(&rule.cond);
        let hit: usize = nodes
            .iter()
            .map(|&id| {
                let (t, f) = cov.seen(id);
                usize::from(t) + usize::from(f)
            })
            .sum();
        let (evaluated, pass_seen, fail_seen) = seen.get(i).copied().unwrap_or_default();
        report.branches_seen += hit;
        report.branches_total += 2 * nodes.len();
        report.rules.push(RuleCoverage {
            rule: rule.id.clone(),
            evaluated,
            pass_seen,
            fail_seen,
            branches_seen: hit,
            branches_total: 2 * nodes.len(),
        });
    }
    report
}

/// The test results as text: `✓ name` / `✗ name` with indented failure
/// details, then `test result: ok. N passed; M failed`.
pub fn render_text(report: &TestReport) -> String {
    let mut out = String::new();
    for t in &report.tests {
        if t.passed {
            let _ = writeln!(out, "✓ {}", t.name);
            continue;
        }
        let _ = writeln!(out, "✗ {}", t.name);
        for f in &t.failures {
            let _ = writeln!(out, "    {}:{}: {}", t.file, f.line, f.expectation);
            let _ = writeln!(out, "      {}", f.message);
            if let Some(x) = &f.explanation {
                let _ = writeln!(out, "      because:");
                out.push_str(&render_explanation(x, 4));
            }
        }
    }
    let _ = write!(
        out,
        "\ntest result: {}. {} passed; {} failed",
        if report.ok() { "ok" } else { "FAILED" },
        report.passed(),
        report.failed()
    );
    if report.filtered_out > 0 {
        let _ = write!(out, "; {} filtered out", report.filtered_out);
    }
    out.push('\n');
    out
}

/// The coverage table: per rule, whether tests evaluated it, saw it pass and
/// fail, and its branch coverage; then the total.
pub fn render_coverage(c: &CoverageReport) -> String {
    let yes = |b: bool| if b { "yes" } else { "no" };
    let mut out = String::new();
    let width = c
        .rules
        .iter()
        .map(|r| r.rule.chars().count())
        .max()
        .unwrap_or(0)
        .clamp(4, 60);
    let _ = writeln!(
        out,
        "{:<width$}  {:<6}  {:<4}  {:<4}  {:>9}  {:>4}",
        "RULE", "TESTED", "PASS", "FAIL", "BRANCHES", "%"
    );
    for r in &c.rules {
        let _ = writeln!(
            out,
            "{:<width$}  {:<6}  {:<4}  {:<4}  {:>9}  {:>3}%",
            r.rule,
            yes(r.evaluated),
            yes(r.pass_seen),
            yes(r.fail_seen),
            format!("{}/{}", r.branches_seen, r.branches_total),
            r.percent()
        );
    }
    let _ = writeln!(
        out,
        "{:<width$}  {:<6}  {:<4}  {:<4}  {:>9}  {:>3}%",
        "total",
        "",
        "",
        "",
        format!("{}/{}", c.branches_seen, c.branches_total),
        c.percent()
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::tests::{POLICIES, compile};

    const TESTS: &str = r#"
test "world SSH fails" {
  now 2026-11-01
  given aws.ec2.security_group bad {
    group_id: "sg-1", group_name: "w", owner_id: "1",
    ip_permissions: [{ ip_protocol: "tcp", from_port: 22, to_port: 22,
                       ip_ranges: [{ cidr_ip: "0.0.0.0/0" }] }]
  }
  given aws.ec2.security_group ok { id: "sg-2", group_id: "sg-2", group_name: "w", owner_id: "1" }
  given aws.ec2.volume v { volume_id: "v", size: 10, volume_type: "gp3", state: "in-use",
    availability_zone: "a", create_time: 2026-01-01, encrypted: true, tags: { env: "prod" } }
  expect ssh_open fails bad
  expect ssh_open passes ok
  expect big_volume errors v
  expect prod contains v
  expect "CHG-1" exempts ok
}

test "expectations that do not hold" {
  now 2026-11-01
  given aws.ec2.security_group bad {
    id: "sg-1", group_id: "sg-1", group_name: "w", owner_id: "1",
    ip_permissions: [{ ip_protocol: "tcp", from_port: 22, to_port: 22,
                       ip_ranges: [{ cidr_ip: "0.0.0.0/0" }] }]
  }
  given aws.ec2.security_group sg2 { group_id: "sg-2", group_name: "w", owner_id: "1" }
  given aws.ec2.volume v { volume_id: "v", size: 10, volume_type: "gp3", state: "in-use",
    availability_zone: "a", create_time: 2026-01-01, encrypted: true }
  expect ssh_open passes bad
  expect ssh_open fails sg2
  expect prod contains v
  expect "OLD" exempts bad
  expect sandbox exempts sg2
}

test "another" {
  given aws.ec2.security_group ok { group_id: "sg-2", group_name: "w", owner_id: "1" }
  expect ssh_open passes ok
}
"#;

    #[test]
    fn runs_tests_and_reports_failures() {
        let program = compile(&format!("{POLICIES}\n{TESTS}"));
        let report = run_tests_at(&program, None, 0);
        assert_eq!(report.tests.len(), 3);
        assert!(report.tests[0].passed, "{:#?}", report.tests[0]);
        assert!(report.tests[2].passed);
        let t = &report.tests[1];
        assert!(!t.passed);
        let msgs: Vec<&str> = t.failures.iter().map(|f| f.message.as_str()).collect();
        assert_eq!(
            msgs,
            vec![
                "expected `ssh_open` to pass on `bad`, but `ssh_open` fails: sg-1 allows SSH from anywhere (<missing>)",
                "expected `ssh_open` to fail on `sg2`, but `ssh_open` passes",
                "expected group `prod` to contain `v`, but its condition is false",
                "exception `OLD` matches `bad` but expired on 2020-01-01 (the test runs at 2026-11-01)",
                "exception `sandbox`: its condition is false for `sg2`",
            ]
        );
        assert!(t.failures[0].explanation.is_some());
        assert_eq!(t.failures[0].expectation, "expect ssh_open passes bad");
        assert_eq!(t.failures[1].explanation.as_ref().unwrap().value, "false");
        let text = render_text(&report);
        assert!(text.contains("✓ world SSH fails\n"), "{text}");
        assert!(text.contains("✗ expectations that do not hold\n"), "{text}");
        assert!(text.contains("    p.pac:"), "{text}");
        assert!(
            text.contains("      because:\n        any p in ip_permissions"),
            "{text}"
        );
        assert!(
            text.ends_with("test result: FAILED. 2 passed; 1 failed\n"),
            "{text}"
        );
    }

    #[test]
    fn filter_and_coverage() {
        let program = compile(&format!("{POLICIES}\n{TESTS}"));
        let report = run_tests_at(&program, Some("SSH"), 0);
        assert_eq!(report.tests.len(), 1);
        assert_eq!(report.filtered_out, 2);
        let text = render_text(&report);
        assert!(
            text.ends_with("test result: ok. 1 passed; 0 failed; 2 filtered out\n"),
            "{text}"
        );
        let ssh = &report.coverage.rules[0];
        assert_eq!(ssh.rule, "ssh_open");
        assert!(ssh.evaluated && ssh.pass_seen && ssh.fail_seen);
        assert!(ssh.branches_total > 0);
        assert!(ssh.branches_seen > 0 && ssh.branches_seen < ssh.branches_total);
        let vol = &report.coverage.rules[1];
        assert!(vol.evaluated && !vol.pass_seen && !vol.fail_seen);
        let table = render_coverage(&report.coverage);
        assert!(table.starts_with("RULE"), "{table}");
        assert!(table.contains("\ntotal "), "{table}");
    }

    #[test]
    fn given_from_files_are_read_and_their_errors_fail_the_test() {
        let dir = std::env::temp_dir().join(format!("pac-runtime-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("sgs.ndjson");
        let good = crate::eval::tests::sg("web", "0.0.0.0/0", "prod");
        std::fs::write(&file, format!("{good}\nnot json\n")).unwrap();
        let src = format!(
            "{POLICIES}\ntest \"from a file\" {{\n  now 2026-11-01\n  given from {:?}\n  expect ssh_open fails web\n}}\n",
            file.display().to_string()
        );
        let program = compile(&src);
        let report = run_tests_at(&program, None, 0);
        let _ = std::fs::remove_dir_all(&dir);
        let t = &report.tests[0];
        assert_eq!(t.failures.len(), 1, "{t:#?}");
        let f = &t.failures[0];
        assert!(f.expectation.starts_with("given from"), "{f:?}");
        assert!(
            f.message.contains("sgs.ndjson:2: not a JSON document"),
            "{f:?}"
        );
    }

    #[test]
    fn unknown_handles_and_inapplicable_rules_fail() {
        let program = compile(POLICIES);
        let mut test = Test {
            name: "hand-made".into(),
            now: Some(0),
            resources: Vec::new(),
            from_files: Vec::new(),
            expects: Vec::new(),
            file: 0,
            span: Default::default(),
        };
        let sg = program.schemas.resource("aws.ec2.security_group").unwrap();
        let fields = program.schemas.record(sg).fields.len();
        let mut values = vec![Value::Missing; fields];
        values[0] = Value::str("x");
        test.resources.push(pac_compiler::ir::TestResource {
            handle: "x".into(),
            resource: sg,
            resource_type: "aws.ec2.security_group".into(),
            value: Value::Record(values.into()),
            span: Default::default(),
        });
        let vol_rule = program.rule("big_volume").unwrap();
        for (handle, target) in [
            ("nobody", ExpectTarget::Group(0)),
            (
                "x",
                ExpectTarget::Rules {
                    name: "big_volume".into(),
                    rules: vec![vol_rule],
                },
            ),
        ] {
            test.expects.push(Expectation {
                target,
                verb: Verb::Contains,
                handle: handle.into(),
                file: 0,
                span: Default::default(),
            });
        }
        test.expects[1].verb = Verb::Passes;
        let cov = Coverage::new(0);
        let (outcome, _) = run_one(&program, &test, 0, &cov, None);
        let msgs: Vec<&str> = outcome
            .failures
            .iter()
            .map(|f| f.message.as_str())
            .collect();
        assert_eq!(
            msgs,
            vec![
                "no resource `nobody` is given in this test",
                "rule `big_volume` does not apply to aws.ec2.security_group",
            ]
        );
    }
}
