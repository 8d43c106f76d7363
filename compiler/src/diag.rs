//! Diagnostics: a stable code, a severity, a primary span, labels, notes and
//! an optional machine-applicable suggestion. Rendered with ariadne on the
//! CLI and sent as-is to editors by the LSP.

use pac_lang::Span;
use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Label {
    pub file: u32,
    pub span: Span,
    pub message: String,
}

/// Replace `span` with `replacement`: what "did you mean" offers.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Suggestion {
    pub message: String,
    pub span: Span,
    pub replacement: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Diagnostic {
    pub code: &'static str,
    pub severity: Severity,
    pub message: String,
    /// Index of the file in the workspace's file list.
    pub file: u32,
    pub span: Span,
    /// Text under the primary span's caret.
    pub label: String,
    /// Secondary places (possibly in other files).
    pub labels: Vec<Label>,
    pub notes: Vec<String>,
    pub suggestion: Option<Suggestion>,
}

impl Diagnostic {
    pub fn error(code: &'static str, file: u32, span: Span, message: impl Into<String>) -> Self {
        Diagnostic {
            code,
            severity: Severity::Error,
            message: message.into(),
            file,
            span,
            label: String::new(),
            labels: Vec::new(),
            notes: Vec::new(),
            suggestion: None,
        }
    }
    pub fn warning(code: &'static str, file: u32, span: Span, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(code, file, span, message)
        }
    }
    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = label.into();
        self
    }
    pub fn with_secondary(mut self, file: u32, span: Span, message: impl Into<String>) -> Self {
        self.labels.push(Label {
            file,
            span,
            message: message.into(),
        });
        self
    }
    pub fn with_note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }
    pub fn with_suggestion(
        mut self,
        message: impl Into<String>,
        span: Span,
        replacement: impl Into<String>,
    ) -> Self {
        self.suggestion = Some(Suggestion {
            message: message.into(),
            span,
            replacement: replacement.into(),
        });
        self
    }
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// Every diagnostic code, with a one-line meaning (for `pacc explain-code`
/// and docs/diagnostics.md).
pub const CODES: &[(&str, &str)] = &[
    ("E0001", "syntax error"),
    (
        "E0002",
        "expression nested too deeply (directly or through function calls)",
    ),
    ("E0101", "unknown name in an expression"),
    ("E0102", "unknown field of a record or resource"),
    ("E0103", "unknown resource type"),
    ("E0104", "unknown type name"),
    ("E0105", "unknown function"),
    ("E0106", "unknown policy or rule"),
    ("E0107", "unknown asset group"),
    ("E0108", "unknown auto-fix action or action parameter"),
    ("E0109", "unknown resource handle in a test"),
    ("E0110", "unknown metadata key or clause"),
    ("E0111", "unknown exception"),
    ("E0112", "ambiguous name: declared in several packages"),
    ("E0201", "duplicate name"),
    ("E0301", "type mismatch"),
    ("E0302", "optional value used where a value is required"),
    ("E0303", "operator not defined for these types"),
    ("E0304", "wrong number of arguments"),
    ("E0305", "no signature of the function fits these arguments"),
    ("E0306", "condition is not a bool"),
    (
        "E0307",
        "quantifier over something that is not a list or a resource type",
    ),
    ("E0308", "field access on a value that is not a record"),
    ("E0309", "indexing a value that is not a list or a map"),
    (
        "E0310",
        "invalid constant (regex, glob, CIDR, IP, timestamp)",
    ),
    ("E0311", "recursive function"),
    ("E0312", "required field missing from a record literal"),
    (
        "E0313",
        "expression not allowed in test data (only literals)",
    ),
    (
        "E0314",
        "function too large to inline (its calls expand to too many nodes)",
    ),
    ("E0401", "required metadata missing"),
    ("E0402", "invalid metadata value"),
    (
        "E0403",
        "rule without a `violation when` condition, or with two",
    ),
    ("E0404", "rule needs a name (the policy has several rules)"),
    ("E0405", "auto-fix binding does not fit its action"),
    ("E0406", "exception is incomplete or inconsistent"),
    ("E0407", "invalid test statement"),
    ("W0501", "condition is always true or always false"),
    ("W0502", "part of a condition can never be evaluated"),
    ("W0503", "exception has expired"),
    ("W0504", "exception matches nothing"),
    (
        "W0505",
        "cross-resource look-up without a join key scans every resource",
    ),
    ("W0506", "unused `let` binding"),
];
