//! The one key table: dispatch, the help overlay, the key-hint bar and the README's key list
//! are all generated from [`BINDINGS`], so they cannot disagree. A [`Keymap`] is that table
//! with the user's keys (from the config file, `config.rs`) in place of the built-in ones.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// Everything input can ask for. The only way keys change the UI's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Quit,
    Help,
    Back,
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    Left,
    Right,
    Enter,
    FocusNext,
    ShowDetail,
    ShowTimeline,
    ShowFindings,
    ShowConnections,
    ShowCompare,
    CycleLayout,
    Maximize,
    Filter,
    ToggleHideUnmatched,
    Search,
    NextHit,
    PrevHit,
    Mark,
    Comment,
    Export,
    TimeFormat,
    SortNext,
    SortReverse,
    NextTab,
    PrevTab,
    RawBody,
    ZoomIn,
    ZoomOut,
    ZoomReset,
    FollowConnection,
    JumpParent,
    ToggleMouse,
    CopyUrl,
    CopyCurl,
    FoldJson,
    UnfoldJson,
}

/// Where a binding applies. `Global` bindings work everywhere unless a pane binds the same key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    Global,
    List,
    Detail,
    Timeline,
    Findings,
    Connections,
    Compare,
}

impl Context {
    pub fn title(self) -> &'static str {
        match self {
            Context::Global => "Everywhere",
            Context::List => "Session list",
            Context::Detail => "Detail pane",
            Context::Timeline => "Timeline",
            Context::Findings => "Findings",
            Context::Connections => "Connections",
            Context::Compare => "Compare",
        }
    }
}

/// A key as written in the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    Char(char),
    Ctrl(char),
    Up,
    Down,
    Left,
    Right,
    PageUp,
    PageDown,
    Home,
    End,
    Enter,
    Esc,
    Tab,
    BackTab,
    F(u8),
}

impl Key {
    pub fn label(self) -> String {
        match self {
            Key::Char(' ') => "Space".into(),
            Key::Char(c) => c.to_string(),
            Key::Ctrl(c) => format!("Ctrl-{c}"),
            Key::Up => "↑".into(),
            Key::Down => "↓".into(),
            Key::Left => "←".into(),
            Key::Right => "→".into(),
            Key::PageUp => "PgUp".into(),
            Key::PageDown => "PgDn".into(),
            Key::Home => "Home".into(),
            Key::End => "End".into(),
            Key::Enter => "Enter".into(),
            Key::Esc => "Esc".into(),
            Key::Tab => "Tab".into(),
            Key::BackTab => "Shift-Tab".into(),
            Key::F(n) => format!("F{n}"),
        }
    }

    /// Reads a key as a config file writes it: a character ("q", "+"), "Ctrl-x", "Space",
    /// "Up" "Down" "Left" "Right" "PgUp" "PgDn" "Home" "End" "Enter" "Esc" "Tab" "Shift-Tab",
    /// "F1" … "F12" (names in any case; the arrows may also be written ↑ ↓ ← →).
    pub fn parse(text: &str) -> Option<Key> {
        let mut chars = text.chars();
        if let (Some(c), None) = (chars.next(), chars.next()) {
            return match c {
                '↑' => Some(Key::Up),
                '↓' => Some(Key::Down),
                '←' => Some(Key::Left),
                '→' => Some(Key::Right),
                c if c.is_control() => None,
                c => Some(Key::Char(c)),
            };
        }
        let lower = text.to_ascii_lowercase();
        if let Some(rest) = lower.strip_prefix("ctrl-").or(lower.strip_prefix("ctrl+")) {
            let mut cs = rest.chars();
            return match (cs.next(), cs.next()) {
                (Some(c), None) if c.is_ascii_alphanumeric() => Some(Key::Ctrl(c)),
                _ => None,
            };
        }
        if let Some(n) = lower.strip_prefix('f').and_then(|n| n.parse::<u8>().ok()) {
            return (1..=12).contains(&n).then_some(Key::F(n));
        }
        Some(match lower.as_str() {
            "space" => Key::Char(' '),
            "up" => Key::Up,
            "down" => Key::Down,
            "left" => Key::Left,
            "right" => Key::Right,
            "pgup" | "pageup" => Key::PageUp,
            "pgdn" | "pagedown" => Key::PageDown,
            "home" => Key::Home,
            "end" => Key::End,
            "enter" | "return" => Key::Enter,
            "esc" | "escape" => Key::Esc,
            "tab" => Key::Tab,
            "shift-tab" | "backtab" => Key::BackTab,
            _ => return None,
        })
    }

    fn matches(self, ev: &KeyEvent) -> bool {
        let ctrl = ev.modifiers.contains(KeyModifiers::CONTROL);
        match (self, ev.code) {
            (Key::Ctrl(c), KeyCode::Char(x)) => ctrl && x.eq_ignore_ascii_case(&c),
            (Key::Char(c), KeyCode::Char(x)) => !ctrl && x == c,
            (Key::Up, KeyCode::Up)
            | (Key::Down, KeyCode::Down)
            | (Key::Left, KeyCode::Left)
            | (Key::Right, KeyCode::Right)
            | (Key::PageUp, KeyCode::PageUp)
            | (Key::PageDown, KeyCode::PageDown)
            | (Key::Home, KeyCode::Home)
            | (Key::End, KeyCode::End)
            | (Key::Enter, KeyCode::Enter)
            | (Key::Esc, KeyCode::Esc)
            | (Key::Tab, KeyCode::Tab)
            | (Key::BackTab, KeyCode::BackTab) => true,
            (Key::F(n), KeyCode::F(m)) => n == m,
            _ => false,
        }
    }
}

pub struct Binding {
    pub context: Context,
    pub keys: &'static [Key],
    pub action: Action,
    /// Short label for the hint bar.
    pub hint: &'static str,
    /// What it does, for the help overlay and the README.
    pub help: &'static str,
    /// Shown in the hint bar of its context.
    pub in_hint_bar: bool,
}

const fn b(
    context: Context,
    keys: &'static [Key],
    action: Action,
    hint: &'static str,
    help: &'static str,
    in_hint_bar: bool,
) -> Binding {
    Binding {
        context,
        keys,
        action,
        hint,
        help,
        in_hint_bar,
    }
}

use Action as A;
use Context as C;
use Key as K;

pub const BINDINGS: &[Binding] = &[
    b(
        C::Global,
        &[K::Char('q'), K::Ctrl('c')],
        A::Quit,
        "quit",
        "Quit (closes a dialog first)",
        true,
    ),
    b(
        C::Global,
        &[K::Char('?'), K::Char('H')],
        A::Help,
        "help",
        "This help",
        true,
    ),
    b(
        C::Global,
        &[K::Esc],
        A::Back,
        "back",
        "Back: close the dialog or input, leave the focused pane",
        false,
    ),
    b(
        C::Global,
        &[K::Up, K::Char('k')],
        A::Up,
        "up",
        "Previous exchange / scroll up",
        false,
    ),
    b(
        C::Global,
        &[K::Down, K::Char('j')],
        A::Down,
        "down",
        "Next exchange / scroll down",
        false,
    ),
    b(
        C::Global,
        &[K::PageUp, K::Ctrl('b')],
        A::PageUp,
        "page up",
        "One page up",
        false,
    ),
    b(
        C::Global,
        &[K::PageDown, K::Ctrl('f'), K::Char(' ')],
        A::PageDown,
        "page down",
        "One page down",
        false,
    ),
    b(
        C::Global,
        &[K::Home, K::Char('g')],
        A::Top,
        "top",
        "First exchange / top",
        false,
    ),
    b(
        C::Global,
        &[K::End, K::Char('G')],
        A::Bottom,
        "bottom",
        "Last exchange / bottom",
        false,
    ),
    b(
        C::Global,
        &[K::Tab, K::BackTab],
        A::FocusNext,
        "focus",
        "Move the focus between the list and the lower pane",
        true,
    ),
    b(
        C::Global,
        &[K::Char('d')],
        A::ShowDetail,
        "detail",
        "Lower pane: detail of the selected exchange",
        true,
    ),
    b(
        C::Global,
        &[K::Char('t')],
        A::ShowTimeline,
        "timeline",
        "Lower pane: timeline; again: swimlanes → waterfall → ladder",
        true,
    ),
    b(
        C::Global,
        &[K::Char('F')],
        A::ShowFindings,
        "findings",
        "Lower pane: verdict and findings",
        true,
    ),
    b(
        C::Global,
        &[K::Char('C')],
        A::ShowConnections,
        "connections",
        "Lower pane: every TCP connection and attempt, its TLS facts and exchanges",
        true,
    ),
    b(
        C::Global,
        &[K::Char('V')],
        A::ShowCompare,
        "compare",
        "Lower pane: versus a second input, stage by stage (again: pick a file)",
        false,
    ),
    b(
        C::Global,
        &[K::Char('L')],
        A::CycleLayout,
        "layout",
        "Layout: stacked → side by side → list only",
        false,
    ),
    b(
        C::Global,
        &[K::Char('z')],
        A::Maximize,
        "maximize",
        "Maximize the focused pane (again: restore)",
        false,
    ),
    b(
        C::Global,
        &[K::Char('f')],
        A::Filter,
        "filter",
        "Filter, e.g. ~stage ad-user | status>=400 (empty clears)",
        true,
    ),
    b(
        C::Global,
        &[K::Char('i')],
        A::ToggleHideUnmatched,
        "hide/dim",
        "Non-matching exchanges: hide them or only dim them",
        false,
    ),
    b(
        C::Global,
        &[K::Char('/')],
        A::Search,
        "search",
        "Search all fields and decoded bodies",
        true,
    ),
    b(
        C::Global,
        &[K::Char('n')],
        A::NextHit,
        "next hit",
        "Next search hit",
        false,
    ),
    b(
        C::Global,
        &[K::Char('N')],
        A::PrevHit,
        "prev hit",
        "Previous search hit",
        false,
    ),
    b(
        C::Global,
        &[K::Char('m')],
        A::Mark,
        "mark",
        "Mark / unmark the selected exchange",
        true,
    ),
    b(
        C::Global,
        &[K::Char(';')],
        A::Comment,
        "comment",
        "Comment on the selected exchange",
        false,
    ),
    b(
        C::Global,
        &[K::Char('x')],
        A::Export,
        "export",
        "Export: scope × format (reports, HAR, SAZ, raw, curl, body)",
        true,
    ),
    b(
        C::Global,
        &[K::Char('T')],
        A::TimeFormat,
        "time",
        "Time column: relative → absolute → delta",
        false,
    ),
    b(
        C::Global,
        &[K::Char('M')],
        A::ToggleMouse,
        "mouse",
        "Mouse on / off (off lets the terminal select text)",
        false,
    ),
    b(
        C::List,
        &[K::Enter],
        A::Enter,
        "open",
        "Open the selected exchange in the detail pane",
        true,
    ),
    b(
        C::List,
        &[K::Char('s')],
        A::SortNext,
        "sort",
        "Sort by the next column",
        false,
    ),
    b(
        C::List,
        &[K::Char('S')],
        A::SortReverse,
        "reverse",
        "Reverse the sort order",
        false,
    ),
    b(
        C::List,
        &[K::Char('c')],
        A::FollowConnection,
        "connection",
        "Filter to the selected exchange's connection",
        false,
    ),
    b(
        C::Global,
        &[K::Char('y')],
        A::CopyUrl,
        "copy URL",
        "Copy the selected exchange's URL (OSC 52 clipboard)",
        false,
    ),
    b(
        C::Global,
        &[K::Char('Y')],
        A::CopyCurl,
        "copy curl",
        "Copy a curl command repeating the selected request (OSC 52)",
        false,
    ),
    b(
        C::List,
        &[K::Char('p')],
        A::JumpParent,
        "parent",
        "Jump to the exchange that announced this one",
        false,
    ),
    b(
        C::Detail,
        &[K::Right, K::Char('l'), K::Char(']')],
        A::NextTab,
        "next tab",
        "Next tab (Overview, Request, Response, Hex, Auth)",
        true,
    ),
    b(
        C::Detail,
        &[K::Left, K::Char('h'), K::Char('[')],
        A::PrevTab,
        "prev tab",
        "Previous tab",
        true,
    ),
    b(
        C::Detail,
        &[K::Char('r')],
        A::RawBody,
        "raw",
        "Body: pretty ↔ as sent",
        true,
    ),
    b(
        C::Detail,
        &[K::Char('-')],
        A::FoldJson,
        "fold",
        "JSON body: fold one more level",
        false,
    ),
    b(
        C::Detail,
        &[K::Char('+'), K::Char('=')],
        A::UnfoldJson,
        "unfold",
        "JSON body: unfold one level",
        false,
    ),
    b(
        C::Detail,
        &[K::Char('p')],
        A::JumpParent,
        "parent",
        "Jump to the exchange that announced this one",
        false,
    ),
    b(
        C::Timeline,
        &[K::Char('+'), K::Char('=')],
        A::ZoomIn,
        "zoom in",
        "Zoom in",
        true,
    ),
    b(
        C::Timeline,
        &[K::Char('-')],
        A::ZoomOut,
        "zoom out",
        "Zoom out",
        true,
    ),
    b(
        C::Timeline,
        &[K::Char('0')],
        A::ZoomReset,
        "fit",
        "Fit the whole capture",
        false,
    ),
    b(
        C::Timeline,
        &[K::Left, K::Char('h')],
        A::Left,
        "pan",
        "Pan left",
        true,
    ),
    b(
        C::Timeline,
        &[K::Right, K::Char('l')],
        A::Right,
        "pan",
        "Pan right",
        false,
    ),
    b(
        C::Timeline,
        &[K::Enter],
        A::Enter,
        "detail",
        "Show the selected exchange's detail",
        false,
    ),
    b(
        C::Findings,
        &[K::Enter],
        A::Enter,
        "jump",
        "Select the exchanges the finding cites",
        true,
    ),
    b(
        C::Connections,
        &[K::Enter],
        A::Enter,
        "jump",
        "Select the exchanges the connection carried (again: the next one)",
        true,
    ),
    b(
        C::Compare,
        &[K::Enter],
        A::Enter,
        "jump",
        "Select this sign-in's exchanges of the stage (again: the next one)",
        true,
    ),
];

impl Action {
    /// The name a config file uses: "copy-url" for `CopyUrl`.
    pub fn name(self) -> String {
        let mut out = String::new();
        for (i, c) in format!("{self:?}").chars().enumerate() {
            if c.is_ascii_uppercase() && i > 0 {
                out.push('-');
            }
            out.push(c.to_ascii_lowercase());
        }
        out
    }
}

impl Context {
    /// The name a config file uses for the context's table.
    pub fn name(self) -> &'static str {
        match self {
            Context::Global => "global",
            Context::List => "list",
            Context::Detail => "detail",
            Context::Timeline => "timeline",
            Context::Findings => "findings",
            Context::Connections => "connections",
            Context::Compare => "compare",
        }
    }
    pub const ALL: [Context; 7] = [
        Context::Global,
        Context::List,
        Context::Detail,
        Context::Timeline,
        Context::Findings,
        Context::Connections,
        Context::Compare,
    ];
}

/// One binding of the table in force: the built-in one and the keys it has now.
#[derive(Debug, Clone)]
pub struct Bound {
    pub binding: &'static Binding,
    pub keys: Vec<Key>,
}

impl Bound {
    /// "k1/k2".
    pub fn keys_label(&self) -> String {
        self.keys
            .iter()
            .map(|k| k.label())
            .collect::<Vec<_>>()
            .join("/")
    }
}

/// The key table in force.
#[derive(Debug, Clone)]
pub struct Keymap {
    bound: Vec<Bound>,
}

impl Default for Keymap {
    fn default() -> Self {
        Keymap {
            bound: BINDINGS
                .iter()
                .map(|b| Bound {
                    binding: b,
                    keys: b.keys.to_vec(),
                })
                .collect(),
        }
    }
}

impl std::fmt::Debug for Binding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?} {:?}", self.context, self.action)
    }
}

/// Why a user's key table was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeymapError {
    #[error("key {key} is bound to both {first} and {second} in the {context} keys")]
    Conflict {
        key: String,
        first: String,
        second: String,
        context: &'static str,
    },
    #[error("quit needs at least one key")]
    NoQuit,
}

impl Keymap {
    pub fn bound(&self) -> &[Bound] {
        &self.bound
    }

    /// The action bound to a key in a context: the pane's own bindings first, then global ones.
    pub fn lookup(&self, context: Context, ev: &KeyEvent) -> Option<Action> {
        let find = |ctx: Context| {
            self.bound
                .iter()
                .find(|b| b.binding.context == ctx && b.keys.iter().any(|k| k.matches(ev)))
                .map(|b| b.binding.action)
        };
        if context != Context::Global {
            if let Some(a) = find(context) {
                return Some(a);
            }
        }
        find(Context::Global)
    }

    /// Gives `action` these keys: in `context` only, or wherever it is bound. False when the
    /// action has no binding there.
    pub fn rebind(&mut self, context: Option<Context>, action: Action, keys: &[Key]) -> bool {
        let mut any = false;
        for b in &mut self.bound {
            if b.binding.action == action && context.is_none_or(|c| c == b.binding.context) {
                b.keys = keys.to_vec();
                any = true;
            }
        }
        any
    }

    /// No key does two things in one context, and quit keeps a key.
    pub fn check(&self) -> Result<(), KeymapError> {
        for (i, x) in self.bound.iter().enumerate() {
            for y in &self.bound[i + 1..] {
                if x.binding.context != y.binding.context {
                    continue;
                }
                if let Some(k) = x.keys.iter().find(|k| y.keys.contains(k)) {
                    return Err(KeymapError::Conflict {
                        key: k.label(),
                        first: x.binding.action.name(),
                        second: y.binding.action.name(),
                        context: x.binding.context.name(),
                    });
                }
            }
        }
        if !self
            .bound
            .iter()
            .any(|b| b.binding.action == Action::Quit && !b.keys.is_empty())
        {
            return Err(KeymapError::NoQuit);
        }
        Ok(())
    }
}

/// The built-in table's action for a key (see [`Keymap::lookup`]).
pub fn lookup(context: Context, ev: &KeyEvent) -> Option<Action> {
    static DEFAULT: std::sync::LazyLock<Keymap> = std::sync::LazyLock::new(Keymap::default);
    DEFAULT.lookup(context, ev)
}

/// The key list as Markdown, one table per context (the README embeds this).
pub fn markdown() -> String {
    let mut out = String::new();
    for ctx in C::ALL {
        out.push_str(&format!(
            "\n**{}** (`[keys.{}]`)\n\n| Keys | Action | Config name |\n|---|---|---|\n",
            ctx.title(),
            ctx.name()
        ));
        for b in BINDINGS.iter().filter(|b| b.context == ctx) {
            let keys = b
                .keys
                .iter()
                .map(|k| format!("`{}`", k.label().replace('|', "\\|")))
                .collect::<Vec<_>>()
                .join(" ");
            out.push_str(&format!(
                "| {keys} | {} | `{}` |\n",
                b.help.replace('|', "\\|"),
                b.action.name()
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_key_is_bound_twice_in_one_context() {
        assert_eq!(Keymap::default().check(), Ok(()));
    }

    #[test]
    fn keys_read_as_the_help_writes_them() {
        for b in BINDINGS {
            for k in b.keys {
                assert_eq!(Key::parse(&k.label()), Some(*k), "{}", k.label());
            }
        }
        assert_eq!(Key::parse("ctrl-Q"), Some(Key::Ctrl('q')));
        assert_eq!(Key::parse("F12"), Some(Key::F(12)));
        for bad in ["", "F13", "Ctrl-", "Ctrl-ab", "Hyper-x", "\u{7}"] {
            assert_eq!(Key::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn rebinding_replaces_keys_and_conflicts_are_named() {
        let mut k = Keymap::default();
        assert!(k.rebind(None, Action::Filter, &[Key::F(2)]));
        let f2 = KeyEvent::new(KeyCode::F(2), KeyModifiers::NONE);
        let f = KeyEvent::new(KeyCode::Char('f'), KeyModifiers::NONE);
        assert_eq!(k.lookup(Context::List, &f2), Some(Action::Filter));
        assert_eq!(k.lookup(Context::List, &f), None);
        assert_eq!(k.check(), Ok(()));
        // `m` marks: giving it to the help as well is refused, naming both.
        k.rebind(None, Action::Help, &[Key::Char('m')]);
        let err = k.check().unwrap_err().to_string();
        assert!(
            err.contains("help") && err.contains("mark") && err.contains('m'),
            "{err}"
        );
        // Only in one context: the timeline's own Enter.
        let mut k = Keymap::default();
        assert!(k.rebind(Some(Context::Timeline), Action::Enter, &[Key::Char('o')]));
        assert!(!k.rebind(Some(Context::Detail), Action::ZoomIn, &[Key::Char('o')]));
        let o = KeyEvent::new(KeyCode::Char('o'), KeyModifiers::NONE);
        assert_eq!(k.lookup(Context::Timeline, &o), Some(Action::Enter));
        assert_eq!(k.lookup(Context::Findings, &o), None);
        k.rebind(None, Action::Quit, &[]);
        assert_eq!(k.check(), Err(KeymapError::NoQuit));
    }

    #[test]
    fn pane_bindings_shadow_global_ones() {
        let ev = KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE);
        assert_eq!(lookup(Context::List, &ev), Some(Action::Enter));
        let minus = KeyEvent::new(KeyCode::Char('-'), KeyModifiers::NONE);
        assert_eq!(lookup(Context::Timeline, &minus), Some(Action::ZoomOut));
        assert_eq!(lookup(Context::List, &minus), None);
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(lookup(Context::List, &ctrl_c), Some(Action::Quit));
        let c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::NONE);
        assert_eq!(lookup(Context::List, &c), Some(Action::FollowConnection));
    }
}
