//! The formatter behind `pacc fmt`: parses a file and prints its tree back in
//! the canonical style, keeping every comment.
//!
//! The printer builds a small Wadler/Prettier-style document (text, soft and
//! hard line breaks, groups that break as a whole when they do not fit in
//! [`WIDTH`] columns, indentation) and renders it.
//!
//! Comments are not in the tree (doc comments aside, which the nodes carry):
//! they wait in a queue, in source order, each classified by where it sits —
//! trailing code on its line, on a line of its own, or inline before code —
//! and the printers take them as they pass their positions: before a node,
//! comments that precede it; after a node, comments that trail it. A comment
//! is printed exactly once, in order, and whatever no node claims is printed
//! at the end of its block or of the file, so none is lost or duplicated.
//! For idempotence, a comment is printed where the next formatting would
//! read it the same way: a trailing comment stays right after the token it
//! follows, so the line breaks there (a comment after an operand, a list
//! element or a clause breaks the enclosing group at that point).
//!
//! Before returning, [`format`] parses its own output and checks that the
//! tree (spans aside) and the comments are unchanged; if not, it refuses to
//! format rather than change the meaning of a file. (The one known case: a
//! `///` comment that documents nothing, written before a token the
//! formatter drops or moves, such as the optional `,` after a field, would
//! document the next field.)

use crate::ast::*;
use crate::lexer::{self, Comment, CommentKind};
use crate::parse::{SyntaxError, parse_file};

/// The line width that groups must fit in, or break.
pub const WIDTH: usize = 100;
const INDENT: usize = 2;

/// Formats a Pac source file. A file with syntax errors is never formatted:
/// its errors are returned instead.
pub fn format(src: &str) -> Result<String, Vec<SyntaxError>> {
    let parsed = parse_file(src);
    if !parsed.errors.is_empty() {
        return Err(parsed.errors);
    }
    let out = Printer::new(src, &parsed.file).print_file(&parsed.file);
    let again = parse_file(&out);
    if !again.errors.is_empty()
        || shape(&again.file) != shape(&parsed.file)
        || comment_keys(&again.file.comments) != comment_keys(&parsed.file.comments)
    {
        return Err(vec![SyntaxError {
            code: "E0001",
            span: Span::new(0, 0),
            message: "internal formatter error: the formatted text would not mean the same as \
                      the file (a comment in an unusual place?); the file was left as it is"
                .into(),
            expected: Vec::new(),
        }]);
    }
    Ok(out)
}

/// The tree with its spans left out, for comparing two parses of one program.
fn shape(file: &File) -> String {
    spanless(&format!("{:?} {:?}", file.package, file.items))
}

/// The comments of a file as a sorted multiset of texts: doc comments by
/// their content (the formatter writes `/// text`), line comments without
/// trailing blanks, block comments as they are.
fn comment_keys(comments: &[Comment]) -> Vec<String> {
    let mut keys: Vec<String> = comments
        .iter()
        .map(|c| match c.kind {
            CommentKind::Doc => {
                let t = c.text.trim_start_matches("///");
                format!("///{}", t.strip_prefix(' ').unwrap_or(t).trim_end())
            }
            CommentKind::Line => c.text.trim_end().to_string(),
            CommentKind::Block => c.text.clone(),
        })
        .collect();
    keys.sort();
    keys
}

// ------------------------------------------------------------------ documents

#[derive(Clone, Debug)]
enum D {
    Text(String),
    /// A space, or a line break when the enclosing group breaks.
    Line,
    /// Nothing, or a line break when the enclosing group breaks.
    SoftLine,
    /// A space, unless at the start of a line or after one.
    Gap,
    /// Always a line break; breaks every enclosing group.
    HardLine,
    /// A line break unless the line is still empty; breaks enclosing groups.
    FreshLine,
    /// Breaks every enclosing group, prints nothing.
    BreakParent,
    Concat(Vec<D>),
    /// Indents the line breaks inside by [`INDENT`].
    Nest(Box<D>),
    /// Indents the line breaks inside to the current column.
    Align(Box<D>),
    /// Printed flat if it fits, else broken; the flag is "must break".
    Group(Box<D>, bool),
    /// The first when the enclosing group breaks, else the second
    /// (trailing commas).
    IfBreak(Box<D>, Box<D>),
    /// `[item, separator, item, separator, item…]`: a separator breaks only
    /// when the next item does not fit on the line.
    Fill(Vec<D>),
    /// A comment (or several on one line); `true` when it ends with a line
    /// comment, so that a line break must follow.
    Comment(String, bool),
    /// A comment deferred to the end of the line (trailing comments).
    Suffix(String, bool),
}

fn text(s: impl Into<String>) -> D {
    D::Text(s.into())
}

fn cat(parts: Vec<D>) -> D {
    D::Concat(parts)
}

fn nest(d: D) -> D {
    D::Nest(Box::new(d))
}

fn align(d: D) -> D {
    D::Align(Box::new(d))
}

fn if_break(brk: D, flat: D) -> D {
    D::IfBreak(Box::new(brk), Box::new(flat))
}

fn group(d: D) -> D {
    let hard = is_hard(&d);
    D::Group(Box::new(d), hard)
}

fn is_empty(d: &D) -> bool {
    match d {
        D::Concat(v) => v.iter().all(is_empty),
        _ => false,
    }
}

fn is_hard(d: &D) -> bool {
    match d {
        D::Text(s) | D::Comment(s, _) => s.contains('\n'),
        D::HardLine | D::FreshLine | D::BreakParent => true,
        D::Group(_, hard) => *hard,
        D::Concat(v) | D::Fill(v) => v.iter().any(is_hard),
        D::Nest(d) | D::Align(d) => is_hard(d),
        D::IfBreak(_, flat) => is_hard(flat),
        D::Line | D::SoftLine | D::Gap | D::Suffix(..) => false,
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Flat,
    Break,
}

enum Cmd<'d> {
    Doc(usize, Mode, &'d D),
    /// The rest of a fill, from the separator at this index.
    Fill(usize, &'d [D], usize),
}

fn width(s: &str) -> isize {
    s.chars().count() as isize
}

/// Whether `first` (flat) and then `rest` (in their own modes) fit in `rem`
/// columns up to the next line break.
fn fits(mut rem: isize, first: &[&D], rest: &[Cmd]) -> bool {
    let mut local: Vec<(Mode, &D)> = first.iter().rev().map(|d| (Mode::Flat, *d)).collect();
    let mut next_rest = rest.len();
    loop {
        if rem < 0 {
            return false;
        }
        let (mode, d) = match local.pop() {
            Some(x) => x,
            None => {
                if next_rest == 0 {
                    return true;
                }
                next_rest -= 1;
                match &rest[next_rest] {
                    Cmd::Doc(_, m, d) => (*m, *d),
                    Cmd::Fill(_, items, i) => {
                        local.extend(items[*i..].iter().rev().map(|d| (Mode::Break, d)));
                        continue;
                    }
                }
            }
        };
        match d {
            D::Text(s) | D::Comment(s, _) => match s.find('\n') {
                Some(i) => return rem >= width(&s[..i]),
                None => rem -= width(s),
            },
            D::Line if mode == Mode::Flat => rem -= 1,
            D::Gap => rem -= 1,
            D::Line | D::SoftLine if mode == Mode::Break => return true,
            D::SoftLine | D::Line => {}
            D::HardLine | D::FreshLine => return true,
            D::BreakParent | D::Suffix(..) => {}
            D::IfBreak(brk, flat) => {
                local.push((mode, if mode == Mode::Break { brk } else { flat }))
            }
            D::Concat(v) | D::Fill(v) => local.extend(v.iter().rev().map(|d| (mode, d))),
            D::Nest(d) | D::Align(d) => local.push((mode, d)),
            D::Group(d, hard) => local.push((if *hard { Mode::Break } else { mode }, d)),
        }
    }
}

#[derive(Default)]
struct Out {
    s: String,
    col: usize,
    suffix: Vec<(String, bool)>,
    /// A line comment was just written: the next text needs a new line.
    need_newline: bool,
    /// The indentation of the current line.
    line_indent: usize,
}

impl Out {
    fn text(&mut self, s: &str, indent: usize) {
        if s.is_empty() {
            return;
        }
        if self.need_newline {
            self.raw_newline(indent);
        }
        // No space at the start of a line (after a line comment's break).
        let s = if self.at_line_start() {
            s.trim_start_matches(' ')
        } else {
            s
        };
        self.s.push_str(s);
        match s.rfind('\n') {
            Some(i) => self.col = s[i + 1..].chars().count(),
            None => self.col += s.chars().count(),
        }
    }

    fn newline(&mut self, indent: usize) {
        for (s, line) in std::mem::take(&mut self.suffix) {
            if self.need_newline {
                // A second comment after a line comment: a line of its own.
                self.raw_newline(self.line_indent.max(indent));
            }
            let s = if self.at_line_start() {
                s.trim_start()
            } else {
                let trimmed = self.s.trim_end_matches(' ').len();
                self.s.truncate(trimmed);
                &s
            };
            self.s.push_str(s);
            self.col += s.chars().count();
            self.need_newline = line;
        }
        self.raw_newline(indent);
    }

    fn raw_newline(&mut self, indent: usize) {
        let trimmed = self.s.trim_end_matches(' ').len();
        self.s.truncate(trimmed);
        self.s.push('\n');
        self.s.extend(std::iter::repeat_n(' ', indent));
        self.col = indent;
        self.line_indent = indent;
        self.need_newline = false;
    }

    fn at_line_start(&self) -> bool {
        let line = self.s.rsplit('\n').next().unwrap_or("");
        line.trim().is_empty()
    }

    fn finish(mut self) -> String {
        if !self.suffix.is_empty() {
            self.newline(0);
        }
        let mut s = self.s.trim_end().trim_start_matches('\n').to_string();
        if !s.is_empty() {
            s.push('\n');
        }
        s
    }
}

fn render(doc: &D) -> String {
    let mut out = Out::default();
    let mut stack: Vec<Cmd> = vec![Cmd::Doc(0, Mode::Break, doc)];
    while let Some(cmd) = stack.pop() {
        let (indent, mode, d) = match cmd {
            Cmd::Doc(indent, mode, d) => (indent, mode, d),
            Cmd::Fill(indent, items, i) => {
                // items[i] is a separator, items[i + 1] the next item.
                let Some(sep) = items.get(i) else { continue };
                let Some(item) = items.get(i + 1) else {
                    stack.push(Cmd::Doc(indent, Mode::Break, sep));
                    continue;
                };
                let rem = WIDTH as isize - out.col as isize;
                stack.push(Cmd::Fill(indent, items, i + 2));
                if fits(rem, &[sep, item], &[]) {
                    stack.push(Cmd::Doc(indent, Mode::Flat, item));
                    stack.push(Cmd::Doc(indent, Mode::Flat, sep));
                } else {
                    stack.push(Cmd::Doc(indent, Mode::Break, item));
                    stack.push(Cmd::Doc(indent, Mode::Break, sep));
                }
                continue;
            }
        };
        match d {
            D::Text(s) => out.text(s, indent),
            D::Line => match mode {
                Mode::Flat => out.text(" ", indent),
                Mode::Break => out.newline(indent),
            },
            D::SoftLine => {
                if mode == Mode::Break {
                    out.newline(indent);
                }
            }
            D::HardLine => out.newline(indent),
            D::Gap => {
                if !out.need_newline && !out.at_line_start() && !out.s.ends_with(' ') {
                    out.text(" ", indent);
                }
            }
            D::FreshLine => {
                if !out.at_line_start() {
                    out.newline(indent);
                }
            }
            D::BreakParent => {}
            D::Concat(v) => stack.extend(v.iter().rev().map(|d| Cmd::Doc(indent, mode, d))),
            D::Nest(d) => stack.push(Cmd::Doc(indent + INDENT, mode, d)),
            D::Align(d) => {
                let col = if out.need_newline { indent } else { out.col };
                stack.push(Cmd::Doc(col, mode, d));
            }
            D::Group(d, hard) => {
                let m = if mode == Mode::Flat {
                    Mode::Flat
                } else if *hard {
                    Mode::Break
                } else {
                    let rem = WIDTH as isize - out.col as isize;
                    if fits(rem, &[d], &stack) {
                        Mode::Flat
                    } else {
                        Mode::Break
                    }
                };
                stack.push(Cmd::Doc(indent, m, d));
            }
            D::IfBreak(brk, flat) => {
                stack.push(Cmd::Doc(
                    indent,
                    mode,
                    if mode == Mode::Break { brk } else { flat },
                ));
            }
            D::Fill(items) => {
                if mode == Mode::Flat {
                    stack.extend(items.iter().rev().map(|d| Cmd::Doc(indent, mode, d)));
                } else if let Some(first) = items.first() {
                    stack.push(Cmd::Fill(indent, items, 1));
                    stack.push(Cmd::Doc(indent, Mode::Break, first));
                }
            }
            D::Comment(s, line) => {
                out.text(s, indent);
                out.need_newline = *line;
            }
            D::Suffix(s, line) => out.suffix.push((s.clone(), *line)),
        }
    }
    out.finish()
}

// ------------------------------------------------------------------ comments

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Place {
    /// After code on its line, with nothing but comments after it there.
    Trailing,
    /// On a line of its own (possibly with other comments).
    OwnLine,
    /// Before code on the same line (a block comment).
    Inline,
}

/// What follows a trailing comment where it is printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum After {
    /// A line break follows anyway (line-level nodes).
    Newline,
    /// A line break of the enclosing group follows, which must break.
    Break,
    /// Nothing that could break: a line break is added.
    Hard,
}

#[derive(Debug)]
struct Pending {
    text: String,
    /// The text ends with a line comment.
    line: bool,
    start: usize,
    end: usize,
    place: Place,
    /// The end of the last token before the comment.
    prev_token_end: Option<usize>,
    /// The start of the first token after the comment.
    next_token_start: Option<usize>,
    /// A blank line separates the comment from what comes before it.
    blank_before: bool,
}

/// Whether the text between two tokens contains an empty line.
fn has_blank(gap: &str) -> bool {
    let lines: Vec<&str> = gap.split('\n').collect();
    lines.len() > 2
        && lines[1..lines.len() - 1]
            .iter()
            .any(|l| l.trim().is_empty())
}

fn collect_docs(file: &File, out: &mut Vec<Span>) {
    let mut doc = |d: &Option<Doc>| {
        if let Some(d) = d {
            out.push(d.span);
        }
    };
    for item in &file.items {
        match item {
            Item::Schema(s) => {
                doc(&s.doc);
                s.fields.iter().for_each(|f| doc(&f.doc));
            }
            Item::Record(r) => {
                doc(&r.doc);
                r.fields.iter().for_each(|f| doc(&f.doc));
            }
            Item::Fn(f) => doc(&f.doc),
            Item::Action(a) => doc(&a.doc),
            Item::Policy(p) => {
                doc(&p.doc);
                for m in &p.members {
                    if let PolicyMember::Rule(r) = m {
                        doc(&r.doc);
                    }
                }
            }
            Item::Group(g) => doc(&g.doc),
            Item::Domain(d) => doc(&d.doc),
            Item::Exception(e) => doc(&e.doc),
            Item::Test(t) => doc(&t.doc),
            Item::Error(_) => {}
        }
    }
}

// ------------------------------------------------------------------ printer

struct Printer<'s> {
    src: &'s str,
    /// Token spans, in order.
    tokens: Vec<(usize, usize)>,
    /// The comments no node carries (all but attached doc comments).
    comments: Vec<Pending>,
    next: usize,
    /// Where the construct being printed may break the line (the end of a
    /// line-level node, of an operand, of a list element): a comment
    /// trailing there is the construct's to place, not the last expression's.
    stops: Vec<usize>,
}

/// A child of a block: where it starts (its doc comment included) and ends.
trait Node {
    fn start(&self) -> usize;
    fn end(&self) -> usize;
}

fn doc_start(doc: &Option<Doc>, span: Span) -> usize {
    doc.as_ref()
        .map_or(span.start, |d| d.span.start.min(span.start))
}

impl Node for Item {
    fn start(&self) -> usize {
        let doc = match self {
            Item::Schema(x) => &x.doc,
            Item::Record(x) => &x.doc,
            Item::Fn(x) => &x.doc,
            Item::Action(x) => &x.doc,
            Item::Policy(x) => &x.doc,
            Item::Group(x) => &x.doc,
            Item::Domain(x) => &x.doc,
            Item::Exception(x) => &x.doc,
            Item::Test(x) => &x.doc,
            Item::Error(_) => &None,
        };
        doc_start(doc, self.span())
    }
    fn end(&self) -> usize {
        self.span().end
    }
}

impl Node for FieldDecl {
    fn start(&self) -> usize {
        doc_start(&self.doc, self.span)
    }
    /// The end of the type: the optional `,` after it is not printed.
    fn end(&self) -> usize {
        self.ty.span.end
    }
}

impl Node for PolicyMember {
    fn start(&self) -> usize {
        match self {
            PolicyMember::Meta(m) => m.span.start,
            PolicyMember::Rule(r) => doc_start(&r.doc, r.span),
            PolicyMember::Autofix(a) => a.span.start,
            PolicyMember::Error(s) => s.start,
        }
    }
    fn end(&self) -> usize {
        match self {
            PolicyMember::Meta(m) => m.span.end,
            PolicyMember::Rule(r) => r.span.end,
            PolicyMember::Autofix(a) => a.span.end,
            PolicyMember::Error(s) => s.end,
        }
    }
}

fn rule_stmt_span(s: &RuleStmt) -> Span {
    match s {
        RuleStmt::Let { span, .. } | RuleStmt::Violation { span, .. } | RuleStmt::Error(span) => {
            *span
        }
        RuleStmt::Meta(m) => m.span,
    }
}

impl Node for RuleStmt {
    fn start(&self) -> usize {
        rule_stmt_span(self).start
    }
    fn end(&self) -> usize {
        rule_stmt_span(self).end
    }
}

fn group_member_span(m: &GroupMember) -> Span {
    match m {
        GroupMember::Type { span, .. } | GroupMember::Error(span) => *span,
        GroupMember::Meta(m) => m.span,
    }
}

impl Node for GroupMember {
    fn start(&self) -> usize {
        group_member_span(self).start
    }
    fn end(&self) -> usize {
        group_member_span(self).end
    }
}

impl Node for DomainMember {
    fn start(&self) -> usize {
        match self {
            DomainMember::Meta(m) => m.span.start,
            DomainMember::Error(s) => s.start,
        }
    }
    fn end(&self) -> usize {
        match self {
            DomainMember::Meta(m) => m.span.end,
            DomainMember::Error(s) => s.end,
        }
    }
}

fn clause_span(c: &ExceptionClause) -> Span {
    match c {
        ExceptionClause::Where(_, span) | ExceptionClause::Error(span) => *span,
        ExceptionClause::Meta(m) => m.span,
    }
}

impl Node for ExceptionClause {
    fn start(&self) -> usize {
        clause_span(self).start
    }
    fn end(&self) -> usize {
        clause_span(self).end
    }
}

fn test_stmt_span(s: &TestStmt) -> Span {
    match s {
        TestStmt::Now(_, span)
        | TestStmt::Given { span, .. }
        | TestStmt::GivenFrom(_, span)
        | TestStmt::Expect { span, .. }
        | TestStmt::Error(span) => *span,
    }
}

impl Node for TestStmt {
    fn start(&self) -> usize {
        test_stmt_span(self).start
    }
    fn end(&self) -> usize {
        test_stmt_span(self).end
    }
}

/// An element of a bracketed, comma-separated list.
enum Elem<'a> {
    Expr(&'a Expr),
    Field(&'a Ident, &'a Expr),
    Param(&'a Param),
    Arg(&'a NamedArg),
    Str(&'a StrLit),
}

impl Elem<'_> {
    fn end(&self) -> usize {
        match self {
            Elem::Expr(e) | Elem::Field(_, e) => e.span.end,
            Elem::Param(p) => p.span.end,
            Elem::Arg(a) => a.value.span.end,
            Elem::Str(s) => s.span.end,
        }
    }

    fn start(&self) -> usize {
        match self {
            Elem::Expr(e) => e.span.start,
            Elem::Field(k, _) => k.span.start,
            Elem::Param(p) => p.span.start,
            Elem::Arg(a) => a.name.span.start,
            Elem::Str(s) => s.span.start,
        }
    }
}

/// The first line of a top-level entry.
enum Top<'a> {
    Package(&'a Path, usize),
    Item(&'a Item),
}

impl<'s> Printer<'s> {
    fn new(src: &'s str, file: &File) -> Printer<'s> {
        let tokens: Vec<(usize, usize)> = lexer::lex(src, 0)
            .0
            .into_iter()
            .map(|(s, _, e)| (s, e))
            .collect();
        let mut docs = Vec::new();
        collect_docs(file, &mut docs);
        docs.sort();
        let mut all: Vec<&Comment> = file.comments.iter().collect();
        all.sort_by_key(|c| c.start);
        // The free comments, those on one line with nothing between them
        // glued into one unit that moves as a whole: (start, end, text, line).
        let mut units: Vec<(usize, usize, String, bool)> = Vec::new();
        let mut ends = Vec::new();
        let mut last_free = false;
        for c in all {
            ends.push(c.end);
            // Doc blocks do not overlap: the one starting last at or before
            // the comment is the only one that can hold it.
            let holder = docs.partition_point(|d| d.start <= c.start).checked_sub(1);
            let attached =
                c.kind == CommentKind::Doc && holder.is_some_and(|i| c.end <= docs[i].end);
            if attached {
                last_free = false;
                continue;
            }
            let line = c.kind != CommentKind::Block;
            let text = if line {
                c.text.trim_end().to_string()
            } else {
                c.text.clone()
            };
            if let Some(prev) = units.last_mut()
                && last_free
                && !prev.3
                && src[prev.1..c.start].trim().is_empty()
                && !src[prev.1..c.start].contains('\n')
            {
                prev.1 = c.end;
                prev.2 = format!("{} {}", prev.2, text);
                prev.3 = line;
                continue;
            }
            units.push((c.start, c.end, text, line));
            last_free = true;
        }
        let mut comments = Vec::new();
        for (start, end, text, line) in units {
            let idx = tokens.partition_point(|t| t.1 <= start);
            let prev_token_end = idx.checked_sub(1).map(|i| tokens[i].1);
            let next_token_start = tokens
                .get(tokens.partition_point(|t| t.0 < end))
                .map(|t| t.0);
            // Comments are in order and do not overlap.
            let prev_comment_end = ends
                .partition_point(|&e| e <= start)
                .checked_sub(1)
                .map(|i| ends[i]);
            let prev_end = match (prev_token_end, prev_comment_end) {
                (Some(a), Some(b)) => Some(a.max(b)),
                (a, b) => a.or(b),
            };
            let gap_before = prev_end.map(|e| &src[e..start]);
            let newline_before = gap_before.is_none_or(|g| g.contains('\n'));
            let newline_after = next_token_start.is_none_or(|s| src[end..s].contains('\n'));
            let place = if !newline_after {
                Place::Inline
            } else if newline_before {
                Place::OwnLine
            } else {
                Place::Trailing
            };
            comments.push(Pending {
                text,
                line,
                start,
                end,
                place,
                prev_token_end,
                next_token_start,
                blank_before: gap_before.is_some_and(has_blank),
            });
        }
        Printer {
            src,
            tokens,
            comments,
            next: 0,
            stops: Vec::new(),
        }
    }

    /// Printing a tree built in code ([`print_tree`]): there is no source
    /// text to take names and literals from, and no comment.
    fn sourceless(&self) -> bool {
        self.src.is_empty()
    }

    fn slice(&self, span: Span) -> &'s str {
        self.src.get(span.start..span.end).unwrap_or("")
    }

    /// The start of the last token that starts before `pos`.
    fn token_before(&self, pos: usize) -> usize {
        let idx = self.tokens.partition_point(|t| t.0 < pos);
        idx.checked_sub(1).map_or(pos, |i| self.tokens[i].0)
    }

    fn peek(&self) -> Option<&Pending> {
        self.comments.get(self.next)
    }

    fn pop(&mut self) -> &Pending {
        self.next += 1;
        &self.comments[self.next - 1]
    }

    /// A trailing comment, at the end of the line. What follows it decides
    /// its place in the next formatting too: a comment must stay right after
    /// the token it follows (its anchor), or it would move again.
    fn suffix(c: &Pending, after: After) -> D {
        let s = D::Suffix(format!(" {}", c.text), c.line);
        match after {
            After::Newline => s,
            After::Break => cat(vec![s, D::BreakParent]),
            After::Hard => cat(vec![s, D::HardLine]),
        }
    }

    /// Comments before `pos`, printed in front of the node starting there.
    fn lead(&mut self, pos: usize) -> D {
        let mut v = Vec::new();
        while self.peek().is_some_and(|c| c.start < pos) {
            let c = self.pop();
            match c.place {
                Place::Trailing => v.push(Self::suffix(c, After::Hard)),
                Place::OwnLine => v.extend([D::FreshLine, comment(c), D::HardLine]),
                Place::Inline => v.extend([D::Gap, comment(c), text(" ")]),
            }
        }
        cat(v)
    }

    /// Comments after the node ending at `pos`, on its last line: they go
    /// to the end of the output line. A comment after a stop position (where
    /// the enclosing construct may break the line) is left for that
    /// construct, which keeps it there.
    fn trail(&mut self, pos: usize, after: After) -> D {
        let mut v = Vec::new();
        while self.peek().is_some_and(|c| {
            c.place == Place::Trailing
                && c.start >= pos
                && c.prev_token_end
                    .is_some_and(|e| e <= pos && !self.stops.contains(&e))
        }) {
            let c = self.pop();
            v.push(Self::suffix(c, after));
        }
        cat(v)
    }

    /// Trailing comments before `pos`, kept at the end of the current line.
    fn trailing_before(&mut self, pos: usize, after: After) -> D {
        let mut v = Vec::new();
        while self
            .peek()
            .is_some_and(|c| c.place == Place::Trailing && c.start < pos)
        {
            let c = self.pop();
            v.push(Self::suffix(c, after));
        }
        cat(v)
    }

    /// Comments before `pos`, printed before the line break that precedes
    /// the node there (an operator starts the next line), which they force;
    /// block comments right before the node are left for it.
    fn before_break(&mut self, pos: usize) -> D {
        let mut v = Vec::new();
        while self.peek().is_some_and(|c| {
            c.start < pos && !(c.place == Place::Inline && c.next_token_start == Some(pos))
        }) {
            let c = self.pop();
            match c.place {
                Place::Trailing => v.push(Self::suffix(c, After::Break)),
                Place::OwnLine => v.extend([D::HardLine, comment(c)]),
                // At the end of the line if it breaks there, as the next
                // formatting would read it.
                Place::Inline => {
                    let inline = cat(vec![D::Gap, comment(c)]);
                    v.push(if_break(Self::suffix(c, After::Newline), inline));
                }
            }
        }
        cat(v)
    }

    /// Comments before a closing bracket at `pos`.
    fn before_close(&mut self, pos: usize, after: After) -> D {
        let mut v = Vec::new();
        while self.peek().is_some_and(|c| c.start < pos) {
            let c = self.pop();
            match c.place {
                Place::Trailing => v.push(Self::suffix(c, after)),
                // Without a line break of a group before the bracket, the
                // comment keeps a line of its own with one of its own.
                Place::OwnLine if after == After::Hard => {
                    v.extend([D::HardLine, comment(c), D::HardLine]);
                }
                Place::OwnLine => v.extend([D::HardLine, comment(c)]),
                Place::Inline if after == After::Break => {
                    let inline = cat(vec![D::Gap, comment(c)]);
                    v.push(if_break(Self::suffix(c, After::Newline), inline));
                }
                Place::Inline => v.extend([D::Gap, comment(c)]),
            }
        }
        cat(v)
    }

    /// Prints `f` with `pos` as a stop position (see [`Printer::trail`]).
    fn with_stop(&mut self, pos: usize, f: impl FnOnce(&mut Self) -> D) -> D {
        self.with_stops(&[pos], f)
    }

    fn with_stops(&mut self, pos: &[usize], f: impl FnOnce(&mut Self) -> D) -> D {
        let n = self.stops.len();
        self.stops.extend_from_slice(pos);
        let d = f(self);
        self.stops.truncate(n);
        d
    }

    /// Line-level comments before `pos`: trailing ones stay on the current
    /// line, the others get lines of their own. A block comment right before
    /// the node at `pos` is left for it (unless `closing`).
    fn line_comments(
        &mut self,
        body: &mut Vec<D>,
        last: &mut Option<usize>,
        pos: usize,
        closing: bool,
        after_head: bool,
    ) {
        while let Some(c) = self.peek() {
            if c.start >= pos
                || (!closing && c.place == Place::Inline && c.next_token_start == Some(pos))
            {
                break;
            }
            let c = self.pop();
            let (place, blank, end) = (c.place, c.blank_before, c.end);
            let (suffix, comment) = (Self::suffix(c, After::Newline), comment(c));
            match place {
                Place::Trailing if after_head || last.is_some() => body.push(suffix),
                _ => {
                    body.push(D::HardLine);
                    if blank && last.is_some() {
                        body.push(D::HardLine);
                    }
                    body.push(comment);
                }
            }
            *last = Some(end);
        }
    }

    /// `head {`, the children one per line, `}`.
    fn block<T: Node>(
        &mut self,
        head: D,
        children: &[T],
        close_pos: usize,
        print: impl Fn(&mut Self, &T) -> D,
    ) -> D {
        let mut body = Vec::new();
        let mut last: Option<usize> = None;
        for child in children {
            let start = child.start();
            self.line_comments(&mut body, &mut last, start, false, true);
            body.push(D::HardLine);
            if let Some(l) = last
                && self.src.get(l.min(start)..start).is_some_and(has_blank)
            {
                body.push(D::HardLine);
            }
            body.push(self.lead(start));
            body.push(self.with_stop(child.end(), |p| print(p, child)));
            body.push(self.trail(child.end(), After::Newline));
            last = Some(child.end().max(self.last_popped_end()));
        }
        self.line_comments(&mut body, &mut last, close_pos, true, true);
        if body.is_empty() {
            cat(vec![head, text(" {}")])
        } else {
            cat(vec![
                head,
                text(" {"),
                nest(cat(body)),
                D::HardLine,
                text("}"),
            ])
        }
    }

    fn last_popped_end(&self) -> usize {
        self.next.checked_sub(1).map_or(0, |i| self.comments[i].end)
    }

    fn print_file(mut self, file: &File) -> String {
        let mut entries: Vec<Top> = Vec::new();
        if let Some(p) = &file.package {
            entries.push(Top::Package(p, self.token_before(p.span.start)));
        }
        entries.extend(file.items.iter().map(Top::Item));
        let mut out = Vec::new();
        let mut last: Option<usize> = None;
        for (k, entry) in entries.iter().enumerate() {
            let (start, end) = match entry {
                Top::Package(p, kw) => (*kw, p.span.end),
                Top::Item(item) => (item.start(), item.end()),
            };
            let mut first = true;
            while let Some(c) = self.peek() {
                if c.start >= start
                    || (c.place == Place::Inline && c.next_token_start == Some(start))
                {
                    break;
                }
                let c = self.pop();
                let (place, blank, cend) = (c.place, c.blank_before, c.end);
                let (suffix, comment) = (Self::suffix(c, After::Newline), comment(c));
                if place == Place::Trailing && last.is_some() {
                    out.push(suffix);
                } else {
                    if last.is_some() {
                        out.push(D::HardLine);
                        if blank || (first && k > 0) {
                            out.push(D::HardLine);
                        }
                    }
                    out.push(comment);
                    first = false;
                }
                last = Some(cend);
            }
            if let Some(l) = last {
                out.push(D::HardLine);
                if (first && k > 0) || self.src.get(l.min(start)..start).is_some_and(has_blank) {
                    out.push(D::HardLine);
                }
            }
            out.push(self.lead(start));
            let d = self.with_stop(end, |p| match entry {
                Top::Package(path, _) => cat(vec![text("package "), p.path(path)]),
                Top::Item(item) => p.item(item),
            });
            out.push(d);
            out.push(self.trail(end, After::Newline));
            last = Some(end.max(self.last_popped_end()));
        }
        self.line_comments(&mut out, &mut last, usize::MAX, true, false);
        render(&cat(out))
    }

    // -------------------------------------------------------------- pieces

    fn doc(&self, doc: &Option<Doc>) -> D {
        let Some(doc) = doc else {
            return cat(Vec::new());
        };
        let mut v = Vec::new();
        for line in doc.text.split('\n') {
            let line = if line.is_empty() {
                "///".to_string()
            } else {
                format!("/// {line}")
            };
            v.push(D::Comment(line, true));
            v.push(D::HardLine);
        }
        cat(v)
    }

    fn ident(&mut self, i: &Ident) -> D {
        cat(vec![
            self.lead(i.span.start),
            text(&i.name),
            self.trail(i.span.end, After::Hard),
        ])
    }

    fn path(&mut self, p: &Path) -> D {
        if self.sourceless() {
            return text(p.text());
        }
        cat(vec![
            self.dotted(p.span),
            self.trail(p.span.end, After::Hard),
        ])
    }

    /// A dotted name, token by token, so that a comment inside it stays in
    /// its place.
    fn dotted(&mut self, span: Span) -> D {
        let first = self.tokens.partition_point(|t| t.0 < span.start);
        let mut v = Vec::new();
        for i in first..self.tokens.len() {
            let (s, e) = self.tokens[i];
            if e > span.end {
                break;
            }
            v.extend([self.lead(s), text(&self.src[s..e])]);
        }
        cat(v)
    }

    fn str_lit(&mut self, s: &StrLit) -> D {
        cat(vec![
            self.lead(s.span.start),
            text(escape(&s.value)),
            self.trail(s.span.end, After::Hard),
        ])
    }

    fn name(&mut self, n: &Name) -> D {
        let name = if n.quoted {
            cat(vec![self.lead(n.span.start), text(escape(&n.text))])
        } else if self.sourceless() {
            text(&n.text)
        } else {
            self.dotted(n.span)
        };
        cat(vec![name, self.trail(n.span.end, After::Hard)])
    }

    fn timestamp(&self, secs: i64, token_end: usize) -> String {
        timestamp_text(secs).unwrap_or_else(|| {
            // Outside years 0000–9999 (only reachable through a UTC offset):
            // keep the literal as written.
            let idx = self.tokens.partition_point(|t| t.1 < token_end);
            let (s, e) = self
                .tokens
                .get(idx)
                .copied()
                .unwrap_or((token_end, token_end));
            self.src.get(s..e).unwrap_or_default().to_string()
        })
    }

    fn ty(&mut self, t: &TypeExpr) -> D {
        let body = match &t.kind {
            TypeKind::Named(p) if self.sourceless() => text(p.text()),
            TypeKind::Named(p) => self.dotted(p.span),
            TypeKind::List(x) => cat(vec![text("list<"), self.ty(x), text(">")]),
            TypeKind::Map(x) => cat(vec![text("map<"), self.ty(x), text(">")]),
            TypeKind::Optional(x) => {
                // `T? ?`: written together, `??` would be one token.
                let q = if matches!(x.kind, TypeKind::Optional(_)) {
                    " ?"
                } else {
                    "?"
                };
                cat(vec![self.ty(x), text(q)])
            }
        };
        cat(vec![
            self.lead(t.span.start),
            body,
            self.trail(t.span.end, After::Hard),
        ])
    }

    fn elem(&mut self, e: &Elem) -> D {
        match e {
            Elem::Expr(e) => self.expr(e),
            Elem::Field(k, v) => {
                let quoted = if self.sourceless() {
                    !is_plain_name(&k.name)
                } else {
                    self.src.as_bytes().get(k.span.start) == Some(&b'"')
                };
                let key = if quoted {
                    escape(&k.name)
                } else {
                    k.name.clone()
                };
                let key = cat(vec![
                    self.lead(k.span.start),
                    text(key),
                    self.trail(k.span.end, After::Hard),
                ]);
                cat(vec![key, text(": "), self.expr(v)])
            }
            Elem::Param(p) => cat(vec![self.ident(&p.name), text(": "), self.ty(&p.ty)]),
            Elem::Arg(a) => cat(vec![self.ident(&a.name), text(": "), self.expr(&a.value)]),
            Elem::Str(s) => self.str_lit(s),
        }
    }

    /// `open a, b close` if it fits, else one element per line with a
    /// trailing comma. `pad`: spaces inside the brackets when flat.
    fn list(&mut self, open: &str, close: &str, pad: bool, elems: &[Elem], close_pos: usize) -> D {
        if elems.is_empty() {
            // Only comments inside: each on a line of its own, unless inline.
            let mut inner = Vec::new();
            while self.peek().is_some_and(|c| c.start < close_pos) {
                let c = self.pop();
                match c.place {
                    Place::Trailing => inner.push(Self::suffix(c, After::Break)),
                    Place::OwnLine => inner.extend([D::SoftLine, comment(c), D::BreakParent]),
                    Place::Inline => inner.extend([D::Gap, comment(c)]),
                }
            }
            if inner.is_empty() {
                return text(format!("{open}{close}"));
            }
            return group(cat(vec![
                text(open),
                nest(cat(inner)),
                D::SoftLine,
                text(close),
            ]));
        }
        // A comment after the opening bracket stays on its line.
        let after_open = self.trailing_before(elems[0].start(), After::Break);
        let mut body = Vec::new();
        for (k, e) in elems.iter().enumerate() {
            if k > 0 {
                body.push(text(","));
                body.push(self.trailing_before(e.start(), After::Break));
                body.push(D::Line);
            }
            let d = self.with_stop(e.end(), |p| p.elem(e));
            body.push(d);
        }
        body.push(if_break(text(","), cat(Vec::new())));
        body.push(self.before_close(close_pos, After::Break));
        let edge = if pad { D::Line } else { D::SoftLine };
        let inner = nest(cat(vec![edge.clone(), cat(body)]));
        group(cat(vec![text(open), after_open, inner, edge, text(close)]))
    }

    /// `head` then `e`, on the same line if it fits, else `e` indented on the
    /// next line. A list or record literal stays on the line of `head` (its
    /// brackets break instead) unless a comment precedes it.
    fn hang(&mut self, head: D, e: &Expr) -> D {
        let hug = matches!(e.kind, ExprKind::List(_) | ExprKind::Record(_))
            && self.peek().is_none_or(|c| c.start >= e.span.start);
        if hug {
            return cat(vec![head, text(" "), self.expr(e)]);
        }
        let trailing = self.trailing_before(e.span.start, After::Break);
        group(cat(vec![
            head,
            trailing,
            nest(cat(vec![D::Line, self.expr(e)])),
        ]))
    }

    fn meta(&mut self, m: &Meta, raw_strings: bool) -> D {
        let value = match &m.value {
            MetaValue::Str(s) if raw_strings && !self.sourceless() => cat(vec![
                self.lead(s.span.start),
                text(self.slice(s.span)),
                self.trail(s.span.end, After::Hard),
            ]),
            MetaValue::Str(s) => self.str_lit(s),
            MetaValue::Ident(i) => self.ident(i),
            MetaValue::List(items, span) => {
                let elems: Vec<Elem> = items.iter().map(Elem::Str).collect();
                self.list("[", "]", false, &elems, span.end)
            }
            MetaValue::Timestamp(t, span) => cat(vec![
                self.lead(span.start),
                text(self.timestamp(*t, span.end)),
                self.trail(span.end, After::Hard),
            ]),
        };
        cat(vec![self.ident(&m.key), text(" "), value])
    }

    // -------------------------------------------------------------- items

    fn item(&mut self, item: &Item) -> D {
        match item {
            // A comment after the last token of a head goes after its `{`.
            Item::Schema(s) => {
                let head = self.with_stop(s.name.span.end, |p| {
                    cat(vec![p.doc(&s.doc), text("schema "), p.path(&s.name)])
                });
                self.block(head, &s.fields, s.span.end, Self::field)
            }
            Item::Record(r) => {
                let head = self.with_stop(r.name.span.end, |p| {
                    cat(vec![p.doc(&r.doc), text("record "), p.ident(&r.name)])
                });
                self.block(head, &r.fields, r.span.end, Self::field)
            }
            Item::Fn(f) => {
                let name = self.ident(&f.name);
                let params: Vec<Elem> = f.params.iter().map(Elem::Param).collect();
                // The `)`: the token before `->`.
                let close = self.token_before(self.token_before(f.ret.span.start));
                let params = self.list("(", ")", false, &params, close);
                let ret = self.ty(&f.ret);
                let head = cat(vec![
                    text("fn "),
                    name,
                    params,
                    text(" -> "),
                    ret,
                    text(" ="),
                ]);
                cat(vec![self.doc(&f.doc), self.hang(head, &f.body)])
            }
            Item::Action(a) => {
                let name = self.ident(&a.name);
                let params: Vec<Elem> = a.params.iter().map(Elem::Param).collect();
                let on_kw =
                    a.on.first()
                        .map_or(a.span.end, |p| self.token_before(p.span.start));
                let params = self.list("(", ")", false, &params, self.token_before(on_kw));
                let after_on = match a.on.first() {
                    Some(p) => self.trailing_before(p.span.start, After::Break),
                    None => cat(Vec::new()),
                };
                let mut fill = Vec::new();
                for (k, p) in a.on.iter().enumerate() {
                    if k > 0 {
                        // A comment after a type ends the line there.
                        let trailing = self.trailing_before(p.span.start, After::Newline);
                        let sep = if is_empty(&trailing) {
                            D::Line
                        } else {
                            D::HardLine
                        };
                        fill.push(cat(vec![trailing, sep]));
                    }
                    let last = k + 1 == a.on.len();
                    let path = if last {
                        self.path(p)
                    } else {
                        self.with_stop(p.span.end, |q| q.path(p))
                    };
                    fill.push(cat(vec![path, text(if last { "" } else { "," })]));
                }
                let head = cat(vec![text("action "), name, params, text(" on")]);
                let on = nest(cat(vec![D::Line, D::Fill(fill)]));
                cat(vec![self.doc(&a.doc), group(cat(vec![head, after_on, on]))])
            }
            Item::Policy(p) => {
                let head = self.with_stop(p.name.span.end, |q| {
                    cat(vec![q.doc(&p.doc), text("policy "), q.ident(&p.name)])
                });
                self.block(head, &p.members, p.span.end, Self::policy_member)
            }
            Item::Group(g) => {
                let head = self.with_stop(g.name.span.end, |p| {
                    cat(vec![p.doc(&g.doc), text("group "), p.ident(&g.name)])
                });
                self.block(head, &g.members, g.span.end, Self::group_member)
            }
            Item::Domain(d) => {
                let head = self.with_stop(d.name.span.end, |p| {
                    cat(vec![p.doc(&d.doc), text("domain "), p.ident(&d.name)])
                });
                self.block(head, &d.members, d.span.end, Self::domain_member)
            }
            Item::Exception(e) => {
                let last = e
                    .scope
                    .as_ref()
                    .or(e.targets.last())
                    .map_or(e.name.span.end, |t| t.span.end);
                let head = self.with_stop(last, |p| {
                    let mut head = vec![p.doc(&e.doc)];
                    if e.sticky {
                        head.push(text("sticky "));
                    }
                    head.extend([text("exception "), p.name(&e.name), text(" for ")]);
                    for (k, t) in e.targets.iter().enumerate() {
                        if k > 0 {
                            head.push(text(", "));
                        }
                        head.push(p.path(t));
                    }
                    if let Some(s) = &e.scope {
                        head.extend([text(" in "), p.path(s)]);
                    }
                    cat(head)
                });
                self.block(head, &e.clauses, e.span.end, Self::clause)
            }
            Item::Test(t) => {
                let head = self.with_stop(t.name.span.end, |p| {
                    cat(vec![p.doc(&t.doc), text("test "), p.str_lit(&t.name)])
                });
                self.block(head, &t.stmts, t.span.end, Self::test_stmt)
            }
            Item::Error(span) => text(self.slice(*span).trim()),
        }
    }

    fn field(&mut self, f: &FieldDecl) -> D {
        cat(vec![
            self.doc(&f.doc),
            self.ident(&f.name),
            text(": "),
            self.ty(&f.ty),
        ])
    }

    fn policy_member(&mut self, m: &PolicyMember) -> D {
        match m {
            PolicyMember::Meta(m) => self.meta(m, false),
            PolicyMember::Rule(r) => {
                let last = r.scope.as_ref().unwrap_or(&r.on).span.end;
                let head = self.with_stop(last, |p| {
                    let mut head = vec![p.doc(&r.doc), text("rule ")];
                    if let Some(n) = &r.name {
                        head.extend([p.ident(n), text(" ")]);
                    }
                    head.extend([text("on "), p.path(&r.on)]);
                    if let Some(s) = &r.scope {
                        head.extend([text(" in "), p.path(s)]);
                    }
                    cat(head)
                });
                self.block(head, &r.stmts, r.span.end, Self::rule_stmt)
            }
            PolicyMember::Autofix(a) => self.autofix(a),
            PolicyMember::Error(span) => text(self.slice(*span).trim()),
        }
    }

    /// A comment after a clause goes before the line break of the next.
    fn autofix(&mut self, a: &Autofix) -> D {
        let ends = [
            a.rule.as_ref().map(|r| r.span.end),
            a.after.as_ref().map(|(_, s)| s.end),
        ];
        let ends: Vec<usize> = ends.into_iter().flatten().collect();
        self.with_stops(&ends, |p| p.autofix_clauses(a))
    }

    fn autofix_clauses(&mut self, a: &Autofix) -> D {
        let action = self.path(&a.action);
        let clause_starts = [
            a.rule.as_ref().map(|r| r.span.start),
            a.after.as_ref().map(|(_, s)| s.start),
            a.notify.as_ref().map(|n| n.span.start),
        ];
        // The `)` of the arguments, if they were written in parentheses.
        let after_args = match clause_starts.iter().flatten().next() {
            Some(&s) => self.token_before(s),
            None => a.span.end,
        };
        let paren = self.token_before(after_args);
        let close = if paren >= a.action.span.end
            && self.src.get(paren..).is_some_and(|t| t.starts_with(')'))
        {
            paren
        } else {
            a.action.span.end
        };
        let args: Vec<Elem> = a.args.iter().map(Elem::Arg).collect();
        let args = self.list("(", ")", false, &args, close);
        let mut clauses = Vec::new();
        if let Some(r) = &a.rule {
            let kw = self.token_before(r.span.start);
            clauses.extend([self.before_break(kw), D::Line, text("for "), self.ident(r)]);
        }
        if let Some((secs, span)) = &a.after {
            let kw = self.token_before(span.start);
            clauses.extend([
                self.before_break(kw),
                D::Line,
                text("after "),
                self.lead(span.start),
                text(duration_text(*secs)),
                self.trail(span.end, After::Hard),
            ]);
        }
        if let Some(n) = &a.notify {
            let kw = self.token_before(n.span.start);
            clauses.extend([
                self.before_break(kw),
                D::Line,
                text("notify "),
                self.expr(n),
            ]);
        }
        group(cat(vec![
            text("autofix "),
            action,
            args,
            nest(cat(clauses)),
        ]))
    }

    fn rule_stmt(&mut self, s: &RuleStmt) -> D {
        match s {
            RuleStmt::Let { name, value, .. } => {
                let head = cat(vec![text("let "), self.ident(name), text(" =")]);
                self.hang(head, value)
            }
            RuleStmt::Violation { cond, .. } => self.hang(text("violation when"), cond),
            // Message templates are printed as written, `{…}` parts included.
            RuleStmt::Meta(m) => self.meta(m, true),
            RuleStmt::Error(span) => text(self.slice(*span).trim()),
        }
    }

    fn group_member(&mut self, m: &GroupMember) -> D {
        match m {
            GroupMember::Type { ty, cond, .. } => {
                let ty = self.path(ty);
                match cond {
                    Some(c) => self.hang(cat(vec![ty, text(" where")]), c),
                    None => ty,
                }
            }
            GroupMember::Meta(m) => self.meta(m, false),
            GroupMember::Error(span) => text(self.slice(*span).trim()),
        }
    }

    fn domain_member(&mut self, m: &DomainMember) -> D {
        match m {
            DomainMember::Meta(m) => self.meta(m, false),
            DomainMember::Error(span) => text(self.slice(*span).trim()),
        }
    }

    fn clause(&mut self, c: &ExceptionClause) -> D {
        match c {
            ExceptionClause::Where(e, _) => self.hang(text("where"), e),
            ExceptionClause::Meta(m) => self.meta(m, false),
            ExceptionClause::Error(span) => text(self.slice(*span).trim()),
        }
    }

    fn test_stmt(&mut self, s: &TestStmt) -> D {
        match s {
            TestStmt::Now(t, span) => {
                let ts_start = self.token_before(span.end);
                cat(vec![
                    text("now "),
                    self.lead(ts_start),
                    text(self.timestamp(*t, span.end)),
                    self.trail(span.end, After::Hard),
                ])
            }
            TestStmt::Given {
                ty, handle, value, ..
            } => cat(vec![
                text("given "),
                self.path(ty),
                text(" "),
                self.ident(handle),
                text(" "),
                self.expr(value),
            ]),
            TestStmt::GivenFrom(path, _) => cat(vec![text("given from "), self.str_lit(path)]),
            TestStmt::Expect {
                target,
                verb,
                handle,
                ..
            } => cat(vec![
                text("expect "),
                self.name(target),
                text(" "),
                self.ident(verb),
                text(" "),
                self.ident(handle),
            ]),
            TestStmt::Error(span) => text(self.slice(*span).trim()),
        }
    }

    // -------------------------------------------------------------- expressions

    fn expr(&mut self, e: &Expr) -> D {
        let lead = self.lead(e.span.start);
        let body = match &e.kind {
            ExprKind::Int(i) => {
                let written = self.slice(e.span);
                if !written.is_empty() && written.bytes().all(|b| b.is_ascii_digit() || b == b'_') {
                    text(written)
                } else {
                    text(i.to_string())
                }
            }
            ExprKind::Float(x) => text(float_text(*x)),
            ExprKind::Str(s) => text(escape(s)),
            ExprKind::Bool(b) => text(if *b { "true" } else { "false" }),
            ExprKind::Duration(secs) => text(duration_text(*secs)),
            ExprKind::Timestamp(t) => text(self.timestamp(*t, e.span.end)),
            ExprKind::Ip(ip) => text(ip.to_string()),
            ExprKind::Cidr(ip, len) => text(format!("{ip}/{len}")),
            ExprKind::Now => text("now"),
            ExprKind::SelfRef => text("self"),
            ExprKind::Name(i) => text(&i.name),
            ExprKind::Field {
                base,
                name,
                optional,
            } => cat(vec![
                self.expr(base),
                text(if *optional { "?." } else { "." }),
                self.lead(name.span.start),
                text(&name.name),
            ]),
            ExprKind::Index(base, index) => cat(vec![
                self.expr(base),
                text("["),
                self.expr(index),
                self.before_close(e.span.end, After::Hard),
                text("]"),
            ]),
            ExprKind::Call { callee, args } => {
                let callee = self.expr(callee);
                let elems: Vec<Elem> = args.iter().map(Elem::Expr).collect();
                cat(vec![callee, self.list("(", ")", false, &elems, e.span.end)])
            }
            ExprKind::List(items) => {
                let elems: Vec<Elem> = items.iter().map(Elem::Expr).collect();
                self.list("[", "]", false, &elems, e.span.end)
            }
            ExprKind::Record(fields) => {
                let elems: Vec<Elem> = fields.iter().map(|(k, v)| Elem::Field(k, v)).collect();
                self.list("{", "}", true, &elems, e.span.end)
            }
            ExprKind::Unary(UnOp::Not, x) => cat(vec![text("not "), self.expr(x)]),
            ExprKind::Unary(UnOp::Neg, x) => cat(vec![text("-"), self.expr(x)]),
            ExprKind::Binary(op @ (BinOp::And | BinOp::Or), _, _) => self.chain(*op, e),
            ExprKind::Binary(op, a, b) => {
                let a = self.expr(a);
                cat(vec![a, text(format!(" {} ", op.text())), self.expr(b)])
            }
            ExprKind::If(c, a, b) => {
                let c = self.with_stop(c.span.end, |p| p.expr(c));
                let then_ = self.before_break(a.span.start);
                let a = self.with_stop(a.span.end, |p| p.expr(a));
                let else_ = self.before_break(b.span.start);
                let b = self.expr(b);
                group(cat(vec![
                    text("if "),
                    c,
                    nest(cat(vec![
                        then_,
                        D::Line,
                        text("then "),
                        a,
                        else_,
                        D::Line,
                        text("else "),
                        b,
                    ])),
                ]))
            }
            ExprKind::Let(x, v, body) => {
                let x = self.ident(x);
                let v = self.with_stop(v.span.end, |p| p.expr(v));
                let before = self.before_break(body.span.start);
                let body = self.expr(body);
                group(cat(vec![
                    text("let "),
                    x,
                    text(" = "),
                    v,
                    text(";"),
                    before,
                    D::Line,
                    body,
                ]))
            }
            ExprKind::Quant {
                quant,
                var,
                coll,
                body,
            } => {
                let var = self.ident(var);
                let coll = self.with_stop(coll.span.end, |p| p.expr(coll));
                let head = cat(vec![
                    text(quant.text()),
                    text(" "),
                    var,
                    text(" in "),
                    coll,
                    text(":"),
                ]);
                self.hang(head, body)
            }
            ExprKind::Paren(x) => {
                let inner = self.expr(x);
                cat(vec![
                    text("("),
                    align(inner),
                    self.before_close(e.span.end, After::Hard),
                    text(")"),
                ])
            }
            ExprKind::Error => text(self.slice(e.span)),
        };
        let trail = self.trail(e.span.end, After::Hard);
        cat(vec![lead, body, trail])
    }

    /// `a and b and c`: flat if it fits, else one operand per line, each
    /// after the first starting with the operator.
    fn chain(&mut self, op: BinOp, e: &Expr) -> D {
        let mut operands = Vec::new();
        flatten(op, e, &mut operands);
        let mut v = Vec::new();
        let last = operands.len() - 1;
        for (k, x) in operands.iter().enumerate() {
            if k > 0 {
                v.push(self.before_break(x.span.start));
                v.extend([D::Line, text(format!("{} ", op.text()))]);
            }
            let d = if k < last {
                self.with_stop(x.span.end, |p| p.expr(x))
            } else {
                self.expr(x)
            };
            v.push(align(d));
        }
        group(cat(v))
    }
}

fn comment(c: &Pending) -> D {
    D::Comment(c.text.clone(), c.line)
}

/// The operands of a chain, in order: through both sides, since the parser
/// rebalances long chains (`nesting`), and without recursion.
fn flatten<'e>(op: BinOp, e: &'e Expr, out: &mut Vec<&'e Expr>) {
    let mut stack = vec![e];
    while let Some(x) = stack.pop() {
        match &x.kind {
            ExprKind::Binary(o, a, b) if *o == op => {
                stack.push(b);
                stack.push(a);
            }
            _ => out.push(x),
        }
    }
}

// ------------------------------------------------------------------ literals

/// A string literal: quoted, with `"`, `\`, newlines, tabs and carriage
/// returns escaped.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A duration in seconds, in the largest unit that divides it exactly.
pub fn duration_text(secs: i64) -> String {
    if secs == 0 {
        return "0s".into();
    }
    for (unit, size) in [("w", 604_800), ("d", 86_400), ("h", 3_600), ("m", 60)] {
        if secs % size == 0 {
            return format!("{}{unit}", secs / size);
        }
    }
    format!("{secs}s")
}

/// A float that reads back as a float: always with a decimal point.
pub fn float_text(x: f64) -> String {
    let s = x.to_string();
    if s.contains(['.', 'e', 'E']) || !x.is_finite() {
        s
    } else {
        format!("{s}.0")
    }
}

/// Unix seconds as a date (at midnight UTC) or an RFC 3339 time in UTC;
/// `None` outside the years 0000–9999 that the lexer reads.
pub fn timestamp_text(secs: i64) -> Option<String> {
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    if !(0..=9999).contains(&y) {
        return None;
    }
    Some(if rem == 0 {
        format!("{y:04}-{m:02}-{d:02}")
    } else {
        let (hh, mm, ss) = (rem / 3_600, rem % 3_600 / 60, rem % 60);
        format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}Z")
    })
}

/// The proleptic Gregorian date of a day number (days since 1970-01-01);
/// the inverse of [`lexer::days_from_civil`] (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

// ------------------------------------------------------------------ trees built in code

/// Whether `name` reads back as one name (an identifier or a keyword, which
/// the grammar accepts as a field name), so that it needs no quotes.
fn is_plain_name(name: &str) -> bool {
    let mut cs = name.chars();
    cs.next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && cs.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `text` with every `Span { … }` of a `Debug` rendering removed.
fn spanless(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("Span { start: ") {
        out.push_str(&rest[..i]);
        let after = &rest[i..];
        let close = after.find('}').map_or(after.len(), |j| j + 1);
        out.push_str("Span");
        rest = &after[close..];
    }
    out.push_str(rest);
    out
}

fn not_the_same(what: &str) -> SyntaxError {
    crate::parse::syntax_error(
        Span::new(0, 0),
        format!(
            "internal printer error: the printed {what} would not read back as the same tree; nothing was printed"
        ),
    )
}

/// Prints a tree built in code rather than parsed from text (the server's
/// API-defined items): names and literals come from the tree, spans are
/// ignored, and there are no comments. The text is parsed back and must give
/// the same tree (spans aside), so what is printed is, by construction,
/// exactly these items; the tree as the parser reads it is returned with
/// the text, its spans in that text.
pub fn print_tree(file: &File) -> Result<(String, File), SyntaxError> {
    let mut bare = File {
        package: file.package.clone(),
        items: file.items.clone(),
        comments: Vec::new(),
    };
    let out = Printer::new("", &bare).print_file(&bare);
    let again = parse_file(&out);
    bare.comments = again.file.comments.clone();
    if !again.errors.is_empty()
        || !again.file.comments.is_empty()
        || spanless(&format!("{:?} {:?}", again.file.package, again.file.items))
            != spanless(&format!("{:?} {:?}", bare.package, bare.items))
    {
        return Err(not_the_same("items"));
    }
    Ok((out, again.file))
}

/// Prints one expression built in code or parsed on its own, on one line
/// when it fits; checked like [`print_tree`].
pub fn print_expr(e: &Expr) -> Result<String, SyntaxError> {
    let empty = File {
        package: None,
        items: Vec::new(),
        comments: Vec::new(),
    };
    let mut p = Printer::new("", &empty);
    let doc = p.expr(e);
    let out = render(&doc);
    let out = out.trim_end().to_string();
    match crate::parse::parse_expression(&out) {
        Ok(again) if spanless(&format!("{again:?}")) == spanless(&format!("{e:?}")) => Ok(out),
        _ => Err(not_the_same("expression")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals() {
        assert_eq!(duration_text(86_400), "1d");
        assert_eq!(duration_text(90 * 86_400), "90d");
        assert_eq!(duration_text(3_600), "1h");
        assert_eq!(duration_text(14 * 86_400), "2w");
        assert_eq!(duration_text(90), "90s");
        assert_eq!(duration_text(0), "0s");
        assert_eq!(float_text(7.0), "7.0");
        assert_eq!(float_text(0.5), "0.5");
        assert_eq!(float_text(1e21), "1000000000000000000000.0");
        assert_eq!(escape("a \"q\" \\ \n\t"), r#""a \"q\" \\ \n\t""#);
    }

    #[test]
    fn timestamps_round_trip() {
        for s in [
            "1970-01-01",
            "2027-03-31",
            "2024-02-29T12:30:05Z",
            "0000-01-01",
            "9999-12-31T23:59:59Z",
            "1969-07-20T20:17:00Z",
        ] {
            let secs = lexer::parse_timestamp(s).unwrap();
            assert_eq!(timestamp_text(secs).as_deref(), Some(s));
        }
        assert_eq!(
            timestamp_text(lexer::parse_timestamp("2027-03-31T12:00:00+02:00").unwrap()).unwrap(),
            "2027-03-31T10:00:00Z"
        );
        assert_eq!(
            timestamp_text(lexer::parse_timestamp("9999-12-31T23:00:00-02:00").unwrap()),
            None
        );
    }
}
