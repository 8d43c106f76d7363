//! Pac's types, and the resolved shape of every record and resource schema.

use std::fmt;

use pac_lang::Span;
use serde::Serialize;

/// Index of a record (or resource schema) in [`Schemas::records`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct RecordId(pub u32);

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum Ty {
    Bool,
    Int,
    Float,
    Str,
    Time,
    Dur,
    Ip,
    Cidr,
    List(Box<Ty>),
    Map(Box<Ty>),
    Opt(Box<Ty>),
    Record(RecordId),
    /// Pseudo-types of built-in parameters: a string precompiled when constant.
    Regex,
    Glob,
    /// The type variable of a generic built-in signature.
    Var,
    /// The empty list `[]` before its element type is known.
    Empty,
    /// The type of an expression that already has an error: it matches
    /// everything, so one mistake reports one diagnostic.
    Error,
}

impl Ty {
    pub fn opt(self) -> Ty {
        match self {
            Ty::Opt(_) | Ty::Error => self,
            t => Ty::Opt(Box::new(t)),
        }
    }
    pub fn list(self) -> Ty {
        Ty::List(Box::new(self))
    }
    pub fn is_opt(&self) -> bool {
        matches!(self, Ty::Opt(_))
    }
    /// `T` of `T?`, or the type itself.
    pub fn unopt(&self) -> &Ty {
        match self {
            Ty::Opt(t) => t,
            t => t,
        }
    }
    pub fn is_numeric(&self) -> bool {
        matches!(self, Ty::Int | Ty::Float | Ty::Error)
    }
    pub fn is_error(&self) -> bool {
        matches!(self, Ty::Error)
    }
}

/// Displays types as a user writes them; records need the schema table, so
/// this wrapper carries it.
pub struct TyDisplay<'a>(pub &'a Ty, pub &'a Schemas);

impl fmt::Display for TyDisplay<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.1;
        match self.0 {
            Ty::Bool => f.write_str("bool"),
            Ty::Int => f.write_str("int"),
            Ty::Float => f.write_str("float"),
            Ty::Str => f.write_str("string"),
            Ty::Time => f.write_str("timestamp"),
            Ty::Dur => f.write_str("duration"),
            Ty::Ip => f.write_str("ip"),
            Ty::Cidr => f.write_str("cidr"),
            Ty::List(t) => write!(f, "list<{}>", TyDisplay(t, s)),
            Ty::Map(t) => write!(f, "map<{}>", TyDisplay(t, s)),
            Ty::Opt(t) => write!(f, "{}?", TyDisplay(t, s)),
            Ty::Record(r) => f.write_str(&s.record(*r).display_name()),
            Ty::Regex => f.write_str("regex"),
            Ty::Glob => f.write_str("glob"),
            Ty::Var => f.write_str("T"),
            Ty::Empty => f.write_str("list<?>"),
            Ty::Error => f.write_str("{unknown}"),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FieldDef {
    pub name: String,
    pub ty: Ty,
    pub doc: Option<String>,
    /// Where it is declared (file index into the program's files, span).
    pub file: u32,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RecordDef {
    /// Qualified name: `aws.ec2.IpPermission`, or the resource type name.
    pub name: String,
    /// `Some("aws.ec2.instance")` for a resource schema.
    pub resource_type: Option<String>,
    pub fields: Vec<FieldDef>,
    pub doc: Option<String>,
    pub file: u32,
    pub span: Span,
}

/// The implicit fields every resource has, at these indices.
pub const IMPLICIT_FIELDS: [&str; 3] = ["id", "account", "region"];

impl RecordDef {
    pub fn field(&self, name: &str) -> Option<(u32, &FieldDef)> {
        self.fields
            .iter()
            .enumerate()
            .find(|(_, f)| f.name == name)
            .map(|(i, f)| (i as u32, f))
    }
    /// The name a user reads: the resource type, or the record's short name.
    pub fn display_name(&self) -> String {
        match &self.resource_type {
            Some(t) => t.clone(),
            None => self
                .name
                .rsplit('.')
                .next()
                .unwrap_or(&self.name)
                .to_string(),
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Schemas {
    pub records: Vec<RecordDef>,
}

impl Schemas {
    pub fn record(&self, id: RecordId) -> &RecordDef {
        &self.records[id.0 as usize]
    }
    /// The resource schema named `type_name` (`aws.ec2.instance`).
    pub fn resource(&self, type_name: &str) -> Option<RecordId> {
        self.records
            .iter()
            .position(|r| r.resource_type.as_deref() == Some(type_name))
            .map(|i| RecordId(i as u32))
    }
    pub fn resource_types(&self) -> impl Iterator<Item = (RecordId, &str)> {
        self.records
            .iter()
            .enumerate()
            .filter_map(|(i, r)| Some((RecordId(i as u32), r.resource_type.as_deref()?)))
    }
    pub fn display(&self, ty: &Ty) -> String {
        TyDisplay(ty, self).to_string()
    }
}
