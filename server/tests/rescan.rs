//! A rescan from the warm state (the previous scan's inventory, results
//! and stored state, kept in memory) leaves the store exactly as a cold
//! scan (everything read back and evaluated again) does: two servers scan
//! the same changing inventory, one of them forgetting its warm state
//! before every scan, and their stores are compared after each round.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use pac_server::clock::ManualClock;
use pac_server::config::Config;
use pac_server::store::{IssueFilter, ResourceFilter};
use pac_server::{Parts, Server};
use serde_json::Value as Json;

fn root() -> PathBuf {
    PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it")).join("..")
}

/// 2027-12-01: before the library's exceptions expire (2028-12-31,
/// 2030-01-01), so that the rounds below cross the first expiry.
const START: i64 = 1_827_705_600;

async fn server(data: &Path, inventory: &Path, clock: Arc<ManualClock>) -> Arc<Server> {
    let mut cfg = Config::embedded();
    cfg.data_dir = data.to_path_buf();
    cfg.policies = vec![root().join("policies")];
    let mut src = toml::Table::new();
    src.insert("name".into(), "demo".into());
    src.insert("kind".into(), "inventory".into());
    src.insert(
        "paths".into(),
        toml::Value::Array(vec![inventory.display().to_string().into()]),
    );
    cfg.sources = vec![src];
    Server::build(
        &cfg,
        Parts {
            clock: Some(clock),
            ..Default::default()
        },
    )
    .await
    .unwrap()
}

/// Everything a scan writes that a reader sees, as comparable text.
async fn state(s: &Server) -> Vec<String> {
    let mut out = Vec::new();
    let (issues, _) = s
        .store
        .issues(&IssueFilter::default(), 1_000_000, 0)
        .await
        .unwrap();
    for i in issues {
        out.push(format!(
            "issue {} {} {} {} {:?} {:?} {:?} {:?} {} {} {} {:?}",
            i.id,
            i.rule,
            i.resource_key,
            i.status,
            i.message,
            i.exception,
            i.closed_at,
            i.close_reason,
            i.times_opened,
            i.first_seen,
            i.last_opened,
            i.explanation
        ));
        for e in s.store.issue_events(i.id).await.unwrap() {
            out.push(format!(
                "event {} {:?} {} {}",
                i.id, e.scan_id, e.kind, e.detail
            ));
        }
    }
    let (resources, _) = s
        .store
        .resources(&ResourceFilter::default(), 1_000_000, 0)
        .await
        .unwrap();
    for r in resources {
        let groups = s.store.resource_groups(&r.key).await.unwrap();
        out.push(format!(
            "resource {} {:?} {} {} {} {:?}",
            r.key, r.deleted_at, r.last_seen, r.changed_at, r.document, groups
        ));
    }
    for (g, n) in s.store.group_names_with_members().await.unwrap() {
        out.push(format!("group {g} {n}"));
        out.push(format!(
            "compliance {g} {:?}",
            s.store.compliance(&g).await.unwrap()
        ));
    }
    out.push(format!(
        "compliance {:?}",
        s.store.compliance("").await.unwrap()
    ));
    for h in s.store.history("", "").await.unwrap() {
        out.push(format!("history {h:?}"));
    }
    let (jobs, _) = s.store.jobs(None, None, 1_000_000, 0).await.unwrap();
    for j in jobs {
        out.push(format!("job {j:?}"));
    }
    out
}

/// A small deterministic generator (no dependency needed for this).
struct Lcg(u64);
impl Lcg {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) as usize) % n.max(1)
    }
}

/// Changes a few documents: tags added or removed, attributes dropped
/// (some then fail validation), documents removed and brought back.
fn mutate(docs: &mut Vec<Json>, gone: &mut Vec<Json>, rng: &mut Lcg) {
    for _ in 0..6 {
        let i = rng.below(docs.len());
        match rng.below(5) {
            0 => {
                if let Some(t) = docs[i]["attributes"]["tags"].as_array_mut() {
                    t.push(serde_json::json!({"key": "env", "value": "sandbox"}));
                }
            }
            1 => {
                if let Some(t) = docs[i]["attributes"]["tags"].as_array_mut()
                    && !t.is_empty()
                {
                    t.remove(0);
                }
            }
            2 => {
                if let Some(a) = docs[i]["attributes"].as_object_mut()
                    && let Some(k) = a.keys().nth(rng.below(8)).cloned()
                {
                    a.remove(&k);
                }
            }
            3 => gone.push(docs.remove(i)),
            _ => {
                if !gone.is_empty() {
                    let d = gone.remove(rng.below(gone.len()));
                    docs.push(d);
                }
            }
        }
    }
}

fn write(path: &Path, docs: &[Json]) {
    let text: String = docs.iter().map(|d| format!("{d}\n")).collect();
    std::fs::write(path, text).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn warm_rescans_leave_the_store_as_cold_scans_do() {
    let dir = tempfile::tempdir().unwrap();
    let inventory = dir.path().join("inventory.ndjson");
    let text = std::fs::read_to_string(root().join("examples/demo/inventory.json")).unwrap();
    let mut docs: Vec<Json> = serde_json::from_str(&text).unwrap();
    let mut gone = Vec::new();
    write(&inventory, &docs);

    let (warm_clock, cold_clock) = (ManualClock::new(START), ManualClock::new(START));
    let warm = server(&dir.path().join("warm"), &inventory, warm_clock.clone()).await;
    let cold = server(&dir.path().join("cold"), &inventory, cold_clock.clone()).await;
    let mut rng = Lcg(7);
    let mut reused_any = false;
    for round in 0..8 {
        if round > 0 {
            mutate(&mut docs, &mut gone, &mut rng);
            write(&inventory, &docs);
            // Up to ~5 months a round: ages grow, the 2028-12-31
            // exception expires along the way.
            let days = 1 + rng.below(150) as i64;
            warm_clock.advance(days * 86_400);
            cold_clock.advance(days * 86_400);
        }
        cold.forget_warm();
        warm.scan("demo", "test").await.unwrap();
        cold.scan("demo", "test").await.unwrap();
        reused_any |= warm.last_reused() > 0;
        // On the first scan's layout, carried over from scan to scan.
        assert!(
            warm.last_native(),
            "round {round}: the warm scan ran natively"
        );
        assert_eq!(cold.last_reused(), 0, "the cold server took the cold path");
        let (a, b) = (state(&warm).await, state(&cold).await);
        for (x, y) in a.iter().zip(&b) {
            assert_eq!(x, y, "round {round}: the warm and cold stores differ");
        }
        assert_eq!(a.len(), b.len(), "round {round}");
    }
    assert!(reused_any, "the warm server never took the warm path");
}

/// Two loads of the same policy set at once (at start, the first scan and
/// the API both load it) give the same compiled set: the warm path finds
/// the previous scan's state current by the set's identity, and a second
/// compiled copy made the first rescan of `pacc serve` a cold one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_loads_of_one_policy_set_share_it() {
    let dir = tempfile::tempdir().unwrap();
    let inventory = dir.path().join("inventory.ndjson");
    std::fs::copy(root().join("examples/demo/inventory.json"), &inventory).unwrap();
    let s = server(
        &dir.path().join("data"),
        &inventory,
        ManualClock::new(START),
    )
    .await;
    let (a, b) = tokio::join!(s.load_program(), s.load_program());
    let (a, b) = (a.unwrap(), b.unwrap());
    assert!(Arc::ptr_eq(&a, &b), "two compiled copies of one set");
    assert!(Arc::ptr_eq(&a, &s.load_program().await.unwrap()));
}
