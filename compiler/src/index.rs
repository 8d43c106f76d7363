//! A position index the checker fills as it resolves names: which span
//! names which field, variable, built-in or `fn`, and with what type. The
//! language server answers hover, completion, definition and references
//! from it; the CLI ignores it.

use pac_lang::Span;

use crate::types::{RecordId, Ty};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RefKind {
    /// A field of a record or resource schema: `field` indexes
    /// [`crate::types::RecordDef::fields`].
    Field { record: RecordId, field: u32 },
    /// A use of a local variable declared at `decl` (same file).
    Local { decl: Span },
    /// The declaration of a local (quantifier variable, `let`, parameter).
    LocalDecl,
    /// A call of a built-in function.
    Builtin(&'static str),
    /// A call of a user `fn`, by qualified name.
    Fn(String),
    /// A type name resolved to a record or resource schema.
    Type(RecordId),
    /// A name of a policy, rule (`policy.rule`), group, exception or
    /// action where one is referred to (targets, scopes, auto-fixes, tests).
    Item(ItemKind, String),
}

/// What kind of item a [`RefKind::Item`] names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ItemKind {
    Policy,
    Rule,
    Group,
    Exception,
    Action,
}

/// One resolved name in the source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ref {
    pub file: u32,
    pub span: Span,
    pub kind: RefKind,
    /// The type of the name's value there (narrowed where `has` applies).
    pub ty: Ty,
}
