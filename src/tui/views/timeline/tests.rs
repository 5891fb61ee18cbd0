use super::axis::Window;
use super::state::TimelineKind;
use super::test_support::{
    all_rows, draw, draw_buffer, draw_input, hit_test, lines, reversed, sample_b, synthetic,
};
use super::*;
use crate::model::Notes;
use crate::tui::theme::Theme;
use ratatui::style::Modifier;

#[test]
fn marks_dims_untimed_and_single_exchanges() {
    let mut a = synthetic(5);
    a.exchanges[2].timing = Default::default();
    let rows = all_rows(&a);
    let mut notes = Notes::default();
    notes.set_mark(ExchId(1), true);
    let theme = Theme::plain();
    let dim = |id: ExchId| id.0 == 3;
    let input = TimelineInput {
        analysis: &a,
        rows: &rows,
        selected: Some(ExchId(4)),
        notes: &notes,
        dimmed: Some(&dim),
        theme: &theme,
    };
    let row_of = |screen: &[String], needle: &str| {
        screen
            .iter()
            .position(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("{needle} missing:\n{}", screen.join("\n")))
    };

    let mut s = TimelineState {
        kind: TimelineKind::Waterfall,
        ..Default::default()
    };
    let buf = draw_input(&input, &mut s, 100, 12);
    let screen = lines(&buf);
    assert!(screen[row_of(&screen, "#1 ")].contains('●'));
    assert!(screen[row_of(&screen, "#2 ")].contains("no timing"));
    let dimmed_row = row_of(&screen, "#3 ");
    assert!(buf[(5, dimmed_row as u16)]
        .style()
        .add_modifier
        .contains(Modifier::DIM));

    s.kind = TimelineKind::Ladder;
    let screen = lines(&draw_input(&input, &mut s, 100, 16));
    // The untimed exchange's arrows come last, without a time.
    let untimed = row_of(&screen, "GET /item/2");
    assert!(screen[untimed].contains('—'));
    assert!(untimed > row_of(&screen, "GET /item/4"));
    assert!(screen[row_of(&screen, "GET /item/1")].contains('●'));

    s.kind = TimelineKind::Swimlanes;
    let screen = lines(&draw_input(&input, &mut s, 100, 12));
    // #2 (the only `unrelated` one) has no time: no lane for it.
    assert!(screen.iter().all(|l| !l.contains("unrelated")));
    // alpha holds #0 and #3.
    let label: String = screen[row_of(&screen, "│alpha ")]
        .chars()
        .skip(1)
        .take_while(|c| *c != '│')
        .collect();
    assert!(label.ends_with(" 2"), "{label}");

    let one = synthetic(1);
    let rows = all_rows(&one);
    for (kind, needle) in [
        (TimelineKind::Swimlanes, "alpha"),
        (TimelineKind::Waterfall, "#0 "),
        (TimelineKind::Ladder, "GET /item/0"),
    ] {
        let mut s = TimelineState {
            kind,
            ..Default::default()
        };
        let screen = draw(&one, &rows, Some(ExchId(0)), &mut s, 80, 10);
        row_of(&screen, needle);
    }
}

#[test]
fn zoom_in_narrows_the_shown_range() {
    let mut s = TimelineState::default();
    let whole = Window::new(&s, 1000.0, 0, 100);
    s.zoom_in();
    let half = Window::new(&s, 1000.0, 0, 100);
    assert_eq!((whole.v0, whole.v1), (0.0, 1000.0));
    assert_eq!((half.v0, half.v1), (250.0, 750.0));

    // And on screen: the last tick label of the swimlane axis gets smaller.
    let a = sample_b();
    let rows = all_rows(a);
    let last_tick = |state: &mut TimelineState| -> f64 {
        state.offset = 0.0;
        let screen = draw(a, &rows, None, state, 120, 30);
        screen[1]
            .split('│')
            .skip(1)
            .filter_map(|t| t.split('s').next()?.trim().parse::<f64>().ok())
            .fold(f64::NAN, f64::max)
    };
    let mut s = TimelineState::default();
    let wide = last_tick(&mut s);
    s.zoom_in();
    s.zoom_in();
    let narrow = last_tick(&mut s);
    assert!(narrow < wide, "{narrow} < {wide}");
    let screen = draw(a, &rows, None, &mut s, 120, 30);
    assert!(screen[0].contains("Swimlanes zoom 4×"), "{}", screen[0]);
}

#[test]
fn a_zoomed_axis_follows_the_selection_once() {
    let a = sample_b();
    let rows = all_rows(a);
    let cache = TimelineCache::new(a, &rows);
    let (first, last) = (rows[0], *rows.last().unwrap());
    let at = |id: ExchId| {
        let span = exchange_span(&a.exchanges[id.0 as usize]).unwrap();
        cache.plot.axis.position(span.end) / cache.plot.total
    };
    let in_view = |s: &TimelineState, f: f64| f >= s.offset && f <= s.offset + 1.0 / s.zoom;
    let selection_drawn = |buf: &Buffer| {
        (1..buf.area.height as usize)
            .any(|y| (20..buf.area.width as usize - 1).any(|x| reversed(buf, x, y)))
    };
    let mut s = TimelineState::default();
    for _ in 0..4 {
        s.zoom_in();
    }
    s.offset = 0.0;
    assert!(!in_view(&s, at(last)));
    // Selecting the last exchange brings it into view, drawn selected.
    let buf = draw_buffer(a, &rows, Some(last), &mut s, 120, 30);
    assert!(in_view(&s, at(last)), "{s:?}");
    assert!(selection_drawn(&buf));
    // Panning away with the same selection stays where the user put it.
    s.offset = 0.0;
    draw_buffer(a, &rows, Some(last), &mut s, 120, 30);
    assert_eq!(s.offset, 0.0);
    // A new selection is followed again.
    s.offset = 1.0;
    draw_buffer(a, &rows, Some(first), &mut s, 120, 30);
    assert!(in_view(&s, at(first)), "{s:?}");
}

#[test]
fn zoom_labels() {
    assert_eq!(zoom_label(1.0), "1×");
}

#[test]
fn no_panic_on_tiny_areas_and_empty_analysis() {
    let a = sample_b();
    let rows = all_rows(a);
    let empty = Analysis::default();
    for kind in [
        TimelineKind::Swimlanes,
        TimelineKind::Waterfall,
        TimelineKind::Ladder,
    ] {
        for (w, h) in (0..=10).flat_map(|w| (0..=3).map(move |h| (w, h))) {
            let mut s = TimelineState {
                kind,
                ..Default::default()
            };
            draw(a, &rows, rows.get(3).copied(), &mut s, w, h);
            s.zoom_in();
            draw(&empty, &[], None, &mut s, w, h);
        }
        let mut s = TimelineState {
            kind,
            ..Default::default()
        };
        let screen = draw(&empty, &[], None, &mut s, 60, 8);
        assert!(screen.iter().any(|l| l.contains("No exchanges to show")));
        // hit_test on an empty analysis finds nothing.
        let notes = Notes::default();
        let theme = Theme::plain();
        let cache = TimelineCache::new(&empty, &[]);
        let input = TimelineInput {
            analysis: &empty,
            rows: &[],
            selected: None,
            notes: &notes,
            dimmed: None,
            theme: &theme,
        };
        for (x, y) in [(0, 0), (5, 3), (30, 4)] {
            assert_eq!(
                hit_test(Rect::new(0, 0, 60, 8), &input, &cache, &s, x, y),
                None
            );
        }
    }
}
