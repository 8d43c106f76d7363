//! Stage 7, schedule fixes: an auto-fix job for each issue that became
//! open in this scan and whose rule has an `autofix`, due after its grace
//! period, with the recipients its `notify` expression names. An issue
//! that stayed open (also across a failed or held read of its source) is
//! not in the input, so its grace period is never restarted. No I/O.

use pac_compiler::Program;
use pac_runtime::{Env, Frame, Inventory};
use pac_stdlib::Value;

use super::reconcile::Opened;
use crate::store::NewJob;

pub(super) struct Input<'a> {
    pub program: &'a Program,
    /// Over `inv` (for the `notify` expressions).
    pub env: &'a Env<'a>,
    pub inv: &'a Inventory,
    pub keys: &'a [String],
    /// The issues that became open, from the reconcile stage.
    pub opened: &'a [Opened],
    /// The id of the first new job.
    pub next_job_id: i64,
    /// The scan's time: the grace period runs from it.
    pub at: i64,
}

/// The schedule stage.
pub(super) fn fixes(input: Input<'_>) -> Vec<NewJob> {
    let Input {
        program: p,
        env,
        inv,
        keys,
        opened,
        next_job_id,
        at,
    } = input;
    let mut jobs = Vec::new();
    let mut next_job = next_job_id;
    for o in opened {
        let rule = &p.rules[o.rule];
        let Some(fix) = &rule.autofix else { continue };
        let resource = &inv.resources[o.resource];
        let mut notify = Vec::new();
        if let Some(expr) = &fix.notify {
            let mut frame = Frame::new(rule.slots, resource.value.clone());
            match pac_runtime::eval(expr, &mut frame, env) {
                Ok(Value::Str(s)) => notify.push(s.to_string()),
                Ok(Value::List(xs)) => notify.extend(xs.iter().filter_map(|x| match x {
                    Value::Str(s) => Some(s.to_string()),
                    _ => None,
                })),
                _ => {}
            }
        }
        let (args, error) = match crate::autofix::fix_args_on(fix, rule.slots, &resource.value, env)
        {
            Ok(a) => (a, None),
            Err(e) => (crate::autofix::fix_args(&fix.args), Some(e)),
        };
        let args: serde_json::Map<String, serde_json::Value> = args.into_iter().collect();
        jobs.push(NewJob {
            id: next_job,
            issue_id: o.issue,
            rule: rule.id.clone(),
            policy: p.policy_of(o.rule).name.clone(),
            rkey: keys[o.resource].clone(),
            action: fix.action.clone(),
            args: serde_json::Value::Object(args),
            notify,
            due_at: at + fix.after,
            error,
        });
        next_job += 1;
    }
    jobs
}

#[cfg(test)]
mod tests {
    use super::super::fixture::{Fixture, NOW, doc, issue, key};
    use super::super::reconcile::{self, IssuesInput};
    use super::*;
    use crate::store::ScanBase;

    #[test]
    fn a_fix_is_due_after_its_grace_period_with_its_recipients() {
        let f = Fixture::new();
        let e = f.estate(
            &[doc("b0", "x", None), doc("b1", "", Some("ann@example.com"))],
            &[],
        );
        let env = Env::for_program(f.loaded.program(), &e.inv, NOW);
        let opened = [Opened {
            issue: 7,
            rule: 0,
            resource: 1,
        }];
        let jobs = fixes(Input {
            program: f.loaded.program(),
            env: &env,
            inv: &e.inv,
            keys: &e.keys,
            opened: &opened,
            next_job_id: 40,
            at: NOW,
        });
        assert_eq!(jobs.len(), 1);
        let j = &jobs[0];
        assert_eq!((j.id, j.issue_id), (40, 7));
        assert_eq!(j.rkey, key("b1"));
        assert_eq!(j.action, "ping_owner");
        assert_eq!(j.args, serde_json::json!({"note": "unnamed"}));
        assert_eq!(j.notify, vec!["ann@example.com".to_string()]);
        assert_eq!(j.due_at, NOW + 3600, "`after 1h`");
        assert_eq!(j.policy, "named");
    }

    #[test]
    fn the_notify_expression_falls_back_and_ids_follow_each_other() {
        let f = Fixture::new();
        let e = f.estate(&[doc("b1", "", None), doc("b2", "", None)], &[]);
        let env = Env::for_program(f.loaded.program(), &e.inv, NOW);
        let opened = [
            Opened {
                issue: 1,
                rule: 0,
                resource: 0,
            },
            Opened {
                issue: 2,
                rule: 0,
                resource: 1,
            },
        ];
        let jobs = fixes(Input {
            program: f.loaded.program(),
            env: &env,
            inv: &e.inv,
            keys: &e.keys,
            opened: &opened,
            next_job_id: 5,
            at: NOW,
        });
        let ids: Vec<(i64, i64)> = jobs.iter().map(|j| (j.id, j.issue_id)).collect();
        assert_eq!(ids, vec![(5, 1), (6, 2)]);
        assert_eq!(jobs[0].notify, vec!["ops@example.com".to_string()]);
    }

    /// A source restored after a failed read: its issue stayed open, so
    /// reconciling the restored read opens nothing and schedules nothing —
    /// the waiting job keeps its first due date.
    #[test]
    fn grace_periods_are_not_restarted_when_a_source_comes_back() {
        let f = Fixture::new();
        let mut st = issue(7, "open", None);
        st.message = "b1 has no name".into();
        let mut base = ScanBase {
            next_issue_id: 8,
            next_job_id: 71,
            ..Default::default()
        };
        base.issues.insert(("named".into(), key("b1")), st);
        base.waiting_jobs.insert(7, 70);
        let e = f.estate(&[doc("b1", "", None)], &[]);
        let report = f.report(&e.inv);
        let env = Env::for_program(f.loaded.program(), &e.inv, NOW + 86_400);
        let c = reconcile::issues(IssuesInput {
            program: f.loaded.program(),
            env: &env,
            base: &base,
            estate: &e,
            report: &report,
            index: &reconcile::KeyIndex::new(&e.keys),
        });
        assert!(c.opened.is_empty() && c.cancel_jobs.is_empty());
        let jobs = fixes(Input {
            program: f.loaded.program(),
            env: &env,
            inv: &e.inv,
            keys: &e.keys,
            opened: &c.opened,
            next_job_id: base.next_job_id,
            at: NOW + 86_400,
        });
        assert!(jobs.is_empty());
    }
}
