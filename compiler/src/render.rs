//! Rendering diagnostics for people (ariadne) and for machines (JSON with
//! line/column positions).

use std::io::Write;

use ariadne::{Color, Config, Label, Report, ReportKind, Source};
use serde::Serialize;

use crate::diag::{Diagnostic, Severity};
use crate::ir::SourceFile;

/// Writes `d` as an ariadne report. `color` is for terminals.
pub fn render(
    d: &Diagnostic,
    files: &[SourceFile],
    color: bool,
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
    let text_len = |f: u32| files.get(f as usize).map(|s| s.text.len()).unwrap_or(0);
    let clamp = |f: u32, s: pac_lang::Span| {
        let n = text_len(f);
        let start = char_offset(files, f, s.start.min(n));
        let end = char_offset(files, f, s.end.min(n)).max(start);
        start..end
    };
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
    let cache = ariadne::sources(files.iter().map(|f| (f.path.clone(), f.text.to_string())));
    let _ = Source::from("");
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

pub fn to_json<'a>(d: &'a Diagnostic, files: &[SourceFile]) -> JsonDiagnostic<'a> {
    let text = |f: u32| {
        files
            .get(f as usize)
            .map(|s| s.text.clone())
            .unwrap_or_else(|| "".into())
    };
    let path = |f: u32| {
        files
            .get(f as usize)
            .map(|s| s.path.clone())
            .unwrap_or_default()
    };
    let t = text(d.file);
    let (line, column) = line_col(&t, d.span.start);
    let (end_line, end_column) = line_col(&t, d.span.end);
    JsonDiagnostic {
        code: d.code,
        severity: d.severity,
        message: &d.message,
        file: path(d.file),
        line,
        column,
        end_line,
        end_column,
        label: &d.label,
        labels: d
            .labels
            .iter()
            .map(|l| {
                let (line, column) = line_col(&text(l.file), l.span.start);
                JsonLabel {
                    file: path(l.file),
                    line,
                    column,
                    message: l.message.clone(),
                }
            })
            .collect(),
        notes: &d.notes,
        suggestion: d.suggestion.as_ref().map(|s| {
            let (line, column) = line_col(&t, s.span.start);
            let (end_line, end_column) = line_col(&t, s.span.end);
            JsonSuggestion {
                message: &s.message,
                replacement: &s.replacement,
                line,
                column,
                end_line,
                end_column,
            }
        }),
    }
}
