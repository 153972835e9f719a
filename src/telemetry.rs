//! Log output: human-readable in development, JSON in production.

use tracing_subscriber::EnvFilter;

use crate::config::Mode;

/// Installs the global subscriber; a second call (tests) is a no-op.
pub fn init(filter: &str, mode: Mode) {
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match mode {
        Mode::Production => builder.json().try_init(),
        Mode::Development => builder.try_init(),
    };
}
