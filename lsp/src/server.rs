//! The LSP front: documents in, the salsa database updated in place,
//! snapshots compiled on demand, answers converted to the wire.
//!
//! Concurrency: the server runs on a current-thread runtime; the state sits
//! behind a mutex that is never held across an `.await`, so a request sees
//! the latest edits and a slow compile delays, but never races, others.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use pac_compiler::db::{self, SourceFile, Workspace};
use pac_compiler::{Database, Severity};
use pac_lang::Span;
use salsa::Setter;
use serde_json::{Value, json};
use tower_lsp_server::jsonrpc::{Error, Result};
use tower_lsp_server::ls_types::*;
use tower_lsp_server::{Client, LanguageServer};

use crate::analysis::{self, FileData, ItemKind, Snapshot, Target};
use crate::line_index::{Encoding, LineIndex};
use crate::symbols::DeclKind;

/// The command the "run tests" code lens invokes.
pub const RUN_TESTS: &str = "pac.runTests";

/// Settings a client may send (initializationOptions or
/// `workspace/didChangeConfiguration`, bare or under `pac`). A missing key
/// keeps its current value: an empty configuration changes nothing.
#[derive(Clone, Debug)]
struct Settings {
    debounce: Duration,
    /// Extra files or directories to load (relative to the first root).
    paths: Vec<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            debounce: Duration::from_millis(20),
            paths: Vec::new(),
        }
    }
}

impl Settings {
    fn apply(&mut self, v: &Value) {
        let v = v.get("pac").unwrap_or(v);
        if let Some(ms) = v
            .pointer("/diagnostics/debounceMs")
            .or_else(|| v.get("debounceMs"))
            .and_then(Value::as_u64)
        {
            self.debounce = Duration::from_millis(ms.min(5_000));
        }
        if let Some(paths) = v.get("paths").and_then(Value::as_array) {
            self.paths = paths
                .iter()
                .filter_map(|p| p.as_str().map(str::to_string))
                .collect();
        }
    }
}

struct State {
    db: Database,
    ws: Workspace,
    files: Vec<SourceFile>,
    uris: Vec<Uri>,
    by_key: HashMap<String, usize>,
    open: HashMap<usize, i32>,
    enc: Encoding,
    snapshot: Option<Arc<Snapshot>>,
    /// Each file's data by path, carried into the next snapshot while the
    /// file's text is the same (its tree is then joined once, not per edit).
    file_data: HashMap<String, Arc<FileData>>,
    published: HashSet<usize>,
    settings: Settings,
}

fn uri_key(uri: &Uri) -> String {
    match uri.to_file_path() {
        Some(p) => p.to_string_lossy().into_owned(),
        None => uri.as_str().to_string(),
    }
}

impl State {
    fn new() -> State {
        let db = Database::default();
        let ws = pac_compiler::workspace(&db, Vec::new());
        let files = ws.files(&db).clone();
        let dir = stdlib_dir();
        let uris = pac_stdlib::schemas::FILES
            .iter()
            .map(|(p, text)| stdlib_uri(dir.as_deref(), p, text))
            .collect();
        let mut s = State {
            db,
            ws,
            files,
            uris,
            by_key: HashMap::new(),
            open: HashMap::new(),
            enc: Encoding::Utf16,
            snapshot: None,
            file_data: HashMap::new(),
            published: HashSet::new(),
            settings: Settings::default(),
        };
        s.reindex();
        s
    }

    fn reindex(&mut self) {
        self.by_key = self
            .uris
            .iter()
            .enumerate()
            .map(|(i, u)| (uri_key(u), i))
            .collect();
    }

    fn stdlib_count(&self) -> usize {
        pac_compiler::stdlib_file_count()
    }

    fn file_of(&self, uri: &Uri) -> Option<usize> {
        self.by_key.get(&uri_key(uri)).copied()
    }

    /// Sets a file's text, adding the file to the workspace if it is new.
    fn set_text(&mut self, uri: &Uri, text: impl AsRef<str> + Into<Arc<str>>) -> usize {
        drop_later(self.snapshot.take());
        if let Some(i) = self.file_of(uri) {
            db::set_text(&mut self.db, self.files[i], text);
            return i;
        }
        let path = uri_key(uri);
        if let Some(i) = stdlib_alias(&path) {
            // The Pac repository's own stdlib sources: they replace the
            // built-in copy instead of declaring everything twice.
            self.uris[i] = uri.clone();
            self.reindex();
            db::set_text(&mut self.db, self.files[i], text);
            return i;
        }
        let f = SourceFile::create(&self.db, path, text);
        self.files.push(f);
        self.uris.push(uri.clone());
        self.ws.set_files(&mut self.db).to(self.files.clone());
        self.reindex();
        self.files.len() - 1
    }

    fn remove(&mut self, i: usize) {
        if i < self.stdlib_count() || i >= self.files.len() {
            return;
        }
        drop_later(self.snapshot.take());
        self.files.remove(i);
        self.uris.remove(i);
        self.ws.set_files(&mut self.db).to(self.files.clone());
        self.open = self
            .open
            .drain()
            .filter(|(k, _)| *k != i)
            .map(|(k, v)| (if k > i { k - 1 } else { k }, v))
            .collect();
        self.published = self
            .published
            .drain()
            .filter(|k| *k != i)
            .map(|k| if k > i { k - 1 } else { k })
            .collect();
        self.reindex();
    }

    /// The compiled workspace as of now (compiled again only after edits;
    /// salsa re-parses only the files that changed).
    fn snapshot(&mut self) -> Arc<Snapshot> {
        if let Some(s) = &self.snapshot {
            return s.clone();
        }
        let checked = db::check(&self.db, self.ws).clone();
        let mut data = HashMap::new();
        let files = self
            .files
            .iter()
            .map(|f| {
                let path = f.path(&self.db);
                let text = db::shared_text(&self.db, *f);
                let fd = match self.file_data.get(path) {
                    Some(fd) if Arc::ptr_eq(&fd.text, text) => fd.clone(),
                    _ => {
                        let chunks = db::file_chunks(&self.db, *f)
                            .iter()
                            .map(|(at, c)| (*at, db::parse_chunk(&self.db, *c).clone()))
                            .collect();
                        Arc::new(FileData::chunked(path.clone(), text.clone(), chunks))
                    }
                };
                data.insert(path.clone(), fd.clone());
                fd
            })
            .collect();
        self.file_data = data;
        let snap = Arc::new(Snapshot::new(files, checked, now_secs(), self.enc));
        self.snapshot = Some(snap.clone());
        snap
    }

    /// Loads every `.pac` file under the roots, skipping hidden and build
    /// directories; the repository's own stdlib sources replace the
    /// built-in copies.
    fn load_roots(&mut self, roots: &[PathBuf]) {
        let mut found = Vec::new();
        for r in roots {
            walk(r, &mut found, 0);
        }
        found.sort();
        for p in found {
            let Ok(text) = std::fs::read_to_string(&p) else {
                continue;
            };
            // The extension's grammar tests are not policies.
            if text.starts_with("// SYNTAX TEST") {
                continue;
            }
            if let Some(uri) = Uri::from_file_path(&p) {
                self.set_text(&uri, text);
            }
        }
    }
}

/// Frees an old snapshot on a thread of its own: dropping a large
/// workspace's program and tables takes milliseconds (tens on 5,000 rules)
/// that the edit which replaced it should not wait for.
fn drop_later(old: Option<Arc<Snapshot>>) {
    static DROPPER: OnceLock<Option<std::sync::mpsc::Sender<Arc<Snapshot>>>> = OnceLock::new();
    let Some(old) = old else { return };
    let tx = DROPPER.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel::<Arc<Snapshot>>();
        std::thread::Builder::new()
            .name("pac-lsp-drop".into())
            .spawn(move || rx.into_iter().for_each(drop))
            .ok()
            .map(|_| tx)
    });
    match tx {
        Some(tx) => {
            // If the thread is gone the snapshot comes back and drops here.
            let _ = tx.send(old);
        }
        None => drop(old),
    }
}

/// The stdlib file that `path` is the source of (`…/stdlib/schemas/aws/ec2.pac`).
fn stdlib_alias(path: &str) -> Option<usize> {
    let path = path.replace('\\', "/");
    pac_stdlib::schemas::FILES.iter().position(|(v, _)| {
        let rel = v.trim_start_matches("<stdlib>/");
        path.ends_with(&format!("/stdlib/schemas/{rel}"))
    })
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>, depth: usize) {
    if depth > 12 {
        return;
    }
    if dir.is_file() {
        if dir.extension().is_some_and(|e| e == "pac") {
            out.push(dir.to_path_buf());
        }
        return;
    }
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        let name = e.file_name().to_string_lossy().into_owned();
        if p.is_dir() {
            let skip = name.starts_with('.')
                || ["target", "node_modules", "fuzz"].contains(&name.as_str());
            if !skip {
                walk(&p, out, depth + 1);
            }
        } else if p.extension().is_some_and(|e| e == "pac") {
            out.push(p);
        }
    }
}

/// The stdlib's files are embedded; definitions into them need real files,
/// so they are written once per content (a hash of every file: two builds
/// of one version with different schemas must not share a directory)
/// under the temp directory.
fn stdlib_dir() -> Option<PathBuf> {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    pac_stdlib::schemas::FILES.hash(&mut h);
    let dir = std::env::temp_dir().join(format!(
        "pac-stdlib-{}-{:016x}",
        env!("CARGO_PKG_VERSION"),
        h.finish()
    ));
    std::fs::create_dir_all(&dir).ok()?;
    Some(dir)
}

fn stdlib_uri(dir: Option<&Path>, virtual_path: &str, text: &str) -> Uri {
    let rel = virtual_path.trim_start_matches("<stdlib>/");
    if let Some(dir) = dir {
        let p = dir.join(rel);
        let ok = match std::fs::read_to_string(&p) {
            Ok(t) => t == text,
            Err(_) => {
                p.parent()
                    .is_some_and(|d| std::fs::create_dir_all(d).is_ok())
                    && std::fs::write(&p, text).is_ok()
            }
        };
        if ok && let Some(u) = Uri::from_file_path(&p) {
            return u;
        }
    }
    format!("pac-stdlib:///{rel}")
        .parse()
        .unwrap_or_else(|_| Uri::from_file_path("/").expect("root is a path"))
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

struct Inner {
    state: Mutex<State>,
    generation: AtomicU64,
}

pub struct Backend {
    client: Client,
    inner: Arc<Inner>,
}

impl Backend {
    pub fn new(client: Client) -> Backend {
        Backend {
            client,
            inner: Arc::new(Inner {
                state: Mutex::new(State::new()),
                generation: AtomicU64::new(0),
            }),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.inner)
    }

    /// The snapshot and the index of `uri` in it.
    fn snap(&self, uri: &Uri) -> Option<(Arc<Snapshot>, u32)> {
        let mut st = self.state();
        let i = st.file_of(uri)?;
        Some((st.snapshot(), i as u32))
    }

    fn uri(&self, file: u32) -> Option<Uri> {
        self.state().uris.get(file as usize).cloned()
    }

    fn location(&self, snap: &Snapshot, file: u32, span: Span) -> Option<Location> {
        Some(Location::new(self.uri(file)?, snap.range(file, span)))
    }

    /// Publishes diagnostics after the debounce delay, unless another edit
    /// came in meanwhile (then that edit's task publishes).
    fn schedule_diagnostics(&self) {
        let generation = self.inner.generation.fetch_add(1, Ordering::SeqCst) + 1;
        let delay = self.state().settings.debounce;
        let inner = self.inner.clone();
        let client = self.client.clone();
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            if inner.generation.load(Ordering::SeqCst) == generation {
                publish(&client, &inner).await;
            }
        });
    }
}

fn lock(inner: &Inner) -> MutexGuard<'_, State> {
    // A panic while holding the lock cannot leave the database half-updated
    // in a way later requests could not use: continue with the data.
    inner.state.lock().unwrap_or_else(|e| e.into_inner())
}

/// Sends the diagnostics of every user file that has some, and empty lists
/// to files that had some before.
async fn publish(client: &Client, inner: &Inner) {
    let batches = {
        let mut st = lock(inner);
        let snap = st.snapshot();
        let first = st.stdlib_count();
        let mut by_file: HashMap<usize, Vec<Diagnostic>> = HashMap::new();
        for d in &snap.diagnostics {
            let f = d.file as usize;
            // Stdlib files only when open (as the repository's sources).
            if (f < first && !st.open.contains_key(&f)) || f >= st.uris.len() {
                continue;
            }
            by_file
                .entry(f)
                .or_default()
                .push(to_lsp_diagnostic(&snap, &st.uris, d));
        }
        let mut batches = Vec::new();
        let targets: HashSet<usize> = by_file
            .keys()
            .copied()
            .chain(st.published.iter().copied())
            .chain(st.open.keys().copied())
            .collect();
        for f in targets {
            if f >= st.uris.len() {
                continue;
            }
            let diags = by_file.remove(&f).unwrap_or_default();
            let version = st.open.get(&f).copied();
            batches.push((st.uris[f].clone(), diags, version));
        }
        st.published = batches
            .iter()
            .filter(|b| !b.1.is_empty())
            .filter_map(|b| st.file_of(&b.0))
            .collect();
        batches
    };
    for (uri, diags, version) in batches {
        client.publish_diagnostics(uri, diags, version).await;
    }
}

fn to_lsp_diagnostic(snap: &Snapshot, uris: &[Uri], d: &pac_compiler::Diagnostic) -> Diagnostic {
    let mut message = d.message.clone();
    if !d.label.is_empty() {
        message.push_str(&format!(" ({})", d.label));
    }
    for n in &d.notes {
        message.push_str(&format!("\nnote: {n}"));
    }
    if let Some(s) = &d.suggestion {
        message.push_str(&format!("\nhelp: {}: `{}`", s.message, s.replacement));
    }
    let related: Vec<DiagnosticRelatedInformation> = d
        .labels
        .iter()
        .filter_map(|l| {
            Some(DiagnosticRelatedInformation {
                location: Location::new(
                    uris.get(l.file as usize)?.clone(),
                    snap.range(l.file, l.span),
                ),
                message: l.message.clone(),
            })
        })
        .collect();
    let data = d.suggestion.as_ref().map(|s| {
        json!({
            "suggestion": {
                "message": s.message,
                "replacement": s.replacement,
                "range": snap.range(d.file, s.span),
            }
        })
    });
    Diagnostic {
        range: snap.range(d.file, d.span),
        severity: Some(match d.severity {
            Severity::Error => DiagnosticSeverity::ERROR,
            Severity::Warning => DiagnosticSeverity::WARNING,
        }),
        code: Some(NumberOrString::String(d.code.to_string())),
        code_description: None,
        source: Some("pac".into()),
        message,
        related_information: (!related.is_empty()).then_some(related),
        tags: None,
        data,
    }
}

fn completion_kind(k: &ItemKind) -> CompletionItemKind {
    match k {
        ItemKind::Field => CompletionItemKind::FIELD,
        ItemKind::Function => CompletionItemKind::FUNCTION,
        ItemKind::Keyword => CompletionItemKind::KEYWORD,
        ItemKind::Type => CompletionItemKind::STRUCT,
        ItemKind::Policy => CompletionItemKind::CLASS,
        ItemKind::Rule => CompletionItemKind::METHOD,
        ItemKind::Group => CompletionItemKind::ENUM,
        ItemKind::Exception => CompletionItemKind::EVENT,
        ItemKind::Action => CompletionItemKind::FUNCTION,
        ItemKind::Value => CompletionItemKind::ENUM_MEMBER,
        ItemKind::Variable => CompletionItemKind::VARIABLE,
    }
}

fn symbol_kind(k: DeclKind) -> SymbolKind {
    match k {
        DeclKind::Policy => SymbolKind::CLASS,
        DeclKind::Rule => SymbolKind::METHOD,
        DeclKind::Group | DeclKind::Domain => SymbolKind::ENUM,
        DeclKind::Exception => SymbolKind::EVENT,
        DeclKind::Schema | DeclKind::Record => SymbolKind::STRUCT,
        DeclKind::Field => SymbolKind::FIELD,
        DeclKind::Fn | DeclKind::Action => SymbolKind::FUNCTION,
        DeclKind::Test => SymbolKind::CONSTANT,
    }
}

fn markdown(s: String) -> Documentation {
    Documentation::MarkupContent(MarkupContent {
        kind: MarkupKind::Markdown,
        value: s,
    })
}

fn is_ident(s: &str) -> bool {
    let mut cs = s.chars();
    cs.next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && cs.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !pac_lang::lexer::KEYWORDS.contains(&s)
}

fn span_of(snap: &Snapshot, file: u32, r: Range) -> Span {
    Span::new(snap.offset(file, r.start), snap.offset(file, r.end))
}

impl LanguageServer for Backend {
    async fn initialize(&self, params: InitializeParams) -> Result<InitializeResult> {
        let enc = Encoding::negotiate(
            params
                .capabilities
                .general
                .as_ref()
                .and_then(|g| g.position_encodings.as_deref()),
        );
        let mut roots: Vec<PathBuf> = params
            .workspace_folders
            .iter()
            .flatten()
            .filter_map(|f| f.uri.to_file_path().map(|p| p.into_owned()))
            .collect();
        #[allow(deprecated)]
        if roots.is_empty()
            && let Some(p) = params.root_uri.as_ref().and_then(|u| u.to_file_path())
        {
            roots.push(p.into_owned());
        }
        {
            let mut st = self.state();
            st.enc = enc;
            if let Some(o) = &params.initialization_options {
                st.settings.apply(o);
            }
            let extra: Vec<PathBuf> = st
                .settings
                .paths
                .iter()
                .map(|p| match roots.first() {
                    Some(r) => r.join(p),
                    None => PathBuf::from(p),
                })
                .collect();
            // With explicit paths, load only those; else the whole roots.
            if extra.is_empty() {
                st.load_roots(&roots);
            } else {
                st.load_roots(&extra);
            }
        }
        Ok(InitializeResult {
            server_info: Some(ServerInfo {
                name: "pacc lsp".into(),
                version: Some(env!("CARGO_PKG_VERSION").into()),
            }),
            capabilities: ServerCapabilities {
                position_encoding: Some(enc.kind()),
                text_document_sync: Some(TextDocumentSyncCapability::Options(
                    TextDocumentSyncOptions {
                        open_close: Some(true),
                        change: Some(TextDocumentSyncKind::INCREMENTAL),
                        save: Some(TextDocumentSyncSaveOptions::Supported(true)),
                        ..Default::default()
                    },
                )),
                hover_provider: Some(HoverProviderCapability::Simple(true)),
                completion_provider: Some(CompletionOptions {
                    trigger_characters: Some(vec![".".into(), " ".into()]),
                    ..Default::default()
                }),
                definition_provider: Some(OneOf::Left(true)),
                references_provider: Some(OneOf::Left(true)),
                rename_provider: Some(OneOf::Right(RenameOptions {
                    prepare_provider: Some(true),
                    work_done_progress_options: Default::default(),
                })),
                document_formatting_provider: Some(OneOf::Left(true)),
                code_action_provider: Some(CodeActionProviderCapability::Options(
                    CodeActionOptions {
                        code_action_kinds: Some(vec![
                            CodeActionKind::QUICKFIX,
                            CodeActionKind::REFACTOR,
                        ]),
                        ..Default::default()
                    },
                )),
                document_symbol_provider: Some(OneOf::Left(true)),
                workspace_symbol_provider: Some(OneOf::Left(true)),
                semantic_tokens_provider: Some(
                    SemanticTokensServerCapabilities::SemanticTokensOptions(
                        SemanticTokensOptions {
                            legend: SemanticTokensLegend {
                                token_types: analysis::TOKEN_TYPES
                                    .iter()
                                    .map(|t| SemanticTokenType::new(t))
                                    .collect(),
                                token_modifiers: analysis::TOKEN_MODIFIERS
                                    .iter()
                                    .map(|t| SemanticTokenModifier::new(t))
                                    .collect(),
                            },
                            full: Some(SemanticTokensFullOptions::Bool(true)),
                            range: None,
                            ..Default::default()
                        },
                    ),
                ),
                folding_range_provider: Some(FoldingRangeProviderCapability::Simple(true)),
                code_lens_provider: Some(CodeLensOptions {
                    resolve_provider: Some(false),
                }),
                execute_command_provider: Some(ExecuteCommandOptions {
                    commands: vec![RUN_TESTS.into()],
                    ..Default::default()
                }),
                ..Default::default()
            },
            ..Default::default()
        })
    }

    async fn initialized(&self, _: InitializedParams) {
        // Diagnostics of the whole workspace, not only of open files.
        publish(&self.client, &self.inner).await;
    }

    async fn shutdown(&self) -> Result<()> {
        Ok(())
    }

    async fn did_open(&self, params: DidOpenTextDocumentParams) {
        {
            let mut st = self.state();
            let d = params.text_document;
            let i = st.set_text(&d.uri, d.text);
            st.open.insert(i, d.version);
        }
        self.schedule_diagnostics();
    }

    async fn did_change(&self, params: DidChangeTextDocumentParams) {
        {
            let mut st = self.state();
            let uri = params.text_document.uri;
            let enc = st.enc;
            let current = st
                .file_of(&uri)
                .map(|i| db::shared_text(&st.db, st.files[i]).clone());
            let mut text: Arc<str> = current.unwrap_or_else(|| Arc::from(""));
            // Each change is applied to the text the one before produced;
            // the new text is built in one copy (a large file is edited a
            // keystroke at a time).
            for c in params.content_changes {
                text = match c.range {
                    None => Arc::from(c.text),
                    Some(r) => {
                        let a = LineIndex::offset_of(&text, r.start, enc);
                        let b = LineIndex::offset_of(&text, r.end, enc).max(a);
                        let mut next = String::with_capacity(text.len() - (b - a) + c.text.len());
                        next.push_str(&text[..a]);
                        next.push_str(&c.text);
                        next.push_str(&text[b..]);
                        Arc::from(next)
                    }
                };
            }
            let i = st.set_text(&uri, text);
            st.open.insert(i, params.text_document.version);
        }
        self.schedule_diagnostics();
    }

    async fn did_save(&self, _: DidSaveTextDocumentParams) {
        // The text is already current from didChange.
    }

    async fn did_close(&self, params: DidCloseTextDocumentParams) {
        let uri = params.text_document.uri;
        let gone = {
            let mut st = self.state();
            let Some(i) = st.file_of(&uri) else { return };
            st.open.remove(&i);
            // Back to what is on disk, or out of the workspace.
            match uri
                .to_file_path()
                .and_then(|p| std::fs::read_to_string(p).ok())
            {
                Some(text) => {
                    st.set_text(&uri, text);
                    false
                }
                None => {
                    st.remove(i);
                    true
                }
            }
        };
        if gone {
            self.client.publish_diagnostics(uri, Vec::new(), None).await;
        }
        self.schedule_diagnostics();
    }

    async fn did_change_configuration(&self, params: DidChangeConfigurationParams) {
        self.state().settings.apply(&params.settings);
    }

    async fn did_change_watched_files(&self, params: DidChangeWatchedFilesParams) {
        {
            let mut st = self.state();
            for c in params.changes {
                let Some(i) = st.file_of(&c.uri) else {
                    if let Some(text) = c
                        .uri
                        .to_file_path()
                        .and_then(|p| std::fs::read_to_string(p).ok())
                    {
                        st.set_text(&c.uri, text);
                    }
                    continue;
                };
                if st.open.contains_key(&i) {
                    continue;
                }
                match c
                    .uri
                    .to_file_path()
                    .and_then(|p| std::fs::read_to_string(p).ok())
                {
                    Some(text) => {
                        st.set_text(&c.uri, text);
                    }
                    None => st.remove(i),
                }
            }
        }
        self.schedule_diagnostics();
    }

    async fn hover(&self, params: HoverParams) -> Result<Option<Hover>> {
        let p = params.text_document_position_params;
        let Some((snap, file)) = self.snap(&p.text_document.uri) else {
            return Ok(None);
        };
        let offset = snap.offset(file, p.position);
        Ok(snap.hover(file, offset).map(|(md, span)| Hover {
            contents: HoverContents::Markup(MarkupContent {
                kind: MarkupKind::Markdown,
                value: md,
            }),
            range: Some(snap.range(file, span)),
        }))
    }

    async fn completion(&self, params: CompletionParams) -> Result<Option<CompletionResponse>> {
        let p = params.text_document_position;
        let Some((snap, file)) = self.snap(&p.text_document.uri) else {
            return Ok(None);
        };
        let offset = snap.offset(file, p.position);
        let items: Vec<CompletionItem> = snap
            .completions(file, offset)
            .into_iter()
            .enumerate()
            .map(|(i, c)| CompletionItem {
                text_edit: c.replace.map(|s| {
                    CompletionTextEdit::Edit(TextEdit::new(snap.range(file, s), c.label.clone()))
                }),
                kind: Some(completion_kind(&c.kind)),
                // The server's order: by rank, then as gathered.
                sort_text: Some(format!("{:02}{i:05}", c.rank)),
                detail: c.detail,
                documentation: c.doc.map(markdown),
                label: c.label,
                ..Default::default()
            })
            .collect();
        Ok(Some(CompletionResponse::Array(items)))
    }

    async fn goto_definition(
        &self,
        params: GotoDefinitionParams,
    ) -> Result<Option<GotoDefinitionResponse>> {
        let p = params.text_document_position_params;
        let Some((snap, file)) = self.snap(&p.text_document.uri) else {
            return Ok(None);
        };
        let offset = snap.offset(file, p.position);
        let Some((t, _)) = snap.target_at(file, offset) else {
            return Ok(None);
        };
        Ok(snap
            .definition(&t)
            .and_then(|(f, s)| self.location(&snap, f, s))
            .map(GotoDefinitionResponse::Scalar))
    }

    async fn references(&self, params: ReferenceParams) -> Result<Option<Vec<Location>>> {
        let p = params.text_document_position;
        let Some((snap, file)) = self.snap(&p.text_document.uri) else {
            return Ok(None);
        };
        let offset = snap.offset(file, p.position);
        let Some((t, _)) = snap.target_at(file, offset) else {
            return Ok(None);
        };
        let refs = snap.references(&t, params.context.include_declaration);
        Ok(Some(
            refs.into_iter()
                .filter_map(|(f, s)| self.location(&snap, f, s))
                .collect(),
        ))
    }

    async fn prepare_rename(
        &self,
        params: TextDocumentPositionParams,
    ) -> Result<Option<PrepareRenameResponse>> {
        let Some((snap, file)) = self.snap(&params.text_document.uri) else {
            return Ok(None);
        };
        let offset = snap.offset(file, params.position);
        match rename_target(&snap, file, offset) {
            Ok(span) => Ok(Some(PrepareRenameResponse::Range(snap.range(file, span)))),
            Err(msg) => Err(Error::invalid_params(msg)),
        }
    }

    async fn rename(&self, params: RenameParams) -> Result<Option<WorkspaceEdit>> {
        let p = params.text_document_position;
        let Some((snap, file)) = self.snap(&p.text_document.uri) else {
            return Ok(None);
        };
        let offset = snap.offset(file, p.position);
        rename_target(&snap, file, offset).map_err(Error::invalid_params)?;
        if !is_ident(&params.new_name) {
            return Err(Error::invalid_params(format!(
                "`{}` is not a valid name: use letters, digits and `_`, not a keyword",
                params.new_name
            )));
        }
        let Some((t, _)) = snap.target_at(file, offset) else {
            return Ok(None);
        };
        let mut changes: HashMap<Uri, Vec<TextEdit>> = HashMap::new();
        for (f, s) in snap.references(&t, true) {
            if let Some(uri) = self.uri(f) {
                changes
                    .entry(uri)
                    .or_default()
                    .push(TextEdit::new(snap.range(f, s), params.new_name.clone()));
            }
        }
        Ok(Some(WorkspaceEdit {
            changes: Some(changes),
            ..Default::default()
        }))
    }

    async fn formatting(&self, params: DocumentFormattingParams) -> Result<Option<Vec<TextEdit>>> {
        let Some((snap, file)) = self.snap(&params.text_document.uri) else {
            return Ok(None);
        };
        let text = snap.text(file);
        match pac_lang::fmt::format(text) {
            Ok(new) if new != text => Ok(Some(vec![TextEdit::new(
                snap.range(file, Span::new(0, text.len())),
                new,
            )])),
            Ok(_) => Ok(Some(Vec::new())),
            // Syntax errors: the diagnostics say where; nothing to format.
            Err(_) => Ok(None),
        }
    }

    async fn code_action(&self, params: CodeActionParams) -> Result<Option<CodeActionResponse>> {
        let uri = params.text_document.uri;
        let Some((snap, file)) = self.snap(&uri) else {
            return Ok(None);
        };
        let span = span_of(&snap, file, params.range);
        let uris = self.state().uris.clone();
        let actions = snap
            .code_actions(file, span)
            .into_iter()
            .map(|fix| {
                let edits = fix
                    .edits
                    .iter()
                    .map(|(s, t)| TextEdit::new(snap.range(file, *s), t.clone()))
                    .collect();
                let diagnostics = fix
                    .diagnostic
                    .and_then(|i| snap.diagnostics.get(i))
                    .map(|d| vec![to_lsp_diagnostic(&snap, &uris, d)]);
                CodeActionOrCommand::CodeAction(CodeAction {
                    title: fix.title,
                    kind: Some(if fix.diagnostic.is_some() {
                        CodeActionKind::QUICKFIX
                    } else {
                        CodeActionKind::REFACTOR
                    }),
                    diagnostics,
                    edit: Some(WorkspaceEdit {
                        changes: Some(HashMap::from([(uri.clone(), edits)])),
                        ..Default::default()
                    }),
                    is_preferred: Some(fix.preferred),
                    ..Default::default()
                })
            })
            .collect();
        Ok(Some(actions))
    }

    async fn document_symbol(
        &self,
        params: DocumentSymbolParams,
    ) -> Result<Option<DocumentSymbolResponse>> {
        let Some((snap, file)) = self.snap(&params.text_document.uri) else {
            return Ok(None);
        };
        #[allow(deprecated)]
        let symbol = |d: &crate::symbols::Decl, children: Option<Vec<DocumentSymbol>>| {
            let short = match d.key.kind {
                DeclKind::Rule | DeclKind::Field => d
                    .key
                    .name
                    .rsplit('.')
                    .next()
                    .unwrap_or(&d.key.name)
                    .to_string(),
                _ => d.key.name.clone(),
            };
            DocumentSymbol {
                name: if short.is_empty() { "?".into() } else { short },
                detail: Some(format!("{:?}", d.key.kind).to_lowercase()),
                kind: symbol_kind(d.key.kind),
                tags: None,
                deprecated: None,
                range: snap.range(file, d.span.to(d.name_span)),
                selection_range: snap.range(file, d.name_span),
                children,
            }
        };
        let out = snap
            .outline(file)
            .into_iter()
            .map(|(d, kids)| {
                let children: Vec<DocumentSymbol> =
                    kids.into_iter().map(|k| symbol(k, None)).collect();
                symbol(d, (!children.is_empty()).then_some(children))
            })
            .collect();
        Ok(Some(DocumentSymbolResponse::Nested(out)))
    }

    async fn symbol(
        &self,
        params: WorkspaceSymbolParams,
    ) -> Result<Option<WorkspaceSymbolResponse>> {
        let snap = self.state().snapshot();
        let q = params.query.to_lowercase();
        let mut out = Vec::new();
        for d in &snap.symbols().decls {
            if d.key.kind == DeclKind::Field || !d.key.name.to_lowercase().contains(&q) {
                continue;
            }
            let Some(location) = self.location(&snap, d.file, d.name_span) else {
                continue;
            };
            #[allow(deprecated)]
            out.push(SymbolInformation {
                name: d.key.name.clone(),
                kind: symbol_kind(d.key.kind),
                tags: None,
                deprecated: None,
                location,
                container_name: d.parent.as_ref().map(|p| p.name.clone()),
            });
            if out.len() >= 500 {
                break;
            }
        }
        Ok(Some(WorkspaceSymbolResponse::Flat(out)))
    }

    async fn semantic_tokens_full(
        &self,
        params: SemanticTokensParams,
    ) -> Result<Option<SemanticTokensResult>> {
        let Some((snap, file)) = self.snap(&params.text_document.uri) else {
            return Ok(None);
        };
        let data = analysis::semantic_tokens(&snap, file);
        Ok(Some(SemanticTokensResult::Tokens(SemanticTokens {
            result_id: None,
            data,
        })))
    }

    async fn folding_range(&self, params: FoldingRangeParams) -> Result<Option<Vec<FoldingRange>>> {
        let Some((snap, file)) = self.snap(&params.text_document.uri) else {
            return Ok(None);
        };
        let mut out: Vec<FoldingRange> = analysis::folding_spans(&snap, file)
            .into_iter()
            .filter_map(|(s, e, comment)| {
                let r = snap.range(file, Span::new(s, e));
                (r.end.line > r.start.line).then_some(FoldingRange {
                    start_line: r.start.line,
                    start_character: None,
                    end_line: r.end.line,
                    end_character: None,
                    kind: Some(if comment {
                        FoldingRangeKind::Comment
                    } else {
                        FoldingRangeKind::Region
                    }),
                    collapsed_text: None,
                })
            })
            .collect();
        out.sort_by_key(|f| (f.start_line, f.end_line));
        out.dedup_by_key(|f| (f.start_line, f.end_line));
        Ok(Some(out))
    }

    async fn code_lens(&self, params: CodeLensParams) -> Result<Option<Vec<CodeLens>>> {
        let uri = params.text_document.uri;
        let Some((snap, file)) = self.snap(&uri) else {
            return Ok(None);
        };
        Ok(Some(
            snap.test_lenses(file)
                .into_iter()
                .map(|(span, title, name)| {
                    let mut arguments = vec![json!(uri.as_str())];
                    if let Some(n) = name {
                        arguments.push(json!(n));
                    }
                    CodeLens {
                        range: snap.range(file, span),
                        command: Some(Command {
                            title,
                            command: RUN_TESTS.into(),
                            arguments: Some(arguments),
                        }),
                        data: None,
                    }
                })
                .collect(),
        ))
    }

    async fn execute_command(&self, params: ExecuteCommandParams) -> Result<Option<LSPAny>> {
        if params.command != RUN_TESTS {
            return Err(Error::invalid_params(format!(
                "unknown command `{}`; this server runs `{RUN_TESTS}`",
                params.command
            )));
        }
        let uri: Option<Uri> = params
            .arguments
            .first()
            .and_then(Value::as_str)
            .and_then(|s| s.parse().ok());
        let Some(uri) = uri else {
            return Err(Error::invalid_params(format!(
                "`{RUN_TESTS}` takes the document's URI (and optionally a test name)"
            )));
        };
        let name = params
            .arguments
            .get(1)
            .and_then(Value::as_str)
            .map(str::to_string);
        let Some((snap, file)) = self.snap(&uri) else {
            return Err(Error::invalid_params(format!(
                "{} is not part of the workspace",
                uri.as_str()
            )));
        };
        let errors = snap
            .diagnostics
            .iter()
            .filter(|d| analysis::is_error(d))
            .count();
        if errors > 0 {
            let msg =
                format!("Pac: fix the {errors} error(s) in the workspace before running tests");
            self.client.show_message(MessageType::WARNING, &msg).await;
            // `tests` is always present, so clients can read it unconditionally.
            return Ok(Some(
                json!({ "passed": 0, "failed": 0, "errors": errors, "tests": [], "text": msg }),
            ));
        }
        let report = snap.run_tests(file, name.as_deref());
        let text = pac_runtime::testing::render_text(&report);
        let (passed, failed) = (report.passed(), report.failed());
        let kind = if failed > 0 {
            MessageType::ERROR
        } else {
            MessageType::INFO
        };
        self.client.log_message(kind, &text).await;
        self.client
            .show_message(kind, format!("Pac tests: {passed} passed, {failed} failed"))
            .await;
        let tests: Vec<Value> = report
            .tests
            .iter()
            .map(|t| {
                json!({
                    "name": t.name,
                    "line": t.line,
                    "passed": t.passed,
                    "failures": t.failures.iter().map(|f| format!("{f:?}")).collect::<Vec<_>>(),
                })
            })
            .collect();
        Ok(Some(json!({
            "passed": passed,
            "failed": failed,
            "tests": tests,
            "text": text,
        })))
    }
}

/// The name span of a renameable declaration at `offset` (rules, groups
/// and policies), or why it cannot be renamed.
fn rename_target(snap: &Snapshot, file: u32, offset: usize) -> std::result::Result<Span, String> {
    let Some((t, span)) = snap.target_at(file, offset) else {
        return Err("nothing to rename here".into());
    };
    match &t {
        Target::Decl(k)
            if matches!(k.kind, DeclKind::Policy | DeclKind::Rule | DeclKind::Group) =>
        {
            let first_user = pac_compiler::stdlib_file_count() as u32;
            if snap
                .references(&t, true)
                .iter()
                .any(|(f, _)| *f < first_user)
            {
                return Err("it is declared or used in the stdlib".into());
            }
            Ok(span)
        }
        _ => Err("only policies, rules and groups can be renamed".into()),
    }
}
