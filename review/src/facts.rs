//! What one side of a review declares, read off its compiled program:
//! policies with their metadata, rules with structural fingerprints of
//! their conditions, auto-fix bindings, exceptions, asset groups and tests,
//! each with the file and line that declares it.
//!
//! A fingerprint hashes the typed IR, not the text: formatting, comments
//! and local names do not change it, while a change in a `fn` the rule
//! calls (user `fn`s are inlined) does. Fingerprints are compared within
//! one process only, so `DefaultHasher`'s fixed keys are enough.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

use pac_compiler::Program;
use pac_compiler::ir::{Expr, ExprKind, MessagePart, Severity};
use pac_compiler::render::Renderer;
use serde::Serialize;

/// Where something is declared: a path from the repository root and a
/// 1-based line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Location {
    pub file: String,
    pub line: usize,
}

#[derive(Clone, Debug)]
pub struct PolicyFacts {
    pub name: String,
    pub title: String,
    pub description: Option<String>,
    pub severity: Severity,
    pub category: String,
    pub tags: Vec<String>,
    pub remediation: Option<String>,
    /// Indices into [`Facts::rules`] (= `Program::rules`).
    pub rules: Vec<usize>,
    pub at: Location,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AutofixFacts {
    /// `revoke_world_ingress(ports: [22]) after 1d notify …`, as written.
    pub text: String,
    pub action: String,
    pub fingerprint: u64,
}

#[derive(Clone, Debug)]
pub struct RuleFacts {
    pub id: String,
    /// Index into [`Facts::policies`].
    pub policy: usize,
    pub resource_type: String,
    /// The scope group's name and the fingerprint of its definition.
    pub scope: Option<(String, u64)>,
    /// The condition with the `let`s it reads.
    pub condition: u64,
    /// The `violation when` expression as written, spaces collapsed.
    pub condition_text: String,
    pub message: u64,
    pub autofix: Option<AutofixFacts>,
    pub at: Location,
}

#[derive(Clone, Debug)]
pub struct ExceptionFacts {
    pub name: String,
    pub sticky: bool,
    /// Ids of the rules it exempts, sorted.
    pub rules: Vec<String>,
    pub resources: Vec<String>,
    pub condition: u64,
    pub condition_text: Option<String>,
    /// Unix seconds; `None` when it has none.
    pub expires: Option<i64>,
    pub reason: String,
    pub at: Location,
}

#[derive(Clone, Debug)]
pub struct GroupFacts {
    pub name: String,
    pub fingerprint: u64,
    pub at: Location,
}

#[derive(Clone, Debug)]
pub struct TestFacts {
    pub name: String,
    pub at: Location,
}

/// Everything one side declares, in program order.
#[derive(Clone, Debug, Default)]
pub struct Facts {
    pub policies: Vec<PolicyFacts>,
    pub rules: Vec<RuleFacts>,
    pub exceptions: Vec<ExceptionFacts>,
    pub groups: Vec<GroupFacts>,
    pub tests: Vec<TestFacts>,
}

/// At most this many characters of source text are kept for display.
const TEXT_LIMIT: usize = 400;

/// Source text with runs of white space collapsed, cut at [`TEXT_LIMIT`].
pub fn collapse(text: &str) -> String {
    let mut out = String::new();
    for word in text.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
        if out.chars().count() > TEXT_LIMIT {
            let cut: String = out.chars().take(TEXT_LIMIT).collect();
            return format!("{cut}…");
        }
    }
    out
}

fn hash_node(x: &Expr, h: &mut DefaultHasher) {
    use ExprKind::*;
    match &x.kind {
        Const(v) => (0u8, format!("{v:?}")).hash(h),
        Local(s) => (1u8, s).hash(h),
        Field(_, i) => (2u8, i).hash(h),
        OptField(_, i) => (3u8, i).hash(h),
        Index(..) => 4u8.hash(h),
        Not(_) => 5u8.hash(h),
        Neg(_) => 6u8.hash(h),
        And(..) => 7u8.hash(h),
        Or(..) => 8u8.hash(h),
        Cmp(op, ..) => (9u8, op).hash(h),
        Arith(op, ..) => (10u8, op).hash(h),
        In(..) => 11u8.hash(h),
        Coalesce(..) => 12u8.hash(h),
        Has(_) => 13u8.hash(h),
        If(..) => 14u8.hash(h),
        Let(s, ..) => (15u8, s).hash(h),
        Quant { kind, slot, .. } => (16u8, kind, slot).hash(h),
        QuantType {
            kind,
            slot,
            rtype,
            probe,
            ..
        } => (17u8, kind, slot, rtype.0, probe.as_ref().map(|p| p.field)).hash(h),
        Call { builtin, sig, .. } => (18u8, builtin.name, sig).hash(h),
        List(_) => 19u8.hash(h),
        Now => 20u8.hash(h),
    }
}

/// Adds the structure of `e` to `h`: every node's kind and data with its
/// number of children, parents first (which determines the tree), without
/// recursion.
pub fn hash_expr(e: &Expr, h: &mut DefaultHasher) {
    let mut stack = vec![e];
    while let Some(x) = stack.pop() {
        hash_node(x, h);
        let children = x.children();
        children.len().hash(h);
        stack.extend(children.into_iter().rev());
    }
}

fn fingerprint(f: impl FnOnce(&mut DefaultHasher)) -> u64 {
    let mut h = DefaultHasher::new();
    f(&mut h);
    h.finish()
}

/// The innermost expression under the `let`s folded into a condition: the
/// `violation when` expression itself.
fn violation_expr(e: &Expr) -> &Expr {
    let mut e = e;
    while let ExprKind::Let(_, _, body) = &e.kind {
        e = body;
    }
    e
}

impl Facts {
    /// Reads the facts of `program` (its user files, not the stdlib's).
    pub fn of(program: &Program) -> Facts {
        let mut lines = Renderer::new(&program.files);
        let mut at = |file: u32, start: usize| Location {
            file: program
                .files
                .get(file as usize)
                .map(|f| f.path.clone())
                .unwrap_or_default(),
            line: lines.line_col(file, start).0,
        };
        let groups: Vec<GroupFacts> = program
            .groups
            .iter()
            .map(|g| GroupFacts {
                name: g.name.clone(),
                fingerprint: fingerprint(|h| {
                    for m in &g.members {
                        m.resource.0.hash(h);
                        match &m.cond {
                            Some(c) => hash_expr(c, h),
                            None => 0u8.hash(h),
                        }
                    }
                }),
                at: at(g.file, g.span.start),
            })
            .collect();
        let policies = program
            .policies
            .iter()
            .map(|p| PolicyFacts {
                name: p.name.clone(),
                title: p.title.clone(),
                description: p.description.clone(),
                severity: p.severity,
                category: p.category.clone(),
                tags: p.tags.clone(),
                remediation: p.remediation.clone(),
                rules: p.rules.clone(),
                at: at(p.file, p.span.start),
            })
            .collect();
        let rules = program
            .rules
            .iter()
            .map(|r| {
                let v = violation_expr(&r.cond);
                RuleFacts {
                    id: r.id.clone(),
                    policy: r.policy,
                    resource_type: r.resource_type.clone(),
                    scope: r
                        .scope
                        .and_then(|g| groups.get(g).map(|g| (g.name.clone(), g.fingerprint))),
                    condition: fingerprint(|h| hash_expr(&r.cond, h)),
                    condition_text: collapse(program.snippet(v.file, v.span)),
                    message: fingerprint(|h| {
                        for (slot, e) in &r.message_lets {
                            slot.hash(h);
                            hash_expr(e, h);
                        }
                        for part in &r.message {
                            match part {
                                MessagePart::Text(t) => (0u8, t).hash(h),
                                MessagePart::Expr(e) => {
                                    1u8.hash(h);
                                    hash_expr(e, h);
                                }
                            }
                        }
                    }),
                    autofix: r.autofix.as_ref().map(|a| AutofixFacts {
                        text: collapse(program.snippet(r.file, a.span)),
                        action: a.action.clone(),
                        fingerprint: fingerprint(|h| {
                            a.action.hash(h);
                            for (k, v) in &a.args {
                                (k, format!("{v:?}")).hash(h);
                            }
                            a.after.hash(h);
                            if let Some(n) = &a.notify {
                                hash_expr(n, h);
                            }
                        }),
                    }),
                    at: at(r.file, r.span.start),
                }
            })
            .collect();
        let exceptions = program
            .exceptions
            .iter()
            .map(|x| {
                let mut rules: Vec<String> = x
                    .rules
                    .iter()
                    .filter_map(|&r| program.rules.get(r).map(|r| r.id.clone()))
                    .collect();
                rules.sort();
                ExceptionFacts {
                    name: x.name.clone(),
                    sticky: x.sticky,
                    rules,
                    resources: x.resources.clone(),
                    condition: fingerprint(|h| {
                        for (t, c) in &x.conds {
                            t.0.hash(h);
                            hash_expr(c, h);
                        }
                    }),
                    condition_text: x
                        .conds
                        .first()
                        .map(|(_, c)| collapse(program.snippet(c.file, c.span))),
                    expires: (x.expires != i64::MIN).then_some(x.expires),
                    reason: x.reason.clone(),
                    at: at(x.file, x.span.start),
                }
            })
            .collect();
        let tests = program
            .tests
            .iter()
            .map(|t| TestFacts {
                name: t.name.clone(),
                at: at(t.file, t.span.start),
            })
            .collect();
        Facts {
            policies,
            rules,
            exceptions,
            groups,
            tests,
        }
    }
}

/// What the tests of this crate compile: one file, no errors.
#[cfg(test)]
pub(crate) mod test_support {
    use super::Facts;

    /// A policy on volumes, the start of several tests' files.
    pub const UNENCRYPTED: &str = r#"
policy unencrypted_volumes {
  title "Volumes are encrypted"
  severity high
  category security
  rule on aws.ec2.volume {
    violation when not (encrypted ?? false)
    message "{volume_id} is not encrypted"
  }
}
"#;

    pub fn facts(src: &str) -> Facts {
        let c = pac_compiler::compile_sources(vec![("p.pac".into(), src.into())]);
        let errors: Vec<_> = c.diagnostics.iter().filter(|d| d.is_error()).collect();
        assert!(errors.is_empty(), "{errors:?}");
        Facts::of(&c.program)
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::{UNENCRYPTED, facts};
    use super::*;

    #[test]
    fn fingerprints_ignore_layout_and_comments_but_see_the_condition() {
        let a = facts(UNENCRYPTED);
        let b = facts(&UNENCRYPTED.replace(
            "violation when not (encrypted ?? false)",
            "// a comment\n    violation when\n      not   ( encrypted  ??  false )",
        ));
        let c = facts(&UNENCRYPTED.replace("when not (encrypted", "when (encrypted"));
        assert_eq!(a.rules[0].condition, b.rules[0].condition);
        assert_ne!(a.rules[0].condition, c.rules[0].condition);
        assert_eq!(a.rules[0].message, c.rules[0].message);
        assert_eq!(a.rules[0].condition_text, "not (encrypted ?? false)");
        assert_eq!(a.rules[0].id, "unencrypted_volumes");
        assert_eq!(
            a.policies[0].at,
            Location {
                file: "p.pac".into(),
                line: 2
            }
        );
        assert_eq!(a.rules[0].at.line, 6);
    }

    #[test]
    fn collapse_joins_white_space_and_cuts_long_text() {
        assert_eq!(collapse("a\n   b\tc "), "a b c");
        let long = "x ".repeat(1000);
        assert!(collapse(&long).ends_with('…'));
        assert!(collapse(&long).chars().count() <= TEXT_LIMIT + 1);
    }
}
