//! HTTP/2 in the terminal UI, on the corpus's Chrome-to-YouTube capture (15 streams on one
//! connection, keys in the capture): the list's Protocol column, the waterfall and ladder
//! labels, the detail's stream and frames. Facts from tshark's view of the capture
//! (reference/ja4/http2-with-cookies.pcapng.json, `http2_streams`).

mod common;

use common::screen::screen;
use lyncscope::model::{Analysis, Notes};
use lyncscope::tui::app::App;
use lyncscope::{analyze, Options};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::path::PathBuf;
use std::sync::Arc;

const CAPTURE: &str = "ja4/http2-with-cookies.pcapng";

fn load() -> Option<(Analysis, serde_json::Value, PathBuf)> {
    let corpus = common::corpus()?;
    let cap = corpus.join(CAPTURE);
    let reference = common::reference(&corpus, &cap).expect("reference");
    let options = Options {
        rules: Some(Arc::new(lyncscope::stage::RuleSet::builtin())),
        ..Options::default()
    };
    let a = analyze(std::slice::from_ref(&cap), &options, &mut ()).unwrap();
    Some((a, reference, cap))
}

fn press(app: &mut App, keys: &str) {
    for k in keys.split_whitespace() {
        let code = match k {
            "<Tab>" => KeyCode::Tab,
            "<Down>" => KeyCode::Down,
            "<Enter>" => KeyCode::Enter,
            s => KeyCode::Char(s.chars().next().unwrap()),
        };
        app.on_key(KeyEvent::new(code, KeyModifiers::NONE));
    }
}

/// tshark's streams: (stream id, request frame, status).
fn streams(reference: &serde_json::Value) -> Vec<(u64, u64, u64)> {
    reference["http2_streams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["stream_id"].as_u64().unwrap(),
                s["request"]["frame"].as_u64().unwrap(),
                s["response"]["status"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn app() -> Option<(App, serde_json::Value)> {
    let (a, reference, cap) = load()?;
    Some((
        App::new(Arc::new(a), Notes::default(), vec![cap]),
        reference,
    ))
}

/// The list row of exchange `n` (rows start with `│n `).
fn list_row(screen: &str, n: usize) -> String {
    screen
        .lines()
        .find(|l| {
            l.strip_prefix('│')
                .and_then(|r| r.split_whitespace().next())
                .is_some_and(|c| c == n.to_string())
        })
        .unwrap_or_else(|| panic!("no row #{n} in\n{screen}"))
        .to_string()
}

#[test]
fn the_list_shows_each_exchanges_stream_and_status_as_tshark_does() {
    let Some((mut app, reference)) = app() else {
        return;
    };
    let a = Arc::clone(&app.analysis);
    let want = streams(&reference);
    assert_eq!(want.len(), 15);
    let s = screen(&mut app, 160, 70);
    for (id, request_frame, status) in &want {
        let x = a
            .exchanges
            .iter()
            .find(|x| x.stream.as_ref().is_some_and(|st| u64::from(st.id) == *id))
            .unwrap_or_else(|| panic!("no exchange for stream {id}"));
        assert_eq!(
            x.timing.request_start().map(|r| r.frame.0),
            Some(*request_frame)
        );
        let row = list_row(&s, x.id.0 as usize);
        assert!(row.contains(&format!(" h2 s{id} ")), "{row}");
        assert!(row.contains(&format!(" {status} ")), "{row}");
    }
    // At 80×24 the protocol stays beside the status and the outcome.
    let small = screen(&mut app, 80, 24);
    let header = small.lines().find(|l| l.starts_with("│#")).unwrap();
    for column in ["Status", "Outcome", "Proto"] {
        assert!(header.contains(column), "{small}");
    }
    assert!(list_row(&small, 0).contains(" 301 "), "{small}");
    assert!(list_row(&small, 0).contains(" h2 s1 "), "{small}");
    insta::assert_snapshot!("h2_list_80", small);
}

#[test]
fn the_detail_lists_a_streams_frames_and_pseudo_headers() {
    let Some((mut app, reference)) = app() else {
        return;
    };
    // tshark: stream 5, its request in frame 37, its response's HEADERS in frame 89.
    let s5 = reference["http2_streams"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["stream_id"] == 5)
        .unwrap()
        .clone();
    let a = Arc::clone(&app.analysis);
    let x = a
        .exchanges
        .iter()
        .find(|x| x.stream.as_ref().is_some_and(|st| st.id == 5))
        .unwrap();
    press(&mut app, &"<Down> ".repeat(x.id.0 as usize));
    let s = screen(&mut app, 100, 60);
    let lines: Vec<&str> = s.lines().collect();
    let head = lines
        .iter()
        .position(|l| l.contains("Frames of stream 5"))
        .unwrap_or_else(|| panic!("{s}"));
    let first = lines[head + 2];
    let request_frame = s5["request"]["frame"].as_u64().unwrap().to_string();
    assert!(first.contains("→") && first.contains("HEADERS"), "{first}");
    assert!(first.contains(&format!(" {request_frame} ")), "{first}");
    assert!(first.contains("END_STREAM END_HEADERS"), "{first}");
    let second = lines[head + 3];
    let response_frame = s5["response"]["frame"].as_u64().unwrap().to_string();
    assert!(
        second.contains("←") && second.contains("HEADERS"),
        "{second}"
    );
    assert!(second.contains(&format!(" {response_frame} ")), "{second}");
    // The time is counted from the one origin, as the Timing section's.
    let origin = lyncscope::presentation::timeline::time_origin(&a).unwrap();
    let t = x.timing.request_start().unwrap().ts.secs_since(origin);
    assert!(first.contains(&format!("+{t:.6}")), "{first}");
    // DATA bytes of the stream (tshark's data_bytes_server) are the DATA frames' lengths,
    // less padding: Chrome's server sends none.
    let st = x.stream.as_deref().unwrap();
    let data: u64 = st
        .frames
        .iter()
        .filter(|f| f.kind == 0 && f.dir == lyncscope::model::Dir::ServerToClient)
        .map(|f| u64::from(f.len))
        .sum();
    assert_eq!(st.frames_dropped, 0);
    assert_eq!(data, s5["data_bytes_server"].as_u64().unwrap());
    insta::assert_snapshot!("h2_detail_stream5", s);
    // The Request tab shows the pseudo-header fields as sent, first.
    press(&mut app, "<Tab> l");
    let req = screen(&mut app, 100, 40);
    for (name, key) in [
        (":method", "method"),
        (":authority", "authority"),
        (":scheme", "scheme"),
        (":path", "path"),
    ] {
        let value = s5["request"][key].as_str().unwrap();
        let shown = format!("{name}: {}", &value[..value.len().min(40)]);
        assert!(req.contains(&shown), "{shown}\n{req}");
    }
}

#[test]
fn the_waterfall_groups_a_connections_streams_and_the_ladder_names_them() {
    let Some((mut app, reference)) = app() else {
        return;
    };
    let want = streams(&reference);
    let a = Arc::clone(&app.analysis);
    let conn = a.exchanges[0].connection.0;
    // tshark: all 15 streams on TCP stream 0, one connection.
    assert!(reference["http2_streams"]
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["tcp_stream"] == 0));
    press(&mut app, "t t");
    let fall = screen(&mut app, 120, 40);
    let rows: Vec<&str> = fall
        .lines()
        .filter(|l| l.starts_with(&format!("│ C{conn}")))
        .collect();
    assert_eq!(rows.len(), want.len(), "{fall}");
    // One bracket over the connection's rows, each naming its stream, in tshark's order.
    for (n, ((id, _, status), row)) in want.iter().zip(&rows).enumerate() {
        let glyph = match n {
            0 => '┬',
            n if n + 1 == want.len() => '└',
            _ => '├',
        };
        assert!(row.contains(&format!("C{conn}{glyph}s{id} ")), "{row}");
        assert!(row.contains(&format!(" {status} GET ")), "{row}");
    }
    // Streams 5 to 29 were asked within 60 ms: their bars start in the same columns, side by
    // side on the one connection.
    let bar_start = |row: &str| row.split('│').nth(2).map(|b| b.find('░'));
    let starts: Vec<usize> = rows[2..]
        .iter()
        .map(|r| bar_start(r).flatten().expect("a bar"))
        .collect();
    let (lo, hi) = (starts.iter().min().unwrap(), starts.iter().max().unwrap());
    assert!(hi - lo <= 2, "{starts:?}\n{fall}");
    insta::assert_snapshot!("h2_waterfall", fall);
    press(&mut app, "t");
    let ladder = screen(&mut app, 120, 40);
    for (id, _, status) in want.iter().take(2) {
        assert!(ladder.contains(&format!("C{conn} s{id} GET /")), "{ladder}");
        assert!(
            ladder.contains(&format!("C{conn} s{id} {status}─")),
            "{ladder}"
        );
    }
    insta::assert_snapshot!("h2_ladder", ladder);
}
