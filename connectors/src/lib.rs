//! Connectors: the sources resource documents come from (AWS, files,
//! commands, HTTP endpoints) and the auto-fix actions that change them.
//!
//! Both the CLI (`pacc collect`, `pacc fix`) and the server use these two
//! interfaces, [`Connector`] and [`Action`]; nothing above this crate knows
//! which cloud or plugin a document came from. [`config`] reads the
//! `[[source]]` configuration and builds both.
//!
//! Architecture invariants: a connector never stops at the first failure
//! (a failed account, region, type, file or line is an `Event::Error` for
//! its scope, and the rest is still collected); connectors do not validate
//! documents against schemas (the consumer does, with the compiled
//! program's schemas); an action reads live state before changing it, so
//! running it twice changes nothing more.

pub mod action;
pub mod aws;
pub mod command;
pub mod config;
pub mod custom;
pub mod file;
pub mod http;
pub mod inspector;
pub mod plugin;
pub mod source;

pub use action::{
    Action, ActionError, ActionScope, Executors, FixOutcome, FixRequest, FixResult, FixStatus,
    NotifyOnly, Target,
};
pub use config::{Config, SourceConfig};
pub use source::{CollectPlan, Connector, Document, Event, Scope, SourceError};
