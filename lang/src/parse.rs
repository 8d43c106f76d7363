//! Entry points: source text in, syntax tree and syntax errors out. The
//! parser does no I/O and never panics; every error has a span.

use crate::ast::*;
use crate::lexer::{self, Comment, CommentKind, LexError, Token};
use lalrpop_util::{ErrorRecovery, ParseError};

lalrpop_util::lalrpop_mod!(
    #[allow(clippy::all, clippy::pedantic, unused)]
    grammar
);

pub(crate) fn bin(op: BinOp, a: Expr, b: Expr, l: usize, r: usize) -> Expr {
    Expr {
        kind: ExprKind::Binary(op, Box::new(a), Box::new(b)),
        span: Span::new(l, r),
    }
}

pub(crate) fn un(op: UnOp, e: Expr, l: usize, r: usize) -> Expr {
    Expr {
        kind: ExprKind::Unary(op, Box::new(e)),
        span: Span::new(l, r),
    }
}

/// A syntax error: where, what was found, what was expected.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct SyntaxError {
    /// `E0001` (syntax error) or `E0002` (nested too deeply).
    pub code: &'static str,
    pub span: Span,
    pub message: String,
    /// Human-readable token names the parser would have accepted.
    pub expected: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Parsed {
    pub file: File,
    pub errors: Vec<SyntaxError>,
}

/// Doc comments by position, so that grammar actions can attach the block of
/// `///` lines that ends right before a declaration.
pub struct Docs<'s> {
    src: &'s str,
    docs: Vec<&'s Comment>,
}

impl Docs<'_> {
    pub fn before(&self, start: usize) -> Option<Doc> {
        // The last doc comment that ends before `start`, with only whitespace
        // between; then walk back over the contiguous block.
        let idx = self.docs.partition_point(|c| c.end <= start);
        if idx == 0 {
            return None;
        }
        let mut first = idx - 1;
        let gap = |a: usize, b: usize| self.src.get(a..b).is_some_and(|t| t.trim().is_empty());
        if !gap(self.docs[first].end, start) {
            return None;
        }
        while first > 0 && gap(self.docs[first - 1].end, self.docs[first].start) {
            first -= 1;
        }
        let block = &self.docs[first..idx];
        let text: Vec<&str> = block
            .iter()
            .map(|c| {
                let t = c.text.trim_start_matches("///");
                t.strip_prefix(' ').unwrap_or(t).trim_end()
            })
            .collect();
        Some(Doc {
            text: text.join("\n"),
            span: Span::new(block[0].start, block[block.len() - 1].end),
        })
    }
}

/// Parses a whole file. Always returns a tree (with `Error` nodes where text
/// was skipped) plus every syntax error found.
pub fn parse_file(src: &str) -> Parsed {
    let (tokens, comments) = lexer::lex(src, 0);
    let starts: Vec<usize> = tokens.iter().map(|t| t.0).collect();
    let docs = Docs {
        src,
        docs: comments
            .iter()
            .filter(|c| c.kind == CommentKind::Doc)
            .collect(),
    };
    let mut recovered = Vec::new();
    let result = grammar::FileParser::new().parse(
        &docs,
        &mut recovered,
        tokens.into_iter().map(Ok::<_, LexError>),
    );
    let mut errors: Vec<SyntaxError> = recovered
        .into_iter()
        .map(|ErrorRecovery { error, .. }| convert(error, src.len()))
        .collect();
    let mut file = match result {
        Ok(file) => file,
        Err(e) => {
            errors.push(convert(e, src.len()));
            File {
                package: None,
                items: vec![Item::Error(Span::new(0, src.len()))],
                comments: Vec::new(),
            }
        }
    };
    errors.extend(crate::nesting::bound_file(&mut file));
    errors.extend(contextual_keywords(&mut file));
    errors.sort_by_key(|e| e.span.start);
    errors.dedup_by_key(|e| e.span.start);
    // Recovery resumes at the first token that fits, which is sometimes the
    // wrong one (`severity = high` resumes at `high`, read as a new entry):
    // an error within two tokens of the previous one is that cascade, not a
    // new mistake.
    let mut kept: Vec<SyntaxError> = Vec::new();
    for e in errors {
        let cascade = kept.last().is_some_and(|prev| {
            let between = starts.partition_point(|&s| s < e.span.start)
                - starts.partition_point(|&s| s < prev.span.start);
            between <= 2
        });
        if !cascade {
            kept.push(e);
        }
    }
    let errors = kept;
    file.comments = comments;
    Parsed { file, errors }
}

/// The grammar reads `NAME NAME { … }` at the start of an item as a domain
/// (`domain` is not a reserved word): any other first word is an error, and
/// the item is dropped like skipped text.
fn contextual_keywords(file: &mut File) -> Vec<SyntaxError> {
    let mut errors = Vec::new();
    for item in &mut file.items {
        if let Item::Domain(d) = item
            && d.keyword.name != "domain"
        {
            errors.push(syntax_error(
                d.keyword.span,
                format!(
                    "`{}` does not begin an item: write `schema`, `record`, `fn`, `action`, `policy`, `group`, `domain`, `exception` or `test`",
                    d.keyword.name
                ),
            ));
            *item = Item::Error(d.span);
        }
    }
    errors
}

/// Parses one expression whose text starts at byte `offset` of its file (used
/// for the `{…}` parts of message templates).
pub fn parse_expr_at(text: &str, offset: usize, file_len: usize) -> Result<Expr, SyntaxError> {
    let (tokens, _) = lexer::lex(text, offset);
    let docs = Docs {
        src: "",
        docs: Vec::new(),
    };
    let mut recovered = Vec::new();
    let end = offset + text.len();
    let result = grammar::ExprParser::new().parse(
        &docs,
        &mut recovered,
        tokens.into_iter().map(Ok::<_, LexError>),
    );
    if let Some(r) = recovered.into_iter().next() {
        return Err(convert(r.error, end.min(file_len)));
    }
    let mut expr = result.map_err(|e| convert(e, end.min(file_len)))?;
    match crate::nesting::bound_expr(&mut expr).into_iter().next() {
        Some(e) => Err(e),
        None => Ok(expr),
    }
}

/// Splits a message template into text and `{expression}` parts. `lit` is
/// the string literal as it appears in `src` (quotes included), so that the
/// expressions keep their true spans.
pub fn parse_template(src: &str, lit: &StrLit) -> Result<Vec<TemplatePart>, SyntaxError> {
    let raw = src.get(lit.span.start..lit.span.end).unwrap_or("\"\"");
    let inner_start = lit.span.start + 1;
    let inner = raw.get(1..raw.len().saturating_sub(1)).unwrap_or("");
    let mut parts = Vec::new();
    let mut text = String::new();
    let bytes = inner.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => {
                // Escapes were checked by the lexer; decode the common ones.
                let next = inner[i + 1..].chars().next().unwrap_or('\\');
                text.push(match next {
                    'n' => '\n',
                    't' => '\t',
                    'r' => '\r',
                    c => c,
                });
                i += 1 + next.len_utf8();
            }
            b'{' if bytes.get(i + 1) == Some(&b'{') => {
                text.push('{');
                i += 2;
            }
            b'}' if bytes.get(i + 1) == Some(&b'}') => {
                text.push('}');
                i += 2;
            }
            b'{' => {
                let close = find_close(inner, i).ok_or_else(|| SyntaxError {
                    code: "E0001",
                    span: Span::new(inner_start + i, inner_start + i + 1),
                    message: "unclosed `{` in message template (write `{{` for a literal brace)"
                        .into(),
                    expected: vec!["`}`".into()],
                })?;
                if !text.is_empty() {
                    parts.push(TemplatePart::Text(std::mem::take(&mut text)));
                }
                let expr = parse_expr_at(
                    &unescape_quotes(&inner[i + 1..close]),
                    inner_start + i + 1,
                    src.len(),
                )?;
                parts.push(TemplatePart::Expr(expr));
                i = close + 1;
            }
            b'}' => {
                return Err(SyntaxError {
                    code: "E0001",
                    span: Span::new(inner_start + i, inner_start + i + 1),
                    message: "unmatched `}` in message template (write `}}` for a literal brace)"
                        .into(),
                    expected: Vec::new(),
                });
            }
            _ => {
                let c = inner[i..].chars().next().unwrap_or(' ');
                text.push(c);
                i += c.len_utf8();
            }
        }
    }
    if !text.is_empty() {
        parts.push(TemplatePart::Text(text));
    }
    Ok(parts)
}

/// Inside a template the expression's own strings are escaped
/// (`"{tags[\"owner\"]}"`). Replace each `\"` by a quote and a space, on the
/// side that keeps the string's content, so that every byte keeps its offset.
fn unescape_quotes(expr: &str) -> String {
    let mut out = String::with_capacity(expr.len());
    let mut open = false;
    let mut rest = expr;
    while let Some(i) = rest.find("\\\"") {
        out.push_str(&rest[..i]);
        out.push_str(if open { "\" " } else { " \"" });
        open = !open;
        rest = &rest[i + 2..];
    }
    out.push_str(rest);
    out
}

/// The `}` closing the `{` at `open`, skipping braces inside quoted strings.
fn find_close(inner: &str, open: usize) -> Option<usize> {
    let bytes = inner.as_bytes();
    let mut in_str = false;
    let mut i = open + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if bytes.get(i + 1) == Some(&b'"') => {
                in_str = !in_str;
                i += 1;
            }
            b'}' if !in_str => return Some(i),
            _ => {}
        }
        i += 1;
    }
    None
}

fn convert(e: ParseError<usize, Token, LexError>, eof: usize) -> SyntaxError {
    match e {
        ParseError::InvalidToken { location } => SyntaxError {
            code: "E0001",
            span: Span::new(location, location + 1),
            message: "invalid token".into(),
            expected: Vec::new(),
        },
        ParseError::UnrecognizedEof { location, expected } => SyntaxError {
            code: "E0001",
            span: Span::new(location.min(eof), location.min(eof)),
            message: "unexpected end of file".into(),
            expected: tidy(expected),
        },
        ParseError::UnrecognizedToken {
            token: (l, Token::Error(err), r),
            ..
        } => SyntaxError {
            code: "E0001",
            span: Span::new(l, r),
            message: err.to_string(),
            expected: Vec::new(),
        },
        ParseError::UnrecognizedToken {
            token: (l, tok, r),
            expected,
        } => SyntaxError {
            code: "E0001",
            span: Span::new(l, r),
            message: format!("unexpected {tok}"),
            expected: tidy(expected),
        },
        ParseError::ExtraToken { token: (l, tok, r) } => SyntaxError {
            code: "E0001",
            span: Span::new(l, r),
            message: format!("unexpected {tok} after the end"),
            expected: Vec::new(),
        },
        ParseError::User { error } => SyntaxError {
            code: "E0001",
            span: Span::new(0, 0),
            message: error.to_string(),
            expected: Vec::new(),
        },
    }
}

/// lalrpop names terminals as they are written in the grammar (`"ident"`,
/// `"}"`); turn them into what a user reads, keywords last.
fn tidy(expected: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = expected
        .into_iter()
        .map(|t| {
            let t = t.trim_matches('"').to_string();
            match t.as_str() {
                "ident" => "a name".to_string(),
                "string" => "a string".to_string(),
                "int" => "a number".to_string(),
                "float" | "duration" | "timestamp" | "ip" | "cidr" => format!("a {t}"),
                _ => format!("`{t}`"),
            }
        })
        .collect();
    out.sort_by_key(|t| {
        (
            t.starts_with('`') && t[1..].starts_with(char::is_alphabetic),
            t.clone(),
        )
    });
    out.dedup();
    out
}

// ---------------------------------------------------------------- one expression on its own

/// The deepest nesting of an expression [`parse_expression`] accepts: the
/// limit of every syntax tree ([`crate::nesting::MAX_NESTING`]).
pub const EXPRESSION_NESTING: usize = crate::nesting::MAX_NESTING;

/// Before parsing, the tokens are measured: an expression whose tree could
/// be deeper than this is refused without building anything (a request
/// cannot make the server build and then cut a huge tree).
const TOKEN_NESTING_BOUND: usize = 1_000;

/// Parses `text` as exactly one expression, e.g. a condition received from
/// the API: trailing tokens, a second item, an unclosed bracket or string
/// are errors, comments are dropped. Spans and error positions are byte
/// offsets in `text`. Nesting deeper than [`EXPRESSION_NESTING`] is an error
/// too, found without recursion whatever the input's size.
pub fn parse_expression(text: &str) -> Result<Expr, SyntaxError> {
    let (tokens, _) = lexer::lex(text, 0);
    if let Some(at) = token_nesting_beyond(&tokens, TOKEN_NESTING_BOUND) {
        return Err(too_deep(at));
    }
    // `parse_expr_at` cuts the tree at the nesting limit (`nesting`).
    parse_expr_at(text, 0, text.len())
}

fn too_deep(at: Span) -> SyntaxError {
    let mut e = syntax_error(
        at,
        format!(
            "expression nested too deeply (more than {EXPRESSION_NESTING} levels): split it, or use `in [...]` for long lists of alternatives"
        ),
    );
    e.code = crate::nesting::NESTING_CODE;
    e
}

/// A syntax error found outside the grammar (built through `convert`, so
/// that it has whatever a syntax error carries).
pub(crate) fn syntax_error(span: Span, message: String) -> SyntaxError {
    let mut e = convert(
        ParseError::User {
            error: LexError::BadLiteral(String::new()),
        },
        0,
    );
    e.span = span;
    e.message = message;
    e
}

/// An upper bound of the depth of any tree built from `tokens`, checked
/// against `limit`; the span of a token of the offending part when over.
///
/// Every node of an expression owns at least one token of its own (an
/// operator, a bracket, a keyword, a literal), found at the bracket level
/// of the node: so the depth of a leaf is at most the number of tokens in
/// the comma-separated segments that enclose it, one per level. Computed
/// bottom-up in one pass, with a stack of open segments.
fn token_nesting_beyond(tokens: &[lexer::Spanned], limit: usize) -> Option<Span> {
    struct Segment {
        own: usize,
        deepest_child: usize,
        first: Span,
    }
    let span = |i: usize| Span::new(tokens[i].0, tokens[i].2);
    let mut open = vec![Segment {
        own: 0,
        deepest_child: 0,
        first: Span::new(0, 0),
    }];
    // Closes the innermost segment into its parent; false when over.
    fn close(open: &mut Vec<Segment>, limit: usize) -> Result<(), Span> {
        let s = open.pop().unwrap_or(Segment {
            own: 0,
            deepest_child: 0,
            first: Span::new(0, 0),
        });
        let down = s.own + s.deepest_child;
        if down > limit {
            return Err(s.first);
        }
        if let Some(p) = open.last_mut() {
            p.deepest_child = p.deepest_child.max(down);
        }
        Ok(())
    }
    for (i, (_, tok, _)) in tokens.iter().enumerate() {
        match tok {
            Token::LParen | Token::LBracket | Token::LBrace => {
                if let Some(s) = open.last_mut() {
                    s.own += 1;
                }
                open.push(Segment {
                    own: 0,
                    deepest_child: 0,
                    first: span(i),
                });
            }
            Token::Comma if open.len() > 1 => {
                if let Err(at) = close(&mut open, limit) {
                    return Some(at);
                }
                open.push(Segment {
                    own: 0,
                    deepest_child: 0,
                    first: span(i),
                });
            }
            Token::RParen | Token::RBracket | Token::RBrace if open.len() > 1 => {
                if let Err(at) = close(&mut open, limit) {
                    return Some(at);
                }
            }
            _ => {
                if let Some(s) = open.last_mut() {
                    if s.own == 0 && s.first.end == 0 {
                        s.first = span(i);
                    }
                    s.own += 1;
                    // A long run fails early, at the token that passes.
                    if s.own > limit {
                        return Some(span(i));
                    }
                }
            }
        }
    }
    while !open.is_empty() {
        if let Err(at) = close(&mut open, limit) {
            return Some(at);
        }
    }
    None
}

/// The one-level children of an expression, in source order.
pub fn expr_children(e: &Expr) -> Vec<&Expr> {
    match &e.kind {
        ExprKind::Field { base: a, .. } | ExprKind::Unary(_, a) | ExprKind::Paren(a) => vec![a],
        ExprKind::Index(a, b) | ExprKind::Binary(_, a, b) | ExprKind::Let(_, a, b) => {
            vec![a, b]
        }
        ExprKind::Quant { coll, body, .. } => vec![coll, body],
        ExprKind::If(a, b, c) => vec![a, b, c],
        ExprKind::Call { callee, args } => {
            let mut v: Vec<&Expr> = vec![callee];
            v.extend(args);
            v
        }
        ExprKind::List(xs) => xs.iter().collect(),
        ExprKind::Record(fs) => fs.iter().map(|(_, x)| x).collect(),
        ExprKind::Int(_)
        | ExprKind::Float(_)
        | ExprKind::Str(_)
        | ExprKind::Bool(_)
        | ExprKind::Duration(_)
        | ExprKind::Timestamp(_)
        | ExprKind::Ip(_)
        | ExprKind::Cidr(..)
        | ExprKind::Now
        | ExprKind::SelfRef
        | ExprKind::Name(_)
        | ExprKind::Error => Vec::new(),
    }
}

#[cfg(test)]
mod one_expression_tests {
    use super::*;

    fn err(text: &str) -> SyntaxError {
        parse_expression(text).expect_err(text)
    }

    #[test]
    fn exactly_one_expression() {
        let e = parse_expression("group_name == \"web\" and port > 22").unwrap();
        assert!(matches!(e.kind, ExprKind::Binary(BinOp::And, ..)));
        // A comment that hides the rest of the line is dropped; nothing
        // after it may follow on a new line.
        assert!(parse_expression("a == 1 // } policy evil {").is_ok());
        assert!(parse_expression("a == 1 /* } */").is_ok());
        let e = err("a == 1\n// x\n} policy evil { }");
        assert_eq!(e.span.start, 12, "{e:?}");
        let e = err("a == 1 } policy evil {");
        assert_eq!((e.span.start, e.span.end), (7, 8));
        assert!(e.message.contains('}'), "{e:?}");
        let e = err("a == \"x");
        assert_eq!(e.message, "unterminated string literal");
        assert_eq!(err("a == (1").span.start, 7);
        assert_eq!(err("").span.start, 0);
        assert_eq!(err("/* a").span.start, 0);
        // Braces inside a string are text.
        assert!(parse_expression("name == \"} policy x {\"").is_ok());
    }

    #[test]
    fn deep_input_is_refused_without_overflow() {
        let n = 10_000;
        let deep = format!("{}x{}", "(".repeat(n), ")".repeat(n));
        assert!(err(&deep).message.contains("nested too deeply"));
        let e = err(&format!("{} }}", deep));
        assert!(e.message.contains("nested too deeply"), "{e:?}");
        for text in [
            format!("{}true", "not ".repeat(n)),
            format!("{}1", "-".repeat(n)),
            format!("x{}", " + 1".repeat(n)),
            format!("x{}", ".a".repeat(n)),
            format!("{}x{} }}", "[".repeat(n), "]".repeat(n)),
            format!("x{} }}", " or y".repeat(n)),
        ] {
            assert!(err(&text).message.contains("nested too deeply"));
        }
        // Just within the limit: accepted; one more: refused (after the
        // parse, by the exact measure).
        let ok = EXPRESSION_NESTING - 1;
        assert!(parse_expression(&format!("{}x{}", "(".repeat(ok), ")".repeat(ok))).is_ok());
        let over = EXPRESSION_NESTING;
        let e = err(&format!("{}x{}", "(".repeat(over), ")".repeat(over)));
        assert!(e.message.contains("nested too deeply"));
        // Long flat lists are not deep.
        let list = vec!["\"i-0\""; 20_000].join(", ");
        assert!(parse_expression(&format!("id in [{list}]")).is_ok());
    }
}
