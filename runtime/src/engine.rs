//! The seam between evaluation and a native engine.
//!
//! [`evaluate_with`](crate::eval::evaluate_with) asks a [`RuleEngine`] for
//! the raw outcome of a rule (or of an asset group's condition) over a
//! batch of resources; the runtime keeps everything else (exceptions,
//! messages, explanations, error reasons), which it computes with the
//! reference interpreter. For a result
//! that is not a pass, the interpreter is re-run on that one resource to
//! render the message, find the error's reason and (when asked) explain it:
//! the outcome is the engine's, the details the interpreter's.
//!
//! Architecture invariant: this crate does not know any engine; engines
//! (e.g. `pac-jit`) depend on it, never the other way round.

use pac_compiler::types::RecordId;
use pac_stdlib::Value;

use crate::interp::Env;
use crate::inventory::Inventory;

/// What an engine decided for one (rule, resource), without details.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RawOutcome {
    /// The violation condition is false.
    Pass,
    /// The violation condition is true.
    Fail,
    /// The condition could not be evaluated (the interpreter finds the reason).
    Error,
}

/// An engine prepared for one inventory: evaluates rule conditions.
pub trait RuleEngine: Sync {
    /// The outcomes of rule `rule` (an index into `Program::rules`) on
    /// `resources` (indices into `env.inv.resources`, all of the rule's
    /// resource type), in order; `None` when this engine does not evaluate
    /// the rule (the interpreter then does). `env` gives the clock, the
    /// inventory (which must be the one the engine was prepared for, else
    /// the answer is `None`) and the coverage to record into.
    fn outcomes(&self, rule: usize, resources: &[usize], env: &Env) -> Option<Vec<RawOutcome>>;

    /// The record of resource `resource` (of type `rtype`) when the
    /// inventory no longer holds it (its `value` is `Value::Missing`: the
    /// engine's layout holds what the program reads of it, and the fields
    /// no code reads come back `Missing`). `None` (the default): the engine
    /// holds no records. `fields`: only the fields it flags are wanted
    /// (the others may come back `Missing`); `None`: every field.
    fn resource_value(
        &self,
        resource: usize,
        rtype: RecordId,
        fields: Option<&[bool]>,
    ) -> Option<Value> {
        let _ = (resource, rtype, fields);
        None
    }

    /// Field `field` of that record alone (the implicit `id`, `account`
    /// and `region` included), as [`RuleEngine::resource_value`] would
    /// give it; `None` (the default) when the engine holds no records.
    fn resource_field(&self, resource: usize, rtype: RecordId, field: usize) -> Option<Value> {
        let _ = (resource, rtype, field);
        None
    }

    /// The messages of rule `rule` on `resources` (failing resources of
    /// its type, for a report), as the interpreter renders them; `None`
    /// for a resource the engine leaves to the interpreter, and `None`
    /// (the default) when it renders none of this rule's.
    fn messages(&self, rule: usize, resources: &[usize], env: &Env) -> Option<Vec<Option<String>>> {
        let _ = (rule, resources, env);
        None
    }

    /// That field as a message shows it (`Display`), written at the end
    /// of `out`; `false` (the default) when the engine holds no records.
    /// An engine writes text it holds without making a value of it: the
    /// strings it shares between threads keep their counts untouched.
    fn write_field(
        &self,
        resource: usize,
        rtype: RecordId,
        field: usize,
        out: &mut String,
    ) -> bool {
        let _ = (resource, rtype, field, out);
        false
    }

    /// The same for the `where` condition of member clause `member` of
    /// asset group `group` (indices into `Program::groups` and its
    /// `members`): `Fail` when the condition holds (a member), `Pass` when
    /// it does not. `None` (the default): the interpreter evaluates it.
    fn group_conditions(
        &self,
        group: usize,
        member: usize,
        resources: &[usize],
        env: &Env,
    ) -> Option<Vec<RawOutcome>> {
        let _ = (group, member, resources, env);
        None
    }
}

/// A compiled engine that can be prepared for any inventory (the test
/// runner evaluates each test on its own small inventory).
pub trait PrepareEngine: Sync {
    fn prepare_for<'a>(&'a self, inv: &'a Inventory) -> Box<dyn RuleEngine + 'a>;
}
