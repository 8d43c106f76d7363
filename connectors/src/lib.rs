//! Connectors: the sources resource documents come from (AWS, files,
//! commands, HTTP endpoints) and the auto-fix actions that change them.
//!
//! Both the CLI (`pacc collect`, `pacc fix`) and the server use these two
//! interfaces, [`Connector`] and [`Action`]; nothing above this crate knows
//! which cloud or plugin a document came from.

pub mod action;
pub mod source;

pub use action::{Action, ActionError, FixOutcome, FixRequest, FixStatus, Target};
pub use source::{CollectPlan, Connector, Document, Event, Scope, SourceError};
