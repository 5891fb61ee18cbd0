//! The UI's state and the one function that changes it ([`App::apply`]). The analysis is
//! shared and frozen; everything here is view state: selection, filter, sort, marks, panes.

use super::columns::{duration_ns, Column, TimeFormat};
use super::keymap::{self, Action, Context};
use super::state::{
    ExportDialog, Focus, InputKind, InputLine, Layout, Loading, LowerPane, Overlay, Regions, Status,
};
use super::views::compare::CompareState;
use super::views::detail::DetailState;
use super::views::timeline::{TimelineCache, TimelineState};
use crate::filter::{Filter, Search};
use crate::model::{Analysis, ExchId, Exchange, Notes, StepRef, Ts};
use crate::presentation::connections::{connection_rows, count, ConnectionRow};
use crate::presentation::timeline::time_origin;
use crate::report::export::{ExportFormat, Scope};
use ratatui::crossterm::event::{
    KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};
use ratatui::layout::Rect;
use std::path::PathBuf;
use std::sync::Arc;

pub struct App {
    pub analysis: Arc<Analysis>,
    pub notes: Notes,
    /// Where marks and comments are saved (None: not saved).
    pub notes_path: Option<PathBuf>,
    pub inputs: Vec<PathBuf>,
    /// Exchanges in list order (filtered when hiding, sorted).
    pub rows: Vec<ExchId>,
    /// Index into `rows`.
    pub selected: usize,
    /// First row shown (kept so that the selection moves inside the page, not the page).
    pub list_offset: usize,
    pub filter: Option<Filter>,
    /// With a filter: false hides non-matching exchanges, true only dims them.
    pub dim_unmatched: bool,
    /// Per exchange id: matches the filter (all true without one).
    pub matched: Vec<bool>,
    pub search: Option<Search>,
    /// The text of the active search.
    pub search_text: String,
    pub sort: Column,
    pub sort_reverse: bool,
    pub time_format: TimeFormat,
    pub focus: Focus,
    pub lower: LowerPane,
    pub layout: Layout,
    pub maximized: bool,
    pub detail: DetailState,
    pub timeline: TimelineState,
    pub timeline_cache: TimelineCache,
    /// Selected line of the findings pane.
    pub finding: usize,
    /// The connections pane's rows (the reports' Connections section) and the selected one.
    pub connections: Vec<ConnectionRow>,
    pub connection: usize,
    /// Exchanges the last jumped-to finding cites (marked in the list).
    pub cited: Vec<ExchId>,
    pub input: Option<InputLine>,
    pub overlay: Option<Overlay>,
    pub status: Option<Status>,
    pub mouse: bool,
    pub quit: bool,
    pub regions: Regions,
    /// The one time origin, the reports' (the first frame of the inputs): the list's
    /// relative times, the timelines and the filter's `time` all count from it.
    pub t0: Option<Ts>,
    /// The key table in force (built-in, or with the user's config).
    pub keys: keymap::Keymap,
    /// The list's columns, in order (all by default; the config may choose).
    pub columns: Vec<Column>,
    /// Some exchange is not HTTP/1: the list shows its Protocol column.
    pub protocol_column: bool,
    /// Text to put on the terminal's clipboard (the event loop sends it as OSC 52).
    pub clipboard: Option<String>,
    /// Set while the inputs are still being read: the analysis is then a provisional one
    /// (exchanges as they complete, without stages, TLS facts, findings or bodies).
    pub loading: Option<Loading>,
    /// The Compare pane: the second input and the comparison with it.
    pub compare: CompareState,
    /// A second input the user asked for in the UI; the event loop reads it and hands the
    /// result to [`App::compare_with`].
    pub compare_request: Option<PathBuf>,
}

/// Names an exchange across the provisional and the final analysis (ids change between
/// them): its first frame and request line.
type ExchangeKey = (Option<crate::model::FrameNo>, String, String);

fn exchange_key(x: &Exchange) -> ExchangeKey {
    let (m, t) = x
        .request
        .as_ref()
        .map(|r| (r.method.to_string(), r.target.clone()))
        .unwrap_or_default();
    (x.timing.first().map(|a| a.frame), m, t)
}

/// Scopes and formats of the export dialog, in display order.
pub const EXPORT_SCOPES: [Scope; 4] = [Scope::All, Scope::Shown, Scope::Marked, Scope::Selected];

impl App {
    pub fn new(analysis: Arc<Analysis>, notes: Notes, inputs: Vec<PathBuf>) -> App {
        let n = analysis.exchanges.len();
        let t0 = time_origin(&analysis);
        let connections = connection_rows(&analysis);
        let rows: Vec<ExchId> = analysis.exchanges.iter().map(|x| x.id).collect();
        let timeline_cache = TimelineCache::new(&analysis, &rows);
        let protocol_column = crate::tui::columns::protocol_varies(&analysis.exchanges);
        let mut app = App {
            notes_path: crate::model::Notes::side_file(&inputs),
            analysis,
            notes,
            inputs,
            rows,
            selected: 0,
            list_offset: 0,
            filter: None,
            dim_unmatched: false,
            matched: vec![true; n],
            search: None,
            search_text: String::new(),
            sort: Column::Number,
            sort_reverse: false,
            time_format: TimeFormat::Relative,
            focus: Focus::List,
            lower: LowerPane::Detail,
            layout: Layout::Stacked,
            maximized: false,
            detail: DetailState::default(),
            timeline: TimelineState::default(),
            timeline_cache,
            finding: 0,
            connections,
            connection: 0,
            cited: Vec::new(),
            input: None,
            overlay: None,
            status: None,
            mouse: true,
            quit: false,
            regions: Regions::default(),
            t0,
            keys: keymap::Keymap::default(),
            columns: Column::ALL.to_vec(),
            protocol_column,
            clipboard: None,
            loading: None,
            compare: CompareState::default(),
            compare_request: None,
        };
        app.rebuild_rows(None);
        app.open_on_failure();
        app
    }

    /// Where the sign-in broke: its failed exchange selected in the list, or, when it broke
    /// before HTTP (a certificate the client refused), its connection in the Connections pane.
    fn open_on_failure(&mut self) {
        let step = self.analysis.signin.iter().find_map(|s| s.failed_step);
        match step {
            Some(StepRef::Exchange(id)) => {
                if let Some(i) = self.rows.iter().position(|r| *r == id) {
                    self.select(i);
                }
            }
            Some(StepRef::Connection(id)) => {
                let name = format!("C{}", id.0);
                if let Some(i) = self.connections.iter().position(|c| c.id == name) {
                    self.connection = i;
                }
                self.show_lower(LowerPane::Connections);
            }
            _ => {
                // Nothing failed: with no exchange to show, the connections are what there is.
                if self.analysis.exchanges.is_empty() && !self.connections.is_empty() {
                    self.show_lower(LowerPane::Connections);
                }
            }
        }
    }

    /// An empty list that fills in while the inputs are read ([`App::absorb_live`]), until
    /// [`App::finish_loading`] brings the real analysis.
    pub fn loading(inputs: Vec<PathBuf>) -> App {
        let mut app = App::new(Arc::new(Analysis::default()), Notes::default(), inputs);
        app.loading = Some(Loading {
            done: 0,
            total: 0,
            elapsed: std::time::Duration::ZERO,
        });
        app
    }

    /// Adds exchanges that completed while loading; the selection stays on its exchange.
    pub fn absorb_live(&mut self, batch: Vec<crate::model::LiveExchange>) {
        if batch.is_empty() {
            return;
        }
        let keep = self.selected_exchange().map(exchange_key);
        self.protocol_column |=
            crate::tui::columns::protocol_varies(batch.iter().map(|l| &l.exchange));
        crate::model::absorb(Arc::make_mut(&mut self.analysis), batch);
        self.analysis_changed(keep);
    }

    /// Replaces the provisional analysis with the finished one and its notes.
    pub fn finish_loading(&mut self, analysis: Arc<Analysis>, notes: Notes) {
        let keep = self.selected_exchange().map(exchange_key);
        self.protocol_column = crate::tui::columns::protocol_varies(&analysis.exchanges);
        self.analysis = analysis;
        self.notes = notes;
        self.loading = None;
        self.cited.clear();
        self.finding = 0;
        self.connection = 0;
        let had_selection = keep.is_some() && self.selected > 0;
        self.analysis_changed(keep);
        self.compare.update(&self.analysis);
        if !had_selection {
            self.open_on_failure();
        }
        if let Some(f) = &self.filter {
            let n = self.matched.iter().filter(|m| **m).count();
            self.say(format!(
                "filter {}: {n} of {} exchanges",
                f.text(),
                self.analysis.exchanges.len()
            ));
        }
    }

    /// A second input is being read for the Compare pane (`--compare-with`, or asked for in
    /// the UI).
    pub fn compare_waiting(&mut self, files: Vec<PathBuf>) {
        self.compare = CompareState::waiting(files);
    }

    /// The second input, read: compared with this one once this one is read too.
    pub fn compare_with(&mut self, other: Result<Analysis, String>) {
        match other {
            Ok(b) => {
                self.compare.other = Some(Arc::new(b));
                self.compare.error = None;
                if self.loading.is_none() {
                    self.compare.update(&self.analysis);
                }
            }
            Err(e) => self.compare.error = Some(e),
        }
    }

    fn analysis_changed(&mut self, keep: Option<ExchangeKey>) {
        let a = Arc::clone(&self.analysis);
        self.t0 = time_origin(&a);
        self.connections = connection_rows(&a);
        self.connection = self
            .connection
            .min(self.connections.len().saturating_sub(1));
        self.matched.resize(a.exchanges.len(), true);
        let keep = keep.and_then(|(frame, method, target)| {
            a.exchanges
                .iter()
                .find(|x| {
                    x.timing.first().map(|f| f.frame) == frame
                        && x.request.as_ref().map_or(method.is_empty(), |r| {
                            r.method == method && r.target == target
                        })
                })
                .map(|x| x.id)
        });
        let scroll = self.detail.scroll;
        self.rebuild_rows(keep);
        if keep.is_some() {
            self.detail.scroll = scroll;
        }
    }

    pub fn exchange(&self, id: ExchId) -> Option<&Exchange> {
        self.analysis.exchanges.get(id.0 as usize)
    }

    pub fn selected_id(&self) -> Option<ExchId> {
        self.rows.get(self.selected).copied()
    }

    pub fn selected_exchange(&self) -> Option<&Exchange> {
        self.selected_id().and_then(|id| self.exchange(id))
    }

    /// The key context of what has the focus.
    pub fn context(&self) -> Context {
        match (self.focus, self.lower) {
            (Focus::List, _) => Context::List,
            (Focus::Lower, LowerPane::Detail) => Context::Detail,
            (Focus::Lower, LowerPane::Timeline) => Context::Timeline,
            (Focus::Lower, LowerPane::Findings) => Context::Findings,
            (Focus::Lower, LowerPane::Connections) => Context::Connections,
            (Focus::Lower, LowerPane::Compare) => Context::Compare,
        }
    }

    fn say(&mut self, text: impl Into<String>) {
        self.status = Some(Status {
            text: text.into(),
            error: false,
        });
    }
    fn complain(&mut self, text: impl Into<String>) {
        self.status = Some(Status {
            text: text.into(),
            error: true,
        });
    }

    // ---------------------------------------------------------------- rows, filter, sort

    /// Recomputes the shown rows after a filter or sort change, keeping `keep` selected when
    /// it is still shown.
    fn rebuild_rows(&mut self, keep: Option<ExchId>) {
        let a = Arc::clone(&self.analysis);
        if let Some(f) = &self.filter {
            let ctx = crate::filter::MatchContext::new(&a, &self.notes);
            for x in &a.exchanges {
                if let Some(m) = self.matched.get_mut(x.id.0 as usize) {
                    *m = f.matches_with(&ctx, x);
                }
            }
        } else {
            self.matched.iter_mut().for_each(|m| *m = true);
        }
        let hide = self.filter.is_some() && !self.dim_unmatched;
        let mut rows: Vec<ExchId> = a
            .exchanges
            .iter()
            .map(|x| x.id)
            .filter(|id| !hide || self.matched.get(id.0 as usize) == Some(&true))
            .collect();
        sort_rows(&a, &mut rows, self.sort);
        if self.sort_reverse {
            rows.reverse();
        }
        self.rows = rows;
        self.timeline_cache = TimelineCache::new(&a, &self.rows);
        self.selected = keep
            .and_then(|id| self.rows.iter().position(|r| *r == id))
            .unwrap_or(0);
        self.detail.scroll = 0;
    }

    fn apply_filter_text(&mut self, text: &str) -> Result<(), String> {
        let keep = self.selected_id();
        let f = Filter::parse_for(text, &self.analysis).map_err(|e| e.to_string())?;
        self.filter = if f.is_empty() { None } else { Some(f) };
        self.rebuild_rows(keep);
        match &self.filter {
            Some(f) => {
                let n = self.matched.iter().filter(|m| **m).count();
                self.say(format!(
                    "filter {}: {n} of {} exchanges",
                    f.text(),
                    self.analysis.exchanges.len()
                ));
            }
            None => self.say("filter cleared"),
        }
        Ok(())
    }

    /// Sets a filter from outside (the `--filter` option, the tests).
    pub fn set_filter(&mut self, text: &str) -> Result<(), String> {
        self.apply_filter_text(text)
    }

    /// Folds (or unfolds) one more nesting level of the JSON body the tab shows.
    fn fold_json(&mut self, fold: bool) {
        use super::views::detail::DetailTab;
        use crate::presentation::body::{body_kind, json_depth, lossy, BodyKind};
        let Some(x) = self.selected_exchange() else {
            return;
        };
        let message = match self.detail.tab {
            DetailTab::Request => x.request.as_ref().map(|r| (&r.headers, &r.body)),
            DetailTab::Response => x.response.as_ref().map(|r| (&r.headers, &r.body)),
            _ => None,
        };
        let Some((headers, body)) = message else {
            self.complain("folding works on JSON bodies, in the Request and Response tabs");
            return;
        };
        let bytes = body.bytes().unwrap_or_default();
        if body_kind(headers.get("content-type"), bytes) != BodyKind::Json {
            self.complain("this body is not JSON");
            return;
        }
        let depth = json_depth(&lossy(bytes));
        self.detail.fold = match (fold, self.detail.fold) {
            (true, f) => Some(f.unwrap_or(depth).min(depth).saturating_sub(1)),
            (false, Some(f)) if f + 1 < depth => Some(f + 1),
            (false, _) => None,
        };
        self.detail.scroll = 0;
        match self.detail.fold {
            Some(f) => self.say(format!("JSON folded from level {f} of {depth} (+ unfolds)")),
            None => self.say("JSON: every level shown"),
        }
    }

    /// Puts the selected exchange's URL or curl command on the clipboard.
    fn copy(&mut self, action: Action) {
        let Some(x) = self.selected_exchange() else {
            self.complain("no exchange selected");
            return;
        };
        let (what, text) = if action == Action::CopyCurl {
            (
                "curl command",
                Some(crate::presentation::wire::curl_command(&self.analysis, x)),
            )
        } else {
            (
                "URL",
                crate::presentation::wire::request_url(&self.analysis, x),
            )
        };
        match text {
            Some(t) => {
                let shown: String = t.lines().next().unwrap_or("").chars().take(80).collect();
                self.say(format!("copied the {what} to the clipboard: {shown}"));
                self.clipboard = Some(t);
            }
            None => self.complain(format!("exchange #{} has no request: no {what}", x.id.0)),
        }
    }

    // ---------------------------------------------------------------- input

    /// Handles a key: the open input line or dialog first, then the key table.
    pub fn on_key(&mut self, ev: KeyEvent) {
        if ev.kind == ratatui::crossterm::event::KeyEventKind::Release {
            return;
        }
        if self.input.is_some() {
            self.on_input_key(ev);
            return;
        }
        if let Some(Overlay::Export(_)) = &self.overlay {
            self.on_export_key(ev);
            return;
        }
        if let Some(Overlay::Help { .. }) = &self.overlay {
            match self.keys.lookup(Context::Global, &ev) {
                Some(Action::Down) => self.scroll_help(1),
                Some(Action::Up) => self.scroll_help(-1),
                Some(Action::PageDown) => self.scroll_help(10),
                Some(Action::PageUp) => self.scroll_help(-10),
                Some(Action::Quit) if ev.modifiers.contains(KeyModifiers::CONTROL) => {
                    self.quit = true
                }
                _ => self.overlay = None,
            }
            return;
        }
        if let Some(action) = self.keys.lookup(self.context(), &ev) {
            self.apply(action);
        }
    }

    fn scroll_help(&mut self, by: isize) {
        if let Some(Overlay::Help { scroll }) = &mut self.overlay {
            *scroll = scroll.saturating_add_signed(by);
        }
    }

    fn open_input(&mut self, kind: InputKind, text: String) {
        self.input = Some(InputLine {
            kind,
            text,
            error: None,
        });
        self.validate_input();
    }

    fn validate_input(&mut self) {
        let Some(input) = &mut self.input else { return };
        input.error = match input.kind {
            InputKind::Filter => Filter::parse_for(&input.text, &self.analysis)
                .err()
                .map(|e| e.to_string()),
            InputKind::Search if !input.text.is_empty() => {
                Search::new(&input.text).err().map(|e| e.to_string())
            }
            _ => None,
        };
    }

    fn on_input_key(&mut self, ev: KeyEvent) {
        let Some(input) = &mut self.input else { return };
        let ctrl = ev.modifiers.contains(KeyModifiers::CONTROL);
        match ev.code {
            KeyCode::Esc => {
                self.input = None;
                return;
            }
            KeyCode::Char('c') if ctrl => {
                self.input = None;
                return;
            }
            KeyCode::Char('u') if ctrl => input.text.clear(),
            KeyCode::Char('w') if ctrl => {
                let t = input.text.trim_end();
                let cut = t.rfind(' ').map_or(0, |i| i + 1);
                input.text.truncate(cut);
            }
            KeyCode::Backspace => {
                input.text.pop();
            }
            KeyCode::Char(c) if !ctrl => input.text.push(c),
            KeyCode::Enter => {
                let Some(input) = self.input.take() else {
                    return;
                };
                self.submit_input(input);
                return;
            }
            _ => {}
        }
        self.validate_input();
    }

    fn submit_input(&mut self, input: InputLine) {
        match input.kind {
            InputKind::Filter => {
                if let Err(e) = self.apply_filter_text(&input.text) {
                    // Keep the line open so the user can fix it.
                    self.input = Some(InputLine {
                        error: Some(e),
                        ..input
                    });
                }
            }
            InputKind::Search => {
                if input.text.is_empty() {
                    self.search = None;
                    self.say("search cleared");
                    return;
                }
                match Search::new(&input.text) {
                    Ok(s) => {
                        self.search = Some(s);
                        self.search_text = input.text.clone();
                        self.next_hit(true, true);
                    }
                    Err(e) => {
                        self.input = Some(InputLine {
                            error: Some(e.to_string()),
                            ..input
                        })
                    }
                }
            }
            InputKind::Comment => {
                if let Some(id) = self.selected_id() {
                    let text = input.text.trim().to_string();
                    self.notes
                        .set_comment(id, (!text.is_empty()).then_some(text));
                    self.save_notes();
                }
            }
            InputKind::ExportPath => self.run_export(&input.text),
            InputKind::ComparePath => {
                let path = input.text.trim();
                if !path.is_empty() {
                    let path = PathBuf::from(path);
                    self.compare_waiting(vec![path.clone()]);
                    self.compare_request = Some(path);
                    self.show_lower(LowerPane::Compare);
                }
            }
        }
    }

    /// Moves to the next (or previous) shown exchange the search matches, wrapping around.
    fn next_hit(&mut self, forward: bool, include_current: bool) {
        let Some(search) = &self.search else {
            self.complain("no search: press / first");
            return;
        };
        let n = self.rows.len();
        if n == 0 {
            return;
        }
        let a = &self.analysis;
        let ctx = crate::filter::MatchContext::new(a, &self.notes);
        let start = self.selected;
        let mut found = None;
        for step in 0..n {
            let k = if include_current { step } else { step + 1 };
            let i = if forward {
                (start + k) % n
            } else {
                (start + n * 2 - k % n) % n
            };
            let id = self.rows[i];
            if let Some(x) = a.exchanges.get(id.0 as usize) {
                if search.matches_with(&ctx, x) {
                    found = Some(i);
                    break;
                }
            }
        }
        match found {
            Some(i) => {
                let wrapped = if forward { i < start } else { i > start };
                self.select(i);
                self.say(if wrapped { "search wrapped" } else { "" });
            }
            None => self.complain("no exchange matches the search"),
        }
    }

    fn save_notes(&mut self) {
        if self.filter.as_ref().is_some_and(|f| f.depends_on_notes()) {
            let keep = self.selected_id();
            self.rebuild_rows(keep);
        }
        let Some(path) = &self.notes_path else { return };
        let result = if self.notes.is_empty() {
            match std::fs::remove_file(path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
                _ => Ok(()),
            }
        } else {
            std::fs::write(path, self.notes.to_json())
        };
        if let Err(e) = result {
            let msg = format!("marks and comments not saved to {}: {e}", path.display());
            self.complain(msg);
        }
    }

    // ---------------------------------------------------------------- actions

    fn select(&mut self, i: usize) {
        if self.rows.is_empty() {
            self.selected = 0;
            return;
        }
        let i = i.min(self.rows.len() - 1);
        if i != self.selected {
            self.selected = i;
            self.detail.scroll = 0;
        }
    }

    fn move_by(&mut self, by: isize) {
        let i = self.selected.saturating_add_signed(by);
        self.select(i);
    }

    fn page(&self) -> usize {
        let h = match self.focus {
            Focus::List => self.regions.list.height,
            Focus::Lower => self.regions.lower.height,
        };
        (h as usize).saturating_sub(3).max(1)
    }

    pub fn apply(&mut self, action: Action) {
        if action != Action::NextHit && action != Action::PrevHit {
            self.status = None;
        }
        if self.loading.is_some() {
            let waits = match action {
                Action::Mark | Action::Comment => Some("marks and comments"),
                Action::Export => Some("exports"),
                Action::ShowFindings => Some("findings (the checks run on the whole capture)"),
                Action::CopyCurl => Some("curl commands (they need the request body)"),
                // Connection numbers change when the whole capture is in.
                Action::FollowConnection => Some("following a connection"),
                _ => None,
            };
            if let Some(what) = waits {
                self.complain(format!("{what}: once loading has finished"));
                return;
            }
        }
        let lower_focus = self.focus == Focus::Lower;
        self.apply_action(action, lower_focus);
        self.settle_focus();
    }

    fn apply_action(&mut self, action: Action, lower_focus: bool) {
        match action {
            Action::Quit => self.quit = true,
            Action::Help => self.overlay = Some(Overlay::Help { scroll: 0 }),
            Action::Back => {
                if self.maximized {
                    self.maximized = false;
                } else if lower_focus {
                    self.focus = Focus::List;
                } else if self.filter.is_some() {
                    let _ = self.apply_filter_text("");
                }
            }
            Action::Up
            | Action::Down
            | Action::PageUp
            | Action::PageDown
            | Action::Top
            | Action::Bottom => self.navigate(action),
            Action::Left => self.timeline.pan_left(),
            Action::Right => self.timeline.pan_right(),
            Action::Enter => match self.context() {
                Context::List | Context::Timeline => {
                    self.lower = LowerPane::Detail;
                    self.focus = Focus::Lower;
                    if self.layout == Layout::ListOnly {
                        self.layout = Layout::Stacked;
                    }
                }
                Context::Findings => self.jump_to_finding(),
                Context::Connections => self.jump_to_connection(),
                Context::Compare => self.jump_to_compared_stage(),
                _ => {}
            },
            Action::FocusNext => {
                self.focus = match self.focus {
                    Focus::List if self.layout != Layout::ListOnly => Focus::Lower,
                    _ => Focus::List,
                };
            }
            Action::ShowDetail => self.show_lower(LowerPane::Detail),
            Action::ShowTimeline => {
                if self.lower == LowerPane::Timeline && self.layout != Layout::ListOnly {
                    self.timeline.kind = self.timeline.kind.next();
                }
                self.show_lower(LowerPane::Timeline);
            }
            Action::ShowFindings => self.show_lower(LowerPane::Findings),
            Action::ShowConnections => self.show_lower(LowerPane::Connections),
            Action::ShowCompare => {
                // Again in the pane (or with nothing to compare yet): ask for a second input.
                let shown = self.lower == LowerPane::Compare
                    && self.focus == Focus::Lower
                    && self.layout != Layout::ListOnly;
                if self.compare.other_inputs.is_empty() || shown {
                    self.open_input(InputKind::ComparePath, String::new());
                } else {
                    self.show_lower(LowerPane::Compare);
                }
            }
            Action::CycleLayout => {
                self.layout = match self.layout {
                    Layout::Stacked => Layout::SideBySide,
                    Layout::SideBySide => Layout::ListOnly,
                    Layout::ListOnly => Layout::Stacked,
                };
                if self.layout == Layout::ListOnly {
                    self.focus = Focus::List;
                }
            }
            Action::Maximize => self.maximized = !self.maximized,
            Action::Filter => {
                let text = self
                    .filter
                    .as_ref()
                    .map(|f| f.text().to_string())
                    .unwrap_or_default();
                self.open_input(InputKind::Filter, text);
            }
            Action::ToggleHideUnmatched => {
                self.dim_unmatched = !self.dim_unmatched;
                let keep = self.selected_id();
                self.rebuild_rows(keep);
                self.say(if self.dim_unmatched {
                    "non-matching exchanges are dimmed"
                } else {
                    "non-matching exchanges are hidden"
                });
            }
            Action::Search => self.open_input(InputKind::Search, String::new()),
            Action::NextHit => self.next_hit(true, false),
            Action::PrevHit => self.next_hit(false, false),
            Action::Mark => {
                if let Some(id) = self.selected_id() {
                    self.notes.toggle_mark(id);
                    self.save_notes();
                }
            }
            Action::Comment => {
                if let Some(id) = self.selected_id() {
                    let text = self.notes.comment(id).unwrap_or("").to_string();
                    self.open_input(InputKind::Comment, text);
                }
            }
            Action::Export => {
                self.overlay = Some(Overlay::Export(ExportDialog {
                    scope: 0,
                    format: 0,
                    column: 0,
                    redact: None,
                }))
            }
            Action::TimeFormat => {
                self.time_format = match self.time_format {
                    TimeFormat::Relative => TimeFormat::Absolute,
                    TimeFormat::Absolute => TimeFormat::Delta,
                    TimeFormat::Delta => TimeFormat::Relative,
                }
            }
            Action::SortNext => {
                let i = Column::ALL
                    .iter()
                    .position(|c| *c == self.sort)
                    .unwrap_or(0);
                self.sort_by(Column::ALL[(i + 1) % Column::ALL.len()]);
            }
            Action::SortReverse => {
                self.sort_reverse = !self.sort_reverse;
                let keep = self.selected_id();
                self.rebuild_rows(keep);
            }
            Action::NextTab => {
                self.detail.tab = self.detail.tab.next();
                self.detail.scroll = 0;
            }
            Action::PrevTab => {
                self.detail.tab = self.detail.tab.prev();
                self.detail.scroll = 0;
            }
            Action::RawBody => self.detail.raw = !self.detail.raw,
            Action::ZoomIn => self.timeline.zoom_in(),
            Action::ZoomOut => self.timeline.zoom_out(),
            Action::ZoomReset => self.timeline.reset(),
            Action::FollowConnection => {
                if let Some(x) = self.selected_exchange() {
                    let text = format!("~conn C{}", x.connection.0);
                    let _ = self.apply_filter_text(&text);
                }
            }
            Action::JumpParent => self.jump_parent(),
            Action::CopyUrl | Action::CopyCurl => self.copy(action),
            Action::FoldJson | Action::UnfoldJson => self.fold_json(action == Action::FoldJson),
            Action::ToggleMouse => {
                self.mouse = !self.mouse;
                self.say(if self.mouse {
                    "mouse on"
                } else {
                    "mouse off: the terminal selects text"
                });
            }
        }
    }

    /// Keys go to the pane that is shown: never to a lower pane the layout hides.
    fn settle_focus(&mut self) {
        if self.focus == Focus::Lower && self.layout == Layout::ListOnly && !self.maximized {
            self.focus = Focus::List;
        }
    }

    fn show_lower(&mut self, pane: LowerPane) {
        self.lower = pane;
        self.focus = Focus::Lower;
        if self.layout == Layout::ListOnly {
            self.layout = Layout::Stacked;
        }
    }

    pub fn sort_by(&mut self, column: Column) {
        if self.sort == column {
            self.sort_reverse = !self.sort_reverse;
        } else {
            self.sort = column;
            self.sort_reverse = false;
        }
        let keep = self.selected_id();
        self.rebuild_rows(keep);
        self.say(format!(
            "sorted by {}{}",
            column.title(),
            if self.sort_reverse { " (reversed)" } else { "" }
        ));
    }

    fn navigate(&mut self, action: Action) {
        let scroll_detail = self.focus == Focus::Lower && self.lower == LowerPane::Detail;
        let findings = self.focus == Focus::Lower && self.lower == LowerPane::Findings;
        let connections = self.focus == Focus::Lower && self.lower == LowerPane::Connections;
        let compare = self.focus == Focus::Lower && self.lower == LowerPane::Compare;
        let page = self.page() as isize;
        let by: isize = match action {
            Action::Up => -1,
            Action::Down => 1,
            Action::PageUp => -page,
            Action::PageDown => page,
            Action::Top => isize::MIN / 2,
            _ => isize::MAX / 2,
        };
        if compare {
            self.compare.selected = self
                .compare
                .selected
                .saturating_add_signed(by)
                .min(self.compare.pair_count().saturating_sub(1));
        } else if scroll_detail {
            self.detail.scroll = self.detail.scroll.saturating_add_signed(by);
        } else if connections {
            self.connection = self
                .connection
                .saturating_add_signed(by)
                .min(self.connections.len().saturating_sub(1));
        } else if findings {
            let n = self.finding_count();
            self.finding = self
                .finding
                .saturating_add_signed(by)
                .min(n.saturating_sub(1));
        } else {
            self.move_by(by);
        }
    }

    /// Lines of the findings pane that can be selected: one per finding.
    pub fn finding_count(&self) -> usize {
        self.analysis.findings.len()
    }

    fn jump_to_finding(&mut self) {
        let Some(f) = self.analysis.findings.get(self.finding) else {
            return;
        };
        let cited = f.exchanges.clone();
        let check = f.check.clone();
        let conn = f.connections.first().map(|c| format!("C{}", c.0));
        if cited.is_empty() {
            // Connection evidence (a refused certificate): show that connection.
            match conn.and_then(|name| self.connections.iter().position(|c| c.id == name)) {
                Some(i) => {
                    self.connection = i;
                    self.show_lower(LowerPane::Connections);
                    let name = self.connections[i].id.clone();
                    self.say(format!(
                        "{check}: connection {name} (it carried no exchange)"
                    ));
                }
                None => self.complain(format!("{check} cites no exchange (DNS evidence only)")),
            }
            return;
        }
        self.jump_to_cited(&check, "cited", cited);
    }

    /// Selects the first exchange the selected connection carried (again: the next one).
    fn jump_to_connection(&mut self) {
        let Some(c) = self.connections.get(self.connection) else {
            return;
        };
        let label = c.id.clone();
        let cited: Vec<ExchId> = c.exchanges.iter().map(|x| ExchId(*x)).collect();
        if cited.is_empty() {
            self.complain(format!("{label} carried no HTTP exchange"));
            return;
        }
        self.jump_to_cited(&label, "carried", cited);
    }

    /// Selects the first of `cited` in the list, or the next after the selected one when the
    /// same exchanges were cited last time; the status says which of how many it is.
    /// Side A's exchanges in the selected stage visit of the Compare pane.
    fn jump_to_compared_stage(&mut self) {
        let Some(p) = self
            .compare
            .comparison
            .as_ref()
            .and_then(|c| c.pairs.get(self.compare.selected))
        else {
            return;
        };
        let label = p.name();
        let ids: Vec<ExchId> =
            p.a.iter()
                .flat_map(|v| &v.steps)
                .filter_map(|s| s.strip_prefix('#')?.parse().ok().map(ExchId))
                .collect();
        if ids.is_empty() {
            let why = if p.a.is_none() {
                "only B went through it"
            } else {
                "no exchange here (DNS or connections only)"
            };
            self.complain(format!("{label}: {why}"));
            return;
        }
        self.jump_to_cited(&label, "in this stage", ids);
    }

    fn jump_to_cited(&mut self, label: &str, verb: &str, cited: Vec<ExchId>) {
        // Again on the same finding: the next cited exchange.
        let current = self.selected_id();
        let next = if self.cited == cited {
            let at = current.and_then(|c| cited.iter().position(|x| *x == c));
            cited[at.map_or(0, |i| (i + 1) % cited.len())]
        } else {
            cited[0]
        };
        self.cited = cited;
        match self.rows.iter().position(|r| *r == next) {
            Some(i) => {
                self.select(i);
                let nth = self.cited.iter().position(|x| *x == next).unwrap_or(0) + 1;
                self.say(format!(
                    "{label}: exchange #{}, {nth} of {} {verb}",
                    next.0,
                    count(self.cited.len(), "exchange")
                ));
            }
            None => self.complain(format!("{label}: #{} is hidden by the filter", next.0)),
        }
    }

    fn jump_parent(&mut self) {
        let parent = self
            .selected_exchange()
            .and_then(|x| x.stage.as_ref())
            .and_then(|s| s.parent);
        match parent {
            Some(p) => match self.rows.iter().position(|r| *r == p) {
                Some(i) => self.select(i),
                None => self.complain(format!("parent #{} is hidden by the filter", p.0)),
            },
            None => self.complain("this exchange has no parent (nothing announced its URL)"),
        }
    }

    // ---------------------------------------------------------------- export

    fn on_export_key(&mut self, ev: KeyEvent) {
        let Some(Overlay::Export(d)) = &mut self.overlay else {
            return;
        };
        match ev.code {
            KeyCode::Esc | KeyCode::Char('q') => self.overlay = None,
            KeyCode::Left | KeyCode::Char('h') | KeyCode::BackTab => d.column = 0,
            KeyCode::Right | KeyCode::Char('l') | KeyCode::Tab => d.column = 1,
            KeyCode::Up | KeyCode::Char('k') => {
                if d.column == 0 {
                    d.scope = d.scope.saturating_sub(1);
                } else {
                    d.format = d.format.saturating_sub(1);
                }
            }
            KeyCode::Down | KeyCode::Char('j') => {
                if d.column == 0 {
                    d.scope = (d.scope + 1).min(EXPORT_SCOPES.len() - 1);
                } else {
                    d.format = (d.format + 1).min(ExportFormat::ALL.len() - 1);
                }
            }
            KeyCode::Char('r') => d.redact = Some(!d.redacts(ExportFormat::ALL[d.format])),
            KeyCode::Enter => {
                let (scope, format) = (EXPORT_SCOPES[d.scope], ExportFormat::ALL[d.format]);
                self.overlay = Some(Overlay::Export(d.clone()));
                let path = self.default_export_path(scope, format);
                self.open_input(InputKind::ExportPath, path);
            }
            _ => {}
        }
    }

    fn default_export_path(&self, scope: Scope, format: ExportFormat) -> String {
        let stem = self
            .inputs
            .first()
            .and_then(|p| p.file_stem())
            .map_or("lyncscope".to_string(), |s| {
                s.to_string_lossy().into_owned()
            });
        let which = match scope {
            Scope::Selected => self
                .selected_id()
                .map_or("none".into(), |id| format!("{}", id.0)),
            other => other.as_str().to_string(),
        };
        format!("{stem}-{which}.{}", format.extension())
    }

    /// Ids of an export scope, in list order.
    pub fn scope_ids(&self, scope: Scope) -> Vec<ExchId> {
        match scope {
            Scope::All => self.analysis.exchanges.iter().map(|x| x.id).collect(),
            Scope::Shown => self
                .rows
                .iter()
                .copied()
                .filter(|id| self.matched.get(id.0 as usize) == Some(&true))
                .collect(),
            Scope::Marked => self
                .rows
                .iter()
                .copied()
                .filter(|id| self.notes.is_marked(*id))
                .collect(),
            Scope::Selected => self.selected_id().into_iter().collect(),
        }
    }

    fn run_export(&mut self, path: &str) {
        let Some(Overlay::Export(d)) = self.overlay.take() else {
            return;
        };
        let (scope, format) = (EXPORT_SCOPES[d.scope], ExportFormat::ALL[d.format]);
        let ids = self.scope_ids(scope);
        let path = PathBuf::from(path.trim());
        let redaction = if d.redacts(format) {
            crate::report::export::Redact::Redact
        } else {
            crate::report::export::Redact::Keep
        };
        match crate::report::export::export_to_file_with(
            &self.analysis,
            &self.notes,
            &ids,
            format,
            redaction,
            &path,
        ) {
            Ok(n) => self.say(format!(
                "wrote {} as {} to {}",
                count(n, "exchange"),
                format.title(),
                path.display()
            )),
            Err(e) => self.complain(format!("export failed: {e}")),
        }
    }

    // ---------------------------------------------------------------- mouse

    pub fn on_mouse(&mut self, ev: MouseEvent) {
        if !self.mouse || self.overlay.is_some() || self.input.is_some() {
            return;
        }
        let inside = |r: Rect| {
            ev.column >= r.x
                && ev.column < r.x + r.width
                && ev.row >= r.y
                && ev.row < r.y + r.height
        };
        let r = self.regions;
        match ev.kind {
            MouseEventKind::ScrollDown | MouseEventKind::ScrollUp => {
                let by = if ev.kind == MouseEventKind::ScrollDown {
                    3
                } else {
                    -3
                };
                if inside(r.list) {
                    self.focus = Focus::List;
                    self.move_by(by);
                } else if inside(r.lower) {
                    self.focus = Focus::Lower;
                    self.navigate(if by > 0 { Action::Down } else { Action::Up });
                    self.navigate(if by > 0 { Action::Down } else { Action::Up });
                    self.navigate(if by > 0 { Action::Down } else { Action::Up });
                }
            }
            MouseEventKind::Down(MouseButton::Left) => {
                if inside(r.list) {
                    self.focus = Focus::List;
                    if ev.row + 1 == r.list_first_row {
                        // The header: sort by the clicked column (hidden ones have x 0).
                        let col = (0..Column::ALL.len())
                            .filter(|i| r.column_x[*i] > 0 && r.column_x[*i] <= ev.column)
                            .max_by_key(|i| r.column_x[*i]);
                        if let Some(c) = col.and_then(|i| Column::ALL.get(i)) {
                            self.sort_by(*c);
                        }
                    } else if ev.row >= r.list_first_row {
                        let i = r.list_offset + (ev.row - r.list_first_row) as usize;
                        if i < self.rows.len() {
                            self.select(i);
                        }
                    }
                } else if inside(r.lower) {
                    self.focus = Focus::Lower;
                    if self.lower == LowerPane::Timeline {
                        let theme = super::theme::Theme::plain();
                        let hit = super::views::timeline::hit_item(
                            r.lower,
                            &super::views::timeline::TimelineInput {
                                analysis: &self.analysis,
                                rows: &self.rows,
                                selected: self.selected_id(),
                                notes: &self.notes,
                                dimmed: None,
                                theme: &theme,
                            },
                            &self.timeline_cache,
                            &self.timeline,
                            ev.column,
                            ev.row,
                        );
                        match hit {
                            Some(crate::presentation::timeline::Item::Exchange(id)) => {
                                if let Some(i) = self.rows.iter().position(|x| *x == id) {
                                    self.select(i);
                                }
                            }
                            // Lookups and connections are not list rows: the status line
                            // says what they are.
                            Some(item) => {
                                if let Some(t) =
                                    crate::presentation::timeline::item_title(&self.analysis, item)
                                {
                                    self.say(t);
                                }
                            }
                            None => {}
                        }
                    }
                }
            }
            _ => {}
        }
    }
}

/// Sort key of one column (stable: ties keep capture order).
fn sort_rows(a: &Analysis, rows: &mut [ExchId], column: Column) {
    let x = |id: &ExchId| a.exchanges.get(id.0 as usize);
    match column {
        Column::Number => rows.sort_by_key(|id| id.0),
        Column::Time => rows.sort_by_key(|id| x(id).and_then(|x| x.timing.first()).map(|a| a.ts)),
        Column::Stage => rows.sort_by_cached_key(|id| {
            let stage = x(id).and_then(|x| x.stage.as_ref()).map(|s| s.id.clone());
            let order = stage
                .as_deref()
                .and_then(|s| a.stages.iter().position(|st| st.id == s))
                .unwrap_or(usize::MAX);
            (order, stage)
        }),
        Column::Outcome => rows.sort_by_key(|id| {
            x(id)
                .and_then(|x| x.stage.as_ref())
                .map(|s| s.outcome.as_str())
        }),
        Column::Method => rows.sort_by_cached_key(|id| {
            x(id)
                .and_then(|x| x.request.as_ref())
                .map(|r| r.method.clone())
        }),
        Column::Status => {
            rows.sort_by_key(|id| x(id).and_then(|x| x.response.as_ref()).map(|r| r.status))
        }
        Column::Host => rows.sort_by_cached_key(|id| {
            x(id)
                .and_then(|x| x.request.as_ref())
                .and_then(|r| r.host())
                .map(str::to_ascii_lowercase)
        }),
        Column::Path => rows.sort_by_cached_key(|id| {
            x(id)
                .and_then(|x| x.request.as_ref())
                .map(|r| r.target.clone())
        }),
        Column::ContentType => rows.sort_by_cached_key(|id| {
            x(id)
                .and_then(|x| x.response.as_ref())
                .and_then(|r| r.headers.get("content-type"))
                .map(str::to_ascii_lowercase)
        }),
        Column::ReqSize => rows.sort_by_key(|id| {
            x(id)
                .and_then(|x| x.request.as_ref())
                .map(|r| r.body.wire_length)
        }),
        Column::RespSize => rows.sort_by_key(|id| {
            x(id)
                .and_then(|x| x.response.as_ref())
                .map(|r| r.body.wire_length)
        }),
        Column::Duration => rows.sort_by_key(|id| x(id).and_then(duration_ns)),
        Column::Connection => rows.sort_by_key(|id| x(id).map(|x| x.connection.0)),
        Column::Protocol => rows.sort_by_key(|id| {
            x(id).map(|x| (x.http_version as u8, x.stream.as_deref().map(|s| s.id)))
        }),
        Column::Tls => rows.sort_by_key(|id| {
            x(id).map(|x| {
                a.connections
                    .get(x.connection.0 as usize)
                    .and_then(|c| c.tls.as_ref())
                    .map(|t| t.decrypted)
            })
        }),
    }
}
