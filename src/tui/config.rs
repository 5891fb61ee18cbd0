//! The UI's config file: the user's keys in place of the built-in ones, and colours.
//!
//! ```toml
//! [keys]
//! filter = "F2"                 # wherever the action is bound
//! copy-url = ["y", "Ctrl-y"]
//! mark = []                     # unbound
//!
//! [keys.timeline]               # one context: global, list, detail, timeline, findings
//! zoom-in = ["+", "="]
//!
//! [list]                        # which columns, in this order (Column::name)
//! columns = ["number", "time", "stage", "status", "method", "host", "path", "duration"]
//!
//! [theme]                       # names: see Palette::names(); NO_COLOR still wins
//! warning = "#b58900"           # "red", "light-blue", "#rrggbb", an index "208"
//! ```
//!
//! Read from `--config FILE`, else `$LYNCSCOPE_CONFIG`, else
//! `$XDG_CONFIG_HOME/lyncscope/config.toml` (`~/.config/lyncscope/config.toml`) when it exists.
//! A mistake (unknown action or key, a key doing two things in one context) is refused with
//! the line it is on, so the UI never starts with keys the user did not mean.

use super::columns::Column;
use super::keymap::{Action, Context, Key, Keymap, BINDINGS};
use super::theme::Palette;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{origin}: {message}")]
    Invalid { origin: String, message: String },
}

/// What the config file sets.
#[derive(Debug, Clone, Default)]
pub struct UiConfig {
    pub keys: Keymap,
    pub palette: Palette,
    /// The session list's columns, when the file chooses them.
    pub columns: Option<Vec<Column>>,
}

/// Where the config is looked for when no `--config` is given (`None`: no file there).
pub fn default_path() -> Option<PathBuf> {
    let env = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
    if let Some(p) = env("LYNCSCOPE_CONFIG") {
        return Some(PathBuf::from(p));
    }
    let base = env("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| env("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    let p = base.join("lyncscope").join("config.toml");
    p.is_file().then_some(p)
}

/// Reads a config file.
pub fn load(path: &Path) -> Result<UiConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse(&text, &path.display().to_string())
}

/// Reads config text; `origin` names it in errors.
pub fn parse(text: &str, origin: &str) -> Result<UiConfig, ConfigError> {
    let invalid = |at: Option<std::ops::Range<usize>>, message: String| {
        let line = at.map(|r| text[..r.start.min(text.len())].matches('\n').count() + 1);
        ConfigError::Invalid {
            origin: match line {
                Some(l) => format!("{origin}:{l}"),
                None => origin.to_string(),
            },
            message,
        }
    };
    let doc: toml::Spanned<toml::Table> = toml::from_str(text)
        .map_err(|e: toml::de::Error| invalid(e.span(), e.message().to_string()))?;
    // The line that sets `name` (or opens the table `name`), for the error message.
    let find_span = |name: &str| {
        let mut at = 0;
        for line in text.split_inclusive('\n') {
            let t = line.trim_start();
            let rest = t
                .strip_prefix(name)
                .or_else(|| t.strip_prefix(&format!("\"{name}\"")));
            if rest.is_some_and(|r| r.trim_start().starts_with('=')) || t.starts_with(name) {
                return Some(at..at + line.len());
            }
            at += line.len();
        }
        None
    };
    let mut config = UiConfig::default();
    for (section, value) in doc.get_ref() {
        match (section.as_str(), value) {
            ("keys", toml::Value::Table(keys)) => {
                for (name, value) in keys {
                    match value {
                        toml::Value::Table(inner) => {
                            let context = Context::ALL
                                .into_iter()
                                .find(|c| c.name() == name)
                                .ok_or_else(|| {
                                    invalid(
                                        find_span(&format!("[keys.{name}]")),
                                        format!(
                                            "no key context {name:?} (there are: {})",
                                            Context::ALL.map(|c| c.name()).join(", ")
                                        ),
                                    )
                                })?;
                            for (action, keys) in inner {
                                rebind(&mut config.keys, Some(context), action, keys)
                                    .map_err(|m| invalid(find_span(action), m))?;
                            }
                        }
                        keys => rebind(&mut config.keys, None, name, keys)
                            .map_err(|m| invalid(find_span(name), m))?,
                    }
                }
            }
            ("list", toml::Value::Table(list)) => {
                for (name, value) in list {
                    if name != "columns" {
                        return Err(invalid(
                            find_span(name),
                            format!("no list setting {name:?} (there is: columns)"),
                        ));
                    }
                    let names = Column::ALL.map(Column::name).join(", ");
                    let cols = value
                        .as_array()
                        .map(|a| {
                            a.iter()
                                .map(|v| {
                                    let n = v.as_str().unwrap_or_default();
                                    Column::ALL.into_iter().find(|c| c.name() == n).ok_or_else(
                                        || format!("no column {v} (there are: {names})"),
                                    )
                                })
                                .collect::<Result<Vec<_>, _>>()
                        })
                        .unwrap_or_else(|| Err(format!("columns is a list of names: {names}")))
                        .map_err(|m| invalid(find_span(name), m))?;
                    if cols.is_empty() {
                        return Err(invalid(find_span(name), "columns: at least one".into()));
                    }
                    config.columns = Some(cols);
                }
            }
            ("theme", toml::Value::Table(colors)) => {
                for (name, value) in colors {
                    let color = value
                        .as_str()
                        .and_then(|v| v.parse::<ratatui::style::Color>().ok())
                        .ok_or_else(|| {
                            invalid(
                                find_span(name),
                                format!(
                                    "{name}: {value} is not a colour (a name like \"light-red\", \"#rrggbb\" or an index \"0\"-\"255\")"
                                ),
                            )
                        })?;
                    if !config.palette.set(name, color) {
                        return Err(invalid(
                            find_span(name),
                            format!(
                                "no theme colour {name:?} (there are: {})",
                                Palette::names().collect::<Vec<_>>().join(", ")
                            ),
                        ));
                    }
                }
            }
            (other, _) => {
                return Err(invalid(
                    find_span(&format!("[{other}")),
                    format!("unknown setting {other:?} (there are: [keys], [list], [theme])"),
                ))
            }
        }
    }
    config
        .keys
        .check()
        .map_err(|e| invalid(None, e.to_string()))?;
    Ok(config)
}

fn rebind(
    keymap: &mut Keymap,
    context: Option<Context>,
    action: &str,
    keys: &toml::Value,
) -> Result<(), String> {
    let Some(a) = all_actions().find(|a| a.name() == action) else {
        let mut names: Vec<String> = all_actions().map(Action::name).collect();
        names.sort();
        names.dedup();
        return Err(format!(
            "no action {action:?} (there are: {})",
            names.join(", ")
        ));
    };
    let texts: Vec<&str> = match keys {
        toml::Value::String(s) => vec![s.as_str()],
        toml::Value::Array(items) => items
            .iter()
            .map(|v| v.as_str().ok_or(()))
            .collect::<Result<_, _>>()
            .map_err(|()| format!("{action}: keys are strings, e.g. \"f\" or [\"f\", \"F2\"]"))?,
        _ => {
            return Err(format!(
                "{action}: keys are strings, e.g. \"f\" or [\"f\", \"F2\"]"
            ))
        }
    };
    let keys: Vec<Key> = texts
        .iter()
        .map(|t| Key::parse(t).ok_or_else(|| format!("{action}: {t:?} is not a key")))
        .collect::<Result<_, _>>()?;
    if keymap.rebind(context, a, &keys) {
        Ok(())
    } else {
        Err(format!(
            "{action} is not a key of the {} context",
            context.map_or("any", Context::name)
        ))
    }
}

fn all_actions() -> impl Iterator<Item = Action> {
    BINDINGS.iter().map(|b| b.action)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn keys_replace_the_built_in_ones() {
        let c = parse(
            "[keys]\nfilter = \"F2\"\ncopy-url = [\"y\", \"Ctrl-y\"]\n\n[keys.timeline]\nzoom-in = [\"+\", \"=\"]\n",
            "t.toml",
        )
        .unwrap();
        let k = &c.keys;
        assert_eq!(
            k.lookup(Context::List, &key(KeyCode::F(2))),
            Some(Action::Filter)
        );
        assert_eq!(k.lookup(Context::List, &key(KeyCode::Char('f'))), None);
        let ctrl_y = KeyEvent::new(KeyCode::Char('y'), KeyModifiers::CONTROL);
        assert_eq!(k.lookup(Context::Detail, &ctrl_y), Some(Action::CopyUrl));
        assert_eq!(
            k.lookup(Context::Timeline, &key(KeyCode::Char('='))),
            Some(Action::ZoomIn)
        );
    }

    #[test]
    fn mistakes_are_refused_with_their_line() {
        for (text, line, words) in [
            ("[keys]\nfliter = \"f\"\n", 2, &["fliter", "filter"][..]),
            ("[keys]\nfilter = \"Hyper-f\"\n", 2, &["Hyper-f"][..]),
            ("\n[keys]\nhelp = \"m\"\n", 0, &["help", "mark", "m"][..]),
            ("[keys.pane]\nquit = \"q\"\n", 1, &["pane", "timeline"][..]),
            (
                "[keys.detail]\nzoom-in = \"z\"\n",
                2,
                &["zoom-in", "detail"][..],
            ),
            ("[colors]\n", 1, &["colors", "theme"][..]),
            (
                "[theme]\nwarning = \"mauve\"\n",
                2,
                &["mauve", "colour"][..],
            ),
            (
                "[theme]\nbackground = \"red\"\n",
                2,
                &["background", "stands-out"][..],
            ),
            ("[keys]\nquit = []\n", 0, &["quit"][..]),
            ("[keys\n", 1, &[][..]),
            ("[keys]\nfilter = 3\n", 2, &["strings"][..]),
        ] {
            let err = parse(text, "c.toml").unwrap_err().to_string();
            let origin = if line > 0 {
                format!("c.toml:{line}: ")
            } else {
                "c.toml: ".to_string()
            };
            assert!(err.starts_with(&origin), "{text:?}: {err}");
            for w in words {
                assert!(err.contains(w), "{text:?}: {err}");
            }
        }
    }

    #[test]
    fn theme_colours_replace_the_built_in_ones() {
        use ratatui::style::Color;
        let c = parse(
            "[theme]\nwarning = \"#b58900\"\nstands-out = \"208\"\nok = \"light-green\"\n",
            "t.toml",
        )
        .unwrap();
        assert_eq!(c.palette.warning, Color::Rgb(0xb5, 0x89, 0x00));
        assert_eq!(c.palette.stands_out, Color::Indexed(208));
        assert_eq!(c.palette.ok, Color::LightGreen);
        assert_eq!(c.palette.error, Palette::default().error);
    }

    #[test]
    fn list_columns_are_chosen_and_ordered() {
        let c = parse(
            "[list]\ncolumns = [\"status\", \"number\", \"path\"]\n",
            "t.toml",
        )
        .unwrap();
        assert_eq!(
            c.columns,
            Some(vec![Column::Status, Column::Number, Column::Path])
        );
    }

    #[test]
    fn an_empty_file_keeps_the_built_in_keys() {
        let c = parse("", "e.toml").unwrap();
        assert_eq!(
            c.keys.lookup(Context::List, &key(KeyCode::Char('f'))),
            Some(Action::Filter)
        );
    }
}
