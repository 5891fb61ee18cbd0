//! Presentation of a frozen [`crate::model::Analysis`]: reads the model, never changes it.

pub mod json;
pub mod text;

use crate::model::Analysis;
use std::io::Write;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
}

pub fn write(analysis: &Analysis, format: Format, out: &mut dyn Write) -> std::io::Result<()> {
    match format {
        Format::Text => text::write(analysis, out),
        Format::Json => json::write(analysis, out),
    }
}
