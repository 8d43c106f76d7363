//! The search query language never panics and never loops, whatever the
//! text: a query is parsed (or refused with an offset inside it) and run
//! against a small index, within a scope and without one; a scoped answer
//! never holds more than an unscoped one.
#![no_main]
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use pac_search::{Change, Kind, Request, SearchDoc, SearchIndex, WriterOptions};

fn index() -> &'static SearchIndex {
    static I: OnceLock<SearchIndex> = OnceLock::new();
    I.get_or_init(|| {
        let i = SearchIndex::in_memory(WriterOptions::default()).unwrap();
        let mut docs = Vec::new();
        for (n, g) in ["prod", "dev", ""].iter().enumerate() {
            let doc = serde_json::json!({
                "type": "aws.ec2.instance", "id": format!("i-{n}"), "account": "1", "region": "r",
                "attributes": {"size": n * 100, "state": {"name": "running"},
                               "launch_time": "2026-01-01T00:00:00Z",
                               "tags": [{"key": "Owner", "value": "alice"}]}
            });
            let mut d = SearchDoc::resource(format!("r{n}"), &doc).unwrap();
            if !g.is_empty() {
                d.groups = vec![g.to_string()];
            }
            docs.push(d);
        }
        let mut p = SearchDoc::new(Kind::Policy, "p", "sg_ssh_open_to_world");
        p.groups = vec!["*".into()];
        docs.push(p);
        i.apply(Change { upserts: docs, ..Change::default() }).unwrap();
        i
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Err(e) = pac_search::parse(text) {
        assert!(e.at <= text.chars().count(), "{e}");
    }
    let r = Request { query: text.to_string(), limit: 10, ..Request::default() };
    let all = index().search(&r, None);
    let scoped = index().search(&r, Some(&["prod".to_string()]));
    if let (Ok(a), Ok(s)) = (all, scoped) {
        assert!(s.total <= a.total);
    }
});
