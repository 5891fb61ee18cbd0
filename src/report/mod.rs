//! The writers: text, JSON, the stage table, Markdown, HTML (with SVG pictures) and every
//! export format. They read the model and what `presentation` computes from it.

pub mod compare;
pub mod export;
pub mod html;
pub mod json;
mod json_seq;
mod lync_json;
pub mod markdown;
pub mod redact;
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
