//! Presentation of a frozen [`crate::model::Analysis`]: reads the model, never changes it.

pub mod content;
pub mod export;
pub mod html;
pub mod json;
mod lync_json;
pub mod markdown;
pub mod snippets;
pub mod stages;
pub mod svg;
pub mod text;

use crate::model::Analysis;
use std::io::Write;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    /// Compact JSON, one line.
    Json,
    /// Indented JSON.
    JsonPretty,
}

pub fn write<W: Write>(analysis: &Analysis, format: Format, mut out: W) -> std::io::Result<()> {
    match format {
        Format::Text => text::write(analysis, &mut out),
        Format::Json => json::write(analysis, false, out),
        Format::JsonPretty => json::write(analysis, true, out),
    }
}
