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
            return self.render_excerpts(d, color, out);
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

    /// The report for labels on very long lines, drawn here rather than by
    /// ariadne (which lays out whole lines, and whose positions would be
    /// those of an excerpt): each line a label starts on is cut to a window
    /// around its labels; the header gives the true line and column.
    fn render_excerpts(
        &mut self,
        d: &Diagnostic,
        color: bool,
        out: &mut impl Write,
    ) -> std::io::Result<()> {
        use ariadne::Fmt;
        let (kind, tint) = match d.severity {
            Severity::Error => ("Error", Color::Red),
            Severity::Warning => ("Warning", Color::Yellow),
        };
        let paint = |text: &str, c: Color| -> String {
            if color {
                format!("{}", text.fg(c))
            } else {
                text.to_string()
            }
        };
        // (file, span, message) of every label, the primary first.
        let mut labels: Vec<(u32, pac_lang::Span, &str)> = vec![(d.file, d.span, d.label.as_str())];
        labels.extend(
            d.labels
                .iter()
                .map(|l| (l.file, l.span, l.message.as_str())),
        );
        let mut files: Vec<u32> = Vec::new();
        for l in &labels {
            if !files.contains(&l.0) {
                files.push(l.0);
            }
        }
        // The widest line number, for the gutter.
        let width = labels
            .iter()
            .map(|l| (self.line_of(l.0, l.1.start).0 + 1).to_string().len())
            .max()
            .unwrap_or(1);
        let pad = " ".repeat(width);
        writeln!(
            out,
            "{} {}",
            paint(&format!("[{}] {kind}:", d.code), tint),
            d.message
        )?;
        for (k, &f) in files.iter().enumerate() {
            let Some(file) = self.files.get(f as usize) else {
                continue;
            };
            let text = &file.text;
            let on_file: Vec<(u32, pac_lang::Span, &str)> =
                labels.iter().filter(|l| l.0 == f).copied().collect();
            let first = on_file[0].1.start.min(text.len());
            let (line, col) = self.line_col(f, first);
            let corner = if k == 0 { "╭" } else { "├" };
            writeln!(out, "{pad} {corner}─[ {}:{line}:{col} ]", file.path)?;
            writeln!(out, "{pad} │")?;
            // The lines the labels start on, in order, each with its labels.
            let placed: Vec<((usize, usize, usize), pac_lang::Span, &str)> = on_file
                .iter()
                .map(|l| (self.line_of(f, l.1.start.min(text.len())), l.1, l.2))
                .collect();
            let mut lines: Vec<(usize, usize, usize)> = placed.iter().map(|p| p.0).collect();
            lines.sort_unstable();
            lines.dedup();
            for (line, ls, le) in lines {
                let here: Vec<(usize, usize, &str)> = placed
                    .iter()
                    .filter(|p| p.0.0 == line)
                    .map(|p| {
                        let s = p.1.start.clamp(ls, le);
                        (s, p.1.end.clamp(s, le), p.2)
                    })
                    .collect();
                let lo = here.iter().map(|h| h.0).min().unwrap_or(ls);
                let hi = here.iter().map(|h| h.1).max().unwrap_or(ls);
                let mut ws = lo.saturating_sub(CONTEXT).max(ls);
                let mut we = hi
                    .saturating_add(CONTEXT)
                    .min(le)
                    .min(ws + LONG_LINE)
                    .max(ws);
                while ws > ls && !text.is_char_boundary(ws) {
                    ws -= 1;
                }
                while we < le && !text.is_char_boundary(we) {
                    we += 1;
                }
                let pre = if ws > ls { "…" } else { "" };
                let post = if we < le { "…" } else { "" };
                let shown = text.get(ws..we).unwrap_or("").replace('\t', " ");
                writeln!(out, "{:>width$} │ {pre}{shown}{post}", line + 1)?;
                let lead = pre.chars().count();
                for (s, e, msg) in here {
                    let s = s.min(we);
                    let at = lead + text.get(ws..s).map_or(0, |t| t.chars().count());
                    let len = text
                        .get(s..e.min(we))
                        .map_or(0, |t| t.chars().count())
                        .max(1);
                    let mark = paint(&"^".repeat(len), if k == 0 { tint } else { Color::Blue });
                    writeln!(out, "{pad} │ {}{mark} {msg}", " ".repeat(at))?;
                }
            }
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
        if !notes.is_empty() {
            writeln!(out, "{pad} │")?;
        }
        for n in notes {
            writeln!(out, "{pad} │ {}: {n}", paint("Help", Color::Fixed(115)))?;
        }
        writeln!(out, "{}╯", "─".repeat(width + 1))
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
