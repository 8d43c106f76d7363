//! Tokens, produced by logos. Comments are not tokens the grammar sees: the
//! lexer sets them aside (with their spans) for doc attachment and for the
//! formatter, which must keep every comment.

use logos::Logos;
use std::fmt;

#[derive(Logos, Clone, Debug, PartialEq)]
#[logos(skip r"[ \t\r\n\f]+")]
pub enum Token {
    // Keywords.
    #[token("package")]
    Package,
    #[token("policy")]
    Policy,
    #[token("rule")]
    Rule,
    #[token("on")]
    On,
    #[token("in")]
    In,
    #[token("violation")]
    Violation,
    #[token("when")]
    When,
    #[token("group")]
    Group,
    #[token("exception")]
    Exception,
    #[token("sticky")]
    Sticky,
    #[token("for")]
    For,
    #[token("where")]
    Where,
    #[token("autofix")]
    Autofix,
    #[token("after")]
    After,
    #[token("notify")]
    Notify,
    #[token("test")]
    Test,
    #[token("given")]
    Given,
    #[token("expect")]
    Expect,
    #[token("now")]
    Now,
    #[token("schema")]
    Schema,
    #[token("record")]
    Record,
    #[token("action")]
    Action,
    #[token("fn")]
    Fn,
    #[token("let")]
    Let,
    #[token("and")]
    And,
    #[token("or")]
    Or,
    #[token("not")]
    Not,
    #[token("any")]
    Any,
    #[token("all")]
    All,
    #[token("exists")]
    Exists,
    #[token("none")]
    None,
    #[token("count")]
    Count,
    #[token("if")]
    If,
    #[token("then")]
    Then,
    #[token("else")]
    Else,
    #[token("true")]
    True,
    #[token("false")]
    False,
    #[token("self")]
    SelfKw,

    // Literals. Longest match decides between `10`, `10.5`, `10.0.0.1`,
    // `10.0.0.0/8`, `10d` and `2027-03-31`.
    #[regex(r"[0-9][0-9_]*", |lex| parse_int(lex.slice()))]
    Int(i64),
    #[regex(r"[0-9]+\.[0-9]+", |lex| lex.slice().parse::<f64>().ok())]
    Float(f64),
    #[regex(r"[0-9]+(s|m|h|d|w)", |lex| parse_duration(lex.slice()))]
    Duration(i64),
    #[regex(
        r"[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?(Z|[+-][0-9]{2}:[0-9]{2})?)?",
        |lex| parse_timestamp(lex.slice())
    )]
    Timestamp(i64),
    #[regex(r"[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+", |lex| lex.slice().parse::<std::net::Ipv4Addr>().ok())]
    Ip(std::net::Ipv4Addr),
    #[regex(r"[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+/[0-9]+", |lex| parse_cidr(lex.slice()))]
    Cidr((std::net::Ipv4Addr, u8)),
    #[regex(r#""([^"\\\n]|\\[^\n])*""#, |lex| unescape(lex.slice()))]
    Str(String),
    #[regex(r"[A-Za-z_][A-Za-z0-9_]*", |lex| lex.slice().to_string())]
    Ident(String),

    // Punctuation.
    #[token("{")]
    LBrace,
    #[token("}")]
    RBrace,
    #[token("(")]
    LParen,
    #[token(")")]
    RParen,
    #[token("[")]
    LBracket,
    #[token("]")]
    RBracket,
    #[token(",")]
    Comma,
    #[token(":")]
    Colon,
    #[token(".")]
    Dot,
    #[token("?.")]
    QDot,
    #[token("??")]
    QQ,
    #[token("?")]
    Question,
    #[token("==")]
    EqEq,
    #[token("!=")]
    NotEq,
    #[token("<=")]
    Le,
    #[token(">=")]
    Ge,
    #[token("<")]
    Lt,
    #[token(">")]
    Gt,
    #[token("=")]
    Assign,
    #[token("->")]
    Arrow,
    #[token("+")]
    Plus,
    #[token("-")]
    Minus,
    #[token("*")]
    Star,
    #[token("/")]
    Slash,
    #[token("%")]
    Percent,
    #[token(";")]
    Semi,

    // Comments: filtered out by [`lex`] into the side list.
    #[regex(r"///[^\n]*", allow_greedy = true)]
    DocComment,
    #[regex(r"//[^\n]*", allow_greedy = true)]
    LineComment,
    #[regex(r"/\*([^*]|\*+[^*/])*\*+/")]
    BlockComment,

    /// Anything the lexer could not read (a stray character, an unterminated
    /// string, an out-of-range number). The grammar accepts it nowhere, so it
    /// becomes a parse error that recovery can skip.
    Error(LexError),
}

#[derive(Clone, Debug, PartialEq)]
pub enum LexError {
    Unexpected(String),
    UnterminatedString,
    BadLiteral(String),
}

impl fmt::Display for LexError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LexError::Unexpected(s) => write!(f, "unexpected character `{s}`"),
            LexError::UnterminatedString => f.write_str("unterminated string literal"),
            LexError::BadLiteral(s) => write!(f, "invalid literal `{s}`"),
        }
    }
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Token::Int(i) => write!(f, "`{i}`"),
            Token::Float(x) => write!(f, "`{x}`"),
            Token::Duration(_) => f.write_str("a duration"),
            Token::Timestamp(_) => f.write_str("a timestamp"),
            Token::Ip(ip) => write!(f, "`{ip}`"),
            Token::Cidr((ip, len)) => write!(f, "`{ip}/{len}`"),
            Token::Str(s) => write!(f, "{s:?}"),
            Token::Ident(s) => write!(f, "`{s}`"),
            Token::Error(e) => write!(f, "{e}"),
            other => write!(f, "`{}`", token_text(other)),
        }
    }
}

/// The source text of a fixed token (keywords and punctuation).
pub fn token_text(t: &Token) -> &'static str {
    use Token::*;
    match t {
        Package => "package",
        Policy => "policy",
        Rule => "rule",
        On => "on",
        In => "in",
        Violation => "violation",
        When => "when",
        Group => "group",
        Exception => "exception",
        Sticky => "sticky",
        For => "for",
        Where => "where",
        Autofix => "autofix",
        After => "after",
        Notify => "notify",
        Test => "test",
        Given => "given",
        Expect => "expect",
        Now => "now",
        Schema => "schema",
        Record => "record",
        Action => "action",
        Fn => "fn",
        Let => "let",
        And => "and",
        Or => "or",
        Not => "not",
        Any => "any",
        All => "all",
        Exists => "exists",
        None => "none",
        Count => "count",
        If => "if",
        Then => "then",
        Else => "else",
        True => "true",
        False => "false",
        SelfKw => "self",
        LBrace => "{",
        RBrace => "}",
        LParen => "(",
        RParen => ")",
        LBracket => "[",
        RBracket => "]",
        Comma => ",",
        Colon => ":",
        Dot => ".",
        QDot => "?.",
        QQ => "??",
        Question => "?",
        EqEq => "==",
        NotEq => "!=",
        Le => "<=",
        Ge => ">=",
        Lt => "<",
        Gt => ">",
        Assign => "=",
        Arrow => "->",
        Plus => "+",
        Minus => "-",
        Star => "*",
        Slash => "/",
        Percent => "%",
        Semi => ";",
        DocComment => "///",
        LineComment => "//",
        BlockComment => "/* */",
        Int(_) | Float(_) | Duration(_) | Timestamp(_) | Ip(_) | Cidr(_) | Str(_) | Ident(_)
        | Error(_) => "",
    }
}

/// Every keyword's text, for "expected one of" messages and for the LSP.
pub const KEYWORDS: &[&str] = &[
    "package",
    "policy",
    "rule",
    "on",
    "in",
    "violation",
    "when",
    "group",
    "exception",
    "sticky",
    "for",
    "where",
    "autofix",
    "after",
    "notify",
    "test",
    "given",
    "expect",
    "now",
    "schema",
    "record",
    "action",
    "fn",
    "let",
    "and",
    "or",
    "not",
    "any",
    "all",
    "exists",
    "none",
    "count",
    "if",
    "then",
    "else",
    "true",
    "false",
    "self",
];

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum CommentKind {
    Line,
    Doc,
    Block,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Comment {
    pub kind: CommentKind,
    pub start: usize,
    pub end: usize,
    pub text: String,
}

pub type Spanned = (usize, Token, usize);

/// Lexes `src` (whose first byte sits at `offset` in the file), returning
/// the grammar's tokens and, separately, the comments.
pub fn lex(src: &str, offset: usize) -> (Vec<Spanned>, Vec<Comment>) {
    let mut tokens = Vec::new();
    let mut comments = Vec::new();
    let mut lexer = Token::lexer(src);
    while let Some(result) = lexer.next() {
        let span = lexer.span();
        let (start, end) = (span.start + offset, span.end + offset);
        let tok = match result {
            Ok(t) => t,
            Err(()) => {
                let slice = lexer.slice();
                let err = if slice.starts_with('"') {
                    LexError::UnterminatedString
                } else if slice.starts_with(|c: char| c.is_ascii_digit()) {
                    LexError::BadLiteral(slice.to_string())
                } else {
                    LexError::Unexpected(slice.chars().next().map(String::from).unwrap_or_default())
                };
                Token::Error(err)
            }
        };
        let kind = match tok {
            Token::DocComment if !lexer.slice().starts_with("////") => Some(CommentKind::Doc),
            Token::DocComment | Token::LineComment => Some(CommentKind::Line),
            Token::BlockComment => Some(CommentKind::Block),
            _ => None,
        };
        match kind {
            Some(kind) => comments.push(Comment {
                kind,
                start,
                end,
                text: lexer.slice().to_string(),
            }),
            None => tokens.push((start, tok, end)),
        }
    }
    (tokens, comments)
}

fn parse_int(s: &str) -> Option<i64> {
    s.replace('_', "").parse().ok()
}

fn parse_duration(s: &str) -> Option<i64> {
    let (num, unit) = s.split_at(s.len() - 1);
    let n: i64 = num.parse().ok()?;
    let mult = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        "w" => 604_800,
        _ => return None,
    };
    n.checked_mul(mult)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// algorithm), so that the lexer needs no date crate.
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Parses `YYYY-MM-DD[THH:MM[:SS[.frac]][Z|±HH:MM]]` to Unix seconds (UTC).
pub fn parse_timestamp(s: &str) -> Option<i64> {
    let num = |a: usize, b: usize| s.get(a..b)?.parse::<i64>().ok();
    let (y, m, d) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
    if !(1..=12).contains(&m) || d < 1 || d > days_in_month(y, m) {
        return None;
    }
    let mut secs = days_from_civil(y, m, d) * 86_400;
    if s.len() > 10 {
        let (hh, mm) = (num(11, 13)?, num(14, 16)?);
        let mut rest = &s[16..];
        let mut ss = 0;
        if let Some(r) = rest.strip_prefix(':') {
            ss = r.get(0..2)?.parse::<i64>().ok()?;
            rest = &r[2..];
            if let Some(r) = rest.strip_prefix('.') {
                let n = r.find(|c: char| !c.is_ascii_digit()).unwrap_or(r.len());
                rest = &r[n..];
            }
        }
        if hh > 23 || mm > 59 || ss > 60 {
            return None;
        }
        secs += hh * 3_600 + mm * 60 + ss;
        if let Some(off) = rest.strip_prefix(['+', '-']) {
            let oh = off.get(0..2)?.parse::<i64>().ok()?;
            let om = off.get(3..5)?.parse::<i64>().ok()?;
            let off = oh * 3_600 + om * 60;
            secs += if rest.starts_with('+') { -off } else { off };
        }
    }
    Some(secs)
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

fn parse_cidr(s: &str) -> Option<(std::net::Ipv4Addr, u8)> {
    let (ip, len) = s.split_once('/')?;
    let len: u8 = len.parse().ok()?;
    (len <= 32).then_some(())?;
    Some((ip.parse().ok()?, len))
}

fn unescape(raw: &str) -> Option<String> {
    let inner = &raw[1..raw.len() - 1];
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next()? {
            'n' => out.push('\n'),
            't' => out.push('\t'),
            'r' => out.push('\r'),
            '\\' => out.push('\\'),
            '"' => out.push('"'),
            '{' => out.push('{'),
            '}' => out.push('}'),
            _ => return None,
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<Token> {
        lex(src, 0).0.into_iter().map(|(_, t, _)| t).collect()
    }

    #[test]
    fn literals_by_longest_match() {
        assert_eq!(
            kinds("10 10.5 10.0.0.1 10.0.0.0/8 10d 2027-03-31"),
            vec![
                Token::Int(10),
                Token::Float(10.5),
                Token::Ip("10.0.0.1".parse().unwrap()),
                Token::Cidr(("10.0.0.0".parse().unwrap(), 8)),
                Token::Duration(864_000),
                Token::Timestamp(days_from_civil(2027, 3, 31) * 86_400),
            ]
        );
    }

    #[test]
    fn timestamps_with_time_and_offset() {
        assert_eq!(parse_timestamp("1970-01-01T01:00:00Z"), Some(3_600));
        assert_eq!(parse_timestamp("1970-01-01T01:00:00+01:00"), Some(0));
        assert_eq!(parse_timestamp("2024-02-30"), None);
    }

    #[test]
    fn comments_are_set_aside() {
        let (toks, comments) = lex("/// doc\npolicy // trailing\n/* b */ x", 0);
        assert_eq!(toks.len(), 2);
        let k: Vec<_> = comments.iter().map(|c| c.kind).collect();
        assert_eq!(
            k,
            vec![CommentKind::Doc, CommentKind::Line, CommentKind::Block]
        );
    }

    #[test]
    fn errors_are_tokens() {
        let t = kinds("a $ \"open");
        assert!(matches!(t[1], Token::Error(LexError::Unexpected(_))));
        assert!(matches!(t.last(), Some(Token::Error(_))));
    }
}
