//! Phase times for profiling: with `LYNCSCOPE_PHASES` set, each phase end prints the time
//! since the first mark to stderr (README: Benchmark). One environment lookup per mark, a few
//! marks per run.

use std::sync::OnceLock;
use std::time::Instant;

/// Marks the end of phase `what`.
pub fn mark(what: &str) {
    static START: OnceLock<Instant> = OnceLock::new();
    let start = START.get_or_init(Instant::now);
    if std::env::var_os("LYNCSCOPE_PHASES").is_some() {
        eprintln!("{:8.3} s  {what}", start.elapsed().as_secs_f64());
    }
}
