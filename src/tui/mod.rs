//! The interactive terminal UI (ratatui + crossterm). It reads a frozen [`Analysis`] and keeps
//! only view state ([`app::App`]); every key goes through the one key table ([`keymap`]).
//!
//! Loading runs on a worker thread through the [`Loader`] the caller hands in: the title bar
//! shows a gauge while the list fills in with exchanges as they complete; the finished analysis
//! then replaces that provisional one. The terminal is restored on every way out, panics
//! included.
//!
//! Imports run one way: `keymap`, `theme`, `columns` and `state` (plain data) ← `views` (draw
//! what they are given) ← `app` (changes the state) ← `draw` (the screen) ← this module;
//! `config` reads the keymap, theme and columns.

pub mod app;
pub mod columns;
pub mod config;
pub mod draw;
pub mod keymap;
pub mod state;
pub mod theme;
pub mod views;

use crate::model::LiveFeed;
use crate::model::{Analysis, Notes};
use ratatui::crossterm::event::{self, DisableMouseCapture, EnableMouseCapture, Event, KeyCode};
use ratatui::crossterm::execute;
use ratatui::crossterm::terminal::{
    disable_raw_mode, enable_raw_mode, EnterAlternateScreen, LeaveAlternateScreen,
};
use ratatui::text::Line;
use ratatui::widgets::Paragraph;
use std::path::PathBuf;
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Reads the inputs into an analysis; the UI runs it on a worker thread. It hands each exchange
/// to the feed as it completes (the list fills in from there) and reports progress as (bytes
/// read, bytes in all). The program's top (`cli.rs`) supplies it, so the UI does not depend on
/// the pipeline.
pub type Loader =
    Box<dyn FnOnce(LiveFeed, &mut dyn FnMut(u64, u64)) -> crate::Result<Analysis> + Send>;

/// Reads a second input for the Compare pane (with the second side's key options); run on a
/// worker thread of its own.
pub type Opener = Arc<dyn Fn(PathBuf) -> crate::Result<Analysis> + Send + Sync>;

/// What the UI is asked to open.
pub struct OpenRequest {
    /// The inputs, for the title bar and the notes' side file.
    pub files: Vec<PathBuf>,
    /// Reads them.
    pub load: Loader,
    /// A filter to start with.
    pub filter: Option<String>,
    /// The key table in force.
    pub keys: keymap::Keymap,
    /// Colours (NO_COLOR still turns them off).
    pub palette: theme::Palette,
    /// The list's columns (None: all).
    pub columns: Option<Vec<columns::Column>>,
    /// A second input to compare with from the start (`--compare-with`).
    pub compare_with: Option<PathBuf>,
    /// How to read a second input (`--compare-with`, or a file named in the UI); None: the
    /// Compare pane cannot be used.
    pub open_other: Option<Opener>,
}

#[derive(Debug, thiserror::Error)]
pub enum TuiError {
    #[error("terminal: {0}")]
    Terminal(#[from] std::io::Error),
    #[error(transparent)]
    Load(#[from] crate::Error),
    #[error("{0}")]
    Filter(String),
    #[error("{0}")]
    Internal(String),
}

enum Loaded {
    Progress(u64, u64),
    Done(Box<crate::Result<Analysis>>),
}

fn restore_terminal() {
    let _ = disable_raw_mode();
    let _ = execute!(
        std::io::stdout(),
        DisableMouseCapture,
        LeaveAlternateScreen,
        ratatui::crossterm::cursor::Show
    );
}

/// Restores the terminal when dropped, so an early return or `?` cannot leave it raw.
struct TerminalGuard;

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore_terminal();
    }
}

/// Opens the inputs in the UI and runs until the user quits.
pub fn run(req: OpenRequest) -> Result<(), TuiError> {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore_terminal();
        previous(info);
    }));
    enable_raw_mode()?;
    let _guard = TerminalGuard;
    execute!(std::io::stdout(), EnterAlternateScreen, EnableMouseCapture)?;
    let backend = ratatui::backend::CrosstermBackend::new(std::io::stdout());
    let mut terminal = ratatui::Terminal::new(backend)?;
    let theme = theme::Theme {
        palette: req.palette,
        ..theme::Theme::from_env()
    };

    // Exchanges reach the list as they complete; the finished analysis replaces them.
    let feed = LiveFeed::new();
    let (tx, rx) = mpsc::channel();
    let load = req.load;
    let live = feed.clone();
    std::thread::Builder::new()
        .name("lyncscope-load".into())
        .spawn(move || {
            let mut last = Instant::now();
            let mut progress = |done: u64, total: u64| {
                // A few updates a second are enough for a gauge.
                if last.elapsed() >= Duration::from_millis(50) {
                    last = Instant::now();
                    let _ = tx.send(Loaded::Progress(done, total));
                }
            };
            let result = load(live, &mut progress);
            let _ = tx.send(Loaded::Done(Box::new(result)));
        })?;

    let started = Instant::now();
    let mut app = app::App::loading(req.files.clone());
    app.keys = req.keys.clone();
    if let Some(c) = &req.columns {
        app.columns = c.clone();
    }
    if let Some(f) = &req.filter {
        app.set_filter(f).map_err(TuiError::Filter)?;
    }
    // The second input of the Compare pane, read on a thread of its own.
    let (other_tx, other_rx) = mpsc::channel::<crate::Result<Analysis>>();
    let read_other = |path: PathBuf| -> Result<(), TuiError> {
        let Some(open) = req.open_other.clone() else {
            return Ok(());
        };
        let tx = other_tx.clone();
        std::thread::Builder::new()
            .name("lyncscope-compare".into())
            .spawn(move || {
                let _ = tx.send(open(path));
            })?;
        Ok(())
    };
    if let Some(path) = &req.compare_with {
        app.compare_waiting(vec![path.clone()]);
        read_other(path.clone())?;
    }
    let mut next_absorb = Instant::now();
    let mut mouse_on = true;
    while !app.quit {
        if app.loading.is_some() {
            let mut finished = None;
            loop {
                match rx.try_recv() {
                    Ok(Loaded::Progress(d, t)) => {
                        if let Some(l) = &mut app.loading {
                            (l.done, l.total) = (d, t);
                        }
                    }
                    Ok(Loaded::Done(r)) => finished = Some(*r),
                    Err(mpsc::TryRecvError::Empty) => break,
                    // The loader is gone without an answer: it panicked (its message is on
                    // standard error).
                    Err(mpsc::TryRecvError::Disconnected) if finished.is_none() => {
                        return Err(TuiError::Internal(
                            "the analysis stopped unexpectedly".into(),
                        ));
                    }
                    Err(mpsc::TryRecvError::Disconnected) => break,
                }
            }
            if let Some(l) = &mut app.loading {
                l.elapsed = started.elapsed();
            }
            if let Some(result) = finished {
                let analysis = result?;
                drop(feed.take());
                let side = Notes::side_file(&req.files);
                let (notes, warning) = match Notes::load(&analysis, side.as_deref()) {
                    Ok(n) => (n, None),
                    Err(e) => (Notes::from_inputs(&analysis), Some(e.to_string())),
                };
                app.finish_loading(Arc::new(analysis), notes);
                if let Some(w) = warning {
                    app.status = Some(state::Status {
                        text: w,
                        error: true,
                    });
                }
            } else if Instant::now() >= next_absorb {
                let t = Instant::now();
                app.absorb_live(feed.take());
                // Folding in costs more as the list grows: it never takes more than a fifth
                // of the UI thread's time.
                next_absorb = Instant::now() + (t.elapsed() * 4).max(Duration::from_millis(150));
            }
        }
        if let Some(path) = app.compare_request.take() {
            if req.open_other.is_some() {
                read_other(path)?;
            } else {
                app.compare_with(Err("this UI cannot read a second input".into()));
            }
        }
        if let Ok(other) = other_rx.try_recv() {
            // The error and its reasons ("x.pcap: cannot open: No such file or directory").
            app.compare_with(other.map_err(|e| {
                let mut text = e.to_string();
                let mut source = std::error::Error::source(&e);
                while let Some(s) = source {
                    text.push_str(&format!(": {s}"));
                    source = s.source();
                }
                text
            }));
        }
        terminal.draw(|f| draw::draw(f, &mut app, &theme))?;
        let wait = if app.loading.is_some() { 50 } else { 250 };
        if !event::poll(Duration::from_millis(wait))? {
            continue;
        }
        match event::read()? {
            Event::Key(k) => {
                let small = {
                    let s = terminal.size()?;
                    s.width < draw::MIN_WIDTH || s.height < draw::MIN_HEIGHT
                };
                if small && !matches!(k.code, KeyCode::Char('q')) {
                    continue;
                }
                app.on_key(k)
            }
            Event::Mouse(m) => app.on_mouse(m),
            _ => {}
        }
        if let Some(text) = app.clipboard.take() {
            // OSC 52: the terminal (also over SSH; tmux with `set-clipboard on`) copies it.
            use base64::Engine as _;
            use std::io::Write as _;
            let b64 = base64::engine::general_purpose::STANDARD.encode(text.as_bytes());
            let mut out = std::io::stdout();
            write!(out, "\x1b]52;c;{b64}\x07")?;
            out.flush()?;
        }
        if app.mouse != mouse_on {
            mouse_on = app.mouse;
            if mouse_on {
                execute!(std::io::stdout(), EnableMouseCapture)?;
            } else {
                execute!(std::io::stdout(), DisableMouseCapture)?;
            }
        }
    }
    terminal.draw(|f| f.render_widget(Paragraph::new(Line::raw("")), f.area()))?;
    Ok(())
}
