use super::super::state::TimelineKind;
use super::super::test_support::{
    all_rows, assert_kept_snapshot, draw, draw_buffer, hit_test, reversed, sample_b,
};
use super::super::TimelineCache;
use super::*;
use crate::model::Notes;

#[test]
fn snapshot_sample_b() {
    let a = sample_b();
    let rows = all_rows(a);
    let mut s = TimelineState::default();
    let screen = draw(a, &rows, rows.get(4).copied(), &mut s, 120, 30);
    assert_kept_snapshot(
        "lyncscope__tui__views__swimlanes__tests__snapshot_sample_b",
        &screen.join("\n"),
    );
}

#[test]
fn every_stage_of_the_sample_is_a_lane_label_in_flow_order() {
    let a = sample_b();
    let rows = all_rows(a);
    let mut s = TimelineState::default();
    let screen = draw(a, &rows, None, &mut s, 120, 30);
    let mut stages: Vec<&str> = a
        .exchanges
        .iter()
        .filter_map(|x| x.stage.as_deref().map(|t| t.id.as_str()))
        .chain(
            a.dns
                .iter()
                .filter_map(|l| l.stage.as_ref().map(|t| t.id.as_str())),
        )
        .collect();
    stages.sort_unstable();
    stages.dedup();
    // The script's stages (B01/B02 dns-discovery, B11 dns-hop, webticket-oauth …).
    for id in [
        "dns-discovery",
        "dns-hop",
        "ad-root-https",
        "webticket-oauth",
        "ad-user",
    ] {
        assert!(stages.contains(&id), "{id} tagged in the sample");
    }
    let mut last_line = 0;
    let cache = TimelineCache::new(a, &rows);
    for id in cache.lanes.lane_ids() {
        let line = screen
            .iter()
            .position(|l| l.starts_with(&format!("│{id} ")))
            .unwrap_or_else(|| panic!("lane {id} missing:\n{}", screen.join("\n")));
        assert!(line > last_line, "{id} out of order");
        last_line = line;
    }
    for id in &stages {
        assert!(cache.lanes.lane_ids().contains(id), "{id}");
    }
    // Lanes follow the rules' flow order, unrelated last.
    let order: Vec<usize> = cache
        .lanes
        .lane_ids()
        .iter()
        .filter_map(|id| a.stages.iter().position(|s| s.id == *id))
        .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]));
}

#[test]
fn clicking_a_bar_selects_its_exchange() {
    let a = sample_b();
    let rows = all_rows(a);
    let cache = TimelineCache::new(a, &rows);
    let notes = Notes::default();
    let theme = Theme::plain();
    let area = Rect::new(0, 0, 120, 30);
    // The ad-root-https lane holds exactly B05 (GET lyncdiscover.contoso.com/?sipuri=…).
    let b05 = a
        .exchanges
        .iter()
        .find(|x| {
            x.request
                .as_ref()
                .is_some_and(|r| r.target.starts_with("/?sipuri="))
        })
        .unwrap()
        .id;
    let mut state = TimelineState {
        kind: TimelineKind::Swimlanes,
        ..Default::default()
    };
    let screen = draw(a, &rows, None, &mut state, 120, 30);
    let y = screen
        .iter()
        .position(|l| l.starts_with("│ad-root-https "))
        .unwrap();
    let line: Vec<char> = screen[y].chars().collect();
    let sep = line.iter().skip(1).position(|c| *c == '│').unwrap() + 1;
    let x = (sep + 1..line.len() - 1)
        .find(|&x| !matches!(line[x], ' ' | '┊'))
        .unwrap();
    let input = TimelineInput {
        analysis: a,
        rows: &rows,
        selected: None,
        notes: &notes,
        dimmed: None,
        theme: &theme,
    };
    assert_eq!(
        hit_test(area, &input, &cache, &state, x as u16, y as u16),
        Some(b05)
    );
    // The label column and the axis row select nothing.
    assert_eq!(hit_test(area, &input, &cache, &state, 3, y as u16), None);
    assert_eq!(hit_test(area, &input, &cache, &state, x as u16, 1), None);

    // Selected, the bar is drawn reversed, and nothing else is.
    let buf = draw_buffer(a, &rows, Some(b05), &mut state, 120, 30);
    assert!(reversed(&buf, x, y));
    let reversed_cells = (0..30)
        .flat_map(|y| (0..120).map(move |x| (x, y)))
        .filter(|&(x, y)| reversed(&buf, x, y))
        .count();
    assert!(reversed_cells <= 8, "{reversed_cells}");
}
