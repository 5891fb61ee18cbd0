//! The UI's plain view-state types: panes, focus, layout, the input line, overlays, the status
//! line, the mouse's screen regions and the loading gauge. `app.rs` changes them and the views
//! draw them; keeping them here lets the views read them without importing the app.

use ratatui::layout::Rect;

/// What the lower pane shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LowerPane {
    Detail,
    Timeline,
    Findings,
    /// Every TCP connection and attempt, with its TLS facts and the exchanges it carried.
    Connections,
    /// This sign-in versus a second input, stage by stage (`views/compare.rs`).
    Compare,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    List,
    Lower,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// List above, lower pane below.
    Stacked,
    /// List left, lower pane right.
    SideBySide,
    ListOnly,
}

/// A one-line text input at the bottom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputKind {
    Filter,
    Search,
    Comment,
    ExportPath,
    /// The second input of the Compare pane.
    ComparePath,
}

#[derive(Debug, Clone)]
pub struct InputLine {
    pub kind: InputKind,
    pub text: String,
    /// Validation message, when the text is not (yet) valid.
    pub error: Option<String>,
}

/// The export dialog: scope × format, then a path.
#[derive(Debug, Clone)]
pub struct ExportDialog {
    pub scope: usize,
    pub format: usize,
    /// 0 = scope list, 1 = format list.
    pub column: usize,
    /// Redact (`r` toggles); None: the format's default (Markdown and HTML redact).
    pub redact: Option<bool>,
}

impl ExportDialog {
    /// Whether the export will be redacted, for the dialog's format.
    pub fn redacts(&self, format: crate::report::export::ExportFormat) -> bool {
        self.redact.unwrap_or(format.redacts_by_default())
    }
}

#[derive(Debug, Clone)]
pub enum Overlay {
    Help { scroll: usize },
    Export(ExportDialog),
}

/// A message in the status line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub text: String,
    pub error: bool,
}

/// Screen regions of the last frame, for the mouse.
#[derive(Debug, Clone, Copy, Default)]
pub struct Regions {
    pub list: Rect,
    /// First row of the list body (after the header) and the row offset shown there.
    pub list_first_row: u16,
    pub list_offset: usize,
    pub lower: Rect,
    /// x positions where each column starts in the list header.
    pub column_x: [u16; 15],
}

/// How far reading has come.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Loading {
    pub done: u64,
    pub total: u64,
    pub elapsed: std::time::Duration,
}
