//! Evaluating a program over an inventory: asset group membership, every
//! (rule, resource) outcome with its message, exceptions, warnings and
//! summary statistics.
//!
//! Rules are evaluated in parallel (rules × chunks of resources); the
//! results are in a fixed order whatever the thread count: by rule, then by
//! inventory order.

use std::collections::HashSet;
use std::fmt::Write as _;

use pac_compiler::ir::{Exception, Expr, ExprKind, MessagePart, Program, Severity};
use pac_compiler::reads::{DetailReads, detail_reads};
use pac_compiler::types::RecordId;
use pac_stdlib::Value;
use rayon::prelude::*;
use serde::Serialize;

use crate::engine::{RawOutcome, RuleEngine};
use crate::explain::{Explanation, explain_rule};
use crate::interp::{Coverage, Env, EvalError, Frame, eval};
use crate::inventory::Inventory;

/// How to evaluate.
#[derive(Clone, Copy, Debug, Default)]
pub struct EvalOptions<'a> {
    /// The clock (`now`), seconds since the Unix epoch.
    pub now: i64,
    /// Attach an explanation to every failing (and erroring) result.
    pub explain: bool,
    /// Record which outcomes each boolean node produced.
    pub coverage: Option<&'a Coverage>,
}

/// The outcome of one rule on one resource.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", content = "reason", rename_all = "lowercase")]
pub enum Outcome {
    /// The violation condition is false.
    Pass,
    /// The violation condition is true (possibly exempted by an exception).
    Fail,
    /// The condition could not be evaluated; never read as pass or fail.
    Error(String),
}

/// One (rule, resource) result.
#[derive(Clone, Debug, Serialize)]
pub struct RuleResult {
    /// Index into `Program::rules`.
    pub rule: usize,
    /// Index into `Inventory::resources`.
    pub resource: usize,
    pub outcome: Outcome,
    /// The rendered message, for a failure.
    pub message: Option<String>,
    /// The exception (index into `Program::exceptions`) that exempts this
    /// failure, if any.
    pub exempted_by: Option<usize>,
    /// Why it failed (or errored), when explanations were asked for
    /// (boxed: a report holds a result per (rule, resource), and most have
    /// none).
    pub explanation: Option<Box<Explanation>>,
}

impl RuleResult {
    /// A failure that no exception exempts.
    pub fn is_open_failure(&self) -> bool {
        self.outcome == Outcome::Fail && self.exempted_by.is_none()
    }
}

/// The members of one asset group.
#[derive(Clone, Debug, Default, Serialize)]
pub struct GroupMembership {
    /// Index into `Program::groups`.
    pub group: usize,
    /// Inventory indices of the members, in inventory order.
    pub members: Vec<usize>,
    /// Resources whose membership condition could not be evaluated (they are
    /// not members), with the reason.
    pub errors: Vec<(usize, String)>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WarningKind {
    /// The exception's expiry is past: it exempts nothing any more.
    ExpiredException,
    /// The exception exempted no failing result.
    UnusedException,
    /// A sticky exception's condition could not be evaluated on a resource.
    ExceptionError,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Warning {
    pub kind: WarningKind,
    /// Index into `Program::exceptions`.
    pub exception: usize,
    pub message: String,
}

/// Counts of (rule, resource) results.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Results with a definite outcome: passed + failed + exempt (errors
    /// are not evaluated: their compliance is unknown).
    pub evaluated: usize,
    pub passed: usize,
    /// Open failures (not exempted).
    pub failed: usize,
    /// Failures exempted by an exception.
    pub exempt: usize,
    pub errors: usize,
    /// Results that are unknown because the resource's document was
    /// skipped (it did not match its schema): one per skipped document of
    /// the rule's type. Like errors, neither compliant nor not.
    pub skipped: usize,
}

impl Counts {
    fn add(&mut self, r: &RuleResult) {
        match (&r.outcome, r.exempted_by) {
            (Outcome::Pass, _) => self.passed += 1,
            (Outcome::Fail, None) => self.failed += 1,
            (Outcome::Fail, Some(_)) => self.exempt += 1,
            (Outcome::Error(_), _) => self.errors += 1,
        }
        self.evaluated = self.passed + self.failed + self.exempt;
    }

    fn add_passes(&mut self, n: usize) {
        self.passed += n;
        self.evaluated = self.passed + self.failed + self.exempt;
    }

    /// floor((evaluated − open failures) × 100 / evaluated); 100 when
    /// nothing was evaluated. Errors count neither way.
    pub fn compliance(&self) -> u32 {
        ((self.evaluated - self.failed) * 100)
            .checked_div(self.evaluated)
            .map_or(100, |p| p as u32)
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct PolicySummary {
    /// Index into `Program::policies`.
    pub policy: usize,
    pub name: String,
    pub severity: Severity,
    pub category: String,
    pub counts: Counts,
    /// Percentage, see [`Counts::compliance`].
    pub compliance: u32,
}

#[derive(Clone, Debug, Serialize)]
pub struct SeveritySummary {
    pub severity: Severity,
    pub counts: Counts,
    pub compliance: u32,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Summary {
    /// Every policy, in program order.
    pub policies: Vec<PolicySummary>,
    /// Critical first; only severities that some policy has.
    pub severities: Vec<SeveritySummary>,
    pub total: Counts,
    /// The share of evaluated results that pass (see [`Counts::compliance`]).
    pub compliance: u32,
    /// The overall compliance figure: the server's formula
    /// (docs/compliance.md) with the default weights, so that `pacc eval`
    /// and `pacc serve` give the same figure; `None` when every result is
    /// unknown.
    pub overall: Option<f64>,
}

/// Everything an evaluation found.
#[derive(Clone, Debug, Default, Serialize)]
pub struct EvalReport {
    pub now: i64,
    /// Every evaluated (rule, resource), by rule then inventory order.
    pub results: Vec<RuleResult>,
    /// One per `Program::groups`, in order.
    pub groups: Vec<GroupMembership>,
    pub warnings: Vec<Warning>,
    pub summary: Summary,
}

impl EvalReport {
    /// The result of a rule on a resource, if the rule evaluated it.
    pub fn result(&self, rule: usize, resource: usize) -> Option<&RuleResult> {
        self.results
            .binary_search_by(|r| (r.rule, r.resource).cmp(&(rule, resource)))
            .ok()
            .map(|i| &self.results[i])
    }

    /// Failures no exception exempts.
    pub fn open_failures(&self) -> impl Iterator<Item = &RuleResult> {
        self.results.iter().filter(|r| r.is_open_failure())
    }

    pub fn is_member(&self, group: usize, resource: usize) -> bool {
        self.groups
            .get(group)
            .is_some_and(|g| g.members.binary_search(&resource).is_ok())
    }
}

/// Evaluates every rule of `program` over `inv` with the interpreter.
pub fn evaluate(program: &Program, inv: &Inventory, opts: &EvalOptions) -> EvalReport {
    evaluate_with(program, inv, opts, None)
}

/// Evaluates every rule of `program` over `inv`, asking `engine` (when
/// given) for the outcomes of the rules it compiled; see [`crate::engine`].
pub fn evaluate_with(
    program: &Program,
    inv: &Inventory,
    opts: &EvalOptions,
    engine: Option<&dyn RuleEngine>,
) -> EvalReport {
    let env = Env::for_program(program, inv, opts.now)
        .with_coverage(opts.coverage)
        .with_values(engine);
    evaluate_in_with(program, &env, opts.explain, engine)
}

/// [`evaluate_with`] for a report that lists what is not a pass: the
/// results of `EvalReport::results` are the failures and errors only (in
/// the same order), passes are counted in the summary but not kept, so a
/// million resources do not hold four million results. `pacc eval`'s
/// output (which lists no pass) is the same either way.
///
/// `skipped` gives, per resource type, how many documents of that type
/// were skipped by the reader: each is an unknown result of every rule on
/// the type (`Counts::skipped`), in the summary and in the overall figure.
pub fn evaluate_failures_with(
    program: &Program,
    inv: &Inventory,
    opts: &EvalOptions,
    engine: Option<&dyn RuleEngine>,
    skipped: &[(RecordId, usize)],
) -> EvalReport {
    evaluate_lean(program, inv, opts, engine, skipped, Keep::Failures)
}

/// [`evaluate_failures_with`] whose failures decided by `engine` have no
/// message yet (`message` is `None`): [`Messages`] renders them when the
/// report is written, a batch at a time, so that a million failures do
/// not hold a million messages.
pub fn evaluate_failures_deferred(
    program: &Program,
    inv: &Inventory,
    opts: &EvalOptions,
    engine: Option<&dyn RuleEngine>,
    skipped: &[(RecordId, usize)],
) -> EvalReport {
    evaluate_lean(program, inv, opts, engine, skipped, Keep::FailuresDeferred)
}

/// An evaluation that keeps failures and errors only; `skipped` as
/// [`evaluate_failures_with`] takes it.
fn evaluate_lean(
    program: &Program,
    inv: &Inventory,
    opts: &EvalOptions,
    engine: Option<&dyn RuleEngine>,
    skipped: &[(RecordId, usize)],
    keep: Keep,
) -> EvalReport {
    let env = Env::for_program(program, inv, opts.now)
        .with_coverage(opts.coverage)
        .with_values(engine);
    // Per rule, the unknown results of the skipped documents of its type.
    let per_rule: Vec<u64> = program
        .rules
        .iter()
        .map(|r| {
            skipped
                .iter()
                .filter(|(t, _)| *t == r.resource)
                .map(|(_, n)| *n as u64)
                .sum()
        })
        .collect();
    evaluate_core(program, &env, opts.explain, engine, None, keep, &per_rule)
}

/// The messages [`evaluate_failures_deferred`] left to the report.
pub struct Messages<'a> {
    program: &'a Program,
    env: Env<'a>,
    details: Vec<DetailReads>,
    /// Per rule, its message as text and fields of the resource, when it
    /// is only that (most are): formatted field by field, with no record
    /// read back and no interpreter.
    templates: Vec<Option<Vec<TemplatePart<'a>>>>,
}

/// A part of a message made of text and the resource's fields.
enum TemplatePart<'p> {
    Text(&'p str),
    Field(u32),
}

/// The message of `rule` as text and fields of the resource (`None` when
/// some part is another expression, or reads a `let`).
fn template(rule: &pac_compiler::ir::Rule) -> Option<Vec<TemplatePart<'_>>> {
    if rule.message.is_empty() || !rule.message_lets.is_empty() {
        return None;
    }
    rule.message
        .iter()
        .map(|part| match part {
            MessagePart::Text(t) => Some(TemplatePart::Text(t)),
            MessagePart::Expr(e) => e.resource_field().map(TemplatePart::Field),
        })
        .collect()
}

impl<'a> Messages<'a> {
    /// For a report of `program` over `inv` at `now` by `engine` (the
    /// engine the evaluation had: it holds the records).
    pub fn new(
        program: &'a Program,
        inv: &'a Inventory,
        now: i64,
        engine: Option<&'a dyn RuleEngine>,
    ) -> Messages<'a> {
        Messages {
            program,
            env: Env::for_program(program, inv, now).with_values(engine),
            details: (0..program.rules.len())
                .map(|r| detail_reads(program, r))
                .collect(),
            templates: program.rules.iter().map(template).collect(),
        }
    }

    /// The implicit field `field` (`id`, `account`, `region`) of resource
    /// `i`, as the reader set it.
    fn implicit(&self, i: usize, field: u32) -> Option<&'a str> {
        let s = self.env.inv.resources.get(i)?.implicit(field as usize)?;
        Some(&**s)
    }

    /// Per result, its deferred message rendered now (in parallel); `None`
    /// for a result that has its message, or needs none.
    pub fn render(&self, results: &[&RuleResult]) -> Vec<Option<String>> {
        let pieces: Vec<Vec<Option<String>>> = results
            .par_chunks(256)
            .map_init(Frame::default, |frame, piece| {
                self.render_piece(frame, piece)
            })
            .collect();
        pieces.concat()
    }

    /// [`Messages::render`] of `results` on this thread (`frame` is
    /// scratch space): the engine's messages first, then the
    /// interpreter's for the others.
    pub fn render_piece(&self, frame: &mut Frame, results: &[&RuleResult]) -> Vec<Option<String>> {
        let native = self.prerender(results);
        results
            .iter()
            .zip(native)
            .map(|(r, n)| {
                n.or_else(|| {
                    // Room for most messages (grown from empty, a message
                    // was copied several times on the way).
                    let mut out = String::with_capacity(128);
                    self.render_into(frame, r, &mut out).then_some(out)
                })
            })
            .collect()
    }

    /// Per result, its deferred message when the engine renders it (its
    /// native code computes the message's values), `None` for the others
    /// ([`Messages::render_into`] renders them). Results of one rule in a
    /// row are asked for together.
    fn prerender(&self, results: &[&RuleResult]) -> Vec<Option<String>> {
        let mut out = vec![None; results.len()];
        let Some(engine) = self.env.values else {
            return out;
        };
        let deferred = |r: &RuleResult| {
            r.message.is_none()
                && r.outcome == Outcome::Fail
                && matches!(self.templates.get(r.rule), Some(None))
        };
        let mut start = 0;
        while start < results.len() {
            let rule = results[start].rule;
            let end = results[start..]
                .iter()
                .position(|r| r.rule != rule)
                .map_or(results.len(), |n| start + n);
            let run: Vec<usize> = (start..end).filter(|&k| deferred(results[k])).collect();
            if !run.is_empty() {
                let resources: Vec<usize> = run.iter().map(|&k| results[k].resource).collect();
                if let Some(texts) = engine.messages(rule, &resources, &self.env)
                    && texts.len() == run.len()
                {
                    for (k, t) in run.into_iter().zip(texts) {
                        out[k] = t;
                    }
                }
            }
            start = end;
        }
        out
    }

    /// The deferred message of `r` written at the end of `out` (`frame`
    /// is scratch space, reused from one call to the next); `false`, and
    /// nothing written, for a result that has its message or needs none.
    fn render_into(&self, frame: &mut Frame, r: &RuleResult, out: &mut String) -> bool {
        if r.message.is_some() || r.outcome != Outcome::Fail {
            return false;
        }
        let Some(rule) = self.program.rules.get(r.rule) else {
            return false;
        };
        if let Some(Some(parts)) = self.templates.get(r.rule) {
            for part in parts {
                match part {
                    TemplatePart::Text(t) => out.push_str(t),
                    TemplatePart::Field(i) => match self.implicit(r.resource, *i) {
                        // Written from the resource itself: no value, so
                        // no shared count touched by both threads (an
                        // account's or a region's string is everyone's).
                        Some(s) => out.push_str(s),
                        None => self.env.write_field_of(r.resource, *i, out),
                    },
                }
            }
            return true;
        }
        let Some(d) = self.details.get(r.rule) else {
            return false;
        };
        if !rule.message.is_empty() {
            frame.reset(rule.slots, self.env.value_with(r.resource, Some(&d.fields)));
            eval_lets(&rule.cond, frame, &self.env, Some(&d.lets));
        }
        render_message_into(out, self.program, r.rule, r.resource, frame, &self.env);
        true
    }
}

/// Resources per unit of parallel work.
pub const CHUNK: usize = 256;

/// [`evaluate`] in an existing environment (whose indexes can then be
/// reused, e.g. to explain results afterwards).
pub fn evaluate_in(program: &Program, env: &Env, explain: bool) -> EvalReport {
    evaluate_in_with(program, env, explain, None)
}

/// [`evaluate_with`] in an existing environment. Group memberships and
/// sticky exception conditions are evaluated by the interpreter; rule
/// conditions by `engine` where it compiled them.
pub fn evaluate_in_with(
    program: &Program,
    env: &Env,
    explain: bool,
    engine: Option<&dyn RuleEngine>,
) -> EvalReport {
    evaluate_from(program, env, explain, engine, None)
}

/// An earlier evaluation of the same program, which a rescan may take
/// results from: `same_as[i]` is the index, in the earlier inventory, of
/// resource `i` when its document is unchanged.
pub struct Earlier<'a> {
    pub report: &'a EvalReport,
    pub same_as: &'a [Option<usize>],
}

/// Where the earlier results of rule `rule` on `scoped`'s resources are in
/// `e.report.results` (sorted by rule, then resource): one search for the
/// rule's results, then a cursor through them, since unchanged resources
/// keep their order from one inventory to the next (a search per
/// resource went to memory at every step).
fn earlier_results(e: &Earlier, rule: usize, scoped: &[usize]) -> Vec<Option<usize>> {
    let results = &e.report.results;
    let lo = results.partition_point(|r| r.rule < rule);
    let block = &results[lo..];
    let block = &block[..block.partition_point(|r| r.rule <= rule)];
    let mut next = 0;
    scoped
        .iter()
        .map(|&i| {
            let o = e.same_as.get(i).copied().flatten()?;
            let k = match block.get(next) {
                Some(r) if r.resource == o => next,
                _ => block.binary_search_by_key(&o, |r| r.resource).ok()?,
            };
            next = k + 1;
            Some(lo + k)
        })
        .collect()
}

/// Whether an expression's value depends only on the resource it is
/// evaluated on: no other resources (`QuantType`), no clock (`Now`, or a
/// built-in that reads it).
fn reads_only_its_resource(e: &Expr) -> bool {
    let mut only = true;
    e.walk(&mut |x| match &x.kind {
        ExprKind::QuantType { .. } | ExprKind::Now => only = false,
        ExprKind::Call { builtin, .. } if builtin.reads_clock() => only = false,
        _ => {}
    });
    only
}

/// Groups whose membership of a resource depends on that resource alone.
fn local_groups(program: &Program) -> Vec<bool> {
    program
        .groups
        .iter()
        .map(|g| {
            g.members
                .iter()
                .all(|m| m.cond.as_ref().is_none_or(reads_only_its_resource))
        })
        .collect()
}

/// Rules whose result on an unchanged resource is the earlier one: the
/// condition, the message, the scope group and every exception that may
/// exempt the rule read only the resource, and no such exception expired
/// between the two evaluations.
fn reusable_rules(
    program: &Program,
    by_rule: &[Vec<usize>],
    groups_local: &[bool],
    earlier_now: i64,
    now: i64,
) -> Vec<bool> {
    program
        .rules
        .iter()
        .enumerate()
        .map(|(ri, r)| {
            reads_only_its_resource(&r.cond)
                && r.message_lets
                    .iter()
                    .all(|(_, e)| reads_only_its_resource(e))
                && r.message.iter().all(|p| match p {
                    MessagePart::Expr(e) => reads_only_its_resource(e),
                    _ => true,
                })
                && r.scope
                    .is_none_or(|g| groups_local.get(g).copied().unwrap_or(false))
                && by_rule[ri].iter().all(|&x| {
                    let exc = &program.exceptions[x];
                    (earlier_now >= exc.expires) == (now >= exc.expires)
                        && exc
                            .scope
                            .is_none_or(|g| groups_local.get(g).copied().unwrap_or(false))
                        && exc.conds.iter().all(|(_, c)| reads_only_its_resource(c))
                })
        })
        .collect()
}

/// [`evaluate_in_with`], taking what it can from an `earlier` evaluation
/// of the same program: results of resource-local rules on unchanged
/// resources, and memberships of resource-local groups. Rules that read
/// other resources or the clock are evaluated in full. The report is the
/// one a full evaluation gives, except for warnings about exception
/// conditions that failed on unchanged resources (given the first time).
pub fn evaluate_from(
    program: &Program,
    env: &Env,
    explain: bool,
    engine: Option<&dyn RuleEngine>,
    earlier: Option<&Earlier>,
) -> EvalReport {
    evaluate_core(
        program,
        env,
        explain,
        engine,
        earlier,
        Keep::Everything,
        &[],
    )
}

/// What an evaluation keeps of its results.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Keep {
    /// Every result, passes too.
    Everything,
    /// Failures and errors, with their messages; passes are counted.
    Failures,
    /// The same, the messages of an engine's failures left to [`Messages`].
    FailuresDeferred,
}

/// The results of one chunk of work: the results kept, how many passed
/// when passes are not kept, and the warnings.
type ChunkResults = (Vec<RuleResult>, usize, Vec<Warning>);

fn evaluate_core(
    program: &Program,
    env: &Env,
    explain: bool,
    engine: Option<&dyn RuleEngine>,
    earlier: Option<&Earlier>,
    keep: Keep,
    skipped: &[u64],
) -> EvalReport {
    let now = env.ctx.now;
    let groups_local = local_groups(program);
    let groups = match earlier {
        Some(e) => group_memberships_from(program, env, engine, e, &groups_local),
        None => group_memberships_with(program, env, engine),
    };

    // Which exceptions may exempt each rule's failures.
    let mut by_rule: Vec<Vec<usize>> = vec![Vec::new(); program.rules.len()];
    for (x, exc) in program.exceptions.iter().enumerate() {
        for &r in &exc.rules {
            if let Some(v) = by_rule.get_mut(r)
                && !v.contains(&x)
            {
                v.push(x);
            }
        }
    }
    let ids: Vec<HashSet<&str>> = program
        .exceptions
        .iter()
        .map(|x| x.resources.iter().map(String::as_str).collect())
        .collect();

    // Results that can be taken from the earlier evaluation.
    let reusable = match earlier {
        Some(e) => reusable_rules(program, &by_rule, &groups_local, e.report.now, now),
        None => vec![false; program.rules.len()],
    };
    // Per rule, the resources evaluated now, in scope order (without an
    // earlier evaluation, or for a rule whose results cannot be taken
    // over: its scope's, not copied).
    let mut fresh_of: Vec<std::borrow::Cow<'_, [usize]>> = Vec::with_capacity(program.rules.len());
    // Work: rules × chunks of their fresh resources.
    let mut work: Vec<(usize, std::ops::Range<usize>)> = Vec::new();
    // Per rule, the resources in its scope, in order.
    let mut scoped_of: Vec<std::borrow::Cow<'_, [usize]>> = Vec::with_capacity(program.rules.len());
    for rule in &program.rules {
        let all = env.of_type(rule.resource);
        let scoped: std::borrow::Cow<'_, [usize]> = match rule.scope {
            Some(g) => all
                .iter()
                .copied()
                .filter(|&i| {
                    groups
                        .get(g)
                        .is_some_and(|m| m.members.binary_search(&i).is_ok())
                })
                .collect::<Vec<_>>()
                .into(),
            None => all.into(),
        };
        scoped_of.push(scoped);
    }
    // With an earlier evaluation, per rule whose results can be taken over:
    // in scope order, `Some(k)` to take the earlier result `k`, `None` to
    // evaluate now. Worked out rule by rule on every core.
    let found: Vec<Option<Vec<Option<usize>>>> = match earlier {
        Some(e) => scoped_of
            .par_iter()
            .enumerate()
            .map(|(ri, scoped)| reusable[ri].then(|| earlier_results(e, ri, scoped)))
            .collect(),
        None => vec![None; program.rules.len()],
    };
    for (ri, scoped) in scoped_of.iter().enumerate() {
        let fresh: std::borrow::Cow<'_, [usize]> = match &found[ri] {
            None => scoped.as_ref().into(),
            Some(plan) => scoped
                .iter()
                .zip(plan)
                .filter(|(_, p)| p.is_none())
                .map(|(&i, _)| i)
                .collect::<Vec<_>>()
                .into(),
        };
        for start in (0..fresh.len()).step_by(CHUNK) {
            work.push((ri, start..(start + CHUNK).min(fresh.len())));
        }
        fresh_of.push(fresh);
    }
    // What each rule's failure details read, for an engine's failures
    // (read back from its layout field by field); deferred messages are
    // `Messages`' to read.
    let details: Vec<DetailReads> = match engine {
        Some(_) if keep != Keep::FailuresDeferred => (0..program.rules.len())
            .map(|r| detail_reads(program, r))
            .collect(),
        _ => Vec::new(),
    };
    let ctx = Ctx {
        program,
        env,
        details: &details,
        defer_messages: keep == Keep::FailuresDeferred,
        groups: &groups,
        by_rule: &by_rule,
        ids: &ids,
        now,
        explain,
    };
    let keep_passes = keep == Keep::Everything || earlier.is_some();
    // The work runs by row range: every rule of a type over one range of
    // its rows before the next range, so that the rows' cells stay in
    // cache across the rules (at 1M resources a rule-by-rule scan went to
    // memory for every row: `pacc bench` measures both orders). The
    // results are put back in `work`'s order.
    let mut order: Vec<usize> = (0..work.len()).collect();
    order.sort_by_key(|&w| {
        let (rule, range) = &work[w];
        let first = fresh_of[*rule].get(range.start).copied().unwrap_or(0);
        (program.rules[*rule].resource, first, *rule)
    });
    let computed: Vec<(usize, ChunkResults)> = order
        .par_iter()
        .map(|&w| {
            let (rule, range) = &work[w];
            let resources = &fresh_of[*rule][range.clone()];
            let mut frame = Frame::default();
            let mut warnings = Vec::new();
            let mut passed = 0;
            let raw = engine
                .and_then(|e| e.outcomes(*rule, resources, env))
                .filter(|r| r.len() == resources.len());
            let mut results = Vec::with_capacity(if keep_passes { resources.len() } else { 0 });
            for (k, &res) in resources.iter().enumerate() {
                let decided = raw.as_ref().map(|r| r[k]);
                if !keep_passes && decided == Some(RawOutcome::Pass) {
                    passed += 1;
                    continue;
                }
                let r = ctx.eval_one(*rule, res, decided, &mut frame, &mut warnings);
                if !keep_passes && r.outcome == Outcome::Pass {
                    passed += 1;
                    continue;
                }
                results.push(r);
            }
            (w, (results, passed, warnings))
        })
        .collect();
    let mut chunks: Vec<ChunkResults> = Vec::with_capacity(work.len());
    chunks.resize_with(work.len(), Default::default);
    for (w, c) in computed {
        chunks[w] = c;
    }
    let mut warnings = Vec::new();
    let mut results = Vec::with_capacity(if keep_passes {
        scoped_of.iter().map(|s| s.len()).sum()
    } else {
        chunks.iter().map(|c| c.0.len()).sum()
    });
    // Per rule, how many passes were not kept.
    let mut passes: Vec<usize> = vec![0; program.rules.len()];
    if earlier.is_none() {
        // Every result computed now: the chunks are in rule order, each in
        // scope order, so they are the results as they stand (no second
        // copy of a million results).
        for ((rule, _), (r, p, w)) in work.iter().zip(chunks) {
            results.extend(r);
            passes[*rule] += p;
            warnings.extend(w);
        }
    } else {
        // Per rule, its chunks (moved, not their results).
        let mut per_rule: Vec<Vec<Vec<RuleResult>>> = vec![Vec::new(); program.rules.len()];
        for ((rule, _), (r, _, w)) in work.iter().zip(chunks) {
            per_rule[*rule].push(r);
            warnings.extend(w);
        }
        for (ri, chunks) in per_rule.into_iter().enumerate() {
            let mut computed = chunks.into_iter().flatten();
            match (&found[ri], earlier) {
                (Some(plan), Some(e)) => {
                    for (&i, p) in scoped_of[ri].iter().zip(plan) {
                        match p {
                            Some(k) => {
                                let mut r = e.report.results[*k].clone();
                                r.resource = i;
                                results.push(r);
                            }
                            None => results.extend(computed.next()),
                        }
                    }
                }
                // Every result of the rule computed now, in scope order.
                _ => results.extend(computed),
            }
        }
    }

    // Exceptions that expired, or exempted nothing.
    let mut used = vec![false; program.exceptions.len()];
    for r in &results {
        if let Some(x) = r.exempted_by {
            used[x] = true;
        }
    }
    for (x, exc) in program.exceptions.iter().enumerate() {
        if exc.expires <= now {
            let day = Value::Time(exc.expires).to_string();
            warnings.push(Warning {
                kind: WarningKind::ExpiredException,
                exception: x,
                message: format!(
                    "exception `{}` expired on {}; it no longer exempts anything",
                    exc.name,
                    day.get(..10).unwrap_or(&day)
                ),
            });
        } else if !used[x] {
            let types: HashSet<_> = exc
                .rules
                .iter()
                .filter_map(|&r| program.rules.get(r))
                .map(|r| r.resource)
                .collect();
            let unknown: Vec<&str> = exc
                .resources
                .iter()
                .filter(|id| {
                    !types.iter().any(|t| {
                        env.of_type(*t)
                            .iter()
                            .any(|&i| &*env.inv.resources[i].id == id.as_str())
                    })
                })
                .map(String::as_str)
                .collect();
            let why = if unknown.is_empty() {
                "no failing resource matches it".to_string()
            } else {
                format!("not in the inventory: {}", unknown.join(", "))
            };
            warnings.push(Warning {
                kind: WarningKind::UnusedException,
                exception: x,
                message: format!("exception `{}` exempts nothing ({why})", exc.name),
            });
        }
    }
    warnings.sort_by_key(|w| (w.exception, w.kind));
    warnings.dedup();

    let summary = summarize_with_passes(program, &results, &passes, skipped);
    EvalReport {
        now,
        results,
        groups,
        warnings,
        summary,
    }
}

struct Ctx<'a> {
    program: &'a Program,
    env: &'a Env<'a>,
    /// Per rule (with an engine): what its failure details read.
    details: &'a [DetailReads],
    /// Leave the messages of the engine's failures to [`Messages`].
    defer_messages: bool,
    /// Memberships, for exceptions confined to a group.
    groups: &'a [GroupMembership],
    by_rule: &'a [Vec<usize>],
    ids: &'a [HashSet<&'a str>],
    now: i64,
    explain: bool,
}

impl Ctx<'_> {
    /// The result of a rule on a resource. `decided` is the engine's
    /// outcome, if an engine evaluated it: a pass needs nothing more; for a
    /// failure or an error the interpreter is re-run on this resource for
    /// the message (which sees the condition's `let`s) and the reason.
    fn eval_one(
        &self,
        rule: usize,
        res: usize,
        decided: Option<RawOutcome>,
        frame: &mut Frame,
        warnings: &mut Vec<Warning>,
    ) -> RuleResult {
        let r = &self.program.rules[rule];
        let resource = &self.env.inv.resources[res];
        let mut result = RuleResult {
            rule,
            resource: res,
            outcome: Outcome::Pass,
            message: None,
            exempted_by: None,
            explanation: None,
        };
        if decided == Some(RawOutcome::Pass) {
            return result;
        }
        // A failure the engine decided, with the default message, needs no
        // record (the record may have to be read back from the engine).
        let details = match decided {
            Some(RawOutcome::Fail) => self.details.get(rule),
            _ => None,
        };
        let defer = self.defer_messages && decided == Some(RawOutcome::Fail);
        if !defer && (decided != Some(RawOutcome::Fail) || !r.message.is_empty()) {
            let fields = details.map(|d| d.fields.as_slice());
            frame.reset(r.slots, self.env.value_with(res, fields));
        }
        let verdict = match decided {
            None => eval(&r.cond, frame, self.env),
            Some(RawOutcome::Pass) => return result,
            // The outcome is the engine's; the message needs the rule's
            // `let`s in the frame, not the condition.
            Some(RawOutcome::Fail) => {
                // The default message reads no `let`.
                if !defer && !r.message.is_empty() {
                    eval_lets(&r.cond, frame, self.env, details.map(|d| d.lets.as_slice()));
                }
                Ok(Value::Bool(true))
            }
            Some(RawOutcome::Error) => match eval(&r.cond, frame, self.env) {
                Err(e) => Err(e),
                Ok(v) => Err(EvalError {
                    reason: format!(
                        "internal: the native engine reported an error that the interpreter does not reproduce (it gives {v})"
                    ),
                    file: r.cond.file,
                    span: r.cond.span,
                }),
            },
        };
        match verdict {
            Ok(Value::Bool(false)) => return result,
            Ok(Value::Bool(true)) => {
                result.outcome = Outcome::Fail;
                // Rendered into a reused buffer, then copied at its exact
                // size: a report may keep a million messages.
                if !defer {
                    MESSAGE.with_borrow_mut(|buf| {
                        buf.clear();
                        render_message_into(buf, self.program, rule, res, frame, self.env);
                        result.message = Some(buf.as_str().to_owned());
                    });
                }
                for &x in &self.by_rule[rule] {
                    let exc = &self.program.exceptions[x];
                    if self.now >= exc.expires || !in_exception_scope(exc, self.groups, res) {
                        continue;
                    }
                    if self.ids[x].contains(&*resource.id) {
                        result.exempted_by = Some(x);
                        break;
                    }
                    match sticky_matches(self.program, self.env, x, res) {
                        Ok(true) => {
                            result.exempted_by = Some(x);
                            break;
                        }
                        Ok(false) => {}
                        Err(e) => warnings.push(Warning {
                            kind: WarningKind::ExceptionError,
                            exception: x,
                            message: format!(
                                "exception `{}`: its condition cannot be evaluated on {} `{}`: {}",
                                exc.name, resource.type_name, resource.id, e.reason
                            ),
                        }),
                    }
                }
            }
            Ok(other) => {
                result.outcome = Outcome::Error(format!(
                    "internal: the condition gave {other} instead of a bool"
                ));
            }
            Err(e) => result.outcome = Outcome::Error(e.reason),
        }
        if self.explain {
            result.explanation = Some(Box::new(explain_rule(self.program, self.env, rule, res)));
        }
        result
    }
}

/// Evaluates the rule's `let`s (the chain of `Let`s the checker folds
/// around the condition) into the frame, as a full evaluation of the
/// condition leaves them for the message; stops at the first error.
/// `wanted`: per `let`, whether the message needs it (the others are
/// skipped); `None`: all.
fn eval_lets(cond: &Expr, frame: &mut Frame, env: &Env, wanted: Option<&[bool]>) {
    let mut e = cond;
    let mut k = 0;
    while let ExprKind::Let(slot, value, body) = &e.kind {
        if wanted.is_none_or(|w| w.get(k).copied().unwrap_or(true)) {
            match eval(value, frame, env) {
                Ok(v) => frame.set(*slot, v),
                Err(_) => return,
            }
        }
        k += 1;
        e = body;
    }
}

/// The message of a failing rule: its template evaluated in the frame the
/// condition left (so `let`s are visible), or the default
/// `` `TYPE` `ID` violates `RULE` ``.
pub fn render_message(
    program: &Program,
    rule: usize,
    resource: usize,
    frame: &mut Frame,
    env: &Env,
) -> String {
    let mut out = String::new();
    render_message_into(&mut out, program, rule, resource, frame, env);
    out
}

thread_local! {
    /// The buffer messages are rendered into before they are kept.
    static MESSAGE: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
}

/// [`render_message`], appended to `out`.
fn render_message_into(
    out: &mut String,
    program: &Program,
    rule: usize,
    resource: usize,
    frame: &mut Frame,
    env: &Env,
) {
    let r = &program.rules[rule];
    let res = &env.inv.resources[resource];
    if r.message.is_empty() {
        for part in [
            "`",
            &res.type_name,
            "` `",
            &res.id,
            "` violates `",
            &r.id,
            "`",
        ] {
            out.push_str(part);
        }
        return;
    }
    // The `let`s only the message reads; one that fails leaves its slot
    // missing, and the parts that read it say why.
    let mut failed: Vec<(u32, String)> = Vec::new();
    for (slot, value) in &r.message_lets {
        match eval(value, frame, env) {
            Ok(v) => frame.set(*slot, v),
            Err(e) => {
                frame.set(*slot, Value::Missing);
                failed.push((*slot, e.reason));
            }
        }
    }
    for part in &r.message {
        match part {
            MessagePart::Text(t) => out.push_str(t),
            MessagePart::Expr(e) if let Some(reason) = reads_failed(e, &failed) => {
                out.push_str("<error: ");
                out.push_str(reason);
                out.push('>');
            }
            MessagePart::Expr(e) => match eval(e, frame, env) {
                Ok(v) => {
                    let _ = write!(out, "{v}");
                }
                Err(err) => {
                    out.push_str("<error: ");
                    out.push_str(&err.reason);
                    out.push('>');
                }
            },
        }
    }
}

/// The reason of the first failed message `let` that `e` reads.
fn reads_failed<'a>(e: &Expr, failed: &'a [(u32, String)]) -> Option<&'a str> {
    if failed.is_empty() {
        return None;
    }
    let mut found = None;
    e.walk(&mut |x| {
        if let ExprKind::Local(s) = &x.kind
            && found.is_none()
        {
            found = failed.iter().find(|(f, _)| f == s).map(|(_, r)| r.as_str());
        }
    });
    found
}

/// Whether sticky exception `exc`'s condition holds for a resource (false
/// when it has no condition for the resource's type).
pub fn sticky_matches(
    program: &Program,
    env: &Env,
    exc: usize,
    resource: usize,
) -> Result<bool, EvalError> {
    let x = &program.exceptions[exc];
    let res = &env.inv.resources[resource];
    let Some((_, cond)) = x.conds.iter().find(|(t, _)| *t == res.rtype) else {
        return Ok(false);
    };
    // Only the fields the condition reads are read back from an engine's
    // cells (the whole record when it uses the resource otherwise): this
    // runs for every failure of a rule the exception covers.
    let fields = crate::interp::element_reads(cond, 0);
    let mut frame = Frame::new(x.slots, env.value_with(resource, fields.as_deref()));
    Ok(matches!(eval(cond, &mut frame, env)?, Value::Bool(true)))
}

/// Whether resource `res` is inside exception `x`'s `in GROUP` scope
/// (always, without one).
pub fn in_exception_scope(x: &Exception, groups: &[GroupMembership], res: usize) -> bool {
    x.scope.is_none_or(|g| {
        groups
            .get(g)
            .is_some_and(|m| m.members.binary_search(&res).is_ok())
    })
}

/// Whether exception `exc` matches a resource: its id is listed, or (for a
/// sticky exception) its condition holds. Expiry and the `in GROUP` scope
/// ([`in_exception_scope`]) are not considered.
pub fn exception_matches(
    program: &Program,
    env: &Env,
    exc: usize,
    resource: usize,
) -> Result<bool, EvalError> {
    let x = &program.exceptions[exc];
    let res = &env.inv.resources[resource];
    if x.resources.iter().any(|id| id.as_str() == &*res.id) {
        return Ok(true);
    }
    sticky_matches(program, env, exc, resource)
}

/// Evaluates every group's membership with the interpreter.
pub fn group_memberships(program: &Program, env: &Env) -> Vec<GroupMembership> {
    group_memberships_with(program, env, None)
}

/// Evaluates every group's membership, asking `engine` (when given) for
/// the conditions it compiled; the interpreter finds an error's reason.
pub fn group_memberships_with(
    program: &Program,
    env: &Env,
    engine: Option<&dyn RuleEngine>,
) -> Vec<GroupMembership> {
    let mut out = memberships(program, env, engine, &|_, _| true);
    finish_memberships(&mut out);
    out
}

/// [`group_memberships_with`], taking the earlier membership of unchanged
/// resources in groups whose conditions read only the resource.
fn group_memberships_from(
    program: &Program,
    env: &Env,
    engine: Option<&dyn RuleEngine>,
    e: &Earlier,
    local: &[bool],
) -> Vec<GroupMembership> {
    let known = |i: usize| e.same_as.get(i).copied().flatten();
    let reuse = |g: usize| local[g] && e.report.groups.len() == program.groups.len();
    let mut out = memberships(program, env, engine, &|g, i| {
        !reuse(g) || known(i).is_none()
    });
    for (g, group) in program.groups.iter().enumerate() {
        if !reuse(g) {
            continue;
        }
        let old = &e.report.groups[g];
        for member in &group.members {
            for &i in env.of_type(member.resource) {
                let Some(o) = known(i) else { continue };
                if old.members.binary_search(&o).is_ok() {
                    out[g].members.push(i);
                } else if let Ok(k) = old.errors.binary_search_by_key(&o, |(x, _)| *x) {
                    out[g].errors.push((i, old.errors[k].1.clone()));
                }
            }
        }
    }
    finish_memberships(&mut out);
    out
}

/// Members in order, each once; errors only for non-members, once each.
fn finish_memberships(out: &mut [GroupMembership]) {
    for g in out {
        g.members.sort_unstable();
        g.members.dedup();
        let members = &g.members;
        g.errors.retain(|(i, _)| members.binary_search(i).is_err());
        g.errors.sort_by_key(|(i, _)| *i);
        g.errors.dedup_by_key(|(i, _)| *i);
    }
}

/// Evaluates group membership conditions on the resources `pick` selects.
fn memberships(
    program: &Program,
    env: &Env,
    engine: Option<&dyn RuleEngine>,
    pick: &(dyn Fn(usize, usize) -> bool + Sync),
) -> Vec<GroupMembership> {
    let mut work: Vec<(usize, usize, Vec<usize>)> = Vec::new();
    for (g, group) in program.groups.iter().enumerate() {
        for (m, member) in group.members.iter().enumerate() {
            let picked: Vec<usize> = env
                .of_type(member.resource)
                .iter()
                .copied()
                .filter(|&i| pick(g, i))
                .collect();
            for chunk in picked.chunks(CHUNK) {
                work.push((g, m, chunk.to_vec()));
            }
        }
    }
    type Membership = (usize, usize, Result<bool, String>);
    let outcomes: Vec<Vec<Membership>> = work
        .par_iter()
        .map(|(g, m, chunk)| {
            let (g, m, chunk) = (*g, *m, chunk.as_slice());
            let group = &program.groups[g];
            let member = &group.members[m];
            let mut frame = Frame::default();
            let raw = match (&member.cond, engine) {
                (Some(_), Some(e)) => e
                    .group_conditions(g, m, chunk, env)
                    .filter(|r| r.len() == chunk.len()),
                _ => None,
            };
            chunk
                .iter()
                .enumerate()
                .map(|(k, &i)| {
                    let decided = raw.as_ref().map(|r| r[k]);
                    let r = match (&member.cond, decided) {
                        (None, _) => Ok(true),
                        (Some(_), Some(RawOutcome::Pass)) => Ok(false),
                        (Some(_), Some(RawOutcome::Fail)) => Ok(true),
                        (Some(cond), Some(RawOutcome::Error)) => {
                            frame.reset(group.slots, env.value(i));
                            match eval(cond, &mut frame, env) {
                                Err(e) => Err(e.reason),
                                Ok(v) => Err(format!(
                                    "internal: the native engine reported an error that the interpreter does not reproduce (it gives {v})"
                                )),
                            }
                        }
                        (Some(cond), None) => {
                            frame.reset(group.slots, env.value(i));
                            match eval(cond, &mut frame, env) {
                                Ok(Value::Bool(b)) => Ok(b),
                                Ok(other) => Err(format!(
                                    "internal: the condition gave {other} instead of a bool"
                                )),
                                Err(e) => Err(e.reason),
                            }
                        }
                    };
                    (g, i, r)
                })
                .collect()
        })
        .collect();
    let mut out: Vec<GroupMembership> = (0..program.groups.len())
        .map(|group| GroupMembership {
            group,
            ..Default::default()
        })
        .collect();
    for (g, i, r) in outcomes.into_iter().flatten() {
        match r {
            Ok(true) => out[g].members.push(i),
            Ok(false) => {}
            Err(e) => out[g].errors.push((i, e)),
        }
    }
    out
}

/// Per-policy, per-severity and total counts.
pub fn summarize(program: &Program, results: &[RuleResult]) -> Summary {
    summarize_with_passes(program, results, &[], &[])
}

/// [`summarize`] of `results` and, per rule (index into `passes` and
/// `skipped`), passes that are not in `results` and unknown results of
/// skipped documents.
pub fn summarize_with_passes(
    program: &Program,
    results: &[RuleResult],
    passes: &[usize],
    skipped: &[u64],
) -> Summary {
    let mut per_policy = vec![Counts::default(); program.policies.len()];
    let mut total = Counts::default();
    for r in results {
        if let Some(rule) = program.rules.get(r.rule)
            && let Some(c) = per_policy.get_mut(rule.policy)
        {
            c.add(r);
        }
        total.add(r);
    }
    for (ri, &n) in passes.iter().enumerate() {
        if let Some(rule) = program.rules.get(ri)
            && let Some(c) = per_policy.get_mut(rule.policy)
        {
            c.add_passes(n);
        }
        total.add_passes(n);
    }
    for (ri, &n) in skipped.iter().enumerate() {
        if let Some(rule) = program.rules.get(ri)
            && let Some(c) = per_policy.get_mut(rule.policy)
        {
            c.skipped += n as usize;
        }
        total.skipped += n as usize;
    }
    let policies: Vec<PolicySummary> = program
        .policies
        .iter()
        .enumerate()
        .map(|(i, p)| PolicySummary {
            policy: i,
            name: p.name.clone(),
            severity: p.severity,
            category: p.category.clone(),
            counts: per_policy[i],
            compliance: per_policy[i].compliance(),
        })
        .collect();
    let mut severities = Vec::new();
    for (_, sev) in Severity::ALL {
        let mut counts = Counts::default();
        let mut any = false;
        for p in policies.iter().filter(|p| p.severity == sev) {
            any = true;
            counts.evaluated += p.counts.evaluated;
            counts.passed += p.counts.passed;
            counts.failed += p.counts.failed;
            counts.exempt += p.counts.exempt;
            counts.errors += p.counts.errors;
            counts.skipped += p.counts.skipped;
        }
        if any {
            severities.push(SeveritySummary {
                severity: sev,
                counts,
                compliance: counts.compliance(),
            });
        }
    }
    Summary {
        policies,
        severities,
        total,
        compliance: total.compliance(),
        overall: {
            // The tagging pair does not enter the overall figure.
            let counts = crate::compliance::count_rules(
                program,
                results,
                passes,
                skipped,
                &|_| false,
                &|_| true,
            );
            crate::compliance::rollup(&counts, &crate::compliance::Weights::default(), (0, 0))
                .overall
        },
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::sync::Arc;

    pub(crate) fn compile(src: &str) -> Arc<Program> {
        let c = pac_compiler::compile_sources(vec![("p.pac".into(), src.into())]);
        let errors: Vec<_> = c
            .diagnostics
            .iter()
            .filter(|d| d.severity == pac_compiler::Severity::Error)
            .collect();
        assert!(errors.is_empty(), "{errors:#?}");
        c.program
    }

    pub(crate) const POLICIES: &str = r#"
policy ssh_open {
  title "SSH open to the world"
  severity critical
  category security
  rule on aws.ec2.security_group {
    violation when any p in ip_permissions: covers_port(p, 22) and open_to_world(p)
    message "{group_id} allows SSH from anywhere ({description})"
  }
}

policy big_volume {
  title "Volume too big"
  severity low
  category cost
  rule on aws.ec2.volume in prod {
    let gib = if has(size) then size * 1073741824 * 1073741824 else 0
    violation when gib > 0 and (size ?? 0) > 100
  }
}

group prod {
  aws.ec2.volume where (tags["env"] ?? "") == "prod"
}

exception "CHG-1" for ssh_open {
  resources ["sg-2", "sg-404"]
  expires 2030-01-01
  reason "bastion"
}

exception "OLD" for ssh_open {
  resources ["sg-1"]
  expires 2020-01-01
  reason "expired"
}

sticky exception sandbox for ssh_open {
  where (tags["env"] ?? "") == "sandbox"
  expires 2030-01-01
  reason "sandbox accounts"
}
"#;

    pub(crate) fn sg(id: &str, cidr: &str, env: &str) -> String {
        format!(
            r#"{{"type":"aws.ec2.security_group","id":"{id}","account":"1","region":"r","attributes":{{"group_id":"{id}","group_name":"g","owner_id":"1","ip_permissions":[{{"ip_protocol":"tcp","from_port":22,"to_port":22,"ip_ranges":[{{"cidr_ip":"{cidr}"}}]}}],"tags":{{"env":"{env}"}}}}}}"#
        )
    }

    pub(crate) fn vol(id: &str, size: i64, env: &str) -> String {
        format!(
            r#"{{"type":"aws.ec2.volume","id":"{id}","account":"1","region":"r","attributes":{{"volume_id":"{id}","size":{size},"volume_type":"gp3","state":"in-use","availability_zone":"a","create_time":"2026-01-01T00:00:00Z","encrypted":true,"tags":{{"env":"{env}"}}}}}}"#
        )
    }

    /// 2026-11-01.
    pub(crate) const NOW: i64 = 1_793_491_200;

    fn inventory(program: &Program) -> Inventory {
        let docs = [
            sg("sg-1", "0.0.0.0/0", "prod"),
            sg("sg-2", "0.0.0.0/0", "prod"),
            sg("sg-3", "10.0.0.0/8", "prod"),
            sg("sg-4", "0.0.0.0/0", "sandbox"),
            vol("vol-1", 10, "prod"),
            vol("vol-2", 500, "prod"),
            vol("vol-3", 500, "dev"),
        ]
        .join("\n");
        let (inv, errors) = Inventory::read_str(&program.schemas, "inv", &docs);
        assert!(errors.is_empty(), "{errors:?}");
        inv
    }

    #[test]
    fn outcomes_messages_exceptions_and_summary() {
        let program = compile(POLICIES);
        let inv = inventory(&program);
        let report = evaluate(
            &program,
            &inv,
            &EvalOptions {
                now: NOW,
                explain: true,
                coverage: None,
            },
        );
        let ssh = program.rule("ssh_open").unwrap();
        let vol_rule = program.rule("big_volume").unwrap();
        let at = |rule, id: &str| {
            let i = inv.resources.iter().position(|r| &*r.id == id).unwrap();
            report.result(rule, i)
        };
        // sg-1 fails: its exception expired.
        let r1 = at(ssh, "sg-1").unwrap();
        assert_eq!(r1.outcome, Outcome::Fail);
        assert_eq!(r1.exempted_by, None);
        assert_eq!(
            r1.message.as_deref(),
            Some("sg-1 allows SSH from anywhere (<missing>)")
        );
        assert!(r1.explanation.is_some());
        // sg-2 is exempted by CHG-1, sg-4 by the sticky exception.
        assert_eq!(at(ssh, "sg-2").unwrap().exempted_by, Some(0));
        assert_eq!(at(ssh, "sg-4").unwrap().exempted_by, Some(2));
        assert_eq!(at(ssh, "sg-3").unwrap().outcome, Outcome::Pass);
        // The volume rule is scoped to prod: vol-3 is not evaluated; the
        // overflow in the `let` is an error, never a pass or a fail.
        assert!(at(vol_rule, "vol-3").is_none());
        match &at(vol_rule, "vol-1").unwrap().outcome {
            Outcome::Error(reason) => assert!(reason.starts_with("integer overflow"), "{reason}"),
            other => panic!("{other:?}"),
        }
        let g = &report.groups[0];
        assert_eq!(g.members.len(), 2);
        // Warnings: OLD expired.
        let kinds: Vec<(usize, WarningKind)> = report
            .warnings
            .iter()
            .map(|w| (w.exception, w.kind))
            .collect();
        assert_eq!(kinds, vec![(1, WarningKind::ExpiredException)]);
        assert!(report.warnings[0].message.contains("expired on 2020-01-01"));
        // Summary: ssh_open evaluated 4 (1 pass, 1 fail, 2 exempt).
        let s = &report.summary.policies[0];
        assert_eq!(
            s.counts,
            Counts {
                evaluated: 4,
                passed: 1,
                failed: 1,
                exempt: 2,
                errors: 0,
                skipped: 0
            }
        );
        assert_eq!(s.compliance, 75);
        let v = &report.summary.policies[1];
        assert_eq!(v.counts.errors, 2);
        assert_eq!(v.counts.evaluated, 0);
        assert_eq!(v.compliance, 100);
        assert_eq!(report.summary.total.evaluated, 4);
        assert_eq!(report.summary.severities[0].severity, Severity::Critical);
    }

    #[test]
    fn a_message_of_text_and_fields_is_a_template() {
        let program = compile(
            r#"package t

policy p {
  title "t"
  severity low
  category cost
  rule on aws.ec2.volume {
    let big = (size ?? 0) > 100
    violation when big
    message "volume {id} is {size} GiB in {region}"
  }
}

policy q {
  title "t"
  severity low
  category cost
  rule on aws.ec2.volume {
    let gib = size ?? 0
    violation when gib > 100
    message "volume {id} is {gib} GiB"
  }
}
"#,
        );
        let parts = template(&program.rules[0]).expect("text and fields");
        let text: Vec<String> = parts
            .iter()
            .map(|p| match p {
                TemplatePart::Text(t) => t.to_string(),
                TemplatePart::Field(i) => format!("#{i}"),
            })
            .collect();
        assert_eq!(text.len(), 6, "{text:?}");
        assert_eq!(text[0], "volume ");
        // A `let` in the message: the interpreter renders it.
        assert!(template(&program.rules[1]).is_none());
    }

    #[test]
    fn lets_only_the_message_reads_never_decide_the_outcome() {
        let program = compile(
            r#"
policy big {
  title "Big"
  severity low
  category cost
  rule on aws.ec2.volume {
    let huge = (size ?? 0) * 4611686018427387904
    let half = (size ?? 0) / 2
    violation when (size ?? 0) > 100
    message "{volume_id}: {half} GiB half, {huge}"
  }
}
"#,
        );
        let docs = [vol("vol-1", 10, "prod"), vol("vol-2", 500, "prod")].join("\n");
        let (inv, _) = Inventory::read_str(&program.schemas, "inv", &docs);
        let rule = &program.rules[0];
        assert!(!matches!(rule.cond.kind, ExprKind::Let(..)));
        assert_eq!(rule.message_lets.len(), 2);
        let report = evaluate(
            &program,
            &inv,
            &EvalOptions {
                now: NOW,
                ..Default::default()
            },
        );
        // The overflowing `let` does not make vol-1 an error, and vol-2's
        // message says where it failed.
        assert_eq!(report.result(0, 0).unwrap().outcome, Outcome::Pass);
        let r = report.result(0, 1).unwrap();
        assert_eq!(r.outcome, Outcome::Fail);
        let msg = r.message.as_deref().unwrap();
        assert!(
            msg.starts_with("vol-2: 250 GiB half, <error: integer overflow"),
            "{msg}"
        );
    }

    #[test]
    fn an_exception_in_a_group_exempts_that_groups_members_only() {
        // `prod` holds volumes only; a second group holds the prod
        // security groups. The same sticky condition, confined to each.
        let src = format!(
            "{POLICIES}
group prod_sgs {{
  aws.ec2.security_group where (tags[\"env\"] ?? \"\") == \"prod\"
}}

sticky exception everything_in_prod_sgs for ssh_open in prod_sgs {{
  where true
  expires 2030-01-01
  reason \"waived for prod\"
}}

exception listed_outside for big_volume in prod {{
  resources [\"vol-3\"]
  expires 2030-01-01
  reason \"vol-3 is dev: never a member\"
}}
"
        );
        let program = compile(&src);
        let docs = [
            sg("sg-1", "0.0.0.0/0", "prod"),
            sg("sg-4", "0.0.0.0/0", "sandbox"),
            sg("sg-5", "0.0.0.0/0", "dev"),
            vol("vol-3", 500, "dev"),
        ]
        .join("\n");
        let (inv, errors) = Inventory::read_str(&program.schemas, "inv", &docs);
        assert!(errors.is_empty(), "{errors:?}");
        let report = evaluate(
            &program,
            &inv,
            &EvalOptions {
                now: NOW,
                ..Default::default()
            },
        );
        let ssh = program.rule("ssh_open").unwrap();
        let by = |rule, id: &str| {
            let i = inv.resources.iter().position(|r| &*r.id == id).unwrap();
            report.result(rule, i).map(|r| {
                (
                    r.outcome.clone(),
                    r.exempted_by.map(|x| program.exceptions[x].name.clone()),
                )
            })
        };
        let waiver = Some("everything_in_prod_sgs".to_string());
        // sg-1 (prod, its own exception expired) is exempted by the group's.
        assert_eq!(by(ssh, "sg-1"), Some((Outcome::Fail, waiver.clone())));
        // sg-5 (dev) matches `where true` but is no member: not exempted.
        assert_eq!(by(ssh, "sg-5"), Some((Outcome::Fail, None)));
        // sg-4 (sandbox) neither: the file's own sticky exception applies.
        assert_eq!(
            by(ssh, "sg-4"),
            Some((Outcome::Fail, Some("sandbox".into())))
        );
        // vol-3 is listed but outside `prod`: `big_volume` does not even
        // evaluate it, and nothing is exempted.
        let big = program.rule("big_volume").unwrap();
        assert_eq!(by(big, "vol-3"), None);
        assert!(report.results.iter().all(|r| {
            r.exempted_by.map(|x| program.exceptions[x].name.as_str()) != Some("listed_outside")
        }));
    }

    #[test]
    fn unused_exceptions_are_reported() {
        let program = compile(POLICIES);
        let docs = [sg("sg-3", "10.0.0.0/8", "prod")].join("\n");
        let (inv, _) = Inventory::read_str(&program.schemas, "inv", &docs);
        let report = evaluate(
            &program,
            &inv,
            &EvalOptions {
                now: NOW,
                ..Default::default()
            },
        );
        let msgs: Vec<&str> = report.warnings.iter().map(|w| w.message.as_str()).collect();
        assert_eq!(msgs.len(), 3, "{msgs:?}");
        assert_eq!(
            msgs[0],
            "exception `CHG-1` exempts nothing (not in the inventory: sg-2, sg-404)"
        );
        assert!(msgs[2].contains("`sandbox` exempts nothing (no failing resource matches it)"));
        assert_eq!(report.summary.compliance, 100);
    }

    #[test]
    fn results_are_ordered_by_rule_then_inventory() {
        let program = compile(POLICIES);
        let mut docs = Vec::new();
        for i in 0..1000 {
            docs.push(sg(
                &format!("sg-x{i}"),
                if i % 3 == 0 {
                    "0.0.0.0/0"
                } else {
                    "10.0.0.0/8"
                },
                "dev",
            ));
            docs.push(vol(&format!("vol-x{i}"), 50, "prod"));
        }
        let (inv, _) = Inventory::read_str(&program.schemas, "inv", &docs.join("\n"));
        let report = evaluate(
            &program,
            &inv,
            &EvalOptions {
                now: NOW,
                ..Default::default()
            },
        );
        let keys: Vec<(usize, usize)> = report
            .results
            .iter()
            .map(|r| (r.rule, r.resource))
            .collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
        assert_eq!(report.results.len(), 2000);
        assert_eq!(report.summary.policies[0].counts.failed, 334);
    }
}
