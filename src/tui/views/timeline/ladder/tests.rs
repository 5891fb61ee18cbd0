use super::super::state::TimelineKind;
use super::super::test_support::{
    all_rows, assert_kept_snapshot, draw, draw_buffer, hit_test, reversed, sample_b, synthetic,
};
use super::super::TimelineCache;
use super::*;
use crate::model::Notes;
use crate::tui::theme::Theme;

fn state() -> TimelineState {
    TimelineState {
        kind: TimelineKind::Ladder,
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
        "lyncscope__tui__views__ladder__tests__snapshot_sample_b",
        &screen.join("\n"),
    );
}

#[test]
fn endpoints_and_first_events_follow_the_script() {
    let a = sample_b();
    let rows = all_rows(a);
    let cache = TimelineCache::new(a, &rows);
    let flow = &cache.ladder;
    // The client 198.51.100.77 is the leftmost column; the public resolver and the
    // reverse proxy (pool 1, :443) are columns too.
    assert_eq!(flow.endpoints[0].addr, "198.51.100.77");
    let addrs: Vec<&str> = flow.endpoints.iter().map(|e| e.addr.as_str()).collect();
    assert!(addrs.contains(&"198.51.100.53:53"), "{addrs:?}");
    assert!(addrs.contains(&"203.0.113.10:443"), "{addrs:?}");
    // B01: the first event is the query for lyncdiscoverinternal.contoso.com, answered
    // NXDOMAIN, drawn client → resolver and back.
    let first = flow.events[0];
    match first.what {
        What::Query(id) => assert_eq!(a.lookup(id).qname, "lyncdiscoverinternal.contoso.com"),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        (first.from, flow.endpoints[first.to].addr.as_str()),
        (0, "198.51.100.53:53")
    );
    let mut s = state();
    let screen = draw(a, &rows, None, &mut s, 120, 30);
    assert!(
        screen[3].contains("A lyncdis") && screen[3].contains('►'),
        "{}",
        screen[3]
    );
    assert!(
        screen[4].contains("NXDOMAIN") && screen[4].contains('◄'),
        "{}",
        screen[4]
    );
    // B05: the first request is GET /?sipuri=alice@contoso.com, answered 200.
    let req = screen
        .iter()
        .position(|l| l.contains("GET /?sipuri=alice@contoso.com"))
        .unwrap();
    assert!(screen[req + 1..].iter().any(|l| l.contains("200 OK")));
}

#[test]
fn clicking_an_arrow_selects_its_exchange_and_zoom_widens_columns() {
    let a = sample_b();
    let rows = all_rows(a);
    let cache = TimelineCache::new(a, &rows);
    let notes = Notes::default();
    let theme = Theme::plain();
    let mut s = state();
    let screen = draw(a, &rows, None, &mut s, 120, 30);
    let y = screen
        .iter()
        .position(|l| l.contains("GET /?sipuri="))
        .unwrap();
    let x = screen[y].chars().position(|c| c == '►').unwrap();
    let input = TimelineInput {
        analysis: a,
        rows: &rows,
        selected: None,
        notes: &notes,
        dimmed: None,
        theme: &theme,
    };
    let area = Rect::new(0, 0, 120, 30);
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
    assert_eq!(
        hit_test(area, &input, &cache, &s, x as u16, y as u16),
        Some(b05)
    );
    // DNS rows and the header select nothing.
    assert_eq!(hit_test(area, &input, &cache, &s, x as u16, 3), None);
    assert_eq!(hit_test(area, &input, &cache, &s, x as u16, 1), None);

    let narrow = layout(Rect::new(1, 1, 118, 28), &cache.ladder, &s).spacing;
    s.zoom_in();
    let wide = layout(Rect::new(1, 1, 118, 28), &cache.ladder, &s).spacing;
    assert!(wide > narrow, "{wide} > {narrow}");
    // Selected, its request arrow is reversed.
    let mut s = state();
    let buf = draw_buffer(a, &rows, Some(b05), &mut s, 120, 30);
    assert!(reversed(&buf, x, y));
    assert!(!reversed(&buf, x, 3));
    s.zoom_in();
    s.pan_right();
    draw(a, &rows, Some(b05), &mut s, 120, 30);
}

#[test]
fn one_server() {
    // Every exchange to the same server: two columns.
    let mut a = synthetic(3);
    for c in &mut a.connections {
        c.server = std::net::SocketAddr::from(([10, 0, 0, 1], 80));
    }
    let rows = all_rows(&a);
    assert_eq!(TimelineCache::new(&a, &rows).ladder.endpoints.len(), 2);
    let mut s = state();
    let screen = draw(&a, &rows, Some(ExchId(1)), &mut s, 60, 10);
    assert!(
        screen.iter().any(|l| l.contains("GET /item/0")),
        "{}",
        screen.join("\n")
    );
    assert_eq!(strip_port("host:8080"), "host");
    assert_eq!(strip_port("[::1]:80"), "[::1]");
    assert_eq!(strip_port("host"), "host");
}
