//! `pacc search`: a one-off search over an inventory file, without a
//! server (docs/search.md, "Command line"). The inventory is read and
//! evaluated as `pacc eval` does, so each resource carries its compliance
//! (status, highest failing severity, failing policies and rules, asset
//! groups); resources, policies and rules go into an index in memory
//! (`pac_search`), and the query runs over it.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use pac_compiler::ir::Program;
use pac_compiler::types::{IMPLICIT_FIELDS, RecordId, Schemas, Ty};
use pac_runtime::{EvalReport, Inventory};
use pac_search::{Answer, Change, Hit, Kind, Request, SearchDoc, SearchIndex, WriterOptions};
use pac_stdlib::Value;
use serde_json::{Map, Value as Json, json};

use crate::cli::{Format, compile_or_report, native_engine, parse_now, read_inventory};

pub struct SearchArgs<'a> {
    pub query: &'a str,
    pub inventory: &'a Path,
    pub policies: &'a [PathBuf],
    pub now: Option<&'a str>,
    pub strict: bool,
    pub format: Format,
    pub limit: usize,
    /// 1-based.
    pub page: usize,
}

/// Documents applied per commit while the index is built.
const BATCH: usize = 50_000;

/// 0: something matched; 1: nothing did; 2: the query, the policies or the
/// inventory cannot be used.
pub fn run(a: &SearchArgs) -> i32 {
    // A query the language refuses is reported before any work is done.
    if let Err(e) = pac_search::parse(a.query) {
        report_query_error(a.query, &e);
        return 2;
    }
    let now = match parse_now(a.now) {
        Ok(n) => n,
        Err(code) => return code,
    };
    let Some(c) = compile_or_report(a.policies) else {
        return 2;
    };
    let program = &c.program;
    let Some(inv) = read_inventory(&c, a.inventory, a.strict) else {
        return 2;
    };
    let native = native_engine(program, crate::cli::EngineKind::Jit, false, false);
    let prepared = native.as_ref().map(|e| e.prepare(&inv));
    let opts = pac_runtime::EvalOptions {
        now,
        explain: false,
        coverage: None,
    };
    let report = pac_runtime::evaluate_failures_with(
        program,
        &inv,
        &opts,
        prepared.as_ref().map(|p| p as &dyn pac_runtime::RuleEngine),
        &[],
    );
    drop(prepared);
    let index = match build_index(program, &inv, &report) {
        Ok(i) => i,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    let request = Request {
        query: a.query.to_string(),
        filters: Vec::new(),
        offset: a.page.saturating_sub(1).saturating_mul(a.limit),
        limit: a.limit,
    };
    let answer = match index.search(&request, None) {
        Ok(ans) => ans,
        Err(pac_search::Error::Query(e)) => {
            report_query_error(a.query, &e);
            return 2;
        }
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let written = match a.format {
        Format::Json => serde_json::to_writer_pretty(&mut out, &answer)
            .map_err(std::io::Error::from)
            .and_then(|()| writeln!(out)),
        Format::Text => {
            let bold = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            write_text(&mut out, a, &answer, bold)
        }
    }
    .and_then(|()| out.flush());
    if let Err(e) = written
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        eprintln!("error: cannot write the answer: {e}");
        return 2;
    }
    i32::from(answer.total == 0)
}

/// The message says what is wrong and what to write instead; the caret
/// shows where.
fn report_query_error(query: &str, e: &pac_search::QueryError) {
    eprintln!("error: {e}");
    if !query.is_empty() {
        let at = e.at.min(query.chars().count());
        eprintln!("  {query}");
        eprintln!("  {}^", " ".repeat(at));
    }
}

/// Resources (with their compliance), policies and rules, in memory.
fn build_index(
    program: &Program,
    inv: &Inventory,
    report: &EvalReport,
) -> Result<SearchIndex, pac_search::Error> {
    // One indexing thread (documents are built on this one meanwhile):
    // documents keep the inventory's order, which breaks ties between
    // equal scores, so that the same query gives the same answer each run.
    let index = SearchIndex::in_memory(WriterOptions {
        threads: 1,
        heap: 256 << 20,
    })?;
    let verdicts = pac_search::compliance::verdicts(program, report, inv.len());
    let mut docs = policy_documents(program);
    for (i, v) in verdicts.iter().enumerate() {
        docs.push(resource_document(program, inv, i, v));
        if docs.len() >= BATCH {
            index.apply(Change {
                upserts: std::mem::take(&mut docs),
                ..Change::default()
            })?;
        }
    }
    index.apply(Change {
        upserts: docs,
        ..Change::default()
    })?;
    Ok(index)
}

/// Policies and rules, linked to where they are declared.
fn policy_documents(program: &Program) -> Vec<SearchDoc> {
    let place = |file: u32, start: usize| -> String {
        match program.files.get(file as usize) {
            Some(f) => {
                let (line, _) = pac_compiler::render::line_col(&f.text, start);
                format!("{}:{line}", f.path)
            }
            None => String::new(),
        }
    };
    let mut docs = pac_search::policy::documents(program);
    for d in &mut docs {
        let at = match d.kind {
            Kind::Policy => program
                .policies
                .iter()
                .find(|p| p.name == d.id)
                .map(|p| (p.file, p.span.start)),
            Kind::Rule => program
                .rule(&d.id)
                .map(|r| (program.rules[r].file, program.rules[r].span.start)),
            _ => None,
        };
        if let Some((file, start)) = at {
            d.link = place(file, start);
        }
    }
    docs
}

/// The resource's document as the reader understood it (schema field
/// names, tags as an object, times in RFC 3339), so that attribute paths
/// are those the policies use, whatever spelling the file had.
fn resource_document(
    program: &Program,
    inv: &Inventory,
    i: usize,
    v: &pac_search::compliance::Verdict,
) -> SearchDoc {
    let r = &inv.resources[i];
    let schemas = &program.schemas;
    let attributes = record_json(schemas, r.rtype, &r.value, IMPLICIT_FIELDS.len());
    let doc = json!({
        "type": &*r.type_name,
        "id": &*r.id,
        "account": &*r.account,
        "region": &*r.region,
        "attributes": attributes,
    });
    let key = format!(
        "resource:{}|{}|{}|{}",
        r.type_name, r.account, r.region, r.id
    );
    let mut d = SearchDoc::resource(key.clone(), &doc)
        .unwrap_or_else(|| SearchDoc::new(Kind::Resource, key, &*r.id));
    v.describe(&mut d, program);
    d.link = if r.line > 0 {
        format!("{}:{}", r.source, r.line)
    } else {
        r.source.to_string()
    };
    d
}

/// A record's fields as a JSON object, from field `skip` on (a resource's
/// implicit `id`, `account` and `region` are its header).
fn record_json(schemas: &Schemas, rec: RecordId, v: &Value, skip: usize) -> Json {
    let mut out = Map::new();
    let Value::Record(fields) = v else {
        return Json::Object(out);
    };
    let def = schemas.record(rec);
    for (f, value) in def.fields.iter().zip(fields.iter()).skip(skip) {
        let j = value_json(schemas, &f.ty, value);
        if !j.is_null() {
            out.insert(f.name.clone(), j);
        }
    }
    Json::Object(out)
}

fn value_json(schemas: &Schemas, ty: &Ty, v: &Value) -> Json {
    let inner = |t: &Ty| -> Ty {
        match t {
            Ty::List(x) | Ty::Map(x) | Ty::Opt(x) => (**x).clone(),
            _ => Ty::Var,
        }
    };
    if let Ty::Opt(t) = ty {
        return value_json(schemas, t, v);
    }
    match v {
        Value::Missing | Value::Regex(_) | Value::Glob(_) => Json::Null,
        Value::Bool(b) => json!(b),
        Value::Int(n) => json!(n),
        Value::Float(f) => serde_json::Number::from_f64(*f).map_or(Json::Null, Json::Number),
        Value::Str(s) => json!(&**s),
        Value::Time(t) => chrono::DateTime::from_timestamp(*t, 0).map_or(Json::Null, |t| {
            json!(t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        }),
        Value::Dur(d) => json!(d),
        Value::Ip(ip) => json!(ip.to_string()),
        Value::Cidr(n) => json!(n.to_string()),
        Value::List(items) => {
            let t = inner(ty);
            Json::Array(items.iter().map(|x| value_json(schemas, &t, x)).collect())
        }
        Value::Map(m) => {
            let t = inner(ty);
            Json::Object(
                m.iter()
                    .map(|(k, x)| (k.to_string(), value_json(schemas, &t, x)))
                    .collect(),
            )
        }
        Value::Record(_) => match ty {
            Ty::Record(id) => record_json(schemas, *id, v, 0),
            _ => Json::Null,
        },
    }
}

/// The answer for a reader: each hit on three or four lines, then the
/// facet counts.
fn write_text(
    out: &mut dyn Write,
    a: &SearchArgs,
    ans: &Answer,
    bold: bool,
) -> std::io::Result<()> {
    let shown = if a.query.trim().is_empty() {
        "everything".to_string()
    } else {
        format!("`{}`", a.query)
    };
    if ans.total == 0 {
        writeln!(out, "no results for {shown}")?;
        writeln!(
            out,
            "(every word must match; try fewer words, a prefix such as `type:aws.ec2.*`, or `-` to exclude)"
        )?;
        return Ok(());
    }
    let first = (a.page - 1) * a.limit + 1;
    let last = first + ans.hits.len().saturating_sub(1);
    let pages = (ans.total as usize).div_ceil(a.limit);
    let plural = if ans.total == 1 { "" } else { "s" };
    if ans.hits.is_empty() {
        writeln!(
            out,
            "{} result{plural} for {shown}; page {} is past the last page ({pages})",
            ans.total, a.page
        )?;
    } else {
        writeln!(
            out,
            "{} result{plural} for {shown} (showing {first}-{last}, page {} of {pages})",
            ans.total, a.page
        )?;
    }
    for h in &ans.hits {
        writeln!(out)?;
        write_hit(out, h, bold)?;
    }
    let facets: Vec<(&String, &Vec<pac_search::FacetValue>)> = pac_search::FACETS
        .iter()
        .filter_map(|f| ans.facets.get_key_value(*f))
        .filter(|(_, v)| !v.is_empty())
        .collect();
    if !facets.is_empty() {
        writeln!(out)?;
        writeln!(out, "facets:")?;
        let width = facets.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
        for (name, values) in facets {
            let list: Vec<String> = values
                .iter()
                .map(|v| format!("{} {}", v.value, v.count))
                .collect();
            writeln!(out, "  {name:<width$}  {}", list.join(", "))?;
        }
    }
    if (last as u64) < ans.total && !ans.hits.is_empty() {
        writeln!(out)?;
        writeln!(out, "more: --page {}", a.page + 1)?;
    }
    Ok(())
}

fn write_hit(out: &mut dyn Write, h: &Hit, bold: bool) -> std::io::Result<()> {
    let heading = if h.title.is_empty() || h.title == h.id {
        h.id.clone()
    } else if h.title.starts_with(&h.id) {
        h.title.clone()
    } else {
        format!("{}: {}", h.id, h.title)
    };
    writeln!(out, "{:<8} {heading}", h.kind)?;
    let mut facts: Vec<&str> = Vec::new();
    for v in [&h.rtype, &h.account, &h.region, &h.status, &h.severity]
        .into_iter()
        .flatten()
    {
        facts.push(v);
    }
    if !facts.is_empty() {
        writeln!(out, "         {}", facts.join(" · "))?;
    }
    if h.highlight.iter().any(|p| p.matched) {
        let mut line = String::new();
        for p in &h.highlight {
            let text = flatten(&p.text);
            match (p.matched, bold) {
                (false, _) => line.push_str(&text),
                (true, true) => line.push_str(&format!("\x1b[1m{text}\x1b[0m")),
                (true, false) => line.push_str(&format!("[{text}]")),
            }
        }
        writeln!(out, "         {}", line.trim())?;
    }
    if !h.link.is_empty() {
        writeln!(out, "         {}", h.link)?;
    }
    Ok(())
}

/// A highlight's text on one line: the indexed text holds one attribute a
/// line.
fn flatten(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut lines = s.split('\n').peekable();
    while let Some(l) = lines.next() {
        out.push_str(l);
        if lines.peek().is_some() {
            out.push_str(" | ");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn highlights_are_kept_on_one_line() {
        assert_eq!(flatten("a: 1\nb: 2"), "a: 1 | b: 2");
        assert_eq!(flatten("plain"), "plain");
    }

    #[test]
    fn times_lists_and_nested_records_become_json() {
        let c = pac_compiler::compile_sources(Vec::new());
        let schemas = &c.program.schemas;
        let t = schemas
            .resource("aws.ec2.volume")
            .expect("the stdlib has volumes");
        let def = schemas.record(t);
        let mut fields: Vec<Value> = vec![Value::Missing; def.fields.len()];
        fields[0] = Value::str("vol-1");
        let at = |name: &str| def.field(name).map(|(i, _)| i as usize);
        if let Some(i) = at("size") {
            fields[i] = Value::Int(500);
        }
        if let Some(i) = at("create_time") {
            fields[i] = Value::Time(1_767_225_600);
        }
        let j = record_json(
            schemas,
            t,
            &Value::Record(fields.into()),
            IMPLICIT_FIELDS.len(),
        );
        assert_eq!(j["size"], json!(500));
        assert_eq!(j["create_time"], json!("2026-01-01T00:00:00Z"));
        assert!(j.get("id").is_none(), "the header is not an attribute: {j}");
    }
}
