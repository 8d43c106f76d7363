//! Stage 3, judge the read: may this read change its source's state at
//! all? A failed read (nothing usable came back) or a suspect one (it
//! would remove more than the allowed share) changes nothing of its source
//! (docs/server.md, "Failed and suspect reads"). Pure.

use std::collections::HashSet;

use pac_connectors::Scope;

use super::{in_scope, key_parts};
use crate::store::ReadStatus;

/// What a read of a source looks like next to what the store knows of it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct ReadFacts {
    /// Documents collected (accepted or rejected by the schemas).
    pub documents: usize,
    /// Of them, accepted.
    pub accepted: usize,
    /// Current resources of the source in the store.
    pub known: usize,
    /// Of them, not read again and not in a failed scope: what the read
    /// would remove.
    pub would_remove: usize,
    /// Some scope failed.
    pub partial: bool,
    /// The failed scopes cover every resource the source has and read:
    /// nothing of it was really read.
    pub whole_source_failed: bool,
}

impl ReadFacts {
    pub fn new<'a>(
        own_known: impl Iterator<Item = &'a str>,
        fresh: &HashSet<String>,
        failed: &[Scope],
        documents: usize,
        accepted: usize,
    ) -> ReadFacts {
        let failed_at = |key: &str| {
            let (t, a, r) = key_parts(key);
            failed.iter().any(|s| in_scope(s, t, a, r))
        };
        let (mut known, mut would_remove, mut all_known_failed) = (0, 0, true);
        for k in own_known {
            known += 1;
            let in_failed = !failed.is_empty() && failed_at(k);
            all_known_failed &= in_failed;
            if !in_failed && !fresh.contains(k) {
                would_remove += 1;
            }
        }
        let whole_source_failed = failed.iter().any(|s| *s == Scope::default())
            || (!failed.is_empty() && all_known_failed && fresh.iter().all(|k| failed_at(k)));
        ReadFacts {
            documents,
            accepted,
            known,
            would_remove,
            partial: !failed.is_empty(),
            whole_source_failed,
        }
    }
}

/// How much of a source one read may remove.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RemovalLimit {
    /// The share of the known resources, in percent (`max_removed_percent`).
    pub max_percent: u64,
    /// A confirmed suspect read held back this many removals: a read that
    /// removes no more is accepted.
    pub confirmed: Option<usize>,
}

/// The judgement of a read (docs/server.md, "Failed and suspect reads").
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ReadVerdict {
    /// Everything was read: changes and removals apply.
    Complete,
    /// Some scopes failed: their resources are unknown, the rest applies.
    Partial,
    /// Nothing usable was read (why): nothing of the source changes and
    /// its resources are unknown.
    Failed(String),
    /// The read would remove more than the allowed share: nothing of the
    /// source changes until the scan is confirmed.
    Suspect {
        would_remove: usize,
        known: usize,
        max_percent: u64,
    },
}

/// The judge stage: whether a read may change its source's state. Pure.
pub(crate) fn judge_read(f: &ReadFacts, limit: &RemovalLimit) -> ReadVerdict {
    if f.whole_source_failed {
        return ReadVerdict::Failed("the source could not be read (see source_errors)".to_string());
    }
    if f.documents > 0 && f.accepted == 0 {
        return ReadVerdict::Failed(format!(
            "all {} document(s) it returned were rejected (see ingest_errors)",
            f.documents
        ));
    }
    let too_many = (f.would_remove as u128) * 100 > u128::from(limit.max_percent) * f.known as u128;
    let confirmed = limit.confirmed.is_some_and(|n| f.would_remove <= n);
    if f.would_remove > 0 && too_many && !confirmed {
        return ReadVerdict::Suspect {
            would_remove: f.would_remove,
            known: f.known,
            max_percent: limit.max_percent,
        };
    }
    if f.partial {
        ReadVerdict::Partial
    } else {
        ReadVerdict::Complete
    }
}

impl ReadVerdict {
    /// Nothing of the read applies.
    pub fn holds(&self) -> bool {
        matches!(self, ReadVerdict::Failed(_) | ReadVerdict::Suspect { .. })
    }

    /// The scan record's status.
    pub fn status(&self) -> ReadStatus {
        match self {
            ReadVerdict::Complete => ReadStatus::Completed,
            ReadVerdict::Partial => ReadStatus::Partial,
            ReadVerdict::Failed(_) => ReadStatus::Failed,
            ReadVerdict::Suspect { .. } => ReadStatus::Suspect,
        }
    }

    /// What the scan record says about a held read, and what to do.
    pub fn explain(&self, source: &str, scan_id: i64) -> String {
        match self {
            ReadVerdict::Complete | ReadVerdict::Partial => String::new(),
            ReadVerdict::Failed(why) => format!(
                "the read of source `{source}` failed: {why}; nothing of it was removed, changed or closed, and its resources count as unknown until a read succeeds"
            ),
            ReadVerdict::Suspect {
                would_remove,
                known,
                max_percent,
            } => format!(
                "held as suspect: this read of source `{source}` would remove {would_remove} of its {known} resources ({}%), more than the {max_percent}% allowed (`max_removed_percent`); nothing of it was removed, changed or closed, and its resources count as unknown. If they are really gone, confirm with POST /api/v1/scans/{scan_id}/confirm (the next read may then remove up to {would_remove}); if not, fix the source",
                would_remove * 100 / (*known).max(1)
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::resource_key;
    use super::*;

    fn keys(ids: &[&str]) -> Vec<String> {
        ids.iter()
            .map(|i| resource_key("t.x", "1", "r", i))
            .collect()
    }

    fn facts(known: &[&str], read: &[&str], failed: &[Scope], documents: usize) -> ReadFacts {
        let known = keys(known);
        let fresh: HashSet<String> = keys(read).into_iter().collect();
        ReadFacts::new(
            known.iter().map(String::as_str),
            &fresh,
            failed,
            documents,
            fresh.len(),
        )
    }

    const LIMIT: RemovalLimit = RemovalLimit {
        max_percent: 20,
        confirmed: None,
    };

    #[test]
    fn a_read_that_keeps_most_resources_is_complete() {
        let ten = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];
        // 2 of 10 removed: exactly the 20% allowed.
        let f = facts(&ten, &ten[2..], &[], 8);
        assert_eq!((f.known, f.would_remove), (10, 2));
        assert_eq!(judge_read(&f, &LIMIT), ReadVerdict::Complete);
        // A first read of a source the store does not know yet.
        assert_eq!(
            judge_read(&facts(&[], &["a"], &[], 1), &LIMIT),
            ReadVerdict::Complete
        );
        // Nothing known and nothing read (`[]`) is no loss.
        assert_eq!(
            judge_read(&facts(&[], &[], &[], 0), &LIMIT),
            ReadVerdict::Complete
        );
    }

    #[test]
    fn a_read_removing_more_than_the_share_is_suspect_until_confirmed() {
        let four = ["a", "b", "c", "d"];
        let f = facts(&four, &["a", "b"], &[], 2);
        let held = judge_read(&f, &LIMIT);
        assert_eq!(
            held,
            ReadVerdict::Suspect {
                would_remove: 2,
                known: 4,
                max_percent: 20
            }
        );
        assert!(held.holds());
        assert_eq!(held.status(), ReadStatus::Suspect);
        let why = held.explain("demo", 7);
        assert!(
            why.contains("2 of its 4") && why.contains("50%") && why.contains("/scans/7/confirm"),
            "{why}"
        );
        // A confirmation of 2 removals accepts 2, not 3.
        let ok = RemovalLimit {
            confirmed: Some(2),
            ..LIMIT
        };
        assert_eq!(judge_read(&f, &ok), ReadVerdict::Complete);
        let worse = facts(&four, &["a"], &[], 1);
        assert!(judge_read(&worse, &ok).holds());
        // A source allowed 100% never holds; 0% holds any removal.
        let all = RemovalLimit {
            max_percent: 100,
            confirmed: None,
        };
        assert_eq!(
            judge_read(&facts(&four, &[], &[], 0), &all),
            ReadVerdict::Complete
        );
        let none = RemovalLimit {
            max_percent: 0,
            confirmed: None,
        };
        assert!(judge_read(&facts(&four, &["a", "b", "c"], &[], 3), &none).holds());
    }

    #[test]
    fn an_empty_read_of_a_known_source_is_held() {
        let f = facts(&["a", "b"], &[], &[], 0);
        assert!(matches!(
            judge_read(&f, &LIMIT),
            ReadVerdict::Suspect {
                would_remove: 2,
                ..
            }
        ));
    }

    #[test]
    fn a_read_whose_every_document_was_rejected_failed() {
        let f = facts(&["a", "b"], &[], &[], 5);
        let v = judge_read(&f, &LIMIT);
        assert!(
            matches!(&v, ReadVerdict::Failed(why) if why.contains("all 5")),
            "{v:?}"
        );
        assert_eq!(v.status(), ReadStatus::Failed);
        // Even with a 100% allowance: there is nothing to accept.
        let all = RemovalLimit {
            max_percent: 100,
            confirmed: Some(2),
        };
        assert!(judge_read(&f, &all).holds());
    }

    #[test]
    fn a_failure_covering_the_whole_source_fails_the_read() {
        // An unscoped error (a missing file, a command exiting non-zero).
        let f = facts(&["a", "b"], &["a"], &[Scope::default()], 1);
        assert!(f.whole_source_failed);
        assert!(matches!(judge_read(&f, &LIMIT), ReadVerdict::Failed(_)));
        // A typed source's error covers all it has and all it read.
        let typed = Scope {
            resource_type: Some("t.x".into()),
            ..Scope::default()
        };
        let f = facts(&["a", "b"], &["a"], std::slice::from_ref(&typed), 1);
        assert!(f.whole_source_failed);
        assert_eq!(f.would_remove, 0, "nothing in a failed scope is removed");
        // One account of two failed: partial, the other account applies.
        let acct = Scope {
            account: Some("2".into()),
            ..Scope::default()
        };
        let mut known = keys(&["a", "b"]);
        known.push(resource_key("t.x", "2", "r", "c"));
        let fresh: HashSet<String> = keys(&["a"]).into_iter().collect();
        let f = ReadFacts::new(
            known.iter().map(String::as_str),
            &fresh,
            std::slice::from_ref(&acct),
            1,
            1,
        );
        assert!(!f.whole_source_failed);
        assert_eq!((f.known, f.would_remove), (3, 1));
        // 1 of 3 is more than 20%: held even though a scope failed.
        assert!(judge_read(&f, &LIMIT).holds());
        let lax = RemovalLimit {
            max_percent: 50,
            confirmed: None,
        };
        assert_eq!(judge_read(&f, &lax), ReadVerdict::Partial);
    }
}
