//! The index end to end: documents in, queries out, on disk and in memory.

use pac_search::{Change, Kind, Request, SearchDoc, SearchIndex, VISIBLE_TO_ALL, WriterOptions};
use serde_json::json;

fn resource(
    id: &str,
    rtype: &str,
    region: &str,
    groups: &[&str],
    doc: serde_json::Value,
) -> SearchDoc {
    let mut d = SearchDoc::new(Kind::Resource, format!("r:{id}"), id);
    d.title = id.to_string();
    d.link = format!("/assets/{id}");
    d.rtype = Some(rtype.into());
    d.account = Some("111122223333".into());
    d.region = Some(region.into());
    d.status = Some("passing".into());
    d.groups = groups.iter().map(|g| g.to_string()).collect();
    d.add_attributes(&doc);
    d
}

fn estate() -> Vec<SearchDoc> {
    let mut web = resource(
        "i-0web",
        "aws.ec2.instance",
        "eu-west-1",
        &["prod"],
        json!({"state": {"name": "running"}, "tags": {"Owner": "alice", "Name": "web server"},
               "launch_time": "2026-03-01T10:00:00Z", "cpu": 4}),
    );
    web.status = Some("failing".into());
    web.severity = Some("critical".into());
    web.policies = vec![
        "sg_ssh_open_to_world".into(),
        "sg_ssh_open_to_world.ingress".into(),
    ];
    let db = resource(
        "i-0db",
        "aws.ec2.instance",
        "us-east-1",
        &["dev"],
        json!({"state": {"name": "stopped"}, "tags": {"Owner": "bob"},
               "launch_time": "2025-06-01T10:00:00Z", "cpu": 16}),
    );
    let vol = resource(
        "vol-1",
        "aws.ec2.volume",
        "eu-west-1",
        &[],
        json!({"size": 500, "encrypted": false, "volume_type": "gp2"}),
    );
    let mut policy = SearchDoc::new(
        Kind::Policy,
        "p:sg_ssh_open_to_world",
        "sg_ssh_open_to_world",
    );
    policy.title = "Security groups must not open SSH to the world".into();
    policy.text = vec!["Remediation: restrict port 22 to known addresses.".into()];
    policy.severity = Some("critical".into());
    policy.groups = vec![VISIBLE_TO_ALL.into()];
    vec![web, db, vol, policy]
}

fn index() -> SearchIndex {
    let i = SearchIndex::in_memory(WriterOptions::default()).unwrap();
    i.apply(Change {
        upserts: estate(),
        state: Some("scan 1".into()),
        ..Change::default()
    })
    .unwrap();
    i
}

fn ids(i: &SearchIndex, q: &str) -> Vec<String> {
    ids_in(i, q, None)
}

fn ids_in(i: &SearchIndex, q: &str, scope: Option<&[String]>) -> Vec<String> {
    let a = i
        .search(
            &Request {
                query: q.into(),
                limit: 50,
                ..Request::default()
            },
            scope,
        )
        .unwrap();
    let mut v: Vec<String> = a.hits.into_iter().map(|h| h.id).collect();
    v.sort();
    v
}

#[test]
fn free_text_with_typos_prefixes_and_ids() {
    let i = index();
    assert_eq!(ids(&i, "alice"), ["i-0web"]);
    assert_eq!(ids(&i, "alcie"), ["i-0web"], "a transposition is forgiven");
    assert_eq!(
        ids(&i, "runnin"),
        ["i-0web"],
        "the last word may be a prefix"
    );
    assert_eq!(ids(&i, "web server"), ["i-0web"]);
    assert_eq!(ids(&i, "i-0db"), ["i-0db"]);
    assert_eq!(ids(&i, "SSH world"), ["sg_ssh_open_to_world"]);
    assert_eq!(ids(&i, "remediation restrict"), ["sg_ssh_open_to_world"]);
    assert!(ids(&i, "nothingmatcheshere").is_empty());
    // The exact id ranks first among what the words match.
    let a = i
        .search(
            &Request {
                query: "i-0web".into(),
                limit: 5,
                ..Request::default()
            },
            None,
        )
        .unwrap();
    assert_eq!(a.hits[0].id, "i-0web");
}

#[test]
fn fields_tags_attributes_and_ranges() {
    let i = index();
    assert_eq!(ids(&i, "type:aws.ec2.instance"), ["i-0db", "i-0web"]);
    assert_eq!(ids(&i, "type:AWS.EC2.*"), ["i-0db", "i-0web", "vol-1"]);
    assert_eq!(ids(&i, "tag:Owner=alice"), ["i-0web"]);
    assert_eq!(ids(&i, "tag:owner"), ["i-0db", "i-0web"]);
    assert_eq!(ids(&i, "tag:owner=b*"), ["i-0db"]);
    assert_eq!(ids(&i, "state.name:running"), ["i-0web"]);
    assert_eq!(ids(&i, "encrypted:false"), ["vol-1"]);
    assert_eq!(ids(&i, "size:>100"), ["vol-1"]);
    assert_eq!(ids(&i, "size:500.0"), ["vol-1"]);
    assert!(ids(&i, "size:<100").is_empty());
    assert_eq!(ids(&i, "cpu:4..8"), ["i-0web"]);
    assert_eq!(ids(&i, "cpu:>=4"), ["i-0db", "i-0web"]);
    assert_eq!(ids(&i, "launch_time:>=2026-01-01"), ["i-0web"]);
    assert_eq!(ids(&i, "launch_time:<2026-01-01"), ["i-0db"]);
    assert_eq!(ids(&i, "region:eu-west-1 -type:aws.ec2.volume"), ["i-0web"]);
    assert_eq!(ids(&i, "status:failing"), ["i-0web"]);
    assert_eq!(
        ids(&i, "policy:sg_ssh_open_to_world kind:resource"),
        ["i-0web"]
    );
    assert_eq!(
        ids(&i, "severity:critical"),
        ["i-0web", "sg_ssh_open_to_world"]
    );
    assert_eq!(ids(&i, "kind:policy"), ["sg_ssh_open_to_world"]);
    assert_eq!(ids(&i, "-kind:resource"), ["sg_ssh_open_to_world"]);
    assert!(
        i.search(
            &Request {
                query: "severity:>1".into(),
                limit: 5,
                ..Request::default()
            },
            None
        )
        .is_err()
    );
}

#[test]
fn facets_count_every_result_and_pages_cut_the_hits() {
    let i = index();
    let a = i
        .search(
            &Request {
                query: "type:aws.ec2.*".into(),
                limit: 1,
                offset: 1,
                ..Request::default()
            },
            None,
        )
        .unwrap();
    assert_eq!(a.total, 3);
    assert_eq!(a.hits.len(), 1);
    let count = |f: &str, v: &str| a.facets[f].iter().find(|x| x.value == v).map(|x| x.count);
    assert_eq!(count("type", "aws.ec2.instance"), Some(2));
    assert_eq!(count("type", "aws.ec2.volume"), Some(1));
    assert_eq!(count("region", "eu-west-1"), Some(2));
    assert_eq!(count("status", "failing"), Some(1));
    assert_eq!(count("kind", "policy"), None);
    assert_eq!(
        a.facets["type"][0].value, "aws.ec2.instance",
        "most frequent first"
    );
}

#[test]
fn a_scope_sees_its_groups_and_what_is_visible_to_all() {
    let i = index();
    let prod = vec!["prod".to_string()];
    assert_eq!(
        ids_in(&i, "", Some(&prod)),
        ["i-0web", "sg_ssh_open_to_world"]
    );
    let none: Vec<String> = vec![];
    assert_eq!(ids_in(&i, "", Some(&none)), ["sg_ssh_open_to_world"]);
    assert_eq!(ids_in(&i, "bob", Some(&prod)), Vec::<String>::new());
    // Facet counts are counted within the scope.
    let a = i
        .search(
            &Request {
                query: "type:aws.ec2.*".into(),
                limit: 10,
                ..Request::default()
            },
            Some(&prod),
        )
        .unwrap();
    assert_eq!(a.total, 1);
    assert_eq!(
        a.facets["type"],
        vec![pac_search::FacetValue {
            value: "aws.ec2.instance".into(),
            count: 1
        }]
    );
    // Group names are case-sensitive: `Prod` is another group.
    assert_eq!(
        ids_in(&i, "", Some(&["Prod".to_string()])),
        ["sg_ssh_open_to_world"]
    );
    assert_eq!(ids(&i, "group:prod"), ["i-0web"]);
    assert!(ids(&i, "group:Prod").is_empty());
}

#[test]
fn highlights_mark_the_matched_words() {
    let i = index();
    let a = i
        .search(
            &Request {
                query: "alice".into(),
                limit: 5,
                ..Request::default()
            },
            None,
        )
        .unwrap();
    let parts = &a.hits[0].highlight;
    assert!(
        parts.iter().any(|p| p.matched && p.text == "alice"),
        "{parts:?}"
    );
    assert!(parts.iter().any(|p| !p.matched));
}

#[test]
fn updates_replace_and_remove_by_key_and_keep_the_state() {
    let i = index();
    let mut web = estate().remove(0);
    web.add_attributes(&json!({"extra": "marker"}));
    i.apply(Change {
        upserts: vec![web],
        deletes: vec!["r:vol-1".into()],
        state: Some("scan 2".into()),
        ..Change::default()
    })
    .unwrap();
    assert_eq!(ids(&i, "marker"), ["i-0web"]);
    assert_eq!(
        ids(&i, "type:aws.ec2.instance"),
        ["i-0db", "i-0web"],
        "replaced, not added"
    );
    assert!(ids(&i, "vol-1").is_empty());
    assert_eq!(i.state().unwrap().as_deref(), Some("scan 2"));
    i.apply(Change {
        clear_kinds: vec![Kind::Policy],
        ..Change::default()
    })
    .unwrap();
    assert!(ids(&i, "kind:policy").is_empty());
    assert_eq!(
        i.state().unwrap().as_deref(),
        Some("scan 2"),
        "kept when not given"
    );
    i.apply(Change {
        clear: true,
        ..Change::default()
    })
    .unwrap();
    assert!(i.is_empty());
}

#[test]
fn an_index_on_disk_reopens_with_its_documents_and_state() {
    let dir = tempfile::tempdir().unwrap();
    {
        let i = SearchIndex::open(dir.path(), WriterOptions::default()).unwrap();
        assert_eq!(i.state().unwrap(), None);
        i.apply(Change {
            upserts: estate(),
            state: Some("scan 7".into()),
            ..Change::default()
        })
        .unwrap();
    }
    let i = SearchIndex::open(dir.path(), WriterOptions::default()).unwrap();
    assert_eq!(i.state().unwrap().as_deref(), Some("scan 7"));
    assert_eq!(i.len(), 4);
    assert_eq!(ids(&i, "alice"), ["i-0web"]);
}

#[test]
fn a_directory_holding_something_else_becomes_an_empty_index() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("meta.json"), b"{ not an index").unwrap();
    let i = SearchIndex::open(dir.path(), WriterOptions::default()).unwrap();
    assert!(i.is_empty());
    assert_eq!(i.state().unwrap(), None, "the caller rebuilds it");
}

#[test]
fn hostile_queries_are_answered_or_refused_never_a_panic() {
    let i = index();
    for q in [
        "\"",
        "a:",
        ":::",
        "-",
        "*",
        "type:*",
        "tag:=",
        "tag:==x",
        "x:..",
        "x:..y",
        "x:>",
        "\u{10FFFF}:\u{10FFFF}*",
        "size:>1e400",
        "size:NaN..",
        "<script>",
        "' OR 1=1 --",
        "a\u{0}b",
        &"é".repeat(999),
    ] {
        let _ = i.search(
            &Request {
                query: q.to_string(),
                limit: 5,
                ..Request::default()
            },
            None,
        );
    }
}

#[test]
fn staged_parts_become_searchable_together_or_not_at_all() {
    let i = index();
    let mut web = estate().remove(0);
    web.add_attributes(&json!({"part": "one"}));
    i.stage(Change {
        upserts: vec![web],
        ..Change::default()
    })
    .unwrap();
    i.stage(Change {
        deletes: vec!["r:vol-1".into()],
        ..Change::default()
    })
    .unwrap();
    assert!(ids(&i, "part:one").is_empty(), "nothing before the commit");
    assert_eq!(ids(&i, "vol-1"), ["vol-1"]);
    i.rollback();
    i.commit(Some("scan 2")).unwrap();
    assert!(ids(&i, "part:one").is_empty(), "rolled back");
    assert_eq!(ids(&i, "vol-1"), ["vol-1"]);
    let mut web = estate().remove(0);
    web.add_attributes(&json!({"part": "two"}));
    i.stage(Change {
        upserts: vec![web],
        clear: false,
        ..Change::default()
    })
    .unwrap();
    i.stage(Change {
        deletes: vec!["r:vol-1".into()],
        ..Change::default()
    })
    .unwrap();
    i.commit(Some("scan 3")).unwrap();
    assert_eq!(ids(&i, "part:two"), ["i-0web"]);
    assert!(ids(&i, "vol-1").is_empty());
    assert_eq!(i.state().unwrap().as_deref(), Some("scan 3"));
}

#[test]
fn an_answer_is_reused_within_a_generation_and_never_outlives_a_commit() {
    let cached = index();
    let fresh = index();
    fresh.set_cache_capacity(0);
    let r = Request {
        query: "type:aws.ec2.instance".into(),
        limit: 10,
        ..Request::default()
    };
    let first = cached.search(&r, None).unwrap();
    let again = cached.search(&r, None).unwrap();
    assert_eq!(first.total, 2);
    assert_eq!(again.hits, first.hits);
    assert_eq!(again.facets, first.facets);
    assert_eq!(fresh.search(&r, None).unwrap().hits, first.hits);
    // Another scope is another answer.
    let dev = vec!["dev".to_string()];
    assert_eq!(cached.search(&r, Some(&dev)).unwrap().total, 1);
    // A commit makes a new generation: the same request sees the change.
    let mut web = estate().remove(0);
    web.rtype = Some("aws.ec2.volume".into());
    cached
        .apply(Change {
            upserts: vec![web],
            ..Change::default()
        })
        .unwrap();
    let after = cached.search(&r, None).unwrap();
    assert_eq!(after.total, 1);
    assert_eq!(after.hits[0].id, "i-0db");
}

/// Many segments (a commit each) with deleted documents: pages of a
/// filter-only query (index order, no scores) and of a free-text query
/// (by score) together hold every match once, and the facets sum to the
/// total, whatever the page size.
fn paged_estate(n: usize, commits: usize) -> SearchIndex {
    let i = SearchIndex::in_memory(WriterOptions::default()).unwrap();
    let per = n.div_ceil(commits.max(1));
    for part in 0..commits.max(1) {
        let docs: Vec<SearchDoc> = (part * per..((part + 1) * per).min(n))
            .map(|k| {
                let region = if k % 3 == 0 { "eu-west-1" } else { "us-east-1" };
                resource(
                    &format!("i-{k:04}"),
                    "aws.ec2.instance",
                    region,
                    &[],
                    json!({"tags": {"Team": "payments"}, "n": k}),
                )
            })
            .collect();
        i.apply(Change {
            upserts: docs,
            // Every seventh document of the earlier parts replaced: deletes
            // in old segments.
            deletes: (0..part * per)
                .step_by(7)
                .map(|k| format!("r:i-{k:04}"))
                .collect(),
            ..Change::default()
        })
        .unwrap();
    }
    i
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(24))]
    #[test]
    fn pages_hold_every_match_once(n in 1usize..120, commits in 1usize..5, page in 1usize..40) {
        let i = paged_estate(n, commits);
        i.set_cache_capacity(0);
        for q in ["type:aws.ec2.instance", "region:eu-west-1", "payments", "payments -region:eu-west-1"] {
            let first = i.search(&Request { query: q.into(), limit: page, ..Request::default() }, None).unwrap();
            let mut seen = Vec::new();
            let mut offset = 0;
            while offset < first.total as usize {
                let a = i.search(&Request { query: q.into(), limit: page, offset, ..Request::default() }, None).unwrap();
                proptest::prop_assert_eq!(a.total, first.total);
                proptest::prop_assert!(!a.hits.is_empty());
                seen.extend(a.hits.into_iter().map(|h| h.id));
                offset += page;
            }
            let count = seen.len();
            seen.sort();
            seen.dedup();
            proptest::prop_assert_eq!(seen.len(), count, "a document on two pages of `{}`", q);
            proptest::prop_assert_eq!(count as u64, first.total);
            let regions: u64 = first.facets["region"].iter().map(|v| v.count).sum();
            proptest::prop_assert_eq!(regions, first.total);
        }
    }
}

/// An answer carries the state of the commit its results come from, even
/// while commits land: the server reports it as the scan the results
/// reflect, and reading the latest state beside the search could pair new
/// results with an old scan (or the reverse).
#[test]
fn an_answer_names_the_commit_its_results_come_from() {
    let i = std::sync::Arc::new(SearchIndex::in_memory(WriterOptions::default()).unwrap());
    const COMMITS: usize = 40;
    let writer = {
        let i = i.clone();
        std::thread::spawn(move || {
            for n in 1..=COMMITS {
                let id = format!("i-{n}");
                i.apply(Change {
                    upserts: vec![resource(
                        &id,
                        "aws.ec2.instance",
                        "eu-west-1",
                        &[],
                        json!({}),
                    )],
                    state: Some(n.to_string()),
                    ..Change::default()
                })
                .unwrap();
            }
        })
    };
    let mut seen = std::collections::BTreeSet::new();
    loop {
        let done = writer.is_finished();
        let a = i
            .search(
                &Request {
                    query: "kind:resource".into(),
                    ..Request::default()
                },
                None,
            )
            .unwrap();
        let state: u64 = a.state.as_deref().map_or(0, |s| s.parse().unwrap());
        assert_eq!(a.total, state, "the results and the state of one commit");
        seen.insert(state);
        if done {
            break;
        }
    }
    writer.join().unwrap();
    assert!(seen.contains(&(COMMITS as u64)), "{seen:?}");
}
