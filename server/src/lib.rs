//! The Pac compliance server (`pacc serve`): scheduled scans of the
//! configured sources, a store of inventory, issues, exceptions, asset
//! groups, auto-fix jobs and compliance history, and a REST API.
//!
//! Code map: [`sources`] builds the configured connectors (the one place
//! that knows connector implementations); [`scan`] is the pipeline
//! (collect → validate → evaluate with the JIT → reconcile issues → roll up
//! → schedule fixes, one transaction); [`store`] is the `Store` interface
//! and its SQLite implementation; [`program`] compiles the policy files with
//! the API-defined groups and exceptions; [`compliance`] holds the
//! formulas; [`autofix`] and [`notify`] run fixes after their grace
//! periods; [`api`] is the HTTP interface and its OpenAPI document;
//! [`clock`] is injected so tests move time.
//!
//! Architecture invariants: a scan commits all its writes or none; an
//! issue closes only when a scan saw its resource pass or disappear (never
//! for a resource whose scope failed, never by hand); an auto-fix runs at
//! most once, only on an open, non-exempt issue after its grace period;
//! nothing in memory must be shared between server processes (ids and
//! state live in the store).

pub mod api;
pub mod auth;
pub mod autofix;
pub mod bench;
pub mod client;
pub mod clock;
pub use pac_runtime::compliance;
pub mod config;
pub mod digest;
pub mod logging;
pub mod notify;
pub mod program;
pub mod remote;
pub mod requests;
pub mod scan;
pub mod search;
pub mod sources;
pub mod store;
pub mod store_lock;
pub mod web;

use std::hash::{Hash, Hasher};
use std::path::PathBuf;
use std::sync::Arc;

use pac_connectors::Action;

use crate::clock::{Clock, SystemClock};
use crate::config::{AutofixConfig, Config, NotifyConfig, Schedule};
use crate::notify::{LogNotifier, Notifier, SmtpNotifier};
use crate::program::Loaded;
use crate::sources::Built;
use crate::store::{SqlStore, Store};

/// Settings the pipeline and the API read.
pub struct Settings {
    pub policies: Vec<PathBuf>,
    pub weights: compliance::Weights,
    pub autofix: AutofixConfig,
    /// The share of a source's resources one read may remove before it is
    /// held as suspect (a source may set its own).
    pub max_removed_percent: u64,
    /// `[[digest]]`: the e-mail digests' subscribers.
    pub digests: Vec<config::DigestConfig>,
    /// Where links in mail point: `public_url`, else `http://` and the
    /// listen address.
    pub portal_url: String,
}

/// One server: its store, clock, sources, notifier and executors.
pub struct Server {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub settings: Settings,
    pub sources: Vec<Arc<Built>>,
    pub notifier: Arc<dyn Notifier>,
    pub executors: pac_connectors::Executors,
    /// Who may call the API (sessions, tokens; docs/auth.md).
    pub auth: Arc<auth::Auth>,
    /// Self-service exception requests (docs/auth.md).
    pub requests: requests::RequestStore,
    /// One scan at a time (so one per source).
    scan_lock: tokio::sync::Mutex<()>,
    autofix_lock: tokio::sync::Mutex<()>,
    /// The id of each completed scan, for the portal's live updates
    /// (`GET /events`).
    pub scans_done: tokio::sync::broadcast::Sender<i64>,
    /// Set when the server stops, so that open event streams end and the
    /// graceful shutdown does not wait on them.
    pub closing: tokio::sync::watch::Sender<bool>,
    /// The asset dashboard's counts of the last roll-up, per group
    /// selection (web::assets).
    pub(crate) asset_counts: web::assets::CountsCache,
    /// The store's lock, held as long as the server lives.
    _lock: Option<store_lock::StoreLock>,
    /// The last compiled policy set, keyed by a hash of its sources.
    cache: std::sync::Mutex<Option<(u64, Arc<Loaded>)>>,
    /// Serialized answers of compliance and issue-list reads, with the
    /// store generation they were read in (served until a scan commits).
    pub(crate) response_cache: api::ResponseCache,
    /// What the last complete scan left for the next (see `scan::Warm`).
    pub(crate) warm: std::sync::Mutex<Option<scan::Warm>>,
    /// Resources the last scan took over from the warm state.
    pub(crate) last_reused: std::sync::atomic::AtomicUsize,
    /// Whether the last scan ran the native engine.
    pub(crate) last_native: std::sync::atomic::AtomicBool,
    /// The omni search index (`search::start` opens it in `serve`).
    pub search: search::Search,
}

/// Why a scan cannot be confirmed.
#[derive(Debug)]
pub enum ConfirmError {
    NotFound(String),
    /// Not a confirmable scan (not suspect, superseded, already confirmed).
    Conflict(String),
    Store(String),
}

/// What a server is built from besides its configuration (tests inject a
/// clock, a notifier sink and recording actions).
#[derive(Default)]
pub struct Parts {
    pub clock: Option<Arc<dyn Clock>>,
    pub notifier: Option<Arc<dyn Notifier>>,
    pub actions: Vec<Arc<dyn Action>>,
}

impl Server {
    /// Takes the store's lock, opens the store and builds the sources.
    pub async fn build(config: &Config, parts: Parts) -> Result<Arc<Server>, String> {
        let lock = store_lock::StoreLock::acquire(&config.store_url())?;
        Server::build_locked(config, parts, lock).await
    }

    /// [`Server::build`] with the store's lock already held.
    async fn build_locked(
        config: &Config,
        parts: Parts,
        lock: Option<store_lock::StoreLock>,
    ) -> Result<Arc<Server>, String> {
        let clock: Arc<dyn Clock> = parts.clock.unwrap_or_else(|| Arc::new(SystemClock));
        let store = SqlStore::open(&config.store_url(), clock.now())
            .await
            .map_err(|e| format!("{e} ({})", config.store_url()))?;
        let mut sources = Vec::new();
        for t in &config.sources {
            let b = sources::build(t)?;
            if let Some(s) = &b.schedule {
                Schedule::parse(s).map_err(|e| format!("source `{}`: schedule: {e}", b.name))?;
            }
            if sources.iter().any(|x: &Arc<Built>| x.name == b.name) {
                return Err(format!("two sources are named `{}`", b.name));
            }
            sources.push(Arc::new(b));
        }
        let notifier: Arc<dyn Notifier> = match parts.notifier {
            Some(n) => n,
            None => match &config.notify {
                NotifyConfig::Log => Arc::new(LogNotifier),
                NotifyConfig::Smtp {
                    host,
                    port,
                    from,
                    insecure,
                } => Arc::new(SmtpNotifier::new(host, *port, from, *insecure)?),
            },
        };
        let mut executors = pac_connectors::Executors::default();
        for name in &config.autofix.executors {
            for a in sources::executor(name, &sources)? {
                executors.add(a);
            }
        }
        for a in sources::custom_actions(&config.actions)? {
            executors.add(a);
        }
        for a in parts.actions {
            executors.add(a);
        }
        let mut auth = auth::Auth::new(
            &config.auth,
            config.public_url.as_deref(),
            &config.listen,
            auth::store::AuthStore::new(store.pool().clone()),
            clock.clone(),
        )?;
        auth.keep_keys().await?;
        Ok(Arc::new(Server {
            auth: Arc::new(auth),
            requests: requests::RequestStore::new(store.pool().clone()),
            store: Arc::new(store),
            clock,
            settings: Settings {
                policies: config.policies.clone(),
                weights: config.compliance.weights(),
                autofix: config.autofix.clone(),
                max_removed_percent: config.max_removed_percent,
                digests: config.digests.clone(),
                portal_url: config
                    .public_url
                    .clone()
                    .unwrap_or_else(|| format!("http://{}", config.listen))
                    .trim_end_matches('/')
                    .to_string(),
            },
            sources,
            notifier,
            executors,
            _lock: lock,
            scan_lock: tokio::sync::Mutex::new(()),
            scans_done: tokio::sync::broadcast::channel(16).0,
            closing: tokio::sync::watch::channel(false).0,
            autofix_lock: tokio::sync::Mutex::new(()),
            asset_counts: Default::default(),
            cache: std::sync::Mutex::new(None),
            response_cache: Default::default(),
            warm: std::sync::Mutex::new(None),
            last_reused: Default::default(),
            last_native: Default::default(),
            search: Default::default(),
        }))
    }

    /// The policy set compiled with the API-defined items (cached until a
    /// policy file or an API item changes). When the policy files do not
    /// compile, the last good set (kept in the store, so across restarts)
    /// with the problem noted; an error only when there never was one.
    pub async fn load_program(&self) -> Result<Arc<Loaded>, String> {
        let l = self.load_or_placeholder().await?;
        match &l.policy_problem {
            Some(p) if l.is_placeholder() => Err(p.note()),
            _ => Ok(l),
        }
    }

    /// The policy set of the last load (or a fresh one): what the API
    /// answers from. While the policies do not compile and no good set was
    /// ever stored, an empty placeholder that says so.
    pub async fn current_program(&self) -> Result<Arc<Loaded>, String> {
        if let Ok(c) = self.cache.lock()
            && let Some((_, l)) = &*c
        {
            return Ok(l.clone());
        }
        self.load_or_placeholder().await
    }

    /// Reads the policy files and the API items again, compiling only when
    /// they changed.
    pub async fn load_or_placeholder(&self) -> Result<Arc<Loaded>, String> {
        let read = program::read_policy_files(&self.settings.policies);
        let groups = self.store.api_groups().await.map_err(|e| e.to_string())?;
        let exceptions = self
            .store
            .api_exceptions()
            .await
            .map_err(|e| e.to_string())?;
        // An in-memory key only (never stored).
        let mut h = std::collections::hash_map::DefaultHasher::new();
        read.hash(&mut h);
        serde_json::to_string(&groups)
            .unwrap_or_default()
            .hash(&mut h);
        serde_json::to_string(&exceptions)
            .unwrap_or_default()
            .hash(&mut h);
        let key = h.finish();
        if let Ok(c) = self.cache.lock()
            && let Some((k, l)) = &*c
            && *k == key
        {
            return Ok(l.clone());
        }
        tracing::debug!(
            files = read.as_ref().map(Vec::len).unwrap_or(0),
            groups = groups.len(),
            exceptions = exceptions.len(),
            key,
            "the policy set changed: compiling"
        );
        let compiled = match read {
            Ok(files) => {
                let (g, x) = (groups.clone(), exceptions.clone());
                tokio::task::spawn_blocking(move || program::load(&files, &g, &x))
                    .await
                    .map_err(|e| format!("compiling the policies stopped: {e}"))?
            }
            Err(e) => Err(program::PolicyErrors(vec![e])),
        };
        let loaded = match compiled {
            Ok(l) => {
                self.keep_as_last_good(&l.files).await;
                l
            }
            Err(errors) => self.last_good(errors, groups, exceptions).await?,
        };
        let loaded = Arc::new(loaded);
        if let Ok(mut c) = self.cache.lock() {
            // Two loads of the same set at once (the first scan and the
            // API at start): the first one cached stays, so that the scan
            // that took it finds it again (the warm path compares the
            // compiled set by identity).
            if let Some((k, l)) = &*c
                && *k == key
            {
                return Ok(l.clone());
            }
            *c = Some((key, loaded.clone()));
        }
        Ok(loaded)
    }

    /// Stores `files` as the last good policy set, unless they are already.
    async fn keep_as_last_good(&self, files: &[(String, String)]) {
        match self.store.last_good_policies().await {
            Ok(Some((stored, _))) if stored == files => {}
            _ => {
                if let Err(e) = self
                    .store
                    .put_last_good_policies(files, self.clock.now())
                    .await
                {
                    tracing::error!("storing the policy set as the last good one: {e}");
                }
            }
        }
    }

    /// The last good policy set (the stored one, else the one in memory)
    /// compiled with the API items, marked with `errors`; a placeholder
    /// when there is none.
    async fn last_good(
        &self,
        errors: program::PolicyErrors,
        groups: Vec<store::GroupRow>,
        exceptions: Vec<store::ExceptionRow>,
    ) -> Result<Loaded, String> {
        let first_error = errors.0.first().cloned().unwrap_or_default();
        let mut problem = program::PolicyProblem {
            first_error,
            errors: errors.0.clone(),
            last_good: true,
            saved_at: None,
        };
        let stored = self
            .store
            .last_good_policies()
            .await
            .map_err(|e| e.to_string())?;
        let in_memory = self.cache.lock().ok().and_then(|c| {
            c.as_ref()
                .filter(|(_, l)| !l.is_placeholder())
                .map(|(_, l)| l.files.clone())
        });
        let files = match (stored, in_memory) {
            (Some((files, at)), _) => {
                problem.saved_at = Some(at);
                files
            }
            (None, Some(files)) => files,
            (None, None) => {
                problem.last_good = false;
                tracing::error!("{}", problem.note());
                return tokio::task::spawn_blocking(move || program::placeholder(problem))
                    .await
                    .map_err(|e| format!("compiling the policies stopped: {e}"));
            }
        };
        tracing::error!("{}", problem.note());
        let loaded = tokio::task::spawn_blocking(move || {
            program::load(&files, &groups, &exceptions).map(|mut l| {
                l.policy_problem = Some(problem);
                l
            })
        })
        .await
        .map_err(|e| format!("compiling the policies stopped: {e}"))?;
        loaded
            .map_err(|e| format!("{errors}; the last good policy set does not compile either: {e}"))
    }

    /// Drops the previous scan's in-memory state: the next scan reads the
    /// stored state back and evaluates everything (tests compare the two).
    pub fn forget_warm(&self) {
        if let Ok(mut w) = self.warm.lock() {
            *w = None;
        }
    }

    /// How many resources the last committed scan took over, unchanged,
    /// from the previous one (0 for a cold scan).
    pub fn last_reused(&self) -> usize {
        self.last_reused.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Whether the last committed scan ran the native engine (a rescan
    /// does on the previous scan's layout, carried over).
    pub fn last_native(&self) -> bool {
        self.last_native.load(std::sync::atomic::Ordering::Relaxed)
    }

    pub fn source(&self, name: &str) -> Option<Arc<Built>> {
        self.sources.iter().find(|s| s.name == name).cloned()
    }

    /// Scans one source now, then runs the auto-fixes that are due.
    pub async fn scan(self: &Arc<Self>, source: &str, trigger: &str) -> Result<i64, String> {
        let b = self
            .source(source)
            .ok_or_else(|| format!("no source named `{source}`"))?;
        let id = scan::run(self, &b, trigger).await?;
        if let Err(e) = autofix::run_due(self).await {
            tracing::error!("auto-fix run failed: {e}");
        }
        // No receiver (no page open) is not an error.
        let _ = self.scans_done.send(id);
        Ok(id)
    }

    /// Confirms the `suspect` scan `id` and rescans its source in the
    /// background: that read may remove what the suspect one held back.
    pub async fn confirm_scan(self: &Arc<Self>, id: i64) -> Result<store::ScanRow, ConfirmError> {
        let store_err = |e: store::StoreError| ConfirmError::Store(e.to_string());
        let scan = self
            .store
            .scan(id)
            .await
            .map_err(store_err)?
            .ok_or_else(|| ConfirmError::NotFound(format!("no scan {id}")))?;
        if scan.status != store::ScanStatus::Suspect {
            return Err(ConfirmError::Conflict(format!(
                "scan {id} is `{}`: only a `suspect` scan (one held back because it would remove too much) can be confirmed",
                scan.status
            )));
        }
        if self.source(&scan.source).is_none() {
            return Err(ConfirmError::Conflict(format!(
                "scan {id} read source `{}`, which is no longer configured",
                scan.source
            )));
        }
        if !self
            .store
            .confirm_scan(id, self.clock.now())
            .await
            .map_err(store_err)?
        {
            return Err(ConfirmError::Conflict(format!(
                "scan {id} was already confirmed, or a later scan of source `{}` superseded it: see GET /api/v1/scans",
                scan.source
            )));
        }
        let srv = self.clone();
        let name = scan.source.clone();
        tokio::spawn(async move {
            if let Err(e) = srv.scan(&name, "confirm").await {
                tracing::error!(source = %name, "scan failed: {e}");
            }
        });
        self.store
            .scan(id)
            .await
            .map_err(store_err)?
            .ok_or_else(|| ConfirmError::NotFound(format!("no scan {id}")))
    }

    /// Scans every source in turn.
    pub async fn scan_all(self: &Arc<Self>, trigger: &str) -> Vec<Result<i64, String>> {
        let mut out = Vec::new();
        for s in self.sources.clone() {
            out.push(self.scan(&s.name, trigger).await);
        }
        out
    }
}

/// Starts the schedulers (one per source, one for auto-fix) and serves
/// the API until Ctrl-C. The order matters: the store's lock first (a
/// second server on the same store stops here, naming the first), then
/// the port (a server that cannot listen stops here), and only then is
/// the store opened, recovered and written.
pub async fn serve(config: Config, parts: Parts) -> Result<(), String> {
    // Before anything is opened: without authentication only this machine
    // may reach the API unless the operator says otherwise.
    let loopback = api::http::is_loopback_listen(&config.listen)?;
    if !loopback && config.auth.mode == auth::AuthMode::Off && !config.insecure_no_auth {
        return Err(format!(
            "refusing to listen on {} without authentication: anyone who can reach that address could read the estate and add exceptions; configure `[auth]` (docs/auth.md), listen on 127.0.0.1 (behind an authenticating proxy), or pass --insecure-no-auth to accept this",
            config.listen
        ));
    }
    if !loopback
        && config.auth.mode == auth::AuthMode::Oidc
        && !config
            .public_url
            .as_deref()
            .is_some_and(|u| u.starts_with("https://"))
    {
        return Err(format!(
            "refusing to sign users in on {} over plain http: session cookies would cross the network readable; set `public_url = \"https://…\"` (TLS at a proxy in front of this server) or listen on 127.0.0.1",
            config.listen
        ));
    }
    let lock = store_lock::StoreLock::acquire(&config.store_url())?;
    let listener = tokio::net::TcpListener::bind(&config.listen)
        .await
        .map_err(|e| {
            format!(
                "cannot listen on {}: {e} (is another server running? set `listen` in the configuration)",
                config.listen
            )
        })?;
    let listen = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_else(|_| config.listen.clone());
    if let Some(l) = &lock {
        l.record(Some(&listen))
            .map_err(|e| format!("{}: cannot write the lock file: {e}", l.path().display()))?;
    }
    let server = Server::build_locked(&config, parts, lock).await?;
    tracing::info!(
        "pac server on http://{listen} (store {})",
        config.store_url()
    );
    if server.auth.on() {
        let env = std::env::var(auth::token::BOOTSTRAP_ENV).ok();
        let minted = auth::token::bootstrap(&server.auth, env.as_deref(), server.clock.now())
            .await
            .map_err(|e| format!("auth: {e}"))?;
        if let Some(t) = minted {
            // Printed once, on stderr and outside the log (JSON logs are
            // shipped elsewhere); never stored.
            eprintln!(
                "auth: bootstrap admin token (shown once, valid 24 h): {t}\nauth: use it as `Authorization: Bearer …` to create a proper token (POST /api/v1/tokens), then revoke it (DELETE /api/v1/tokens/ID)"
            );
        }
        tracing::info!(mode = ?config.auth.mode, "auth: on");
    } else {
        tracing::warn!(
            "auth: off: anyone who can reach http://{listen} acts as admin; add an [auth] table to the configuration to turn it on (docs/auth.md)"
        );
    }
    search::start(server.clone(), &config.data_dir.join("search")).await;
    let default = Schedule::parse(&config.schedule)?;
    for s in server.sources.clone() {
        let schedule = match &s.schedule {
            Some(x) => Schedule::parse(x)?,
            None => default.clone(),
        };
        let srv = server.clone();
        let at_start = config.scan_at_start;
        tokio::spawn(async move {
            if at_start && let Err(e) = srv.scan(&s.name, "start").await {
                tracing::error!(source = %s.name, "scan failed: {e}");
            }
            loop {
                let now = srv.clock.now();
                let next = schedule.next_after(now);
                tokio::time::sleep(std::time::Duration::from_secs((next - now).max(1) as u64))
                    .await;
                if let Err(e) = srv.scan(&s.name, "schedule").await {
                    tracing::error!(source = %s.name, "scan failed: {e}");
                }
            }
        });
    }
    if let Some(ps) = &config.policy_schedule {
        // Re-evaluating the policies over fresh data: a scan of each source.
        let schedule = Schedule::parse(ps)?;
        let srv = server.clone();
        tokio::spawn(async move {
            loop {
                let now = srv.clock.now();
                let next = schedule.next_after(now);
                tokio::time::sleep(std::time::Duration::from_secs((next - now).max(1) as u64))
                    .await;
                srv.scan_all("policy_schedule").await;
            }
        });
    }
    let tick = config::parse_duration(&config.autofix.tick)?.max(1) as u64;
    let srv = server.clone();
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(std::time::Duration::from_secs(tick));
        loop {
            interval.tick().await;
            match autofix::run_due(&srv).await {
                Ok(sum) if sum != autofix::RunSummary::default() => tracing::info!(
                    notified = sum.notified,
                    ran = sum.ran,
                    dry_run = sum.dry_run,
                    failed = sum.failed,
                    cancelled = sum.cancelled,
                    suspended = sum.suspended,
                    deferred = sum.deferred,
                    "auto-fix run: {} notification(s) sent, {} fix(es) run, {} dry run(s), {} failed, {} cancelled, {} suspended, {} deferred (source unread)",
                    sum.notified,
                    sum.ran,
                    sum.dry_run,
                    sum.failed,
                    sum.cancelled,
                    sum.suspended,
                    sum.deferred
                ),
                Ok(_) => {}
                Err(e) => tracing::error!("auto-fix run failed: {e}"),
            }
            // E-mail digests whose period ended and that have not gone out.
            if let Err(e) = digest::send_due(&srv).await {
                tracing::error!("e-mail digests: {e}");
            }
        }
    });
    let http = api::http::HttpOptions {
        public_url: config.public_url.clone(),
        ..Default::default()
    };
    let closer = server.clone();
    let app = api::router_with(server, &http);
    api::http::serve(listener, app, http, async move {
        let _ = tokio::signal::ctrl_c().await;
        closer.closing.send_replace(true);
    })
    .await
    .map_err(|e| format!("server: {e}"))
}

/// `pacc serve [--config FILE]`: returns the process exit code.
pub fn run_cli(
    config: Option<&std::path::Path>,
    listen: Option<&str>,
    data_dir: Option<&std::path::Path>,
    log_format: logging::LogFormat,
    insecure_no_auth: bool,
) -> i32 {
    logging::init(log_format);
    let mut cfg = match config {
        Some(p) => match Config::read(p) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("error: {e}");
                return 2;
            }
        },
        None => Config::embedded(),
    };
    if let Some(l) = listen {
        cfg.listen = l.to_string();
    }
    if let Some(d) = data_dir {
        cfg.data_dir = d.to_path_buf();
        cfg.store = None;
    }
    cfg.insecure_no_auth = insecure_no_auth;
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return 2;
        }
    };
    match rt.block_on(serve(cfg, Parts::default())) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {e}");
            2
        }
    }
}
