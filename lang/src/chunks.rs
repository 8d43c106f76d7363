//! A file cut into its top-level items by a byte scan, so that an edit
//! re-parses only the item it touches: the compiler memoises the parse of
//! each chunk by its text and shifts the result to the chunk's offset.
//!
//! A chunk starts at an item keyword (`schema`, `record`, `fn`, `action`,
//! `policy`, `group`, `exception`, `sticky`, `test`, and `domain` when a name
//! and `{` follow) that stands at bracket
//! depth 0 outside strings and comments, moved back over the `///` doc
//! block and blank lines before it (the doc belongs to the item). Such a
//! keyword can only begin an item in the grammar, so on a file that parses,
//! the chunks parse to exactly the file's items (a property test checks it).
//! With an unclosed bracket the depth never returns to 0 and the rest of the
//! file is one chunk: the same text the whole-file parser would see.

use crate::ast::{self, Span};
use crate::parse::{Parsed, SyntaxError};

const ITEM_KEYWORDS: &[&str] = &[
    "schema",
    "record",
    "fn",
    "action",
    "policy",
    "group",
    "exception",
    "sticky",
    "test",
];

/// Start offsets of the chunks of `src`, ascending; the first is 0.
pub fn item_starts(src: &str) -> Vec<usize> {
    Cut::new(src).starts
}

/// Where a file is cut into chunks. Kept with the text, so that an edit
/// re-scans only around itself ([`Cut::edited`]): on a large file, a full
/// scan per keystroke was the largest cost of an edit in the editor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cut {
    starts: Vec<usize>,
    /// Some `/*` has no `*/` after it. The lexer then reads the rest as
    /// code, and a `*/` typed anywhere later changes how everything since
    /// that `/*` reads, so an edit of such a file is scanned whole.
    unclosed_comment: bool,
}

impl Cut {
    /// The cut of `src`, scanned whole.
    pub fn new(src: &str) -> Cut {
        let scan = scan(src, 0, |_| false);
        Cut {
            starts: scan.starts,
            unclosed_comment: scan.unclosed_comment,
        }
    }

    /// Start offsets of the chunks, ascending; the first is 0.
    pub fn starts(&self) -> &[usize] {
        &self.starts
    }

    /// The chunks of `src` (the text this cut was made for), as (start
    /// offset, text).
    pub fn chunks<'a>(&self, src: &'a str) -> Vec<(usize, &'a str)> {
        self.starts
            .iter()
            .enumerate()
            .map(|(k, &s)| {
                let end = self.starts.get(k + 1).copied().unwrap_or(src.len());
                (s, &src[s..end])
            })
            .collect()
    }

    /// The cut of `new`, where this is the cut of `old`: the text the two
    /// share at their start and end is not scanned again. The scan starts
    /// two chunks before the first changed byte (a keyword's decision looks
    /// a little past it: `domain NAME {`) and stops at the first chunk
    /// start after the change that was also a start before it: from a
    /// chunk start on, the scan depends only on the text that follows (a
    /// property test checks it against [`Cut::new`]).
    pub fn edited(&self, old: &str, new: &str) -> Cut {
        if self.unclosed_comment || self.starts.first() != Some(&0) {
            return Cut::new(new);
        }
        let prefix = common_prefix(old.as_bytes(), new.as_bytes());
        let most = old.len().min(new.len()) - prefix;
        let suffix = common_suffix(old.as_bytes(), new.as_bytes(), most);
        let (old_end, new_end) = (old.len() - suffix, new.len() - suffix);
        let before = self.starts.partition_point(|&s| s <= prefix);
        let k = before.saturating_sub(3);
        let from = self.starts[k];
        let mut resumes = None;
        let scan = scan(new, from, |t| {
            if t < new_end {
                return false;
            }
            match self.starts.binary_search(&(t - new_end + old_end)) {
                Ok(j) => {
                    resumes = Some(j + 1);
                    true
                }
                Err(_) => false,
            }
        });
        let mut starts = Vec::with_capacity(self.starts.len() + scan.starts.len());
        starts.extend_from_slice(&self.starts[..k]);
        starts.extend_from_slice(&scan.starts);
        if let Some(j) = resumes {
            starts.extend(self.starts[j..].iter().map(|&s| s - old_end + new_end));
        }
        Cut {
            starts,
            unclosed_comment: scan.unclosed_comment,
        }
    }
}

/// The length of the longest common prefix of `a` and `b`.
fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    // Whole blocks compare as slices (memcmp), then bytes.
    const BLOCK: usize = 4096;
    let n = a.len().min(b.len());
    let mut i = 0;
    while i + BLOCK <= n && a[i..i + BLOCK] == b[i..i + BLOCK] {
        i += BLOCK;
    }
    while i < n && a[i] == b[i] {
        i += 1;
    }
    i
}

/// The length of the longest common suffix of `a` and `b`, at most `most`.
fn common_suffix(a: &[u8], b: &[u8], most: usize) -> usize {
    const BLOCK: usize = 4096;
    let (la, lb) = (a.len(), b.len());
    let mut i = 0;
    while i + BLOCK <= most && a[la - i - BLOCK..la - i] == b[lb - i - BLOCK..lb - i] {
        i += BLOCK;
    }
    while i < most && a[la - i - 1] == b[lb - i - 1] {
        i += 1;
    }
    i
}

/// What a scan found.
struct Scan {
    starts: Vec<usize>,
    unclosed_comment: bool,
}

/// Scans `src` from `from`, a chunk start (or 0), to its end, or until
/// `stop` says yes to a chunk start just found (which is then the last of
/// the starts returned).
fn scan(src: &str, from: usize, mut stop: impl FnMut(usize) -> bool) -> Scan {
    let b = src.as_bytes();
    let mut starts = vec![from];
    let mut depth: usize = 0;
    let mut i = from;
    // The last significant byte and word before `i` (for `.policy` and
    // `sticky exception`).
    let mut prev_byte = 0u8;
    let mut prev_word: &str = "";
    let mut unclosed_comments = false;
    while i < b.len() {
        let c = b[i];
        match c {
            b'"' => {
                i += 1;
                while i < b.len() && b[i] != b'"' && b[i] != b'\n' {
                    i += if b[i] == b'\\' && b.get(i + 1).is_some_and(|&n| n != b'\n') {
                        2
                    } else {
                        1
                    };
                }
                if i < b.len() && b[i] == b'"' {
                    i += 1;
                }
                prev_byte = b'"';
                prev_word = "";
            }
            b'/' if b.get(i + 1) == Some(&b'/') => {
                i = line_end(b, i);
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                // Once no `*/` follows, none follows any later `/*` either:
                // searching again for each would be quadratic.
                let close = if unclosed_comments {
                    None
                } else {
                    src[i + 2..].find("*/")
                };
                match close {
                    Some(end) => i = i + 2 + end + 2,
                    None => {
                        unclosed_comments = true;
                        i += 1;
                        prev_byte = b'/';
                    }
                }
            }
            b'{' | b'(' | b'[' => {
                depth += 1;
                i += 1;
                prev_byte = c;
                prev_word = "";
            }
            b'}' | b')' | b']' => {
                depth = depth.saturating_sub(1);
                i += 1;
                prev_byte = c;
                prev_word = "";
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let start = i;
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                    i += 1;
                }
                let word = &src[start..i];
                let keyword = depth == 0
                    && prev_byte != b'.'
                    && (ITEM_KEYWORDS.contains(&word) || (word == "domain" && opens_domain(b, i)))
                    && !(word == "exception" && prev_word == "sticky");
                if keyword {
                    let floor = *starts.last().unwrap_or(&0);
                    if let Some(at) = back_over_docs(src, start, floor)
                        && at > floor
                    {
                        starts.push(at);
                        if stop(at) {
                            return Scan {
                                starts,
                                unclosed_comment: unclosed_comments,
                            };
                        }
                    }
                }
                prev_byte = b'a';
                prev_word = word;
            }
            c if c.is_ascii_whitespace() => i += 1,
            c if c.is_ascii_digit() => {
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                    i += 1;
                }
                prev_byte = b'0';
                prev_word = "";
            }
            _ => {
                i += 1;
                prev_byte = c;
                prev_word = "";
            }
        }
    }
    Scan {
        starts,
        unclosed_comment: unclosed_comments,
    }
}

/// Whether the word `domain` that ends at `i` begins a domain item: a name
/// and `{` follow (`domain` is a keyword only there; AWS has fields named
/// `domain`, and an expression never has a name and a brace after a name).
fn opens_domain(b: &[u8], mut i: usize) -> bool {
    let skip_blanks = |i: &mut usize| {
        while *i < b.len() && b[*i].is_ascii_whitespace() {
            *i += 1;
        }
    };
    skip_blanks(&mut i);
    let name = i;
    while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
        i += 1;
    }
    if i == name || b[name].is_ascii_digit() {
        return false;
    }
    skip_blanks(&mut i);
    b.get(i) == Some(&b'{')
}

fn line_end(b: &[u8], from: usize) -> usize {
    b[from..]
        .iter()
        .position(|&c| c == b'\n')
        .map(|p| from + p)
        .unwrap_or(b.len())
}

/// Where the chunk of the keyword at `at` starts: the beginning of its line
/// if only blanks precede it there, then back over blank lines and `///`
/// doc lines (never before `floor`). None when the line above the doc
/// block holds a `///` after other text (`} /// doc`): the lexer reads that
/// as the first line of the doc, so no cut is made there.
fn back_over_docs(src: &str, at: usize, floor: usize) -> Option<usize> {
    // Never scans before `floor`: on one long line of keywords an unbounded
    // search back would be quadratic. If the line starts before `floor`, the
    // previous chunk's keyword stands between, so the answer is the same.
    let line_start = |p: usize| {
        src[floor..p]
            .rfind('\n')
            .map(|n| floor + n + 1)
            .unwrap_or(floor)
    };
    let ls = line_start(at);
    if !src[ls..at].trim().is_empty() {
        return Some(at);
    }
    let mut start = ls;
    while start > floor {
        let prev = line_start(start - 1);
        let line = src[prev..start].trim();
        let doc = line.starts_with("///") && !line.starts_with("////");
        if !(line.is_empty() || doc) {
            if !line.starts_with("//") && line.contains("///") {
                return None;
            }
            break;
        }
        start = prev;
    }
    // Leading blank lines stay with the chunk before: only the doc block
    // moves with the item.
    while start < ls {
        let end = src[start..].find('\n').map(|n| start + n + 1).unwrap_or(ls);
        if !src[start..end].trim().is_empty() {
            break;
        }
        start = end;
    }
    Some(start)
}

/// The chunks of `src`, as (start offset, text).
pub fn chunks(src: &str) -> Vec<(usize, &str)> {
    Cut::new(src).chunks(src)
}

/// Joins the parses of a file's chunks, each parsed on its own text, into
/// the parse of the file: spans shifted to the chunk's offset.
pub fn join<'a>(parts: impl IntoIterator<Item = (usize, &'a Parsed)>) -> Parsed {
    let mut file = ast::File {
        package: None,
        items: Vec::new(),
        comments: Vec::new(),
    };
    let mut errors: Vec<SyntaxError> = Vec::new();
    for (offset, p) in parts {
        if file.package.is_none()
            && let Some(pkg) = &p.file.package
        {
            let mut pkg = pkg.clone();
            pkg.shift(offset);
            file.package = Some(pkg);
        }
        file.items.extend(p.file.items.iter().map(|item| {
            let mut item = item.clone();
            item.shift(offset);
            item
        }));
        file.comments.extend(p.file.comments.iter().map(|c| {
            let mut c = c.clone();
            c.start += offset;
            c.end += offset;
            c
        }));
        errors.extend(p.errors.iter().map(|e| {
            let mut e = e.clone();
            e.span.shift(offset);
            e
        }));
    }
    Parsed { file, errors }
}

/// Moves every span of a node by `by` bytes.
pub trait Shift {
    fn shift(&mut self, by: usize);
}

impl Shift for Span {
    fn shift(&mut self, by: usize) {
        self.start += by;
        self.end += by;
    }
}

impl<T: Shift> Shift for Option<T> {
    fn shift(&mut self, by: usize) {
        if let Some(x) = self {
            x.shift(by);
        }
    }
}

impl<T: Shift> Shift for Vec<T> {
    fn shift(&mut self, by: usize) {
        for x in self {
            x.shift(by);
        }
    }
}

impl<T: Shift> Shift for Box<T> {
    fn shift(&mut self, by: usize) {
        (**self).shift(by);
    }
}

macro_rules! shift_fields {
    ($t:ty { $($f:ident),* }) => {
        impl Shift for $t {
            fn shift(&mut self, by: usize) {
                $(self.$f.shift(by);)*
            }
        }
    };
}

shift_fields!(ast::Ident { span });
shift_fields!(ast::Path { parts, span });
shift_fields!(ast::Doc { span });
shift_fields!(ast::StrLit { span });
shift_fields!(ast::Schema {
    doc,
    name,
    fields,
    span
});
shift_fields!(ast::RecordDecl {
    doc,
    name,
    fields,
    span
});
shift_fields!(ast::FieldDecl {
    doc,
    name,
    ty,
    span
});
shift_fields!(ast::TypeExpr { kind, span });
shift_fields!(ast::Param { name, ty, span });
shift_fields!(ast::FnDecl {
    doc,
    name,
    params,
    ret,
    body,
    span
});
shift_fields!(ast::ActionDecl {
    doc,
    name,
    params,
    on,
    span
});
shift_fields!(ast::Meta { key, value, span });
shift_fields!(ast::Policy {
    doc,
    name,
    members,
    span
});
shift_fields!(ast::Rule {
    doc,
    name,
    on,
    scope,
    stmts,
    head,
    span
});
shift_fields!(ast::Autofix {
    action,
    args,
    rule,
    after,
    notify,
    span
});
shift_fields!(ast::NamedArg { name, value });
shift_fields!(ast::Group {
    doc,
    name,
    members,
    span
});
shift_fields!(ast::Domain {
    doc,
    keyword,
    name,
    members,
    span
});
shift_fields!(ast::Name { span });
shift_fields!(ast::Exception {
    doc,
    name,
    targets,
    scope,
    clauses,
    span
});
shift_fields!(ast::Test {
    doc,
    name,
    stmts,
    span
});

impl Shift for (i64, Span) {
    fn shift(&mut self, by: usize) {
        self.1.shift(by);
    }
}

impl Shift for ast::Item {
    fn shift(&mut self, by: usize) {
        use ast::Item as I;
        match self {
            I::Schema(x) => x.shift(by),
            I::Record(x) => x.shift(by),
            I::Fn(x) => x.shift(by),
            I::Action(x) => x.shift(by),
            I::Policy(x) => x.shift(by),
            I::Group(x) => x.shift(by),
            I::Domain(x) => x.shift(by),
            I::Exception(x) => x.shift(by),
            I::Test(x) => x.shift(by),
            I::Error(s) => s.shift(by),
        }
    }
}

impl Shift for ast::TypeKind {
    fn shift(&mut self, by: usize) {
        match self {
            ast::TypeKind::Named(p) => p.shift(by),
            ast::TypeKind::List(t) | ast::TypeKind::Map(t) | ast::TypeKind::Optional(t) => {
                t.shift(by)
            }
        }
    }
}

impl Shift for ast::MetaValue {
    fn shift(&mut self, by: usize) {
        match self {
            ast::MetaValue::Str(s) => s.shift(by),
            ast::MetaValue::Ident(i) => i.shift(by),
            ast::MetaValue::List(xs, s) => {
                xs.shift(by);
                s.shift(by);
            }
            ast::MetaValue::Timestamp(_, s) => s.shift(by),
        }
    }
}

impl Shift for ast::PolicyMember {
    fn shift(&mut self, by: usize) {
        match self {
            ast::PolicyMember::Meta(m) => m.shift(by),
            ast::PolicyMember::Rule(r) => r.shift(by),
            ast::PolicyMember::Autofix(a) => a.shift(by),
            ast::PolicyMember::Error(s) => s.shift(by),
        }
    }
}

impl Shift for ast::RuleStmt {
    fn shift(&mut self, by: usize) {
        match self {
            ast::RuleStmt::Let { name, value, span } => {
                name.shift(by);
                value.shift(by);
                span.shift(by);
            }
            ast::RuleStmt::Violation { cond, span } => {
                cond.shift(by);
                span.shift(by);
            }
            ast::RuleStmt::Meta(m) => m.shift(by),
            ast::RuleStmt::Error(s) => s.shift(by),
        }
    }
}

impl Shift for ast::GroupMember {
    fn shift(&mut self, by: usize) {
        match self {
            ast::GroupMember::Type { ty, cond, span } => {
                ty.shift(by);
                cond.shift(by);
                span.shift(by);
            }
            ast::GroupMember::Meta(m) => m.shift(by),
            ast::GroupMember::Error(s) => s.shift(by),
        }
    }
}

impl Shift for ast::DomainMember {
    fn shift(&mut self, by: usize) {
        match self {
            ast::DomainMember::Meta(m) => m.shift(by),
            ast::DomainMember::Error(s) => s.shift(by),
        }
    }
}

impl Shift for ast::ExceptionClause {
    fn shift(&mut self, by: usize) {
        match self {
            ast::ExceptionClause::Where(e, s) => {
                e.shift(by);
                s.shift(by);
            }
            ast::ExceptionClause::Meta(m) => m.shift(by),
            ast::ExceptionClause::Error(s) => s.shift(by),
        }
    }
}

impl Shift for ast::TestStmt {
    fn shift(&mut self, by: usize) {
        match self {
            ast::TestStmt::Now(_, s) | ast::TestStmt::Error(s) => s.shift(by),
            ast::TestStmt::Given {
                ty,
                handle,
                value,
                span,
            } => {
                ty.shift(by);
                handle.shift(by);
                value.shift(by);
                span.shift(by);
            }
            ast::TestStmt::GivenFrom(p, s) => {
                p.shift(by);
                s.shift(by);
            }
            ast::TestStmt::Expect {
                target,
                verb,
                handle,
                span,
            } => {
                target.shift(by);
                verb.shift(by);
                handle.shift(by);
                span.shift(by);
            }
        }
    }
}

/// Iterative, like the tree's `Drop`: the parser bounds nesting, but a
/// shift must not be the place that finds out it did not.
impl Shift for ast::Expr {
    fn shift(&mut self, by: usize) {
        use ast::ExprKind as K;
        let mut stack: Vec<&mut ast::Expr> = vec![self];
        while let Some(e) = stack.pop() {
            e.span.shift(by);
            match &mut e.kind {
                K::Name(i) => i.shift(by),
                K::Field { base, name, .. } => {
                    name.shift(by);
                    stack.push(base);
                }
                K::Unary(_, a) | K::Paren(a) => stack.push(a),
                K::Index(a, b) | K::Binary(_, a, b) => {
                    stack.push(a);
                    stack.push(b);
                }
                K::Let(v, a, b) => {
                    v.shift(by);
                    stack.push(a);
                    stack.push(b);
                }
                K::Quant {
                    var, coll, body, ..
                } => {
                    var.shift(by);
                    stack.push(coll);
                    stack.push(body);
                }
                K::If(a, b, c) => {
                    stack.push(a);
                    stack.push(b);
                    stack.push(c);
                }
                K::Call { callee, args } => {
                    stack.push(callee);
                    stack.extend(args.iter_mut());
                }
                K::List(xs) => stack.extend(xs.iter_mut()),
                K::Record(fs) => {
                    for (name, x) in fs.iter_mut() {
                        name.shift(by);
                        stack.push(x);
                    }
                }
                K::Int(_)
                | K::Float(_)
                | K::Str(_)
                | K::Bool(_)
                | K::Duration(_)
                | K::Timestamp(_)
                | K::Ip(_)
                | K::Cidr(..)
                | K::Now
                | K::SelfRef
                | K::Error => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::parse_file;

    /// The workspace's root, found at run time (a target directory shared
    /// between checkouts keeps test binaries built in another).
    fn workspace() -> std::path::PathBuf {
        let dir = std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
        std::path::PathBuf::from(dir).join("..")
    }

    fn chunked(src: &str) -> Parsed {
        let parts: Vec<(usize, Parsed)> = chunks(src)
            .into_iter()
            .map(|(at, text)| (at, parse_file(text)))
            .collect();
        join(parts.iter().map(|(at, p)| (*at, p)))
    }

    #[test]
    fn splits_at_items_with_their_docs() {
        let src = "package a.b\n\n// note\n/// Doc of p.\npolicy p {\n  title \"policy q { }\"\n}\n\n\n/// f\n\n/// g\nfn f(x: int) -> bool = x.policy > 1\nsticky exception e for p { reason \"r\" }\n";
        let starts = item_starts(src);
        let texts: Vec<&str> = chunks(src).into_iter().map(|c| c.1).collect();
        assert_eq!(starts.len(), 4, "{texts:#?}");
        assert!(
            texts[1].starts_with("/// Doc of p.\npolicy p"),
            "{texts:#?}"
        );
        assert!(texts[2].starts_with("/// f\n\n/// g\nfn f"), "{texts:#?}");
        assert!(texts[3].starts_with("sticky exception"), "{texts:#?}");
        assert_eq!(chunked(src), parse_file(src));
        // A `///` after code on a line begins the next item's doc there.
        let src = "policy p {\n}/// a\n/// b\npolicy q {\n}\n";
        assert_eq!(item_starts(src), vec![0]);
        assert_eq!(chunked(src), parse_file(src));
    }

    #[test]
    fn comments_and_strings_hide_keywords() {
        let src =
            "policy p {\n  // policy q {\n  /* test \"x\" { */ title \"a \\\" policy b\"\n}\n";
        assert_eq!(item_starts(src), vec![0]);
        // An unclosed block comment is not a comment to the lexer either.
        let src = "/* policy p {\npolicy q { }\n";
        assert_eq!(item_starts(src).len(), 2);
        // Many unclosed `/*` (hostile input): one scan, not one per `/*`.
        let src = format!("{}\npolicy q {{ }}\n", "/*".repeat(500_000));
        assert_eq!(item_starts(&src).len(), 2);
        // A long line of item keywords: each starts a chunk, found without
        // scanning the line back from each.
        let src = "test ".repeat(200_000);
        assert_eq!(item_starts(&src).len(), 200_000);
    }

    #[test]
    fn an_unclosed_brace_keeps_the_rest_in_one_chunk() {
        let src = "policy p {\n  title \"x\"\n\npolicy q {\n}\n";
        assert_eq!(item_starts(src), vec![0]);
        assert_eq!(chunked(src), parse_file(src));
    }

    #[test]
    fn the_shipped_sources_parse_the_same_in_chunks() {
        let root = workspace();
        let mut seen = 0;
        for dir in ["policies/aws", "stdlib/schemas/aws", "examples"] {
            let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
                continue;
            };
            for e in entries.flatten() {
                let p = e.path();
                if p.extension().is_none_or(|x| x != "pac") {
                    continue;
                }
                let src = std::fs::read_to_string(&p).expect("read");
                assert_eq!(chunked(&src), parse_file(&src), "{}", p.display());
                seen += 1;
            }
        }
        assert!(seen >= 8, "found only {seen} files");
    }

    fn shipped() -> Vec<String> {
        let root = workspace().join("policies/aws");
        let mut out: Vec<String> = std::fs::read_dir(root)
            .expect("policies/aws")
            .flatten()
            .filter_map(|e| std::fs::read_to_string(e.path()).ok())
            .collect();
        out.sort();
        out
    }

    #[test]
    fn an_edit_is_cut_as_a_fresh_scan_would_cut_it() {
        let old = "package a\n\npolicy p {\n}\n\n/// d\npolicy q {\n}\n\ntest t {\n}\n";
        for (at, del, ins) in [
            (0, 0, "x"),
            (old.len(), 0, "\nfn f() -> int = 1\n"),
            (old.find("/// d").unwrap(), 0, "/* "),
            (old.find("policy q").unwrap(), 0, "*/ {"),
            (old.find("test t").unwrap(), 4, "policy"),
            (old.find("/// d").unwrap(), 6, ""),
            (old.find("policy p").unwrap(), 6, "domain z"),
        ] {
            let new = format!("{}{}{}", &old[..at], ins, &old[at + del..]);
            assert_eq!(Cut::new(old).edited(old, &new), Cut::new(&new), "{new:?}");
        }
        // After an unclosed `/*`, a `*/` typed anywhere later changes how
        // everything since reads.
        let old = "policy p {\n}\n/* x\npolicy q {\n}\npolicy r {\n}\n";
        let new = old.replace("policy r", "*/ policy r");
        let cut = Cut::new(old);
        assert_eq!(cut.starts().len(), 3);
        assert_eq!(cut.edited(old, &new), Cut::new(&new));
        assert_eq!(Cut::new(&new).starts().len(), 2);
    }

    proptest::proptest! {
        /// An edit anywhere (a character typed or deleted, as in an
        /// editor): the chunks never panic, and when the edited file
        /// parses, they parse to the same tree.
        #[test]
        fn edits_parse_the_same_in_chunks(
            file in 0usize..8,
            at in 0.0f64..1.0,
            del in 0usize..3,
            ins in proptest::sample::select(vec!["", "{", "}", "\"", "policy x { }\n", "/*", "//", "///", " ", "x", "\n"]),
        ) {
            let files = shipped();
            let src = &files[file % files.len()];
            let mut at = (src.len() as f64 * at) as usize;
            while !src.is_char_boundary(at) { at -= 1; }
            let mut end = (at + del).min(src.len());
            while !src.is_char_boundary(end) { end += 1; }
            let edited = format!("{}{}{}", &src[..at], ins, &src[end..]);
            let whole = parse_file(&edited);
            let parts = chunked(&edited);
            if whole.errors.is_empty() {
                proptest::prop_assert_eq!(parts, whole);
            }
        }

        /// A few edits in a row, each cut from the cut before it, cut the
        /// text as a fresh scan does.
        #[test]
        fn edited_cuts_match_fresh_ones(
            file in 0usize..8,
            edits in proptest::collection::vec((0.0f64..1.0, 0usize..40, proptest::sample::select(vec!["", "{", "}", "(", "\"", "policy x { }\n", "/*", "*/", "//", "///", "\n", " ", "x", "domain d {", "sticky ", ".", "é"])), 1..6),
        ) {
            let files = shipped();
            let mut text = files[file % files.len()].clone();
            let mut cut = Cut::new(&text);
            for (at, del, ins) in edits {
                let mut at = (text.len() as f64 * at) as usize;
                while !text.is_char_boundary(at) { at -= 1; }
                let mut end = (at + del).min(text.len());
                while !text.is_char_boundary(end) { end += 1; }
                let edited = format!("{}{}{}", &text[..at], ins, &text[end..]);
                cut = cut.edited(&text, &edited);
                text = edited;
                proptest::prop_assert_eq!(&cut, &Cut::new(&text));
            }
        }
    }
}
