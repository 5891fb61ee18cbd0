//! The user's marks and comments on exchanges. Not part of the frozen analysis: the TUI edits
//! them, exports and reports read them, and they are kept in a small JSON side file so that a
//! headless export carries what was annotated in the UI.

use super::{Analysis, ExchId};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What the user noted about one exchange.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Note {
    pub marked: bool,
    pub comment: Option<String>,
}

/// Marks and comments, keyed by exchange.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Notes {
    by_exchange: BTreeMap<ExchId, Note>,
}

/// A side file that could not be read.
#[derive(Debug, thiserror::Error)]
pub enum NotesError {
    #[error("cannot read notes {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("notes {path} are not valid: {message}")]
    Invalid { path: String, message: String },
}

impl Notes {
    /// Comments that came with the input (Fiddler `ui-comments`, HAR `comment`) become notes,
    /// so that they show and travel like the user's own.
    pub fn from_inputs(a: &Analysis) -> Notes {
        let mut notes = Notes::default();
        for x in &a.exchanges {
            if let Some(c) = x.annotations.as_ref().and_then(|n| n.comment.as_deref()) {
                if !c.trim().is_empty() {
                    notes.set_comment(x.id, Some(c.to_string()));
                }
            }
        }
        notes
    }

    pub fn get(&self, id: ExchId) -> Option<&Note> {
        self.by_exchange.get(&id)
    }
    pub fn is_marked(&self, id: ExchId) -> bool {
        self.get(id).is_some_and(|n| n.marked)
    }
    pub fn comment(&self, id: ExchId) -> Option<&str> {
        self.get(id).and_then(|n| n.comment.as_deref())
    }
    pub fn is_empty(&self) -> bool {
        self.by_exchange.is_empty()
    }
    pub fn marked(&self) -> impl Iterator<Item = ExchId> + '_ {
        self.by_exchange
            .iter()
            .filter(|(_, n)| n.marked)
            .map(|(id, _)| *id)
    }
    pub fn iter(&self) -> impl Iterator<Item = (ExchId, &Note)> + '_ {
        self.by_exchange.iter().map(|(id, n)| (*id, n))
    }

    pub fn toggle_mark(&mut self, id: ExchId) {
        let n = self.by_exchange.entry(id).or_default();
        n.marked = !n.marked;
        self.prune(id);
    }
    pub fn set_mark(&mut self, id: ExchId, marked: bool) {
        self.by_exchange.entry(id).or_default().marked = marked;
        self.prune(id);
    }
    /// An empty or blank comment removes it.
    pub fn set_comment(&mut self, id: ExchId, comment: Option<String>) {
        let comment = comment.filter(|c| !c.trim().is_empty());
        self.by_exchange.entry(id).or_default().comment = comment;
        self.prune(id);
    }
    fn prune(&mut self, id: ExchId) {
        if self.by_exchange.get(&id) == Some(&Note::default()) {
            self.by_exchange.remove(&id);
        }
    }

    /// The side file for a set of inputs: next to the first one, `<name>.lyncscope-notes.json`.
    pub fn side_file(inputs: &[PathBuf]) -> Option<PathBuf> {
        let first = inputs.first()?;
        if first.as_os_str() == "-" {
            return None;
        }
        let mut name = first.file_name()?.to_os_string();
        name.push(".lyncscope-notes.json");
        Some(first.with_file_name(name))
    }

    /// `{"version":1,"exchanges":[{"id":3,"marked":true,"comment":"…"}]}`. Ids are the
    /// exchange numbers of the same inputs read with the same options.
    pub fn to_json(&self) -> String {
        let items: Vec<serde_json::Value> = self
            .by_exchange
            .iter()
            .map(|(id, n)| {
                let mut o = serde_json::Map::new();
                o.insert("id".into(), id.0.into());
                if n.marked {
                    o.insert("marked".into(), true.into());
                }
                if let Some(c) = &n.comment {
                    o.insert("comment".into(), c.clone().into());
                }
                serde_json::Value::Object(o)
            })
            .collect();
        let doc = serde_json::json!({ "version": 1, "exchanges": items });
        serde_json::to_string_pretty(&doc).unwrap_or_default()
    }

    /// Reads notes written by [`Notes::to_json`]; ids that are not exchanges of `a` are
    /// dropped (the file belongs to other inputs or options).
    pub fn from_json(text: &str, a: &Analysis, path: &Path) -> Result<Notes, NotesError> {
        let invalid = |message: String| NotesError::Invalid {
            path: path.display().to_string(),
            message,
        };
        let doc: serde_json::Value =
            serde_json::from_str(text).map_err(|e| invalid(e.to_string()))?;
        let items = doc
            .get("exchanges")
            .and_then(|v| v.as_array())
            .ok_or_else(|| invalid("no \"exchanges\" list".into()))?;
        let mut notes = Notes::default();
        for item in items {
            let Some(id) = item.get("id").and_then(|v| v.as_u64()) else {
                continue;
            };
            let Ok(id) = u32::try_from(id) else { continue };
            if id as usize >= a.exchanges.len() {
                continue;
            }
            let id = ExchId(id);
            if item.get("marked").and_then(|v| v.as_bool()) == Some(true) {
                notes.set_mark(id, true);
            }
            if let Some(c) = item.get("comment").and_then(|v| v.as_str()) {
                notes.set_comment(id, Some(c.to_string()));
            }
        }
        Ok(notes)
    }

    /// Input comments, overlaid with the side file when there is one.
    pub fn load(a: &Analysis, side_file: Option<&Path>) -> Result<Notes, NotesError> {
        let mut notes = Notes::from_inputs(a);
        let Some(path) = side_file else {
            return Ok(notes);
        };
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(notes),
            Err(source) => {
                return Err(NotesError::Io {
                    path: path.display().to_string(),
                    source,
                })
            }
        };
        let saved = Notes::from_json(&text, a, path)?;
        for (id, n) in saved.by_exchange {
            notes.by_exchange.insert(id, n);
        }
        Ok(notes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{AnalysisBuilder, ExchangeBuilder};

    #[test]
    fn marks_and_comments_round_trip_and_prune() {
        let a = AnalysisBuilder::new()
            .exchanges((0..3).map(ExchangeBuilder::new))
            .build();
        let mut n = Notes::default();
        n.toggle_mark(ExchId(1));
        n.set_comment(ExchId(2), Some("401 loop starts here".into()));
        n.set_comment(ExchId(0), Some("  ".into()));
        assert!(n.is_marked(ExchId(1)));
        assert_eq!(n.marked().collect::<Vec<_>>(), vec![ExchId(1)]);
        assert!(n.get(ExchId(0)).is_none());
        let back = Notes::from_json(&n.to_json(), &a, Path::new("x")).unwrap();
        assert_eq!(back, n);
        n.toggle_mark(ExchId(1));
        assert!(n.get(ExchId(1)).is_none());
        // Ids beyond the analysis are dropped.
        let far = r#"{"version":1,"exchanges":[{"id":9,"marked":true}]}"#;
        assert!(Notes::from_json(far, &a, Path::new("x"))
            .unwrap()
            .is_empty());
        assert!(Notes::from_json("[", &a, Path::new("x")).is_err());
    }
}
