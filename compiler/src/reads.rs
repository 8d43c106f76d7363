//! The read set of a program: which resource types and which of their
//! top-level fields the rules, groups, exceptions, messages and auto-fix
//! `notify` expressions read. Connectors use it to skip whole types and the
//! per-resource API calls (an S3 bucket's ACL, a snapshot's permissions)
//! that no policy needs.
//!
//! The analysis is conservative: a resource used as a whole (a bare `self`
//! passed somewhere) reads every field of its type.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::ir::{Expr, ExprKind, MessagePart, Program, Slot};
use crate::types::{IMPLICIT_FIELDS, RecordId, Schemas};

/// Resource type name → the top-level fields read (implicit `id`,
/// `account`, `region` left out: every document has them). A type absent
/// from the map is not read at all.
pub type ReadSet = BTreeMap<String, BTreeSet<String>>;

/// The read set of every rule, group member, exception condition, message
/// and `notify` expression of `program`.
pub fn reads(program: &Program) -> ReadSet {
    let mut out = ReadSet::new();
    for (rid, fields) in read_fields(program) {
        let def = program.schemas.record(rid);
        let Some(name) = &def.resource_type else {
            continue;
        };
        let names = fields
            .into_iter()
            .filter_map(|i| def.fields.get(i as usize))
            .map(|f| f.name.clone())
            .filter(|n| !IMPLICIT_FIELDS.contains(&n.as_str()))
            .collect();
        out.insert(name.clone(), names);
    }
    out
}

/// [`reads`] by record id and field index, implicit fields included (the
/// native engine lays out only these fields of each resource).
pub fn read_fields(program: &Program) -> BTreeMap<RecordId, BTreeSet<u32>> {
    let mut acc = Acc {
        schemas: &program.schemas,
        out: BTreeMap::new(),
    };
    for rule in &program.rules {
        let slots = root(rule.resource);
        acc.want(rule.resource);
        acc.visit(&rule.cond, &slots);
        // The `let`s only the message reads (moved out of the condition).
        for (_, value) in &rule.message_lets {
            acc.visit(value, &slots);
        }
        for part in &rule.message {
            if let MessagePart::Expr(e) = part {
                acc.visit(e, &slots);
            }
        }
        if let Some(fix) = &rule.autofix {
            for e in fix.notify.iter().chain(fix.exprs.iter().map(|(_, e)| e)) {
                acc.visit(e, &slots);
            }
        }
    }
    for group in &program.groups {
        for member in &group.members {
            acc.want(member.resource);
            if let Some(cond) = &member.cond {
                acc.visit(cond, &root(member.resource));
            }
        }
    }
    for exception in &program.exceptions {
        for (rid, cond) in &exception.conds {
            acc.want(*rid);
            acc.visit(cond, &root(*rid));
        }
    }
    acc.out
}

/// The top-level fields that rule conditions and group conditions read:
/// what a native engine's generated code reads from its layout (messages,
/// `notify` and exceptions are the interpreter's, over records read back).
pub fn code_fields(program: &Program) -> BTreeMap<RecordId, BTreeSet<u32>> {
    let mut acc = Acc {
        schemas: &program.schemas,
        out: BTreeMap::new(),
    };
    for rule in &program.rules {
        acc.want(rule.resource);
        acc.visit(&rule.cond, &root(rule.resource));
    }
    for group in &program.groups {
        for member in &group.members {
            acc.want(member.resource);
            if let Some(cond) = &member.cond {
                acc.visit(cond, &root(member.resource));
            }
        }
    }
    acc.out
}

/// [`read_fields`] as a flag per field of each resource type, for the
/// readers that skip what no code reads: the native engine's layout and
/// the inventory reader (an unread field is neither validated nor kept).
#[derive(Clone, Debug, Default)]
pub struct ReadMask {
    /// Per `RecordId`: `None` when the type is not read, else a flag per
    /// field (implicit fields included).
    per_type: Vec<Option<Vec<bool>>>,
}

impl ReadMask {
    /// The read set of `program`.
    pub fn of(program: &Program) -> ReadMask {
        ReadMask::new(&program.schemas, read_fields(program))
    }

    /// The mask of a read set given by record id and field index (as
    /// [`read_fields`] gives it).
    pub fn new(schemas: &Schemas, read: BTreeMap<RecordId, BTreeSet<u32>>) -> ReadMask {
        let mut per_type = vec![None; schemas.records.len()];
        for (rid, fields) in read {
            let n = schemas.record(rid).fields.len();
            let mut mask = vec![false; n];
            for f in fields {
                if let Some(x) = mask.get_mut(f as usize) {
                    *x = true;
                }
            }
            if let Some(slot) = per_type.get_mut(rid.0 as usize) {
                *slot = Some(mask);
            }
        }
        ReadMask { per_type }
    }

    /// Clears the implicit fields (`id`, `account`, `region`) of every
    /// type except those `keep` names: a native layout need not hold what
    /// only the interpreter reads, which has them from the resource itself.
    pub fn without_implicit_except(mut self, keep: &BTreeMap<RecordId, BTreeSet<u32>>) -> Self {
        for (t, mask) in self.per_type.iter_mut().enumerate() {
            let Some(mask) = mask else { continue };
            let kept = keep.get(&RecordId(t as u32));
            for (k, flag) in mask.iter_mut().enumerate().take(IMPLICIT_FIELDS.len()) {
                if kept.is_none_or(|f| !f.contains(&(k as u32))) {
                    *flag = false;
                }
            }
        }
        self
    }

    /// The field flags of a type, `None` when the type is not read.
    pub fn fields(&self, rtype: RecordId) -> Option<&[bool]> {
        self.per_type.get(rtype.0 as usize)?.as_deref()
    }

    /// Whether field `field` of resource type `rtype` is read.
    pub fn reads(&self, rtype: RecordId, field: usize) -> bool {
        self.fields(rtype)
            .and_then(|m| m.get(field).copied())
            .unwrap_or(false)
    }
}

/// What rendering the details of a failure reads, once an engine has
/// decided the outcome: the message, the `let`s only the message reads,
/// and those of the condition's `let`s the message needs (transitively).
/// Reading back a whole record from a native layout for every failure
/// costs more than rendering the message; with this, only these fields
/// are read back.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DetailReads {
    /// Per `let` of the chain folded around the condition, outermost
    /// first: whether the message needs its value.
    pub lets: Vec<bool>,
    /// Per field of the rule's resource type: whether the details read it
    /// (all of them when the resource is used whole).
    pub fields: Vec<bool>,
}

/// The `let`s folded around a condition, outermost first.
pub fn let_chain(cond: &Expr) -> Vec<(Slot, &Expr)> {
    let mut out = Vec::new();
    let mut e = cond;
    while let ExprKind::Let(slot, value, body) = &e.kind {
        out.push((*slot, &**value));
        e = body;
    }
    out
}

/// [`DetailReads`] of rule `rule` of `program`.
pub fn detail_reads(program: &Program, rule: usize) -> DetailReads {
    let Some(r) = program.rules.get(rule) else {
        return DetailReads::default();
    };
    let locals = |e: &Expr, into: &mut BTreeSet<Slot>| {
        e.walk(&mut |x| {
            if let ExprKind::Local(s) = x.kind {
                into.insert(s);
            }
        })
    };
    let mut needed = BTreeSet::new();
    for (_, value) in &r.message_lets {
        locals(value, &mut needed);
    }
    for part in &r.message {
        if let MessagePart::Expr(e) = part {
            locals(e, &mut needed);
        }
    }
    let chain = let_chain(&r.cond);
    let mut lets = vec![false; chain.len()];
    for (k, (slot, value)) in chain.iter().enumerate().rev() {
        if needed.contains(slot) {
            lets[k] = true;
            locals(value, &mut needed);
        }
    }
    let mut acc = Acc {
        schemas: &program.schemas,
        out: BTreeMap::new(),
    };
    let mut slots = root(r.resource);
    let values = chain
        .iter()
        .zip(&lets)
        .filter(|(_, want)| **want)
        .map(|((slot, value), _)| (*slot, *value))
        .chain(r.message_lets.iter().map(|(slot, value)| (*slot, value)));
    for (slot, value) in values {
        acc.visit(value, &slots);
        // An alias of the resource: its field reads are the resource's.
        match value.kind {
            ExprKind::Local(s) if slots.contains_key(&s) => {
                let rid = slots[&s];
                slots.insert(slot, rid);
            }
            _ => {
                slots.remove(&slot);
            }
        }
    }
    for part in &r.message {
        if let MessagePart::Expr(e) = part {
            acc.visit(e, &slots);
        }
    }
    let n = program.schemas.record(r.resource).fields.len();
    let mut fields = vec![false; n];
    for f in acc.out.remove(&r.resource).unwrap_or_default() {
        if let Some(x) = fields.get_mut(f as usize) {
            *x = true;
        }
    }
    DetailReads { lets, fields }
}

/// Slot 0 holds the resource under evaluation.
fn root(rid: RecordId) -> HashMap<Slot, RecordId> {
    HashMap::from([(0, rid)])
}

struct Acc<'a> {
    schemas: &'a Schemas,
    out: BTreeMap<RecordId, BTreeSet<u32>>,
}

impl Acc<'_> {
    fn want(&mut self, rid: RecordId) {
        self.out.entry(rid).or_default();
    }

    fn field(&mut self, rid: RecordId, field: u32) {
        self.out.entry(rid).or_default().insert(field);
    }

    fn all_fields(&mut self, rid: RecordId) {
        let n = self.schemas.record(rid).fields.len() as u32;
        self.out.entry(rid).or_default().extend(0..n);
    }

    /// `slots` maps the frame slots that hold a resource to its type.
    fn visit(&mut self, e: &Expr, slots: &HashMap<Slot, RecordId>) {
        match &e.kind {
            ExprKind::Field(base, i) | ExprKind::OptField(base, i) => {
                if let ExprKind::Local(s) = base.kind
                    && let Some(&rid) = slots.get(&s)
                {
                    self.field(rid, *i);
                } else {
                    self.visit(base, slots);
                }
            }
            ExprKind::Local(s) => {
                // The resource used whole: every field may be read.
                if let Some(&rid) = slots.get(s) {
                    self.all_fields(rid);
                }
            }
            ExprKind::Let(slot, value, body) => {
                let mut inner = slots.clone();
                match value.kind {
                    // An alias of a resource: its field reads are the
                    // resource's.
                    ExprKind::Local(s) if slots.contains_key(&s) => {
                        inner.insert(*slot, slots[&s]);
                    }
                    _ => {
                        self.visit(value, slots);
                        inner.remove(slot);
                    }
                }
                self.visit(body, &inner);
            }
            ExprKind::Quant {
                slot, coll, body, ..
            } => {
                self.visit(coll, slots);
                let mut inner = slots.clone();
                inner.remove(slot);
                self.visit(body, &inner);
            }
            ExprKind::QuantType {
                slot,
                rtype,
                probe,
                body,
                ..
            } => {
                self.want(*rtype);
                if let Some(p) = probe {
                    self.field(*rtype, p.field);
                    self.visit(&p.key, slots);
                }
                let mut inner = slots.clone();
                inner.insert(*slot, *rtype);
                self.visit(body, &inner);
            }
            _ => {
                for c in e.children() {
                    self.visit(c, slots);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile_sources;

    /// The program of `src`, which must compile without errors.
    fn program(src: &str) -> std::sync::Arc<Program> {
        let c = compile_sources(vec![("t.pac".into(), src.into())]);
        let errors: Vec<_> = c.diagnostics.iter().filter(|d| d.is_error()).collect();
        assert!(errors.is_empty(), "{errors:?}");
        c.program
    }

    fn read_set(src: &str) -> ReadSet {
        reads(&program(src))
    }

    fn set(items: &[&str]) -> BTreeSet<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn rule_message_group_exception_and_notify_fields_are_read() {
        let rs = read_set(
            r#"package t

group prod {
  aws.ec2.instance where (tags["env"] ?? "") == "prod"
}

policy p {
  title "t"
  severity high
  category security
  rule on aws.ec2.instance in prod {
    violation when (state?.name ?? "running") == "running"
    message "{instance_id} is running"
  }
  autofix stop_instance() notify key_name ?? "x@example.com"
}

sticky exception e for p {
  where (instance_type ?? "") == "t3.micro"
  expires 2099-01-01
  reason "r"
}
"#,
        );
        assert_eq!(rs.len(), 1);
        assert_eq!(
            rs["aws.ec2.instance"],
            set(&["instance_id", "instance_type", "key_name", "state", "tags"])
        );
    }

    #[test]
    fn cross_resource_quantifiers_read_the_other_type() {
        let rs = read_set(
            r#"package t

policy p {
  title "t"
  severity high
  category security
  rule on aws.ec2.volume {
    violation when not (encrypted ?? false) and any i in aws.ec2.instance: i.instance_id ?? "" == "x" and (i.state?.name ?? "") == "running"
  }
}
"#,
        );
        assert_eq!(rs["aws.ec2.volume"], set(&["encrypted"]));
        assert_eq!(rs["aws.ec2.instance"], set(&["instance_id", "state"]));
        assert!(!rs.contains_key("aws.s3.bucket"));
    }

    #[test]
    fn the_details_read_the_message_and_the_lets_it_needs_only() {
        let p = program(
            r#"package t

policy p {
  title "t"
  severity high
  category security
  rule on aws.ec2.instance {
    let kind = instance_type ?? "none"
    let key = key_name ?? "none"
    let label = upper(key)
    let name = tags["Name"] ?? ""
    violation when (state?.name ?? "running") == "running" and kind != "x" and key != "y"
    message "{label} {name}"
  }
}
"#,
        );
        let d = detail_reads(&p, 0);
        let def = p.schemas.record(p.rules[0].resource);
        let read: BTreeSet<&str> = def
            .fields
            .iter()
            .zip(&d.fields)
            .filter(|(_, r)| **r)
            .map(|(f, _)| f.name.as_str())
            .collect();
        assert_eq!(read, BTreeSet::from(["key_name", "tags"]));
        // `kind` and `key` are folded around the condition (`label` and
        // `name` are the message's own); the message needs `key` (through
        // `label`), not `kind`.
        assert_eq!(let_chain(&p.rules[0].cond).len(), 2);
        assert_eq!(d.lets, [false, true]);
    }

    #[test]
    fn the_code_reads_the_conditions_only() {
        let p = program(
            r#"package t

group eu {
  aws.ec2.volume where account == "1"
}

policy p {
  title "t"
  severity high
  category security
  rule on aws.ec2.instance {
    violation when region == "us-east-1" and (key_name ?? "") != ""
    message "{id} ({instance_type}) in {account}"
  }
}
"#,
        );
        let names = |rid: RecordId, fields: &BTreeSet<u32>| -> BTreeSet<String> {
            let def = p.schemas.record(rid);
            fields
                .iter()
                .map(|&k| def.fields[k as usize].name.clone())
                .collect()
        };
        let code = code_fields(&p);
        let instance = p.rules[0].resource;
        assert_eq!(
            names(instance, &code[&instance]),
            BTreeSet::from(["region".to_string(), "key_name".to_string()])
        );
        let volume = p.schemas.resource("aws.ec2.volume").unwrap();
        assert_eq!(
            names(volume, &code[&volume]),
            BTreeSet::from(["account".to_string()])
        );
        // The layout's mask: the implicit fields the code reads, and every
        // other field that anything reads (the message's `instance_type`).
        let mask = ReadMask::of(&p).without_implicit_except(&code);
        let flags = mask.fields(instance).unwrap();
        let def = p.schemas.record(instance);
        let laid: BTreeSet<&str> = def
            .fields
            .iter()
            .zip(flags)
            .filter(|(_, r)| **r)
            .map(|(f, _)| f.name.as_str())
            .collect();
        assert_eq!(
            laid,
            BTreeSet::from(["region", "key_name", "instance_type"])
        );
        assert!(
            ReadMask::of(&p).reads(instance, 0),
            "the message reads `id`"
        );
    }

    #[test]
    fn a_message_using_the_resource_whole_reads_every_field() {
        let p = program(
            r#"package t

policy p {
  title "t"
  severity high
  category security
  rule on aws.s3.bucket {
    violation when id == "b"
    message "{self}"
  }
}
"#,
        );
        let d = detail_reads(&p, 0);
        assert!(d.fields.iter().all(|r| *r));
    }

    #[test]
    fn a_rule_reading_nothing_still_needs_its_type() {
        let rs = read_set(
            r#"package t

policy p {
  title "t"
  severity low
  category governance
  rule on aws.s3.bucket {
    violation when id == "b"
  }
}
"#,
        );
        assert_eq!(rs["aws.s3.bucket"], set(&[]));
    }
}
