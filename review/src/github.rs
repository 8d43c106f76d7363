//! GitHub Actions workflow commands (`::warning file=…,line=…::message`):
//! annotations on the pull request's files, from the same findings as
//! SARIF. Data and properties are escaped as the runner expects, so a
//! message cannot end its command or start another.

use crate::findings::{Finding, Level};

/// Escapes command data: `%`, CR and LF.
fn data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a property value: as data, plus `:` and `,`.
fn property(s: &str) -> String {
    data(s).replace(':', "%3A").replace(',', "%2C")
}

/// One workflow command per finding.
pub fn render(findings: &[Finding]) -> String {
    let mut out = String::new();
    for f in findings {
        let command = match f.level {
            Level::Error => "error",
            Level::Warning => "warning",
            Level::Note => "notice",
        };
        let mut props = Vec::new();
        if let Some(file) = &f.file {
            props.push(format!("file={}", property(file)));
            if let Some(l) = f.line {
                props.push(format!("line={l}"));
            }
            if let Some(c) = f.column {
                props.push(format!("col={c}"));
            }
            if let (Some(l), Some(e)) = (f.line, f.end_line)
                && e != l
            {
                props.push(format!("endLine={e}"));
            }
        }
        props.push(format!("title={}", property(&f.title)));
        out.push_str(&format!(
            "::{command} {}::{}\n",
            props.join(","),
            data(&f.message)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_cannot_break_out_of_their_command() {
        let f = Finding {
            kind: "x".into(),
            level: Level::Warning,
            title: "a: b, c".into(),
            message: "100%\n::error::injected".into(),
            file: Some("p,1.pac".into()),
            line: Some(3),
            column: None,
            end_line: None,
            end_column: None,
            fingerprint: String::new(),
        };
        assert_eq!(
            render(&[f]),
            "::warning file=p%2C1.pac,line=3,title=a%3A b%2C c::100%25%0A::error::injected\n"
        );
    }
}
