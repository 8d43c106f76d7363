//! `pacc bench-server`: the server's load benchmark (docs/server.md).
//! A full scan of a generated inventory (collect from file, validate,
//! evaluate, reconcile, roll up, commit), a rescan with 1% of the documents
//! changed, and the API's latency under concurrent clients.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::clock::ManualClock;
use crate::config::Config;
use crate::{Parts, Server};

pub struct BenchArgs {
    /// A generated NDJSON inventory (rewritten in place for the rescan).
    pub inventory: PathBuf,
    pub policies: Vec<PathBuf>,
    pub data_dir: PathBuf,
    /// The clock of the generated estate.
    pub now: i64,
    pub concurrency: usize,
    pub requests: usize,
}

/// Changes about 1% of the documents (a tag added to every hundredth
/// tagged document); returns how many.
pub fn change_one_percent(path: &Path) -> std::io::Result<usize> {
    let text = std::fs::read_to_string(path)?;
    let lines: Vec<&str> = text.lines().collect();
    let want = lines.len().div_ceil(100);
    let mut out = String::with_capacity(text.len() + want * 40);
    let mut changed = 0;
    let mut due = 0usize;
    for (i, l) in lines.iter().enumerate() {
        if i % 100 == 0 {
            due += 1;
        }
        let mut line = (*l).to_string();
        if due > 0
            && changed < want
            && let Ok(mut v) = serde_json::from_str::<serde_json::Value>(l)
            && let Some(tags) = v
                .get_mut("attributes")
                .and_then(|a| a.get_mut("tags"))
                .and_then(|t| t.as_array_mut())
        {
            tags.push(serde_json::json!({"key": "bench-changed", "value": "yes"}));
            line = v.to_string();
            changed += 1;
            due -= 1;
        }
        out.push_str(&line);
        out.push('\n');
    }
    std::fs::write(path, out)?;
    Ok(changed)
}

fn pct(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i].as_secs_f64() * 1000.0
}

/// Runs the benchmark and prints a report; returns the exit code.
pub async fn run(a: &BenchArgs) -> Result<(), String> {
    let mut cfg = Config::embedded();
    cfg.data_dir = a.data_dir.clone();
    cfg.policies = a.policies.clone();
    let mut src = toml::Table::new();
    src.insert("name".into(), "bench".into());
    src.insert("kind".into(), "inventory".into());
    src.insert(
        "paths".into(),
        toml::Value::Array(vec![a.inventory.display().to_string().into()]),
    );
    cfg.sources = vec![src];
    let clock = ManualClock::new(a.now);
    let server = Server::build(
        &cfg,
        Parts {
            clock: Some(clock.clone()),
            ..Default::default()
        },
    )
    .await?;
    // Compile outside the timings (the server keeps the compiled set).
    let t = Instant::now();
    server.load_program().await?;
    let compile = t.elapsed();
    crate::search::start(server.clone(), &a.data_dir.join("search")).await;

    let t = Instant::now();
    let first = crate::scan::run(&server, &server.sources[0].clone(), "bench").await?;
    let full = t.elapsed();
    let index_full = indexed(&server, first).await;
    let s1 = server
        .store
        .scan(first)
        .await
        .map_err(|e| e.to_string())?
        .ok_or("no scan record")?;

    let changed = change_one_percent(&a.inventory).map_err(|e| e.to_string())?;
    clock.advance(3600);
    let t = Instant::now();
    let second = crate::scan::run(&server, &server.sources[0].clone(), "bench").await?;
    let rescan = t.elapsed();
    let index_update = indexed(&server, second).await;
    let s2 = server
        .store
        .scan(second)
        .await
        .map_err(|e| e.to_string())?
        .ok_or("no scan record")?;

    let reused = server.last_reused();
    // The same rescan without the warm state (the stored state read back,
    // everything parsed and evaluated again), for the ratio.
    let changed_again = change_one_percent(&a.inventory).map_err(|e| e.to_string())?;
    clock.advance(3600);
    server.forget_warm();
    let t = Instant::now();
    let third = crate::scan::run(&server, &server.sources[0].clone(), "bench").await?;
    let cold_rescan = t.elapsed();
    indexed(&server, third).await;
    let s3 = server
        .store
        .scan(third)
        .await
        .map_err(|e| e.to_string())?
        .ok_or("no scan record")?;

    println!(
        "compile policies + native engine: {:.2} s",
        compile.as_secs_f64()
    );
    println!(
        "full scan:  {:.2} s  ({} resources, {} results, {} issues opened, {} malformed)",
        full.as_secs_f64(),
        s1.resources,
        s1.results,
        s1.opened,
        s1.ingest_error_count
    );
    println!(
        "rescan:     {:.2} s  ({changed} documents changed; {} resources written, {} opened, {} closed)",
        rescan.as_secs_f64(),
        s2.changed,
        s2.opened,
        s2.closed
    );
    println!(
        "            ({reused} resources and their local results taken from the previous scan)"
    );
    println!(
        "cold rescan: {:.2} s  ({changed_again} documents changed, previous state read back from the store; {} resources written) — warm is {:.1}x faster",
        cold_rescan.as_secs_f64(),
        s3.changed,
        cold_rescan.as_secs_f64() / rescan.as_secs_f64().max(1e-9)
    );

    println!(
        "search index: built {:.2} s after the full scan's commit ({} documents); updated {:.2} s after the rescan's",
        index_full.as_secs_f64(),
        server.search.index().map_or(0, |i| i.len()),
        index_update.as_secs_f64()
    );

    // The API under load.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let addr = listener
        .local_addr()
        .map_err(|e| e.to_string())?
        .to_string();
    let app = crate::api::router(server.clone());
    tokio::spawn(async move {
        crate::api::serve(listener, app).await;
    });
    let groups = server
        .current_program()
        .await?
        .program()
        .groups
        .first()
        .map(|g| g.name.clone())
        .unwrap_or_default();
    let endpoints = [
        "/api/v1/compliance".to_string(),
        format!("/api/v1/compliance?group={groups}"),
        "/api/v1/issues?status=open".to_string(),
        "/api/v1/issues?severity=critical&status=open&page=3".to_string(),
        format!("/api/v1/issues?group={groups}&status=open"),
        // Every request a different page: none is answered from the
        // response cache (pages go as deep as the list).
        "/api/v1/issues?status=open&per_page=10&page={n}".to_string(),
        // The same walk by keyset (`after` = the previous page's last id).
        "/api/v1/issues?status=open&per_page=10&after={n}0".to_string(),
        // Omni search: words, a typo, fields and a range, facets counted
        // on every answer; pages vary so no two requests are alike.
        "/api/v1/search?q=running&page={n}".to_string(),
        "/api/v1/search?q=prodcution%20web&per_page=10".to_string(),
        "/api/v1/search?q=status:failing%20type:aws.ec2.instance&page={n}".to_string(),
        "/api/v1/search?q=tag:env%3Dprod%20size:%3E100&per_page=10".to_string(),
    ];
    // The first request of each endpoint after the scan: not cached yet.
    println!("\nfirst request after the scan (uncached), one client:");
    for ep in &endpoints {
        let ep = ep.replace("{n}", "1");
        let mut c = crate::client::Client::new(&addr);
        let _ = c.get("/healthz").await;
        let t = Instant::now();
        let r = c.get(&ep).await;
        let ms = t.elapsed().as_secs_f64() * 1000.0;
        let status = r.map(|r| r.status).unwrap_or(0);
        println!("{ep:<60} {ms:>9.1} ms  (status {status})");
    }
    portal_pages(&server, &addr, &groups).await?;
    println!(
        "\nAPI latency, {} concurrent clients (keep-alive), {} requests per endpoint:",
        a.concurrency, a.requests
    );
    println!(
        "{:<60} {:>9} {:>9} {:>9} {:>10}",
        "endpoint", "p50 ms", "p99 ms", "max ms", "req/s"
    );
    for ep in &endpoints {
        let per_client = a.requests.div_ceil(a.concurrency);
        let start = Instant::now();
        let mut tasks = Vec::new();
        for client in 0..a.concurrency {
            let addr = addr.clone();
            let ep = ep.clone();
            tasks.push(tokio::spawn(async move {
                let mut c = crate::client::Client::new(&addr);
                let mut lat = Vec::with_capacity(per_client);
                let mut bad = 0usize;
                // One untimed request (not to the measured endpoint, so that
                // it fills no cache) opens the keep-alive connection: 200
                // simultaneous connects overflow the accept queue and the
                // kernel's 1 s SYN retry would be measured as request time.
                let _ = c.get("/healthz").await;
                for i in 0..per_client {
                    let path = ep.replace("{n}", &(2 + client * per_client + i).to_string());
                    let t = Instant::now();
                    match c.get(&path).await {
                        Ok(r) if r.status == 200 => lat.push(t.elapsed()),
                        _ => bad += 1,
                    }
                }
                (lat, bad)
            }));
        }
        let mut all = Vec::new();
        let mut bad = 0;
        for t in tasks {
            let (l, b) = t.await.map_err(|e| e.to_string())?;
            all.extend(l);
            bad += b;
        }
        let wall = start.elapsed().as_secs_f64();
        all.sort();
        println!(
            "{:<60} {:>9.1} {:>9.1} {:>9.1} {:>10.0}{}",
            ep,
            pct(&all, 0.50),
            pct(&all, 0.99),
            pct(&all, 1.0),
            all.len() as f64 / wall,
            if bad > 0 {
                format!("  ({bad} failed)")
            } else {
                String::new()
            }
        );
    }
    let _ = Arc::strong_count(&server);
    Ok(())
}

/// How long after now the search index reflects scan `scan`.
async fn indexed(server: &Server, scan: i64) -> std::time::Duration {
    let t = Instant::now();
    while server.search.as_of() < scan && t.elapsed().as_secs() < 600 {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    t.elapsed()
}

/// The portal's pages at this scale (docs/portal.md): the server time of
/// each page (its first request after the scan, then the median of 20
/// more, one client) and the size of its HTML, beside the API's figures
/// below.
async fn portal_pages(server: &Server, addr: &str, group: &str) -> Result<(), String> {
    let f = crate::store::IssueFilter::default();
    let (first, _) = server
        .store
        .issues(&f, 1, 0)
        .await
        .map_err(|e| e.to_string())?;
    let (policy, key) = first
        .first()
        .map(|i| (i.policy.clone(), i.resource_key.clone()))
        .unwrap_or_default();
    let pages = [
        "/?group=*".to_string(),
        format!("/?group={group}"),
        "/policies?group=*".to_string(),
        format!("/policies/{policy}?group=*"),
        "/issues?group=*&status=open".to_string(),
        "/issues?group=*&status=open&page=50".to_string(),
        "/issues?group=*&status=open&sort=severity&page=50".to_string(),
        "/assets?group=*".to_string(),
        format!("/assets/{}?group=*", crate::web::enc(&key)),
        "/exceptions?group=*".to_string(),
        "/fixes?group=*".to_string(),
        "/scans?group=*".to_string(),
        "/tagging?group=*".to_string(),
        "/vulnerabilities?group=*".to_string(),
        format!("/issues.csv?group={group}&status=open"),
    ];
    println!("\nportal pages, one client: the first request, then the median of 20:");
    println!(
        "{:<60} {:>9} {:>9} {:>9} {:>10}",
        "page", "first ms", "p50 ms", "max ms", "KiB"
    );
    for page in &pages {
        let mut c = crate::client::Client::new(addr);
        let t = Instant::now();
        let _ = c.get(page).await;
        let first_ms = t.elapsed().as_secs_f64() * 1000.0;
        let mut lat = Vec::new();
        let mut size = 0;
        let mut status = 0;
        for _ in 0..20 {
            let t = Instant::now();
            let r = c.get(page).await.map_err(|e| e.to_string())?;
            lat.push(t.elapsed());
            size = r.body.len();
            status = r.status;
        }
        lat.sort();
        println!(
            "{:<60} {:>9.1} {:>9.1} {:>9.1} {:>10.1}{}",
            page,
            first_ms,
            pct(&lat, 0.5),
            pct(&lat, 1.0),
            size as f64 / 1024.0,
            if status == 200 {
                String::new()
            } else {
                format!("  (status {status})")
            }
        );
    }
    // The e-mail digest of the group: gathered and rendered (HTML and
    // text), not sent.
    let d = crate::config::DigestConfig {
        name: "bench".into(),
        every: crate::config::DigestEvery::Weekly,
        hour: 7,
        user: None,
        to: vec!["bench@example.com".into()],
        group: (!group.is_empty()).then(|| group.to_string()),
        owner: None,
        claims: None,
    };
    let mut lat = Vec::new();
    let mut size = 0;
    for _ in 0..5 {
        let t = Instant::now();
        let data = crate::digest::build(server, &d, server.clock.now()).await?;
        let n = crate::digest::mail(server, "bench@example.com", &data)?;
        lat.push(t.elapsed());
        size = n.html.as_ref().map_or(0, String::len) + n.body.len();
    }
    lat.sort();
    println!(
        "{:<60} {:>9} {:>9.1} {:>9.1} {:>10.1}",
        format!("digest of {group} (weekly; HTML + text)"),
        "",
        pct(&lat, 0.5),
        pct(&lat, 1.0),
        size as f64 / 1024.0
    );
    Ok(())
}

/// [`run`] on its own runtime; the exit code.
pub fn run_blocking(a: &BenchArgs) -> i32 {
    // The scans log their phase timings (collect, compute, commit) at info.
    crate::logging::init(crate::logging::LogFormat::Text);
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    match rt.block_on(run(a)) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {e}");
            2
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_percent_of_tagged_documents_change() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("i.ndjson");
        let mut s = String::new();
        for i in 0..300 {
            s.push_str(&format!(
                "{{\"type\":\"t\",\"id\":\"{i}\",\"attributes\":{{\"tags\":[]}}}}\n"
            ));
        }
        std::fs::write(&p, &s).unwrap();
        assert_eq!(change_one_percent(&p).unwrap(), 3);
        let after = std::fs::read_to_string(&p).unwrap();
        assert_eq!(after.lines().count(), 300);
        assert_eq!(after.matches("bench-changed").count(), 3);
    }
}
