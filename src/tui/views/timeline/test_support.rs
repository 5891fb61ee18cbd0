//! What the time views' tests share: the sample and a synthetic analysis, drawing the whole
//! time view into a test terminal, reading the screen back, and the kept snapshots.

use super::{hit_item, render_timeline, TimelineCache, TimelineInput, TimelineState};
use crate::model::{Analysis, ExchId, Notes};
use crate::presentation::timeline::Item;
use crate::tui::theme::Theme;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::Terminal;
use std::sync::OnceLock;

/// The exchange under a mouse click at (column,row), if any (the views' tests ask this).
pub fn hit_test(
    area: Rect,
    input: &TimelineInput,
    cache: &TimelineCache,
    state: &TimelineState,
    column: u16,
    row: u16,
) -> Option<ExchId> {
    match hit_item(area, input, cache, state, column, row)? {
        Item::Exchange(id) => Some(id),
        Item::Dns(_) | Item::Connection(_) => None,
    }
}

/// Sample B analysed with the built-in rules (once per test binary).
pub fn sample_b() -> &'static Analysis {
    static A: OnceLock<Analysis> = OnceLock::new();
    A.get_or_init(|| {
        let path = crate::testkit::sample("lync/B-external-home-pool-redirect.pcapng");
        let mut opts = crate::Options {
            rules: Some(std::sync::Arc::new(crate::stage::RuleSet::builtin())),
            ..Default::default()
        };
        opts.http.keep_body_max = 1 << 20;
        crate::analyze(&[path], &opts, &mut ()).unwrap()
    })
}

pub fn all_rows(a: &Analysis) -> Vec<ExchId> {
    a.exchanges.iter().map(|x| x.id).collect()
}

/// Renders into a test terminal and returns the screen as text lines.
pub fn draw(
    a: &Analysis,
    rows: &[ExchId],
    selected: Option<ExchId>,
    state: &mut TimelineState,
    width: u16,
    height: u16,
) -> Vec<String> {
    lines(&draw_buffer(a, rows, selected, state, width, height))
}

pub fn lines(buf: &Buffer) -> Vec<String> {
    (0..buf.area.height)
        .map(|y| {
            (0..buf.area.width)
                .map(|x| buf[(x, y)].symbol().to_string())
                .collect::<String>()
        })
        .collect()
}

/// Renders into a test terminal (plain theme, nothing marked) and returns its buffer.
pub fn draw_buffer(
    a: &Analysis,
    rows: &[ExchId],
    selected: Option<ExchId>,
    state: &mut TimelineState,
    width: u16,
    height: u16,
) -> Buffer {
    let notes = Notes::default();
    let theme = Theme::plain();
    let input = TimelineInput {
        analysis: a,
        rows,
        selected,
        notes: &notes,
        dimmed: None,
        theme: &theme,
    };
    draw_input(&input, state, width, height)
}

pub fn draw_input(
    input: &TimelineInput,
    state: &mut TimelineState,
    width: u16,
    height: u16,
) -> Buffer {
    let cache = TimelineCache::new(input.analysis, input.rows);
    let mut term = Terminal::new(TestBackend::new(width, height)).unwrap();
    term.draw(|f| render_timeline(f, f.area(), input, &cache, state, true))
        .unwrap();
    term.backend().buffer().clone()
}

/// Whether the cell at (x, y) is drawn reversed (the selection).
pub fn reversed(buf: &Buffer, x: usize, y: usize) -> bool {
    buf[(x as u16, y as u16)]
        .style()
        .add_modifier
        .contains(Modifier::REVERSED)
}

/// Checks `screen` against a snapshot file named `name` in `views/snapshots/`. The views'
/// snapshots were reviewed before the views moved into `timeline/`; they keep their file
/// names (which insta derives from the module path) and their folder.
pub fn assert_kept_snapshot(name: &str, screen: &str) {
    insta::with_settings!({
        snapshot_path => "../snapshots",
        prepend_module_to_snapshot => false,
    }, {
        insta::assert_snapshot!(name, screen);
    });
}

/// `n` exchanges, ten per connection, 50 ms apart, with a long pause in the middle.
pub fn synthetic(n: u32) -> Analysis {
    use crate::model::Outcome;
    use crate::testkit::{arrival, AnalysisBuilder, ConnectionBuilder, ExchangeBuilder};
    use std::net::SocketAddr;
    let t0 = 1_435_600_000_000_000_000i64;
    let at = |i: u32| {
        let pause = if i >= n / 2 { 600_000_000_000 } else { 0 };
        t0 + i64::from(i) * 50_000_000 + pause
    };
    let conns = n.div_ceil(10);
    let connections = (0..conns).map(|c| {
        ConnectionBuilder::new(
            c,
            SocketAddr::from(([10, 0, 0, 1], 40000 + (c % 20000) as u16)),
            SocketAddr::from(([192, 0, 2, (c % 200) as u8], 443)),
        )
        .seen(
            arrival(1, at(c * 10) - 1_000_000),
            arrival(1, at((c * 10 + 9).min(n - 1)) + 20_000_000),
        )
        .packets(1, 1)
        .exchanges((c * 10..(c * 10 + 10).min(n)).map(ExchId))
    });
    let exchanges = (0..n).map(|i| {
        let failed = i % 7 == 0;
        ExchangeBuilder::new(i)
            .connection(i / 10)
            .request("GET", &format!("/item/{i}"))
            .host("example.org")
            .status(if failed { 404 } else { 200 })
            .reason("OK")
            .request_times(arrival(1, at(i)), arrival(1, at(i) + 1_000_000))
            .response_times(
                arrival(1, at(i) + 10_000_000),
                arrival(1, at(i) + 20_000_000),
            )
            .stage(
                ["alpha", "beta", "unrelated"][(i % 3) as usize],
                if failed { Outcome::Fail } else { Outcome::Ok },
                "test",
            )
    });
    AnalysisBuilder::new()
        .connections(connections)
        .exchanges(exchanges)
        .build()
}
