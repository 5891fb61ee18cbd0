//! What the tests share, unit tests (`crate::testkit`) and integration tests
//! (`lyncscope::testkit`) alike: where the capture corpus and the bundled samples are,
//! builders for hand-made analyses. Not part of the tool's interface. (The fuzz targets'
//! entry points run the whole pipeline, so they live at the top, in `crate::fuzzing`: this
//! kit stays below the layers whose unit tests use it.)
//!
//! Always compiled (not `#[cfg(test)]`) so that `tests/` can use the same code as the unit
//! tests; it reads files only when a test asks it to.

mod builder;
mod corpus;

pub use builder::{arrival, input, AnalysisBuilder, ConnectionBuilder, ExchangeBuilder};
pub use corpus::{corpus, corpus_file, data, sample, CORPUS_VAR};
