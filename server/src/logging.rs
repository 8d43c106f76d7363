//! The server's log: what an operator reads in a terminal or a log
//! collector.
//!
//! By default the server's own events at INFO (one line per scan, start and
//! stop, failures) and everything else at WARN, so that compiler and
//! library internals stay out of the log; `RUST_LOG` overrides it with the
//! usual `target=level` directives. Colours only on a terminal.

use std::io::IsTerminal;

/// How log lines are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LogFormat {
    /// One human-readable line per event.
    #[default]
    Text,
    /// One JSON object per event (for log collectors).
    Json,
}

/// The filter when `RUST_LOG` is unset.
pub const DEFAULT_FILTER: &str = "warn,pac_server=info,pac_connectors=info,pacc=info";

fn filter() -> tracing_subscriber::EnvFilter {
    tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(DEFAULT_FILTER))
}

/// Installs the process-wide subscriber (a second call does nothing).
pub fn init(format: LogFormat) {
    let builder = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_env_filter(filter());
    let _ = match format {
        LogFormat::Text => builder
            .with_ansi(std::io::stderr().is_terminal())
            .try_init(),
        LogFormat::Json => builder.json().with_ansi(false).try_init(),
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing_subscriber::layer::SubscriberExt;

    #[test]
    fn the_default_filter_keeps_the_servers_events_and_quiets_library_internals() {
        let f = tracing_subscriber::EnvFilter::new(DEFAULT_FILTER);
        let subscriber = tracing_subscriber::registry().with(f);
        tracing::subscriber::with_default(subscriber, || {
            assert!(tracing::enabled!(target: "pac_server::scan", tracing::Level::INFO));
            assert!(!tracing::enabled!(target: "pac_server::scan", tracing::Level::DEBUG));
            assert!(!tracing::enabled!(target: "salsa::function", tracing::Level::INFO));
            assert!(!tracing::enabled!(target: "cranelift_jit", tracing::Level::INFO));
            assert!(tracing::enabled!(target: "salsa::function", tracing::Level::WARN));
        });
    }
}
