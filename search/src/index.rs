//! The tantivy index: its schema, updates (one commit each, so a crash
//! leaves the last commit searchable) and queries with facet counts,
//! highlights, paging and the caller's scope.

use std::collections::{BTreeMap, HashMap};
use std::num::NonZeroUsize;
use std::ops::Bound;
use std::path::Path;
use std::sync::{Arc, Mutex, RwLock};

use lru::LruCache;

use serde::Serialize;
use tantivy::collector::{Collector, SegmentCollector, TopDocs};
use tantivy::columnar::StrColumn;
use tantivy::index::SegmentId;
use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, FuzzyTermQuery, Occur, Query, RangeQuery, TermQuery,
    TermSetQuery,
};
use tantivy::schema::{
    Field, IndexRecordOption, STORED, STRING, Schema, TEXT, TextFieldIndexing, TextOptions, Value,
};
use tantivy::snippet::SnippetGenerator;
use tantivy::tokenizer::{LowerCaser, RawTokenizer, TextAnalyzer};
use tantivy::{
    DocAddress, DocId, Index, IndexReader, IndexWriter, ReloadPolicy, Score, SegmentOrdinal,
    SegmentReader, TantivyDocument, Term,
};

use crate::doc::{Kind, Scalar, SearchDoc, VISIBLE_TO_ALL, number_text, time_value};
use crate::query::{Clause, Match, QueryError, Target, parse};

/// Why the index could not do something.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("search index: {0}")]
    Index(#[from] tantivy::TantivyError),
    #[error("search index directory {path}: {source}")]
    Dir {
        path: String,
        source: std::io::Error,
    },
    #[error("{0}")]
    Query(#[from] QueryError),
}

pub type Result<T> = std::result::Result<T, Error>;

/// The facets every answer counts, in this order.
pub const FACETS: [&str; 6] = ["kind", "type", "account", "region", "status", "severity"];

/// Values shown per facet (the most frequent).
const FACET_VALUES: usize = 20;
/// Characters of text around a highlight.
const SNIPPET_CHARS: usize = 160;
/// Lowercased, untokenized: keyword fields match case-insensitively.
const KEYWORD: &str = "raw_lower";

#[derive(Clone, Copy)]
struct Fields {
    key: Field,
    kind: Field,
    id: Field,
    title: Field,
    text: Field,
    link: Field,
    rtype: Field,
    account: Field,
    region: Field,
    status: Field,
    severity: Field,
    policy: Field,
    groups: Field,
    tag: Field,
    attr: Field,
    num: Field,
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let keyword = |stored: bool, fast: bool| {
        let mut o = TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(KEYWORD)
                .set_index_option(IndexRecordOption::Basic),
        );
        if stored {
            o = o.set_stored();
        }
        if fast {
            o = o.set_fast(KEYWORD);
        }
        o
    };
    let f = Fields {
        key: b.add_text_field("key", STRING | STORED),
        kind: b.add_text_field("kind", keyword(true, true)),
        id: b.add_text_field("id", keyword(true, false)),
        title: b.add_text_field("title", TEXT | STORED),
        text: b.add_text_field("text", TEXT | STORED),
        link: b.add_text_field("link", STORED),
        rtype: b.add_text_field("type", keyword(true, true)),
        account: b.add_text_field("account", keyword(true, true)),
        region: b.add_text_field("region", keyword(true, true)),
        status: b.add_text_field("status", keyword(true, true)),
        severity: b.add_text_field("severity", keyword(true, true)),
        policy: b.add_text_field("policy", keyword(false, false)),
        groups: b.add_text_field("groups", STRING),
        tag: b.add_text_field("tag", STRING),
        attr: b.add_text_field("attr", STRING),
        num: b.add_text_field("num", STRING),
    };
    (b.build(), f)
}

/// How much the writer may use.
#[derive(Clone, Copy, Debug)]
pub struct WriterOptions {
    pub threads: usize,
    /// Bytes of indexing memory in all (at least 15 MB per thread).
    pub heap: usize,
}

impl Default for WriterOptions {
    fn default() -> Self {
        WriterOptions {
            threads: 1,
            heap: 64 << 20,
        }
    }
}

/// A change applied in one commit.
#[derive(Debug, Default)]
pub struct Change {
    /// Remove every document first (a rebuild).
    pub clear: bool,
    /// Remove every document of these kinds first.
    pub clear_kinds: Vec<Kind>,
    /// Documents to remove, by key.
    pub deletes: Vec<String>,
    /// Documents to add or replace (by key).
    pub upserts: Vec<SearchDoc>,
    /// What the caller records with the commit (see [`SearchIndex::state`]);
    /// `None` keeps the last one.
    pub state: Option<String>,
}

/// Answers kept per index generation (each commit is a new generation).
const CACHED_ANSWERS: usize = 1_024;

/// The index, its reader, its one writer, and the answers of its current
/// generation.
pub struct SearchIndex {
    index: Index,
    reader: IndexReader,
    writer: Mutex<IndexWriter>,
    fields: Fields,
    cache: Mutex<AnswerCache>,
    /// The facet columns' values of each live segment, decoded once
    /// (segments never change; a merge makes new ones).
    dictionaries: Dictionaries,
    /// The state recorded by the commit the reader serves. A commit holds
    /// it for writing across the reader's reload, and a search takes its
    /// searcher under it: an answer's state is always that of its results.
    searchable: RwLock<Option<String>>,
}

type Dictionaries = Mutex<HashMap<(SegmentId, usize), Arc<[String]>>>;

/// Answers by request, valid for one searcher generation: a commit makes
/// a new generation and empties it, so an answer is never older than the
/// index it came from. Searches repeat (the portal's facet links, pages,
/// the same question from many people after a scan), and at 1M resources
/// counting six facets over 100k+ matches costs 10-25 ms of CPU that a hit
/// does not pay.
struct AnswerCache {
    generation: u64,
    answers: Option<LruCache<AnswerKey, Arc<Answer>>>,
}

#[derive(Clone, PartialEq, Eq, Hash)]
struct AnswerKey {
    query: String,
    filters: Vec<String>,
    scope: Option<Vec<String>>,
    offset: usize,
    limit: usize,
}

impl AnswerCache {
    fn new(capacity: usize) -> AnswerCache {
        AnswerCache {
            generation: 0,
            answers: NonZeroUsize::new(capacity).map(LruCache::new),
        }
    }

    /// The cache of `generation`, emptied if it held another's.
    fn of(&mut self, generation: u64) -> Option<&mut LruCache<AnswerKey, Arc<Answer>>> {
        let answers = self.answers.as_mut()?;
        if self.generation != generation {
            answers.clear();
            self.generation = generation;
        }
        Some(answers)
    }
}

/// What a search asks for.
#[derive(Clone, Debug, Default)]
pub struct Request {
    pub query: String,
    /// Further clauses (the API's `type=`, `account=`, … parameters),
    /// in the query language.
    pub filters: Vec<String>,
    pub offset: usize,
    pub limit: usize,
}

/// One result.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Hit {
    pub key: String,
    pub kind: String,
    pub id: String,
    pub title: String,
    pub link: String,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub rtype: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub severity: Option<String>,
    pub score: f32,
    /// A piece of the document's text around what matched, in parts
    /// (`matched` parts are the highlights). Empty when no word matched.
    pub highlight: Vec<Part>,
}

/// A piece of highlighted text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Part {
    pub text: String,
    pub matched: bool,
}

/// A facet value and how many results have it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FacetValue {
    pub value: String,
    pub count: u64,
}

/// The answer to a [`Request`].
#[derive(Clone, Debug, Serialize)]
pub struct Answer {
    pub total: u64,
    pub hits: Vec<Hit>,
    /// [`FACETS`] → their most frequent values among all results (not
    /// only this page).
    pub facets: BTreeMap<String, Vec<FacetValue>>,
    /// What the commit these results come from recorded
    /// ([`SearchIndex::commit`]'s `state`).
    #[serde(skip)]
    pub state: Option<String>,
}

impl SearchIndex {
    /// Opens the index in `dir`, or makes a new one there. An index of
    /// another schema (an older Pac) or one that cannot be opened is
    /// replaced by an empty one: the caller rebuilds it (its state is then
    /// `None`).
    pub fn open(dir: &Path, opts: WriterOptions) -> Result<SearchIndex> {
        let io = |source| Error::Dir {
            path: dir.display().to_string(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(io)?;
        let (schema, fields) = schema();
        let same = |i: &Index| {
            serde_json::to_string(&i.schema()).ok() == serde_json::to_string(&schema).ok()
        };
        let index = match Index::open_in_dir(dir) {
            Ok(i) if same(&i) => i,
            _ => {
                // Not ours any more: start again in the same place.
                for e in std::fs::read_dir(dir).map_err(io)? {
                    let p = e.map_err(io)?.path();
                    if p.is_dir() {
                        std::fs::remove_dir_all(&p).map_err(io)?;
                    } else {
                        std::fs::remove_file(&p).map_err(io)?;
                    }
                }
                Index::create_in_dir(dir, schema)?
            }
        };
        SearchIndex::with(index, fields, opts)
    }

    /// An index in memory (`pacc search` on a one-off inventory, tests).
    pub fn in_memory(opts: WriterOptions) -> Result<SearchIndex> {
        let (schema, fields) = schema();
        SearchIndex::with(Index::create_in_ram(schema), fields, opts)
    }

    fn with(index: Index, fields: Fields, opts: WriterOptions) -> Result<SearchIndex> {
        let keyword = TextAnalyzer::builder(RawTokenizer::default())
            .filter(LowerCaser)
            .build();
        // Fast fields have their own tokenizers.
        index.tokenizers().register(KEYWORD, keyword.clone());
        index.fast_field_tokenizer().register(KEYWORD, keyword);
        let threads = opts.threads.max(1);
        let writer = index.writer_with_num_threads(threads, opts.heap.max(threads * (16 << 20)))?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        let searchable = RwLock::new(index.load_metas()?.payload);
        Ok(SearchIndex {
            index,
            reader,
            writer: Mutex::new(writer),
            fields,
            cache: Mutex::new(AnswerCache::new(CACHED_ANSWERS)),
            dictionaries: Mutex::default(),
            searchable,
        })
    }

    /// What the last commit recorded ([`Change::state`]); `None` for a new
    /// index.
    pub fn state(&self) -> Result<Option<String>> {
        Ok(self.index.load_metas()?.payload)
    }

    /// Documents searchable now.
    pub fn len(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Applies `c` in one commit and makes it searchable. If the process
    /// dies before the commit, the index is as the last commit left it.
    pub fn apply(&self, c: Change) -> Result<()> {
        let state = c.state.clone();
        match self.stage(c) {
            Ok(()) => self.commit(state.as_deref()),
            Err(e) => {
                self.rollback();
                Err(e)
            }
        }
    }

    /// Queues `c` for the next [`SearchIndex::commit`] (its `state` is
    /// ignored): large updates are staged in parts, so that no more than a
    /// part of the documents is held at once, and committed together.
    pub fn stage(&self, c: Change) -> Result<()> {
        let w = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        let f = self.fields;
        if c.clear {
            w.delete_all_documents()?;
        }
        for k in &c.clear_kinds {
            w.delete_term(Term::from_field_text(f.kind, k.name()));
        }
        for key in &c.deletes {
            w.delete_term(Term::from_field_text(f.key, key));
        }
        for d in &c.upserts {
            w.delete_term(Term::from_field_text(f.key, &d.key));
            w.add_document(self.document(d))?;
        }
        Ok(())
    }

    /// Commits what was staged, recording `state` (`None` keeps the last
    /// one), and makes it searchable.
    pub fn commit(&self, state: Option<&str>) -> Result<()> {
        let mut w = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        let result = (|| -> Result<Option<String>> {
            let mut p = w.prepare_commit()?;
            let state = match state {
                Some(s) => Some(s.to_string()),
                None => self.index.load_metas()?.payload,
            };
            if let Some(s) = &state {
                p.set_payload(s);
            }
            p.commit()?;
            Ok(state)
        })();
        if result.is_err() {
            let _ = w.rollback();
        }
        let state = result?;
        drop(w);
        {
            let mut searchable = self.searchable.write().unwrap_or_else(|p| p.into_inner());
            self.reader.reload()?;
            *searchable = state;
        }
        let live: Vec<SegmentId> = self
            .reader
            .searcher()
            .segment_readers()
            .iter()
            .map(SegmentReader::segment_id)
            .collect();
        self.dictionaries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|(segment, _), _| live.contains(segment));
        Ok(())
    }

    /// Drops what was staged since the last commit.
    pub fn rollback(&self) {
        let mut w = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        let _ = w.rollback();
    }

    fn document(&self, d: &SearchDoc) -> TantivyDocument {
        let f = self.fields;
        let mut doc = TantivyDocument::default();
        doc.add_text(f.key, &d.key);
        doc.add_text(f.kind, d.kind.name());
        doc.add_text(f.id, &d.id);
        doc.add_text(f.title, &d.title);
        doc.add_text(f.link, &d.link);
        for (field, v) in [
            (f.rtype, &d.rtype),
            (f.account, &d.account),
            (f.region, &d.region),
            (f.status, &d.status),
            (f.severity, &d.severity),
        ] {
            if let Some(v) = v {
                doc.add_text(field, v);
            }
        }
        for p in &d.policies {
            doc.add_text(f.policy, p);
        }
        for g in &d.groups {
            doc.add_text(f.groups, g);
        }
        // The free text: the id, the words of its text, then its
        // attributes and tags as `path: value` lines (what highlights show).
        let mut text = String::with_capacity(256);
        text.push_str(&d.id);
        for t in &d.text {
            text.push('\n');
            text.push_str(t);
        }
        for (k, v) in &d.tags {
            let (k, v) = (k.to_lowercase(), v.to_lowercase());
            doc.add_text(f.tag, &k);
            doc.add_text(f.tag, format!("{k}={v}"));
            text.push_str(&format!("\ntag {k}={v}"));
        }
        for (path, v) in &d.attributes {
            let path = path.to_lowercase();
            let shown = match v {
                Scalar::Str(s) => {
                    if let Some(t) = time_value(s) {
                        doc.add_text(f.num, num_term(&path, t));
                    }
                    if s.len() <= crate::doc::MAX_VALUE {
                        doc.add_text(f.attr, format!("{path}={}", s.to_lowercase()));
                        s.clone()
                    } else {
                        s.chars().take(crate::doc::MAX_VALUE).collect()
                    }
                }
                Scalar::Num(n) => {
                    doc.add_text(f.num, num_term(&path, *n));
                    let t = number_text(*n);
                    doc.add_text(f.attr, format!("{path}={t}"));
                    t
                }
                Scalar::Bool(b) => {
                    doc.add_text(f.attr, format!("{path}={b}"));
                    b.to_string()
                }
            };
            text.push('\n');
            text.push_str(&path);
            text.push_str(": ");
            text.push_str(&shown);
        }
        doc.add_text(f.text, &text);
        doc
    }

    /// How many answers to keep for the current generation; 0 turns the
    /// cache off (benchmarks that time every search).
    pub fn set_cache_capacity(&self, capacity: usize) {
        *self.cache.lock().unwrap_or_else(|p| p.into_inner()) = AnswerCache::new(capacity);
    }

    /// Runs `r` within `scope` (`None`: everything; otherwise the asset
    /// groups the caller may see, to which [`VISIBLE_TO_ALL`] is added).
    pub fn search(&self, r: &Request, scope: Option<&[String]>) -> Result<Answer> {
        let (searcher, state) = {
            let searchable = self.searchable.read().unwrap_or_else(|p| p.into_inner());
            (self.reader.searcher(), searchable.clone())
        };
        let generation = searcher.generation().generation_id();
        let key = AnswerKey {
            query: r.query.clone(),
            filters: r.filters.clone(),
            scope: scope.map(<[String]>::to_vec),
            offset: r.offset,
            limit: r.limit,
        };
        let cached = {
            let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
            cache.of(generation).and_then(|c| c.get(&key).cloned())
        };
        if let Some(a) = cached {
            return Ok(Answer {
                state,
                ..(*a).clone()
            });
        }
        let answer = Arc::new(self.run(&searcher, r, scope)?);
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = cache.of(generation) {
            c.put(key, answer.clone());
        }
        Ok(Answer {
            state,
            ..Arc::unwrap_or_clone(answer)
        })
    }

    fn run(
        &self,
        searcher: &tantivy::Searcher,
        r: &Request,
        scope: Option<&[String]>,
    ) -> Result<Answer> {
        let mut clauses = parse(&r.query)?;
        for filter in &r.filters {
            clauses.extend(parse(filter)?);
        }
        let (query, words) = self.build(&clauses, scope)?;
        let limit = r.limit.clamp(1, 1_000);
        let offset = r.offset.min(100_000);
        let facets = FacetCounts {
            fields: FACETS.to_vec(),
            dictionaries: &self.dictionaries,
        };
        let scored = clauses
            .iter()
            .any(|c| matches!(c, Clause::Words { negated: false, .. }));
        // Every document has a kind: the kind facet's counts sum to the
        // total, so no separate count pass.
        let (top, counts) = if scored {
            let top = TopDocs::with_limit(limit)
                .and_offset(offset)
                .order_by_score();
            searcher.search(&query, &(top, facets))?
        } else {
            // Filters only: no score to rank by, so the index's order, no
            // scoring at all, and documents a block at a time.
            let page = FirstDocs { offset, limit };
            searcher.search(&query, &PageAndFacets { page, facets })?
        };
        let total: u64 = counts[0].values().sum();
        let snippets = if words.is_empty() {
            None
        } else {
            let tokenizer = self.index.tokenizer_for_field(self.fields.text)?;
            let mut g = SnippetGenerator::new(words, tokenizer, self.fields.text, SNIPPET_CHARS);
            g.set_max_num_chars(SNIPPET_CHARS);
            Some(g)
        };
        let mut hits = Vec::with_capacity(top.len());
        for (score, addr) in top {
            hits.push(self.hit(searcher, addr, score, snippets.as_ref())?);
        }
        let facets = FACETS
            .iter()
            .zip(counts)
            .map(|(name, counts)| {
                let mut values: Vec<FacetValue> = counts
                    .into_iter()
                    .map(|(value, count)| FacetValue { value, count })
                    .collect();
                values.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
                values.truncate(FACET_VALUES);
                (name.to_string(), values)
            })
            .collect();
        Ok(Answer {
            total,
            hits,
            facets,
            state: None,
        })
    }

    fn hit(
        &self,
        searcher: &tantivy::Searcher,
        addr: DocAddress,
        score: Score,
        snippets: Option<&SnippetGenerator>,
    ) -> Result<Hit> {
        let f = self.fields;
        let doc: TantivyDocument = searcher.doc(addr)?;
        let get = |field: Field| -> Option<String> {
            doc.get_first(field)
                .and_then(|v| v.as_str().map(str::to_string))
        };
        let highlight = match snippets {
            Some(g) => {
                let s = g.snippet_from_doc(&doc);
                parts(s.fragment(), s.highlighted())
            }
            None => Vec::new(),
        };
        Ok(Hit {
            key: get(f.key).unwrap_or_default(),
            kind: get(f.kind).unwrap_or_default(),
            id: get(f.id).unwrap_or_default(),
            title: get(f.title).unwrap_or_default(),
            link: get(f.link).unwrap_or_default(),
            rtype: get(f.rtype),
            account: get(f.account),
            region: get(f.region),
            status: get(f.status),
            severity: get(f.severity),
            score,
            highlight,
        })
    }

    /// The tantivy query of `clauses` within `scope`, and the words to
    /// highlight (with their weights).
    fn build(
        &self,
        clauses: &[Clause],
        scope: Option<&[String]>,
    ) -> Result<(BooleanQuery, BTreeMap<String, Score>)> {
        let f = self.fields;
        let mut subs: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        let mut words = BTreeMap::new();
        let mut positive = false;
        for c in clauses {
            let (q, negated) = match c {
                Clause::Words { text, negated } => {
                    let tokens = self.tokens(text)?;
                    if tokens.is_empty() {
                        continue;
                    }
                    if !negated {
                        for t in &tokens {
                            words.insert(t.clone(), 1.0);
                        }
                    }
                    (self.words_query(text, &tokens, *negated), *negated)
                }
                Clause::Field {
                    target,
                    matches,
                    negated,
                } => {
                    if let (Target::Tag | Target::Attribute(_), Match::Exact(v), false) =
                        (target, matches, negated)
                    {
                        let v = v.rsplit('=').next().unwrap_or(v);
                        for t in self.tokens(v)? {
                            words.insert(t, 0.5);
                        }
                    }
                    (self.field_query(target, matches)?, *negated)
                }
            };
            positive |= !negated;
            subs.push((if negated { Occur::MustNot } else { Occur::Must }, q));
        }
        if !positive {
            subs.push((Occur::Must, Box::new(AllQuery)));
        }
        if let Some(groups) = scope {
            let terms = groups
                .iter()
                .map(String::as_str)
                .chain([VISIBLE_TO_ALL])
                .map(|g| Term::from_field_text(f.groups, g));
            subs.push((Occur::Must, Box::new(TermSetQuery::new(terms))));
        }
        Ok((BooleanQuery::new(subs), words))
    }

    /// Free text: every token must match (exactly, with a typo or two for
    /// longer words, or as the start of a word for the last one); an exact
    /// id ranks first.
    fn words_query(&self, text: &str, tokens: &[String], negated: bool) -> Box<dyn Query> {
        let f = self.fields;
        let term = |field, t: &str| -> Box<dyn Query> {
            Box::new(TermQuery::new(
                Term::from_field_text(field, t),
                IndexRecordOption::WithFreqs,
            ))
        };
        let mut all: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for (i, t) in tokens.iter().enumerate() {
            let mut any: Vec<(Occur, Box<dyn Query>)> = vec![
                (
                    Occur::Should,
                    Box::new(BoostQuery::new(term(f.title, t), 2.0)),
                ),
                (Occur::Should, term(f.text, t)),
            ];
            // Typos and prefixes for words only: a token with a digit is
            // an id or a number, and the automata over a dictionary that
            // holds every id of the estate cost more than they find.
            if !negated && !t.chars().any(|c| c.is_ascii_digit()) {
                let chars = t.chars().count();
                let distance = match chars {
                    0..=3 => 0,
                    4..=7 => 1,
                    _ => 2,
                };
                if distance > 0 {
                    let fuzzy =
                        FuzzyTermQuery::new(Term::from_field_text(f.text, t), distance, true);
                    any.push((
                        Occur::Should,
                        Box::new(BoostQuery::new(Box::new(fuzzy), 0.5)),
                    ));
                }
                if i + 1 == tokens.len() && chars >= 3 {
                    let prefix =
                        FuzzyTermQuery::new_prefix(Term::from_field_text(f.text, t), 0, true);
                    any.push((
                        Occur::Should,
                        Box::new(BoostQuery::new(Box::new(prefix), 0.5)),
                    ));
                }
            }
            all.push((Occur::Must, Box::new(BooleanQuery::new(any))));
        }
        let tokens_query: Box<dyn Query> = Box::new(BooleanQuery::new(all));
        if negated {
            return tokens_query;
        }
        let id = Box::new(BoostQuery::new(term(f.id, &text.to_lowercase()), 10.0));
        // The id match only adds to the score of what the words match.
        Box::new(BooleanQuery::new(vec![
            (Occur::Must, tokens_query),
            (Occur::Should, id),
        ]))
    }

    fn field_query(&self, target: &Target, m: &Match) -> Result<Box<dyn Query>> {
        let f = self.fields;
        let (field, prefix) = match target {
            Target::Kind => (f.kind, String::new()),
            Target::Type => (f.rtype, String::new()),
            Target::Account => (f.account, String::new()),
            Target::Region => (f.region, String::new()),
            Target::Status => (f.status, String::new()),
            Target::Severity => (f.severity, String::new()),
            Target::Policy => (f.policy, String::new()),
            Target::Group => (f.groups, String::new()),
            Target::Id => (f.id, String::new()),
            Target::Tag => (f.tag, String::new()),
            Target::Attribute(path) => (f.attr, format!("{}=", path.to_lowercase())),
        };
        let exact = |field, t: String| -> Box<dyn Query> {
            Box::new(TermQuery::new(
                Term::from_field_text(field, &t),
                IndexRecordOption::Basic,
            ))
        };
        Ok(match m {
            Match::Exact(v) => {
                let mut q = exact(field, format!("{prefix}{v}"));
                if let (Target::Attribute(path), Some(n)) = (target, crate::query::number(v)) {
                    q = Box::new(BooleanQuery::new(vec![
                        (Occur::Should, q),
                        (
                            Occur::Should,
                            exact(f.num, num_term(&path.to_lowercase(), n)),
                        ),
                    ]));
                }
                q
            }
            Match::Prefix(p) => {
                let lo = format!("{prefix}{p}");
                let hi = format!("{lo}\u{10FFFF}");
                Box::new(RangeQuery::new(
                    Bound::Included(Term::from_field_text(field, &lo)),
                    Bound::Included(Term::from_field_text(field, &hi)),
                ))
            }
            Match::Range(lo, hi) => {
                let Target::Attribute(path) = target else {
                    return Err(QueryError {
                        message: "ranges (`>`, `<`, `..`) apply to attributes with numbers or times, e.g. `size:>100`".into(),
                        at: 0,
                    }
                    .into());
                };
                let path = path.to_lowercase();
                let bound = |b: &Bound<f64>, open: f64| match b {
                    Bound::Included(v) => {
                        Bound::Included(Term::from_field_text(f.num, &num_term(&path, *v)))
                    }
                    Bound::Excluded(v) => {
                        Bound::Excluded(Term::from_field_text(f.num, &num_term(&path, *v)))
                    }
                    Bound::Unbounded => {
                        Bound::Included(Term::from_field_text(f.num, &num_term(&path, open)))
                    }
                };
                Box::new(RangeQuery::new(
                    bound(lo, f64::NEG_INFINITY),
                    bound(hi, f64::INFINITY),
                ))
            }
        })
    }

    /// `text` cut and lowercased as the free text is indexed.
    fn tokens(&self, text: &str) -> Result<Vec<String>> {
        let mut a = self.index.tokenizer_for_field(self.fields.text)?;
        let mut s = a.token_stream(text);
        let mut out = Vec::new();
        while let Some(t) = s.next() {
            out.push(t.text.clone());
        }
        Ok(out)
    }
}

/// `path=` and a number as 16 hex digits that sort as the numbers do.
fn num_term(path: &str, n: f64) -> String {
    let bits = n.to_bits();
    let key = if bits >> 63 == 1 {
        !bits
    } else {
        bits | (1 << 63)
    };
    format!("{path}={key:016x}")
}

/// A fragment cut into highlighted and plain parts.
fn parts(fragment: &str, ranges: &[std::ops::Range<usize>]) -> Vec<Part> {
    let mut out = Vec::new();
    let mut at = 0;
    for r in ranges {
        if r.start < at || r.end > fragment.len() {
            continue;
        }
        if r.start > at {
            out.push(Part {
                text: fragment[at..r.start].to_string(),
                matched: false,
            });
        }
        out.push(Part {
            text: fragment[r.clone()].to_string(),
            matched: true,
        });
        at = r.end;
    }
    if at < fragment.len() {
        out.push(Part {
            text: fragment[at..].to_string(),
            matched: false,
        });
    }
    out
}

/// Counts the values of the facet fields among every matching document,
/// by term ordinal per segment (no strings until the end).
struct FacetCounts<'a> {
    fields: Vec<&'static str>,
    dictionaries: &'a Dictionaries,
}

struct SegmentFacets {
    columns: Vec<Option<StrColumn>>,
    /// Each column's values by ordinal.
    values: Vec<Arc<[String]>>,
    counts: Vec<Vec<u32>>,
    /// Ordinals of a block of documents (reused).
    ords: Vec<Option<u64>>,
}

type FacetFruit = Vec<HashMap<String, u64>>;

impl FacetCounts<'_> {
    /// The values of column `i` of `segment`, decoded on the first search
    /// that reads them.
    fn values(
        &self,
        segment: SegmentId,
        i: usize,
        col: &StrColumn,
    ) -> tantivy::Result<Arc<[String]>> {
        let mut cache = self.dictionaries.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(v) = cache.get(&(segment, i)) {
            return Ok(v.clone());
        }
        let mut values = Vec::with_capacity(col.num_terms());
        let mut stream = col.dictionary().stream()?;
        while stream.advance() {
            values.push(String::from_utf8_lossy(stream.key()).into_owned());
        }
        let values: Arc<[String]> = values.into();
        cache.insert((segment, i), values.clone());
        Ok(values)
    }
}

impl Collector for FacetCounts<'_> {
    type Fruit = FacetFruit;
    type Child = SegmentFacets;

    fn for_segment(
        &self,
        _: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<SegmentFacets> {
        let mut columns = Vec::new();
        let mut values = Vec::new();
        let mut counts = Vec::new();
        for (i, name) in self.fields.iter().enumerate() {
            let col = reader.fast_fields().str(name)?;
            let v = match &col {
                Some(c) => self.values(reader.segment_id(), i, c)?,
                None => Arc::from(Vec::new()),
            };
            counts.push(vec![0; v.len()]);
            values.push(v);
            columns.push(col);
        }
        Ok(SegmentFacets {
            columns,
            values,
            counts,
            ords: Vec::new(),
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<FacetFruit>) -> tantivy::Result<FacetFruit> {
        let mut out: FacetFruit = vec![HashMap::new(); self.fields.len()];
        for fruit in fruits {
            for (into, from) in out.iter_mut().zip(fruit) {
                for (k, n) in from {
                    *into.entry(k).or_default() += n;
                }
            }
        }
        Ok(out)
    }
}

impl SegmentCollector for SegmentFacets {
    type Fruit = FacetFruit;

    fn collect(&mut self, doc: DocId, _: Score) {
        for (col, counts) in self.columns.iter().zip(&mut self.counts) {
            if let Some(col) = col
                && let Some(ord) = col.ords().first(doc)
                && let Some(n) = counts.get_mut(ord as usize)
            {
                *n += 1;
            }
        }
    }

    /// A block at a time (queries without scores): one column read per
    /// facet for the whole block.
    fn collect_block(&mut self, docs: &[DocId]) {
        for (col, counts) in self.columns.iter().zip(&mut self.counts) {
            let Some(col) = col else { continue };
            self.ords.clear();
            self.ords.resize(docs.len(), None);
            col.ords().first_vals(docs, &mut self.ords);
            for ord in self.ords.iter().flatten() {
                if let Some(n) = counts.get_mut(*ord as usize) {
                    *n += 1;
                }
            }
        }
    }

    fn harvest(self) -> FacetFruit {
        self.values
            .iter()
            .zip(self.counts)
            .map(|(values, counts)| {
                counts
                    .into_iter()
                    .zip(values.iter())
                    .filter(|(n, _)| *n > 0)
                    .map(|(n, v)| (v.clone(), u64::from(n)))
                    .collect()
            })
            .collect()
    }
}

/// A page in the index's order and the facet counts, without scores: the
/// query's documents a block at a time, deleted ones taken out of each
/// block (tantivy's default hands documents one by one as soon as a
/// segment has deletes, which every segment has after a rescan).
struct PageAndFacets<'a> {
    page: FirstDocs,
    facets: FacetCounts<'a>,
}

impl Collector for PageAndFacets<'_> {
    type Fruit = (Vec<(Score, DocAddress)>, FacetFruit);
    type Child = (SegmentFirstDocs, SegmentFacets);

    fn for_segment(
        &self,
        ord: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<Self::Child> {
        Ok((
            self.page.for_segment(ord, reader)?,
            self.facets.for_segment(ord, reader)?,
        ))
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(
        &self,
        fruits: Vec<(Vec<DocAddress>, FacetFruit)>,
    ) -> tantivy::Result<Self::Fruit> {
        let (pages, facets): (Vec<_>, Vec<_>) = fruits.into_iter().unzip();
        Ok((
            self.page.merge_fruits(pages)?,
            self.facets.merge_fruits(facets)?,
        ))
    }

    fn collect_segment(
        &self,
        weight: &dyn tantivy::query::Weight,
        ord: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<(Vec<DocAddress>, FacetFruit)> {
        let mut child = self.for_segment(ord, reader)?;
        match reader.alive_bitset() {
            None => weight.for_each_no_score(reader, &mut |docs| child.collect_block(docs))?,
            Some(alive) => {
                let mut live = Vec::with_capacity(64);
                weight.for_each_no_score(reader, &mut |docs| {
                    live.clear();
                    live.extend(docs.iter().copied().filter(|d| alive.is_alive(*d)));
                    child.collect_block(&live);
                })?
            }
        }
        Ok(child.harvest())
    }
}

/// The page `offset..offset + limit` of the matching documents in the
/// index's order (segment, then document), without scores.
struct FirstDocs {
    offset: usize,
    limit: usize,
}

struct SegmentFirstDocs {
    segment: SegmentOrdinal,
    want: usize,
    docs: Vec<DocAddress>,
}

impl Collector for FirstDocs {
    type Fruit = Vec<(Score, DocAddress)>;
    type Child = SegmentFirstDocs;

    fn for_segment(
        &self,
        segment: SegmentOrdinal,
        _: &SegmentReader,
    ) -> tantivy::Result<SegmentFirstDocs> {
        let want = self.offset + self.limit;
        Ok(SegmentFirstDocs {
            segment,
            want,
            docs: Vec::with_capacity(want.min(1_024)),
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<Vec<DocAddress>>) -> tantivy::Result<Self::Fruit> {
        let mut all: Vec<DocAddress> = fruits.into_iter().flatten().collect();
        all.sort_unstable();
        Ok(all
            .into_iter()
            .skip(self.offset)
            .take(self.limit)
            .map(|a| (0.0, a))
            .collect())
    }
}

impl SegmentCollector for SegmentFirstDocs {
    type Fruit = Vec<DocAddress>;

    fn collect(&mut self, doc: DocId, _: Score) {
        if self.docs.len() < self.want {
            self.docs.push(DocAddress::new(self.segment, doc));
        }
    }

    fn collect_block(&mut self, docs: &[DocId]) {
        let room = self.want.saturating_sub(self.docs.len());
        self.docs.extend(
            docs.iter()
                .take(room)
                .map(|d| DocAddress::new(self.segment, *d)),
        );
    }

    fn harvest(self) -> Vec<DocAddress> {
        self.docs
    }
}
