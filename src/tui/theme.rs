//! Colours and emphasis. One place decides them so that NO_COLOR (https://no-color.org)
//! turns every colour off and keeps only bold/reverse/underline, which read on any terminal.

use crate::model::Outcome;
use ratatui::style::{Color, Modifier, Style};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Theme {
    pub color: bool,
    pub palette: Palette,
}

/// The colours a config file may change (`[theme]`, names in kebab-case).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Palette {
    pub title: Color,
    pub key: Color,
    pub focus: Color,
    pub dim: Color,
    pub error: Color,
    pub warning: Color,
    pub ok: Color,
    /// 3xx statuses, challenge outcomes.
    pub info: Color,
    pub redirect: Color,
    pub mark: Color,
    pub stands_out: Color,
    /// Background of search hits.
    pub hit: Color,
}

impl Default for Palette {
    fn default() -> Self {
        Palette {
            title: Color::Cyan,
            key: Color::Yellow,
            focus: Color::Yellow,
            dim: Color::DarkGray,
            error: Color::Red,
            warning: Color::Yellow,
            ok: Color::Green,
            info: Color::Cyan,
            redirect: Color::Blue,
            mark: Color::Magenta,
            stands_out: Color::LightRed,
            hit: Color::Yellow,
        }
    }
}

/// Each settable colour by its config name.
type Slot = (&'static str, fn(&mut Palette) -> &mut Color);
const SLOTS: [Slot; 12] = [
    ("title", |p| &mut p.title),
    ("key", |p| &mut p.key),
    ("focus", |p| &mut p.focus),
    ("dim", |p| &mut p.dim),
    ("error", |p| &mut p.error),
    ("warning", |p| &mut p.warning),
    ("ok", |p| &mut p.ok),
    ("info", |p| &mut p.info),
    ("redirect", |p| &mut p.redirect),
    ("mark", |p| &mut p.mark),
    ("stands-out", |p| &mut p.stands_out),
    ("hit", |p| &mut p.hit),
];

impl Palette {
    /// The names a config file may set.
    pub fn names() -> impl Iterator<Item = &'static str> {
        SLOTS.iter().map(|(n, _)| *n)
    }

    /// Sets the colour called `name`; false for an unknown name.
    pub fn set(&mut self, name: &str, c: Color) -> bool {
        match SLOTS.iter().find(|(n, _)| *n == name) {
            Some((_, slot)) => {
                *slot(self) = c;
                true
            }
            None => false,
        }
    }
}

impl Theme {
    /// Colour unless the NO_COLOR environment variable is set to anything non-empty.
    pub fn from_env() -> Theme {
        Theme {
            color: std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
            palette: Palette::default(),
        }
    }
    pub fn plain() -> Theme {
        Theme {
            color: false,
            palette: Palette::default(),
        }
    }
    pub fn colored() -> Theme {
        Theme {
            color: true,
            palette: Palette::default(),
        }
    }

    fn fg(&self, c: Color) -> Style {
        if self.color {
            Style::default().fg(c)
        } else {
            Style::default()
        }
    }

    pub fn normal(&self) -> Style {
        Style::default()
    }
    /// Secondary text: labels, units, hints.
    pub fn dim(&self) -> Style {
        if self.color {
            Style::default().fg(self.palette.dim)
        } else {
            Style::default().add_modifier(Modifier::DIM)
        }
    }
    pub fn title(&self) -> Style {
        self.fg(self.palette.title).add_modifier(Modifier::BOLD)
    }
    /// The selected row or item.
    pub fn selected(&self) -> Style {
        Style::default().add_modifier(Modifier::REVERSED)
    }
    /// Focused pane border.
    pub fn focus_border(&self) -> Style {
        self.fg(self.palette.focus).add_modifier(Modifier::BOLD)
    }
    pub fn border(&self) -> Style {
        self.dim()
    }
    /// A pane's border: highlighted when the pane has the focus.
    pub fn pane_border(&self, focused: bool) -> Style {
        if focused {
            self.focus_border()
        } else {
            self.border()
        }
    }
    pub fn key(&self) -> Style {
        self.fg(self.palette.key).add_modifier(Modifier::BOLD)
    }
    pub fn error(&self) -> Style {
        self.fg(self.palette.error).add_modifier(Modifier::BOLD)
    }
    pub fn warning(&self) -> Style {
        self.fg(self.palette.warning)
    }
    pub fn ok(&self) -> Style {
        self.fg(self.palette.ok)
    }
    /// A marked exchange.
    pub fn mark(&self) -> Style {
        self.fg(self.palette.mark).add_modifier(Modifier::BOLD)
    }
    /// Rows that do not match the filter in highlight mode.
    pub fn unmatched(&self) -> Style {
        self.dim()
    }
    /// A search hit.
    pub fn hit(&self) -> Style {
        if self.color {
            Style::default().fg(Color::Black).bg(self.palette.hit)
        } else {
            Style::default().add_modifier(Modifier::UNDERLINED | Modifier::BOLD)
        }
    }
    /// Slow or large values.
    pub fn stands_out(&self) -> Style {
        self.fg(self.palette.stands_out)
            .add_modifier(Modifier::BOLD)
    }

    /// By HTTP status class: 2xx green, 3xx cyan, 4xx yellow, 5xx red, none (no response) red.
    pub fn status(&self, status: Option<u16>) -> Style {
        match status {
            Some(100..=199) => self.dim(),
            Some(200..=299) => self.ok(),
            Some(300..=399) => self.fg(self.palette.info),
            Some(400..=499) => self.warning(),
            Some(_) => self.error(),
            None => self.fg(self.palette.error),
        }
    }

    pub fn outcome(&self, o: Outcome) -> Style {
        match o {
            Outcome::Ok => self.ok(),
            Outcome::Challenge => self.fg(self.palette.info),
            Outcome::Redirect => self.fg(self.palette.redirect),
            Outcome::Fail => self.error(),
            Outcome::Noise | Outcome::Unknown => self.dim(),
        }
    }

    /// A stable colour per stage id, so that a stage looks the same in the list, the lanes and
    /// the waterfall. `unrelated` is dim.
    pub fn stage(&self, id: &str) -> Style {
        if id == "unrelated" {
            return self.dim();
        }
        const PALETTE: [Color; 10] = [
            Color::Cyan,
            Color::Green,
            Color::Yellow,
            Color::Blue,
            Color::Magenta,
            Color::LightCyan,
            Color::LightGreen,
            Color::LightYellow,
            Color::LightBlue,
            Color::LightMagenta,
        ];
        // FNV-1a: the same id gets the same colour in every run.
        let h = id.bytes().fold(0x811c_9dc5u32, |h, b| {
            (h ^ b as u32).wrapping_mul(0x0100_0193)
        });
        self.fg(PALETTE[(h % PALETTE.len() as u32) as usize])
    }
}
