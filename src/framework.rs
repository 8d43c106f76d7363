//! `pacc eval --framework NAME`: the evaluation's results by the controls
//! of one compliance framework (CIS AWS Foundations as `cis-aws`, AWS
//! Foundational Security Best Practices as `aws-fsbp`, …), from the
//! policies' tags (docs/compliance.md).

use std::io::Write;

use pac_compiler::ir::Program;
use pac_runtime::eval::Summary;
use pac_runtime::framework::{self, FrameworkReport};

/// The report, or the error that `name` is no framework of the policies.
pub fn report(program: &Program, summary: &Summary, name: &str) -> Result<FrameworkReport, String> {
    let known = framework::frameworks(program);
    if !known.contains(name) {
        let list: Vec<&str> = known.iter().map(String::as_str).collect();
        return Err(format!(
            "no policy is tagged with a control of framework `{name}` (tags `{name}-VERSION:CONTROL` or `{name}:CONTROL`); the policies name: {}",
            if list.is_empty() {
                "none".to_owned()
            } else {
                list.join(", ")
            }
        ));
    }
    Ok(framework::report(program, summary, name))
}

pub fn write_text(out: &mut impl Write, r: &FrameworkReport) -> std::io::Result<()> {
    writeln!(
        out,
        "{}: {} controls mapped: {} pass, {} fail, {} unknown, {} without resources",
        r.framework,
        r.controls.len(),
        r.passing,
        r.failing,
        r.unknown,
        r.no_data
    )?;
    writeln!(out)?;
    writeln!(
        out,
        "{:<8} {:<10} {:<8} {:>8} {:>9}  policies",
        "version", "control", "status", "failing", "evaluated"
    )?;
    for c in &r.controls {
        writeln!(
            out,
            "{:<8} {:<10} {:<8} {:>8} {:>9}  {}",
            c.version.as_deref().unwrap_or("-"),
            c.control,
            c.status.name(),
            c.counts.failed,
            c.counts.evaluated,
            c.policies.join(", ")
        )?;
    }
    Ok(())
}
