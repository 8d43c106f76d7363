//! Rendering diagnostics for people (ariadne) and for machines (JSON with
//! line/column positions).

use std::io::Write;

use ariadne::{Color, Config, Label, Report, ReportKind};
use serde::Serialize;

use crate::diag::{Diagnostic, Severity};
use crate::ir::SourceFile;

type Fetch<'f> = Box<dyn Fn(&String) -> Result<String, Box<dyn std::fmt::Debug>> + 'f>;

/// Renders many diagnostics over the same files: the source cache and the
/// line indexes are built once, not per diagnostic.
pub struct Renderer<'f> {
    files: &'f [SourceFile],
    cache: Option<ariadne::FnCache<String, Fetch<'f>, String>>,
    lines: Vec<Option<Vec<usize>>>,
}

impl<'f> Renderer<'f> {
    pub fn new(files: &'f [SourceFile]) -> Renderer<'f> {
        Renderer {
            files,
            cache: None,
            lines: vec![None; files.len()],
        }
    }

    /// Writes `d` as an ariadne report. `color` is for terminals.
    pub fn render(
        &mut self,
        d: &Diagnostic,
        color: bool,
        out: &mut impl Write,
    ) -> std::io::Result<()> {
        let files = self.files;
        // A label on a very long line (minified or generated text) is shown
        // in a window of that line: the cost (and the output) of each
        // report then stays independent of the line's length.
        let mut spans = vec![(d.file, d.span)];
        spans.extend(d.labels.iter().map(|l| (l.file, l.span)));
        if spans.iter().any(|&(f, s)| {
            self.line_len_at(f, s.start) > LONG_LINE || self.line_len_at(f, s.end) > LONG_LINE
        }) {
            return self.render_excerpts(d, &spans, color, out);
        }
        let cache = self.cache.get_or_insert_with(|| {
            let fetch: Fetch<'f> = Box::new(move |id: &String| {
                Ok(files
                    .iter()
                    .find(|f| &f.path == id)
                    .map(|f| f.text.to_string())
                    .unwrap_or_default())
            });
            ariadne::FnCache::new(fetch)
        });
        write_report(d, files, color, cache, out)
    }

    fn starts(&mut self, file: u32) -> &[usize] {
        let Some(f) = self.files.get(file as usize) else {
            return &[];
        };
        self.lines[file as usize].get_or_insert_with(|| {
            std::iter::once(0)
                .chain(f.text.match_indices('\n').map(|(i, _)| i + 1))
                .collect()
        })
    }

    /// The 0-based line of a byte offset and that line's byte range (without
    /// its newline).
    fn line_of(&mut self, file: u32, byte: usize) -> (usize, usize, usize) {
        let len = self.files.get(file as usize).map_or(0, |f| f.text.len());
        let starts = self.starts(file);
        if starts.is_empty() {
            return (0, 0, 0);
        }
        let byte = byte.min(len);
        let line = starts.partition_point(|&s| s <= byte).max(1) - 1;
        let end = starts.get(line + 1).map_or(len, |&s| s - 1);
        (line, starts[line], end.max(starts[line]))
    }

    fn line_len_at(&mut self, file: u32, byte: usize) -> usize {
        let (_, s, e) = self.line_of(file, byte);
        e - s
    }

    /// The report over excerpts of the files: the lines the labels touch,
    /// each long one cut to a window around the labels on it.
    fn render_excerpts(
        &mut self,
        d: &Diagnostic,
        spans: &[(u32, pac_lang::Span)],
        color: bool,
        out: &mut impl Write,
    ) -> std::io::Result<()> {
        let files = self.files;
        let mut sources: Vec<(String, ariadne::Source<String>)> = Vec::new();
        let mut map: Vec<(u32, Excerpt)> = Vec::new();
        let mut involved: Vec<u32> = spans.iter().map(|s| s.0).collect();
        involved.sort_unstable();
        involved.dedup();
        for f in involved {
            let Some(file) = files.get(f as usize) else {
                continue;
            };
            let text = &file.text;
            let mut ends: Vec<(usize, usize)> = Vec::new(); // (line, byte)
            for &(_, sp) in spans.iter().filter(|s| s.0 == f) {
                for b in [sp.start, sp.end] {
                    let b = b.min(text.len());
                    ends.push((self.line_of(f, b).0, b));
                }
            }
            let first = ends.iter().map(|e| e.0).min().unwrap_or(0);
            let last = ends.iter().map(|e| e.0).max().unwrap_or(0);
            let mut ex = Excerpt {
                text: String::new(),
                lines: Vec::new(),
            };
            for line in first..=last {
                let (ls, le) = {
                    let starts = self.starts(f);
                    let ls = starts[line];
                    let le = starts.get(line + 1).map_or(text.len(), |&s| s - 1).max(ls);
                    (ls, le)
                };
                let on_line: Vec<usize> =
                    ends.iter().filter(|e| e.0 == line).map(|e| e.1).collect();
                let (mut ws, mut we) = if le - ls <= LONG_LINE {
                    (ls, le)
                } else if let (Some(&lo), Some(&hi)) = (on_line.iter().min(), on_line.iter().max())
                {
                    let ws = lo.saturating_sub(CONTEXT).max(ls);
                    (ws, hi.saturating_add(CONTEXT).min(le).min(ws + LONG_LINE))
                } else {
                    (ls, ls + LONG_LINE)
                };
                while ws > ls && !text.is_char_boundary(ws) {
                    ws -= 1;
                }
                while we < le && !text.is_char_boundary(we) {
                    we += 1;
                }
                let base = ex.text.len();
                let pre = ws > ls;
                if pre {
                    ex.text.push('…');
                }
                ex.text.push_str(&text[ws..we]);
                if we < le {
                    ex.text.push('…');
                }
                ex.text.push('\n');
                ex.lines
                    .push((line, ws, we, base + if pre { '…'.len_utf8() } else { 0 }));
            }
            sources.push((
                file.path.clone(),
                ariadne::Source::from(ex.text.clone()).with_display_line_offset(first),
            ));
            map.push((f, ex));
        }
        let locate = |f: u32, b: usize| -> usize {
            let Some((_, ex)) = map.iter().find(|m| m.0 == f) else {
                return 0;
            };
            let b = b.min(files.get(f as usize).map_or(0, |x| x.text.len()));
            let Some(&(_, ws, we, base)) = ex
                .lines
                .iter()
                .find(|l| l.1 <= b && b <= l.2)
                .or_else(|| ex.lines.iter().rev().find(|l| l.1 <= b))
                .or(ex.lines.first())
            else {
                return 0;
            };
            let at = base + b.clamp(ws, we) - ws;
            ex.text.get(..at).map_or(0, |t| t.chars().count())
        };
        let span_of = |f: u32, s: pac_lang::Span| {
            let a = locate(f, s.start);
            a..locate(f, s.end).max(a)
        };
        let fail: fn(&String) -> Result<String, String> = |id| Err(format!("no excerpt of {id}"));
        let cache = ariadne::FnCache::new(fail).with_sources(sources.into_iter().collect());
        write_report_with(d, files, color, cache, &span_of, out)
    }

    /// 1-based line and column (in characters) of a byte offset in a file.
    pub fn line_col(&mut self, file: u32, byte: usize) -> (usize, usize) {
        let Some(f) = self.files.get(file as usize) else {
            return (1, 1);
        };
        let starts = self.lines[file as usize].get_or_insert_with(|| {
            std::iter::once(0)
                .chain(f.text.match_indices('\n').map(|(i, _)| i + 1))
                .collect()
        });
        let byte = byte.min(f.text.len());
        let line = starts.partition_point(|&s| s <= byte).max(1);
        let start = starts[line - 1];
        let col = f
            .text
            .get(start..byte)
            .map(|t| t.chars().count())
            .unwrap_or(byte - start)
            + 1;
        (line, col)
    }

    pub fn to_json<'d>(&mut self, d: &'d Diagnostic) -> JsonDiagnostic<'d> {
        let path = |f: u32| {
            self.files
                .get(f as usize)
                .map(|s| s.path.clone())
                .unwrap_or_default()
        };
        let file = path(d.file);
        let labels_src: Vec<(String, u32, pac_lang::Span, String)> = d
            .labels
            .iter()
            .map(|l| (path(l.file), l.file, l.span, l.message.clone()))
            .collect();
        let (line, column) = self.line_col(d.file, d.span.start);
        let (end_line, end_column) = self.line_col(d.file, d.span.end);
        let labels = labels_src
            .into_iter()
            .map(|(file, fi, span, message)| {
                let (line, column) = self.line_col(fi, span.start);
                JsonLabel {
                    file,
                    line,
                    column,
                    message,
                }
            })
            .collect();
        let suggestion = d.suggestion.as_ref().map(|s| {
            let (line, column) = self.line_col(d.file, s.span.start);
            let (end_line, end_column) = self.line_col(d.file, s.span.end);
            JsonSuggestion {
                message: &s.message,
                replacement: &s.replacement,
                line,
                column,
                end_line,
                end_column,
            }
        });
        JsonDiagnostic {
            code: d.code,
            severity: d.severity,
            message: &d.message,
            file,
            line,
            column,
            end_line,
            end_column,
            label: &d.label,
            labels,
            notes: &d.notes,
            suggestion,
        }
    }
}

/// Writes one diagnostic (for many, use a [`Renderer`]).
pub fn render(
    d: &Diagnostic,
    files: &[SourceFile],
    color: bool,
    out: &mut impl Write,
) -> std::io::Result<()> {
    Renderer::new(files).render(d, color, out)
}

/// Lines longer than this (in bytes) are shown as a window around the labels.
const LONG_LINE: usize = 240;
/// Bytes shown before and after the labels in such a window.
const CONTEXT: usize = 60;

/// One file's excerpt: its text, and for each line taken, (line, first byte,
/// end byte, where that byte starts in the excerpt).
struct Excerpt {
    text: String,
    lines: Vec<(usize, usize, usize, usize)>,
}

fn write_report<C: ariadne::Cache<String>>(
    d: &Diagnostic,
    files: &[SourceFile],
    color: bool,
    cache: C,
    out: &mut impl Write,
) -> std::io::Result<()> {
    let text_len = |f: u32| files.get(f as usize).map(|s| s.text.len()).unwrap_or(0);
    let clamp = |f: u32, s: pac_lang::Span| {
        let n = text_len(f);
        let start = char_offset(files, f, s.start.min(n));
        let end = char_offset(files, f, s.end.min(n)).max(start);
        start..end
    };
    write_report_with(d, files, color, cache, &clamp, out)
}

/// Writes the report, with `clamp` turning a (file, byte span) into the
/// character range ariadne expects in that file's source.
fn write_report_with<C: ariadne::Cache<String>>(
    d: &Diagnostic,
    files: &[SourceFile],
    color: bool,
    cache: C,
    clamp: &dyn Fn(u32, pac_lang::Span) -> std::ops::Range<usize>,
    out: &mut impl Write,
) -> std::io::Result<()> {
    let path = |f: u32| {
        files
            .get(f as usize)
            .map(|s| s.path.clone())
            .unwrap_or_else(|| "<unknown>".into())
    };
    let kind = match d.severity {
        Severity::Error => ReportKind::Error,
        Severity::Warning => ReportKind::Warning,
    };
    let main = path(d.file);
    let primary = clamp(d.file, d.span);
    let mut report = Report::build(kind, (main.clone(), primary.clone()))
        .with_config(Config::default().with_color(color))
        .with_code(d.code)
        .with_message(&d.message);
    let col = if d.severity == Severity::Error {
        Color::Red
    } else {
        Color::Yellow
    };
    // An empty primary label with secondary ones would draw a bare arrow.
    if !d.label.is_empty() || d.labels.is_empty() {
        report = report.with_label(
            Label::new((main.clone(), primary))
                .with_message(&d.label)
                .with_color(col),
        );
    }
    for l in &d.labels {
        report = report.with_label(
            Label::new((path(l.file), clamp(l.file, l.span)))
                .with_message(&l.message)
                .with_color(Color::Blue),
        );
    }
    let mut notes: Vec<String> = d.notes.clone();
    if let Some(s) = &d.suggestion {
        notes.push(
            if s.replacement.is_empty() || s.message.contains(&s.replacement) {
                s.message.clone()
            } else {
                format!("{}: `{}`", s.message, s.replacement)
            },
        );
    }
    for n in notes {
        report = report.with_help(n);
    }
    report.finish().write(cache, out)
}

/// ariadne counts characters; spans are bytes.
fn char_offset(files: &[SourceFile], file: u32, byte: usize) -> usize {
    files
        .get(file as usize)
        .map(|f| {
            f.text
                .get(..byte)
                .map(|t| t.chars().count())
                .unwrap_or(byte)
        })
        .unwrap_or(byte)
}

/// A diagnostic with 1-based line/column positions, for `--format json`.
#[derive(Serialize)]
pub struct JsonDiagnostic<'a> {
    pub code: &'a str,
    pub severity: Severity,
    pub message: &'a str,
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub end_line: usize,
    pub end_column: usize,
    pub label: &'a str,
    pub labels: Vec<JsonLabel>,
    pub notes: &'a [String],
    pub suggestion: Option<JsonSuggestion<'a>>,
}

#[derive(Serialize)]
pub struct JsonLabel {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

#[derive(Serialize)]
pub struct JsonSuggestion<'a> {
    pub message: &'a str,
    pub replacement: &'a str,
    pub line: usize,
    pub column: usize,
    pub end_line: usize,
    pub end_column: usize,
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_col(text: &str, byte: usize) -> (usize, usize) {
    let byte = byte.min(text.len());
    let before = text.get(..byte).unwrap_or("");
    let line = before.matches('\n').count() + 1;
    let col = before
        .rsplit('\n')
        .next()
        .map(|l| l.chars().count())
        .unwrap_or(0)
        + 1;
    (line, col)
}

/// One diagnostic as JSON (for many, use a [`Renderer`]).
pub fn to_json<'a>(d: &'a Diagnostic, files: &[SourceFile]) -> JsonDiagnostic<'a> {
    Renderer::new(files).to_json(d)
}
