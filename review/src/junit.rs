//! `pacc test` reports as JUnit XML, the test-report format CI systems
//! read: one `<testsuite>` per policy file, one `<testcase>` per test, a
//! `<failure>` per test that failed. Tests validate the output against
//! the Jenkins/Surefire JUnit schema (`tests/schemas/junit-10.xsd`).

use std::collections::BTreeMap;
use std::fmt::Write;

use pac_runtime::TestReport;
use pac_runtime::testing::TestOutcome;

/// Text escaped for XML content and attribute values; characters XML 1.0
/// cannot hold (most control characters) are dropped.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if c.is_control() || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

/// `policies/aws/s3.pac` → `policies.aws.s3`.
fn classname(file: &str) -> String {
    file.trim_end_matches(".pac").replace(['/', '\\'], ".")
}

fn testcase(t: &TestOutcome, out: &mut String) {
    let _ = write!(
        out,
        "    <testcase name=\"{}\" classname=\"{}\"",
        escape(&t.name),
        escape(&classname(&t.file))
    );
    if t.failures.is_empty() {
        out.push_str("/>\n");
        return;
    }
    out.push_str(">\n");
    for f in &t.failures {
        let mut body = format!("{}:{}: {}\n{}", t.file, f.line, f.expectation, f.message);
        if let Some(e) = &f.explanation {
            body.push('\n');
            body.push_str(&pac_runtime::explain::render_text(e, 1));
        }
        let _ = writeln!(
            out,
            "      <failure type=\"expectation\" message=\"{}\">{}</failure>",
            escape(&f.message),
            escape(&body)
        );
    }
    out.push_str("    </testcase>\n");
}

/// The report as a JUnit XML document.
pub fn render(report: &TestReport) -> String {
    let mut by_file: BTreeMap<&str, Vec<&TestOutcome>> = BTreeMap::new();
    for t in &report.tests {
        by_file.entry(t.file.as_str()).or_default().push(t);
    }
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"pacc test\" tests=\"{}\" failures=\"{}\" errors=\"0\">",
        report.tests.len(),
        report.failed()
    );
    for (file, tests) in by_file {
        let failed = tests.iter().filter(|t| !t.passed).count();
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failed}\" errors=\"0\" skipped=\"0\" file=\"{}\">",
            escape(&classname(file)),
            tests.len(),
            escape(file)
        );
        for t in tests {
            testcase(t, &mut out);
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_markup_and_drops_what_xml_cannot_hold() {
        assert_eq!(escape("a<b>&\"'"), "a&lt;b&gt;&amp;&quot;&apos;");
        assert_eq!(escape("x\u{1}y\tz"), "xy\tz");
    }

    #[test]
    fn files_become_suites_and_failures_carry_their_line() {
        let report = TestReport {
            tests: vec![
                TestOutcome {
                    name: "passes".into(),
                    file: "policies/a.pac".into(),
                    line: 3,
                    passed: true,
                    failures: vec![],
                },
                TestOutcome {
                    name: "fails <here>".into(),
                    file: "policies/a.pac".into(),
                    line: 9,
                    passed: false,
                    failures: vec![pac_runtime::testing::TestFailure {
                        expectation: "expect p fails v".into(),
                        line: 11,
                        message: "it passed".into(),
                        explanation: None,
                    }],
                },
            ],
            ..Default::default()
        };
        let xml = render(&report);
        assert!(
            xml.contains("<testsuites name=\"pacc test\" tests=\"2\" failures=\"1\" errors=\"0\">")
        );
        assert!(xml.contains("<testsuite name=\"policies.a\" tests=\"2\" failures=\"1\""));
        assert!(xml.contains("name=\"fails &lt;here&gt;\""));
        assert!(xml.contains(">policies/a.pac:11: expect p fails v\nit passed</failure>"));
    }
}
