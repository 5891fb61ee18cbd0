use super::super::state::TimelineKind;
use super::super::test_support::{
    all_rows, assert_kept_snapshot, draw, draw_buffer, hit_test, reversed, sample_b, synthetic,
};
use super::super::TimelineCache;
use super::*;
use crate::model::Notes;

fn state() -> TimelineState {
    TimelineState {
        kind: TimelineKind::Waterfall,
        ..Default::default()
    }
}

#[test]
fn snapshot_sample_b() {
    let a = sample_b();
    let rows = all_rows(a);
    let mut s = state();
    let screen = draw(a, &rows, rows.get(4).copied(), &mut s, 120, 30);
    assert_kept_snapshot(
        "lyncscope__tui__views__waterfall__tests__snapshot_sample_b",
        &screen.join("\n"),
    );
}

#[test]
fn rows_follow_the_list_and_show_reuse_and_setup() {
    let a = sample_b();
    let rows = all_rows(a);
    let mut s = state();
    let screen = draw(a, &rows, None, &mut s, 120, 30);
    // Exchange #0 is on the first row, #1 on the second (list order).
    assert!(screen[2].contains("#0 "), "{}", screen[2]);
    assert!(screen[3].contains("#1 "), "{}", screen[3]);
    // Script B06–B10 share one connection: its name, as the list and the reports write it,
    // on all five rows.
    let c3: Vec<&Exchange> = a
        .exchanges
        .iter()
        .filter(|x| {
            x.request
                .as_ref()
                .and_then(|r| r.host())
                .is_some_and(|h| h.starts_with("webext-pool1"))
        })
        .collect();
    assert!(c3.len() >= 5);
    for x in &c3 {
        let label = format!("C{} #{} ", x.connection.0, x.id.0);
        assert!(screen.iter().any(|l| l.contains(&label)), "{label}");
    }
    assert!(c3.iter().all(|x| x.connection == c3[0].connection));
    // A new connection's first exchange shows its setup.
    assert!(screen.iter().any(|l| l.contains('┄')));
}

#[test]
fn selection_scrolls_into_view_and_clicks_select_rows() {
    let a = sample_b();
    let rows = all_rows(a);
    let last = *rows.last().unwrap();
    let mut s = state();
    let screen = draw(a, &rows, Some(last), &mut s, 120, 12);
    assert!(s.scroll > 0);
    let y = screen
        .iter()
        .position(|l| l.contains(&format!(" #{} ", last.0)))
        .expect("selected row visible");
    let notes = Notes::default();
    let theme = Theme::plain();
    let cache = TimelineCache::new(a, &rows);
    let input = TimelineInput {
        analysis: a,
        rows: &rows,
        selected: Some(last),
        notes: &notes,
        dimmed: None,
        theme: &theme,
    };
    let area = Rect::new(0, 0, 120, 12);
    // On the bar of that row.
    let line: Vec<char> = screen[y].chars().collect();
    let bar_x = line.iter().position(|c| *c == '█' || *c == '░').unwrap();
    assert_eq!(
        hit_test(area, &input, &cache, &s, bar_x as u16, y as u16),
        Some(last)
    );
    assert_eq!(hit_test(area, &input, &cache, &s, bar_x as u16, 1), None);
    assert_eq!(hit_test(area, &input, &cache, &s, bar_x as u16, 11), None);
    // The selected row is reversed from the label to the bar.
    let buf = draw_buffer(a, &rows, Some(last), &mut s, 120, 12);
    assert!(reversed(&buf, 3, y) && reversed(&buf, bar_x, y));
    assert!(!reversed(&buf, 3, y - 1));
}

#[test]
fn huge_lists_render_only_what_is_visible() {
    let a = synthetic(100_000);
    let rows = all_rows(&a);
    let t = std::time::Instant::now();
    let cache = TimelineCache::new(&a, &rows);
    let built = t.elapsed();
    let notes = Notes::default();
    let theme = Theme::colored();
    let mut term = ratatui::Terminal::new(ratatui::backend::TestBackend::new(120, 30)).unwrap();
    let t = std::time::Instant::now();
    for (i, kind) in [
        TimelineKind::Swimlanes,
        TimelineKind::Waterfall,
        TimelineKind::Ladder,
    ]
    .into_iter()
    .enumerate()
    {
        let mut s = TimelineState {
            kind,
            ..Default::default()
        };
        for sel in [0u32, 50_000, 99_999] {
            let input = TimelineInput {
                analysis: &a,
                rows: &rows,
                selected: Some(ExchId(sel + i as u32)),
                notes: &notes,
                dimmed: Some(&|id: ExchId| id.0.is_multiple_of(2)),
                theme: &theme,
            };
            term.draw(|f| {
                super::super::render_timeline(f, f.area(), &input, &cache, &mut s, false)
            })
            .unwrap();
        }
    }
    let frames = t.elapsed() / 9;
    // Generous bounds (unoptimised test build on a shared machine): a frame that walked
    // all 100k rows would still pass, so this mainly guards against accidental O(n²).
    assert!(built.as_secs() < 20, "cache {built:?}");
    assert!(frames.as_millis() < 2000, "frame {frames:?}");
}
