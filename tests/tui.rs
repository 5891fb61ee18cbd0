//! The terminal UI driven by scripted key sequences over ratatui's TestBackend: whole-screen
//! snapshots of each screen (reviewed by eye), and facts from the samples' scenario scripts.

mod common;

use common::screen::screen;
use lyncscope::model::{Analysis, ExchId, Notes};
use lyncscope::tui::app::App;
use lyncscope::tui::theme::Theme;
use lyncscope::{analyze, Options};
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{
    KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};
use ratatui::Terminal;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn sample(name: &str) -> PathBuf {
    lyncscope::testkit::sample("lync").join(name)
}

fn load(name: &str) -> Analysis {
    let mut options = Options {
        rules: Some(Arc::new(lyncscope::stage::RuleSet::builtin())),
        ..Options::default()
    };
    options.http.keep_body_max = 1 << 20;
    analyze(&[sample(name)], &options, &mut ()).unwrap()
}

fn script(name: &str) -> Value {
    let text = std::fs::read(sample(name)).unwrap();
    serde_json::from_slice(&text).unwrap()
}

/// An app on a sample whose marks and comments go to a temporary file, not next to the sample.
fn app(name: &str, notes_dir: &Path) -> App {
    let a = load(name);
    let notes = Notes::from_inputs(&a);
    let mut app = App::new(Arc::new(a), notes, vec![sample(name)]);
    app.notes_path = Some(notes_dir.join("notes.json"));
    app
}

fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

/// Presses keys: single characters, or <Enter> <Esc> <Tab> <Up> <Down> <Left> <Right> <C-u>.
fn press(app: &mut App, keys: &str) {
    for k in keys.split_whitespace() {
        let ev = match k {
            "<Enter>" => key(KeyCode::Enter),
            "<Esc>" => key(KeyCode::Esc),
            "<Tab>" => key(KeyCode::Tab),
            "<Up>" => key(KeyCode::Up),
            "<Down>" => key(KeyCode::Down),
            "<Left>" => key(KeyCode::Left),
            "<Right>" => key(KeyCode::Right),
            "<Space>" => key(KeyCode::Char(' ')),
            "<PgDn>" => key(KeyCode::PageDown),
            "<C-u>" => KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL),
            s if s.chars().count() == 1 => key(KeyCode::Char(s.chars().next().unwrap())),
            other => panic!("unknown key {other}"),
        };
        app.on_key(ev);
    }
}

/// Types text into the open input line.
fn type_text(app: &mut App, text: &str) {
    for c in text.chars() {
        app.on_key(key(KeyCode::Char(c)));
    }
}

/// Exchanges of the analysis that the script's HTTP steps with `status` describe.
fn script_exchanges_with_status(a: &Analysis, script: &Value, status: u64) -> Vec<ExchId> {
    let mut ids = Vec::new();
    for step in script["steps"].as_array().unwrap() {
        if step["kind"] != "http" || step["status"].as_u64() != Some(status) {
            continue;
        }
        let url = step["url"].as_str().unwrap();
        let path = url.splitn(4, '/').nth(3).map(|p| format!("/{p}")).unwrap();
        let method = step["method"].as_str().unwrap();
        let x = a
            .exchanges
            .iter()
            .find(|x| {
                x.request
                    .as_ref()
                    .is_some_and(|r| r.method == method && r.target == path)
                    && x.response.as_ref().map(|r| r.status as u64) == Some(status)
                    && !ids.contains(&x.id)
            })
            .unwrap_or_else(|| panic!("no exchange for step {}", step["step"]));
        ids.push(x.id);
    }
    ids
}

#[test]
fn opening_screen_list_and_detail() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = app("B-external-home-pool-redirect.pcapng", dir.path());
    let s = screen(&mut app, 160, 45);
    // The verdict from the script is in the title bar.
    let expect = &script("B-external-home-pool-redirect.script.json")["expect"];
    assert_eq!(expect["signed_in"], true);
    let title: String = s.lines().take(2).collect();
    assert!(title.contains("signed in"), "{s}");
    insta::assert_snapshot!("b_open", s);
}

#[test]
fn filter_selects_exactly_the_failing_step_and_is_validated_while_typing() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = app("D-user-404.pcapng", dir.path());
    let script = script("D-user-404.script.json");
    let expected = script_exchanges_with_status(&app.analysis, &script, 404);
    assert_eq!(expected.len(), 1);

    press(&mut app, "f");
    type_text(&mut app, "~c abc");
    let s = screen(&mut app, 160, 45);
    assert!(app.input.as_ref().unwrap().error.is_some());
    assert!(s.contains("✗"), "{s}");
    insta::assert_snapshot!("d_filter_error", s);

    press(&mut app, "<C-u>");
    type_text(&mut app, "~c 404");
    press(&mut app, "<Enter>");
    assert!(app.input.is_none());
    assert_eq!(app.rows, expected);
    // The script's stage for the failing step is shown.
    let s = screen(&mut app, 160, 45);
    assert!(s.contains("ad-user"), "{s}");
    insta::assert_snapshot!("d_filtered", s);

    // Dim instead of hide: every exchange is listed again, the 404 still selected.
    press(&mut app, "i");
    assert_eq!(app.rows.len(), app.analysis.exchanges.len());
    assert_eq!(app.selected_id(), Some(expected[0]));
}

#[test]
fn timeline_views_cycle_and_select_in_the_list() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = app("B-external-home-pool-redirect.pcapng", dir.path());
    press(&mut app, "t");
    let lanes = screen(&mut app, 160, 45);
    insta::assert_snapshot!("b_swimlanes", lanes);
    // Moving in the timeline moves the list's selection.
    press(&mut app, "j j");
    assert_eq!(app.selected, 2);
    press(&mut app, "t");
    insta::assert_snapshot!("b_waterfall", screen(&mut app, 160, 45));
    press(&mut app, "t");
    insta::assert_snapshot!("b_ladder", screen(&mut app, 160, 45));
    press(&mut app, "+ + <Left> 0");
    press(&mut app, "<Enter>");
    assert_eq!(app.lower, lyncscope::tui::state::LowerPane::Detail);
    assert_eq!(app.selected, 2);
}

#[test]
fn findings_panel_jumps_to_the_cited_exchanges() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = app("C-cert-mismatch.pcapng", dir.path());
    let script = script("C-cert-mismatch.script.json");
    press(&mut app, "F");
    let s = screen(&mut app, 160, 45);
    for f in script["expect"]["findings"].as_array().unwrap() {
        let check = f["check"].as_str().unwrap();
        assert!(s.contains(check), "{check} not shown\n{s}");
    }
    insta::assert_snapshot!("c_findings", s);
    // Enter on a finding selects the exchanges it cites: on D, the script's C-AD-3 rests on
    // the 404 of step D10.
    let mut d = crate::app("D-user-404.pcapng", dir.path());
    let d_script = crate::script("D-user-404.script.json");
    let failing = script_exchanges_with_status(&d.analysis, &d_script, 404)[0];
    let a = Arc::clone(&d.analysis);
    let i = a
        .findings
        .iter()
        .position(|f| f.check == "C-AD-3")
        .expect("the script expects C-AD-3");
    assert!(a.findings[i].exchanges.contains(&failing));
    press(&mut d, "F");
    for _ in 0..i {
        press(&mut d, "j");
    }
    press(&mut d, "<Enter>");
    assert_eq!(d.selected_id(), Some(a.findings[i].exchanges[0]));
    for _ in 1..a.findings[i].exchanges.len() {
        press(&mut d, "<Enter>");
    }
    assert_eq!(d.cited, a.findings[i].exchanges);
    assert!(d.cited.contains(&d.selected_id().unwrap()));
}

#[test]
fn detail_tabs_help_and_small_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = app("B-external-home-pool-redirect.pcapng", dir.path());
    // The first NTLM leg of the web ticket: the Auth tab.
    let a = Arc::clone(&app.analysis);
    let ntlm = a
        .exchanges
        .iter()
        .position(|x| {
            x.request
                .as_ref()
                .and_then(|r| r.headers.get("authorization"))
                .is_some_and(|v| v.starts_with("NTLM "))
        })
        .expect("an NTLM leg in sample B");
    for _ in 0..ntlm {
        press(&mut app, "j");
    }
    press(&mut app, "<Enter> <Left>");
    insta::assert_snapshot!("b_auth_tab", screen(&mut app, 160, 45));
    press(&mut app, "<Right> <Right>");
    insta::assert_snapshot!("b_request_tab", screen(&mut app, 160, 45));
    press(&mut app, "?");
    let help = screen(&mut app, 160, 45);
    insta::assert_snapshot!("help", help);
    // Paging through the help shows every binding of the key table and the filter syntax.
    let mut seen = help;
    for _ in 0..12 {
        press(&mut app, "<PgDn>");
        seen.push_str(&screen(&mut app, 160, 45));
    }
    for b in lyncscope::tui::keymap::BINDINGS {
        assert!(seen.contains(b.help), "help lacks {:?}", b.help);
    }
    for (syntax, _) in lyncscope::filter::syntax_help() {
        assert!(seen.contains(syntax), "help lacks {syntax}");
    }
    press(&mut app, "<Esc>");
    let small = screen(&mut app, 50, 10);
    assert!(small.contains("Terminal too small"), "{small}");
    // Every size down to nothing draws without panicking.
    for (w, h) in [
        (0, 0),
        (1, 1),
        (10, 3),
        (59, 12),
        (60, 11),
        (60, 12),
        (80, 24),
    ] {
        screen(&mut app, w, h);
    }
}

#[test]
fn marks_comments_and_export_dialog() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = app("D-user-404.pcapng", dir.path());
    let script = script("D-user-404.script.json");
    let failing = script_exchanges_with_status(&app.analysis, &script, 404)[0];
    let i = app.rows.iter().position(|x| *x == failing).unwrap();
    for _ in 0..i {
        press(&mut app, "j");
    }
    press(&mut app, "m");
    assert!(app.notes.is_marked(failing));
    press(&mut app, ";");
    type_text(&mut app, "user resource 404: not enabled for Lync?");
    press(&mut app, "<Enter>");
    assert_eq!(
        app.notes.comment(failing),
        Some("user resource 404: not enabled for Lync?")
    );
    // Saved where the app was told to save them.
    let saved = std::fs::read_to_string(dir.path().join("notes.json")).unwrap();
    assert!(saved.contains("not enabled for Lync"));

    // Export dialog: scope "Marked" (third), format "HAR" (second).
    press(&mut app, "x <Down> <Down> <Right> <Down>");
    insta::assert_snapshot!("d_export_dialog", screen(&mut app, 160, 45));
    press(&mut app, "<Enter> <C-u>");
    let out = dir.path().join("marked.har");
    type_text(&mut app, out.to_str().unwrap());
    press(&mut app, "<Enter>");
    let har: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let entries = har["log"]["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["response"]["status"], 404);
    assert_eq!(
        entries[0]["comment"],
        "user resource 404: not enabled for Lync?"
    );
}

#[test]
fn readme_lists_the_keys_of_the_key_table() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md");
    let readme = std::fs::read_to_string(&path).unwrap();
    let table = lyncscope::tui::keymap::markdown();
    if std::env::var_os("LYNCSCOPE_WRITE_README").is_some() {
        let (a, rest) = readme.split_once("<!-- keys:start -->").unwrap();
        let (_, b) = rest.split_once("<!-- keys:end -->").unwrap();
        let text = format!(
            "{a}<!-- keys:start -->\n{}\n<!-- keys:end -->{b}",
            table.trim()
        );
        std::fs::write(&path, text).unwrap();
        return;
    }
    let start = readme
        .find("<!-- keys:start -->")
        .expect("README has a keys section");
    let end = readme
        .find("<!-- keys:end -->")
        .expect("README keys section ends");
    assert_eq!(
        readme[start + "<!-- keys:start -->".len()..end].trim(),
        table.trim(),
        "README key list differs from src/tui/keymap.rs: LYNCSCOPE_WRITE_README=1 cargo test --test tui readme"
    );
}

#[test]
fn readme_timeline_capture_is_the_snapshot() {
    // The README's screen capture is the swimlane pane of the b_swimlanes snapshot.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let snap = std::fs::read_to_string(root.join("tests/snapshots/tui__b_swimlanes.snap")).unwrap();
    let pane: Vec<&str> = snap
        .lines()
        .skip_while(|l| !l.starts_with("┌ Swimlanes"))
        .collect();
    let end = pane.iter().position(|l| l.starts_with('└')).unwrap();
    let block = pane[..=end].join("\n");
    assert!(
        readme.contains(&block),
        "README's timeline capture differs from tests/snapshots/tui__b_swimlanes.snap"
    );
}

#[test]
fn list_fills_in_while_loading_and_keeps_the_selection() {
    // Sample D: the live feed gives the exchanges as they complete; the list shows them in
    // two steps, the selection stays on its exchange, and the finished analysis replaces them.
    let name = "D-user-404.pcapng";
    let feed = lyncscope::model::LiveFeed::new();
    let mut options = Options {
        rules: Some(Arc::new(lyncscope::stage::RuleSet::builtin())),
        ..Options::default()
    };
    options.http.live = Some(feed.clone());
    let done = analyze(&[sample(name)], &options, &mut ()).unwrap();
    let mut items = feed.take();
    // Threads finish connections in any order; in capture order the screen is reproducible.
    items.sort_by_key(|i| i.exchange.timing.first().map(|f| f.frame));
    let later = items.split_off(items.len() / 2);
    let first_half = items.len();

    let mut app = App::loading(vec![sample(name)]);
    let dir = tempfile::tempdir().unwrap();
    app.notes_path = Some(dir.path().join("notes.json"));
    assert!(screen(&mut app, 140, 30).contains("loading: 0 exchanges so far"));
    app.absorb_live(items);
    assert_eq!(app.rows.len(), first_half);
    press(&mut app, "j j");
    let chosen = app.selected_exchange().unwrap().request.clone().unwrap();
    insta::assert_snapshot!("d_loading", screen(&mut app, 140, 30));
    // The swimlanes cannot sort by stage yet: one lane says so.
    press(&mut app, "t");
    let lanes = screen(&mut app, 140, 30);
    let lane: Vec<&str> = lanes
        .lines()
        .filter(|l| l.starts_with("│pending"))
        .collect();
    assert_eq!(lane.len(), 1, "{lanes}");
    assert!(lane[0].contains(&format!(" {first_half}│")), "{lanes}");
    press(&mut app, "d");

    // What needs the whole capture waits, and says so.
    press(&mut app, "m");
    assert!(app.status.as_ref().is_some_and(|s| s.error));
    assert!(app.notes.marked().next().is_none());
    press(&mut app, "x");
    assert!(app.overlay.is_none());
    press(&mut app, "c");
    assert!(app.filter.is_none());

    app.absorb_live(later);
    assert_eq!(app.rows.len(), done.exchanges.len());
    let again = app.selected_exchange().unwrap().request.clone().unwrap();
    assert_eq!(
        (&again.method, &again.target),
        (&chosen.method, &chosen.target)
    );

    let notes = Notes::from_inputs(&done);
    app.finish_loading(Arc::new(done), notes);
    assert!(app.loading.is_none());
    let fin = app.selected_exchange().unwrap();
    let r = fin.request.as_ref().unwrap();
    assert_eq!((&r.method, &r.target), (&chosen.method, &chosen.target));
    assert!(fin.stage.is_some());
    // The stage layer's verdict line is in the title now: the script's failed stage (the
    // verdict line of docs/stages.md, "… → failed: <stage> (<check>: <cause>)").
    let failed = script("D-user-404.script.json")["expect"]["failed_stage"]
        .as_str()
        .unwrap()
        .to_string();
    let s = screen(&mut app, 140, 30);
    let title = s.lines().next().unwrap();
    assert!(!title.contains("loading:"));
    assert!(title.contains(&format!("→ failed: {failed} (")), "{title}");
    press(&mut app, "m");
    assert_eq!(app.notes.marked().count(), 1);
}

#[test]
fn swimlanes_count_every_step_of_each_script() {
    // One lane per stage the client went through, holding as many items as the scenario
    // script has steps of that stage: exchanges, DNS lookups and connection attempts that
    // carried no exchange (E's blocked hairpin, B's unanswered port 80).
    for name in [
        "A-internal-rp-vip",
        "B-external-home-pool-redirect",
        "C-cert-mismatch",
        "D-user-404",
        "E-hairpin-blocked",
    ] {
        let dir = tempfile::tempdir().unwrap();
        let mut app = app(&format!("{name}.pcapng"), dir.path());
        press(&mut app, "t");
        let lanes = screen(&mut app, 160, 60);
        let mut shown = std::collections::BTreeMap::new();
        for line in lanes.lines() {
            let Some(label) = line.strip_prefix('│').and_then(|l| l.split('│').next()) else {
                continue;
            };
            let mut words = label.split_whitespace();
            if let (Some(stage), Some(n), None) = (words.next(), words.next(), words.next()) {
                if let Ok(n) = n.parse::<usize>() {
                    shown.insert(stage.to_string(), n);
                }
            }
        }
        let mut want = std::collections::BTreeMap::new();
        for step in script(&format!("{name}.script.json"))["steps"]
            .as_array()
            .unwrap()
        {
            *want
                .entry(step["stage"].as_str().unwrap().to_string())
                .or_insert(0usize) += 1;
        }
        for (stage, n) in &want {
            assert_eq!(shown.get(stage), Some(n), "{name}: lane {stage}\n{lanes}");
        }
    }
}

#[test]
fn clicking_a_failed_connection_in_the_swimlanes_describes_it() {
    // Sample E: the hairpin to the external web services is blocked; the script's tcp steps
    // name the server the client could not reach. Clicking their mark in the tcp-tls lane
    // says so in the status line (connections are not rows of the list).
    let dir = tempfile::tempdir().unwrap();
    let mut app = app("E-hairpin-blocked.pcapng", dir.path());
    let s = script("E-hairpin-blocked.script.json");
    let server = s["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|st| st["kind"] == "tcp" && st["outcome"] == "fail")
        .and_then(|st| st["server"].as_str())
        .unwrap()
        .to_string();
    press(&mut app, "t");
    let screen_text = screen(&mut app, 160, 45);
    let (y, line) = screen_text
        .lines()
        .enumerate()
        .find(|(_, l)| l.starts_with("│tcp-tls"))
        .unwrap_or_else(|| panic!("no tcp-tls lane\n{screen_text}"));
    let x = line
        .chars()
        .position(|c| c == '✗')
        .expect("a failed attempt");
    let before = app.selected;
    app.on_mouse(MouseEvent {
        kind: MouseEventKind::Down(MouseButton::Left),
        column: x as u16,
        row: y as u16,
        modifiers: KeyModifiers::NONE,
    });
    let status = app.status.clone().expect("a status line").text;
    assert!(status.contains(&format!("→ {server}")), "{status}");
    assert!(status.contains("tcp-tls fail"), "{status}");
    assert_eq!(app.selected, before);
}

#[test]
fn copy_puts_the_url_and_a_curl_command_on_the_clipboard() {
    // Sample D: the exchange that answered 404 is the script's step with that status; `y`
    // copies its URL as the client used it, `Y` a curl command that repeats it.
    let dir = tempfile::tempdir().unwrap();
    let mut app = app("D-user-404.pcapng", dir.path());
    let s = script("D-user-404.script.json");
    let url = s["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|st| st["status"] == 404)
        .and_then(|st| st["url"].as_str())
        .unwrap()
        .to_string();
    app.set_filter("~c 404").unwrap();
    press(&mut app, "y");
    assert_eq!(app.clipboard.take().as_deref(), Some(url.as_str()));
    press(&mut app, "Y");
    let curl = app.clipboard.take().unwrap();
    assert!(curl.contains("curl") && curl.contains(&url), "{curl}");
    assert!(app.status.unwrap().text.contains("curl"));
}

#[test]
fn theme_colours_from_the_config_reach_the_screen() {
    // Sample D's 404 (the script's failing step) is a 4xx status: drawn in the warning colour,
    // which the config sets.
    let config =
        lyncscope::tui::config::parse("[theme]\nwarning = \"#b58900\"\n", "t.toml").unwrap();
    let theme = Theme {
        palette: config.palette,
        ..Theme::colored()
    };
    let dir = tempfile::tempdir().unwrap();
    let mut app = app("D-user-404.pcapng", dir.path());
    let mut term = Terminal::new(TestBackend::new(160, 40)).unwrap();
    term.draw(|f| lyncscope::tui::draw::draw(f, &mut app, &theme))
        .unwrap();
    let buf = term.backend().buffer().clone();
    let cells: Vec<(u16, u16)> = (0..40u16)
        .flat_map(|y| (0..157u16).map(move |x| (x, y)))
        // In the list (the title names the file, which has 404 in it too): " 404 ".
        .filter(|&(x, y)| {
            y > 0
                && x > 0
                && buf[(x - 1, y)].symbol() == " "
                && buf[(x + 3, y)].symbol() == " "
                && (0..3).all(|i| buf[(x + i, y)].symbol() == ["4", "0", "4"][i as usize])
        })
        .collect();
    assert!(!cells.is_empty(), "no 404 on screen");
    let (x, y) = cells[0];
    assert_eq!(
        buf[(x, y)].style().fg,
        Some(ratatui::style::Color::Rgb(0xb5, 0x89, 0x00))
    );
}

#[test]
fn list_columns_from_the_config() {
    let config = lyncscope::tui::config::parse(
        "[list]\ncolumns = [\"status\", \"number\", \"path\"]\n",
        "t.toml",
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut app = app("D-user-404.pcapng", dir.path());
    app.columns = config.columns.unwrap();
    let s = screen(&mut app, 120, 30);
    let header = s.lines().nth(2).unwrap();
    let at = |t: &str| {
        header
            .find(t)
            .unwrap_or_else(|| panic!("{t} missing: {header}"))
    };
    assert!(at("Status") < at("#") && at("#") < at("Path"), "{header}");
    assert!(
        !header.contains("Host") && !header.contains("Stage"),
        "{header}"
    );
    // The script's 404 is in the first column now.
    assert!(s.lines().any(|l| l.starts_with("│404")), "{s}");
}

#[test]
fn json_bodies_fold_level_by_level() {
    // Sample B's UCWA application (201, JSON with _links and _embedded): folded to the top
    // it shows as many keys as the body has (counted by serde_json from the captured bytes).
    let dir = tempfile::tempdir().unwrap();
    let mut app = app("B-external-home-pool-redirect.pcapng", dir.path());
    let (row, body) = app
        .rows
        .iter()
        .enumerate()
        .find_map(|(i, id)| {
            let x = app.exchange(*id)?;
            let r = x.response.as_ref()?;
            (r.status == 201 && x.request.as_ref()?.target.contains("/ucwa/"))
                .then(|| (i, r.body.bytes().unwrap().to_vec()))
        })
        .expect("the application resource");
    let value: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let keys = value.as_object().unwrap().len();
    app.selected = row;
    // Detail, Response tab.
    press(&mut app, "<Enter> <Right> <Right>");
    let mut levels = 0;
    loop {
        press(&mut app, "-");
        levels += 1;
        let s = screen(&mut app, 160, 45);
        assert!(s.contains("folded from level"), "{s}");
        if s.contains(&format!("{{… {keys} keys}}")) {
            break;
        }
        assert!(levels < 20, "never folded to the top:\n{s}");
    }
    // As many steps as the body has levels below the top.
    let depth = |v: &serde_json::Value| -> usize {
        fn d(v: &serde_json::Value) -> usize {
            match v {
                serde_json::Value::Object(m) => 1 + m.values().map(d).max().unwrap_or(0),
                serde_json::Value::Array(a) => 1 + a.iter().map(d).max().unwrap_or(0),
                _ => 0,
            }
        }
        d(v)
    };
    assert_eq!(levels, depth(&value));
    for _ in 0..levels {
        press(&mut app, "+");
    }
    assert_eq!(app.status.as_ref().unwrap().text, "JSON: every level shown");
    assert!(!screen(&mut app, 160, 45).contains("folded from level"));
}

#[test]
fn the_ladder_shows_connection_attempts_that_carried_no_exchange() {
    // Sample E: each of the script's tcp steps (the blocked hairpin) is a "TCP connect" arrow
    // to the server the script names.
    let dir = tempfile::tempdir().unwrap();
    let mut app = app("E-hairpin-blocked.pcapng", dir.path());
    let s = script("E-hairpin-blocked.script.json");
    let tcp: Vec<&Value> = s["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|st| st["kind"] == "tcp")
        .collect();
    assert!(!tcp.is_empty());
    press(&mut app, "t t t");
    let ladder = screen(&mut app, 160, 60);
    assert!(ladder.contains("Ladder"), "{ladder}");
    let arrows = ladder.lines().filter(|l| l.contains("TCP connect")).count();
    assert_eq!(arrows, tcp.len(), "{ladder}");
    for st in &tcp {
        assert!(ladder.contains(st["server"].as_str().unwrap()), "{ladder}");
    }
    // A click on the row says what the attempt was.
    let y = ladder
        .lines()
        .position(|l| l.contains("TCP connect"))
        .unwrap();
    app.on_mouse(MouseEvent {
        kind: MouseEventKind::Down(MouseButton::Left),
        column: 40,
        row: y as u16,
        modifiers: KeyModifiers::NONE,
    });
    let status = app.status.clone().expect("a status line").text;
    assert!(
        tcp.iter()
            .any(|st| status.contains(&format!("→ {}", st["server"].as_str().unwrap()))),
        "{status}"
    );
    assert!(status.contains("tcp-tls fail"), "{status}");
}

/// The export dialog's redaction: Markdown is redacted by default, `r` turns it off (and D's
/// web ticket, which the client sent, is then in the file).
#[test]
fn export_dialog_redaction_toggle() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = app("D-user-404.pcapng", dir.path());
    // D's ticket: issued by pool 1 to the mock client (samples/lync/README.md, token TB1).
    let ticket = "AAEBHAEFAAAAAAAFFQAAAP1EXTaliceB1kQw7";
    let mut export = |keys: &str, name: &str| -> String {
        // Format "Markdown report" is the fourth.
        press(&mut app, "x <Right> <Down> <Down> <Down>");
        press(&mut app, keys);
        press(&mut app, "<Enter> <C-u>");
        let out = dir.path().join(name);
        type_text(&mut app, out.to_str().unwrap());
        press(&mut app, "<Enter>");
        std::fs::read_to_string(&out).unwrap()
    };
    let redacted = export("", "redacted.md");
    assert!(!redacted.contains(ticket) && redacted.contains("‹cwt:"));
    let kept = export("r", "kept.md");
    assert!(kept.contains(ticket));
}

#[test]
fn focus_is_always_on_a_pane_that_is_shown() {
    use lyncscope::tui::state::Focus;
    let dir = tempfile::tempdir().unwrap();
    for sample in ["C-cert-mismatch.pcapng", "D-user-404.pcapng"] {
        for keys in [
            "F <Enter> d j",
            "z F <Enter> d j",
            "L L F <Enter> d",
            "L L <Enter> F <Esc> d",
            "F z <Enter> <Esc> d",
            "C <Enter> z d <Tab> L L F <Enter>",
            "t z <Enter> <Tab> <Tab> C z L",
            "z <Tab> <Enter> F <Enter> d <Esc> <Esc>",
        ] {
            let mut app = app(sample, dir.path());
            for k in keys.split_whitespace() {
                press(&mut app, k);
                screen(&mut app, 100, 30);
                let r = match app.focus {
                    Focus::List => app.regions.list,
                    Focus::Lower => app.regions.lower,
                };
                assert!(
                    r.width > 0 && r.height > 0,
                    "{sample}: after {k} of {keys:?} the focus is on a pane not shown"
                );
            }
        }
    }
}

/// The list's row of exchange `n` (its first cell is the number).
fn list_row(screen: &str, n: u32) -> String {
    screen
        .lines()
        .find(|l| {
            l.strip_prefix('│')
                .and_then(|r| r.split_whitespace().next())
                .is_some_and(|c| c.trim_end_matches(['★', '✎', '◆']) == n.to_string())
        })
        .unwrap_or_else(|| panic!("no row #{n} in\n{screen}"))
        .to_string()
}

#[test]
fn c_opens_on_the_failed_connection_with_its_certificate_and_alert() {
    // Sample C broke before HTTP: the client refused the certificate of lyncdiscover (the
    // script's steps C04 and C05: SNI lyncdiscover.contoso.com, alert certificate_unknown).
    let dir = tempfile::tempdir().unwrap();
    let mut app = app("C-cert-mismatch.pcapng", dir.path());
    let script = script("C-cert-mismatch.script.json");
    let failed: Vec<&Value> = script["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["kind"] == "tcp" && s["outcome"] == "fail")
        .collect();
    assert_eq!(failed.len(), 2);
    let small = screen(&mut app, 80, 24);
    // The verdict is readable at 80 columns: the failed stage and the check, whole.
    let title: String = small.lines().take(3).collect::<Vec<_>>().join(" ");
    assert!(
        title.contains("failed: tcp-tls for ad-root-https"),
        "{small}"
    );
    assert!(title.contains("certificate_unknown"), "{small}");
    assert!(small.contains("┌ Connections 3"), "{small}");
    insta::assert_snapshot!("c_open_80", small);
    let s = screen(&mut app, 160, 45);
    for step in &failed {
        let sni = step["sni"].as_str().unwrap();
        let alert = step["alert"].as_str().unwrap();
        let server = step["server"].as_str().unwrap();
        assert!(s.contains(&format!("SNI {sni}")), "{s}");
        assert!(s.contains(alert), "{s}");
        assert!(s.contains(&format!("→ {server}")), "{s}");
    }
    // The selected connection is the one the verdict names, with its chain and alert.
    assert!(s.contains("TLS chain"), "{s}");
    assert!(s.contains("TLS alerts"), "{s}");
    insta::assert_snapshot!("c_connections", s);
    press(&mut app, "<Enter>");
    let st = app.status.clone().unwrap();
    assert!(st.text.contains("carried no HTTP exchange"), "{st:?}");
    // Up goes to the other connections: the unanswered SYN to port 80 (step C03).
    press(&mut app, "<Up> <Up>");
    let s = screen(&mut app, 160, 45);
    assert!(s.contains("no answer to the SYN"), "{s}");
}

#[test]
fn d_opens_on_the_failed_exchange_and_connections_lead_to_their_exchanges() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = app("D-user-404.pcapng", dir.path());
    let script = script("D-user-404.script.json");
    let failing = script_exchanges_with_status(&app.analysis, &script, 404)[0];
    assert_eq!(app.selected_id(), Some(failing));
    // Its connection in the Connections pane; Enter selects the exchanges it carried.
    let conn = app.selected_exchange().unwrap().connection.0;
    press(&mut app, "C");
    for _ in 0..conn {
        press(&mut app, "j");
    }
    press(&mut app, "<Enter>");
    let carried = app.analysis.connections[conn as usize].exchanges.clone();
    assert_eq!(app.selected_id(), Some(carried[0]));
    let st = app.status.clone().unwrap().text;
    let n = carried.len();
    let noun = if n == 1 { "exchange" } else { "exchanges" };
    assert_eq!(
        st,
        format!(
            "C{conn}: exchange #{}, 1 of {n} {noun} carried",
            carried[0].0
        )
    );
}

#[test]
fn one_time_origin_and_one_connection_numbering() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = app("B-external-home-pool-redirect.pcapng", dir.path());
    let a = Arc::clone(&app.analysis);
    let origin = lyncscope::presentation::timeline::time_range(&a).unwrap().0;
    let s = screen(&mut app, 160, 45);
    // The list counts from the reports' origin (the first frame the capture recorded)...
    let x5 = &a.exchanges[5];
    let t5 = x5.timing.first().unwrap().ts.secs_since(origin);
    let row = list_row(&s, 5);
    assert!(row.contains(&format!("+{t5:.3}")), "{row}");
    // ...and names its connection as the reports do.
    assert!(row.contains(&format!(" C{} ", x5.connection.0)), "{row}");
    // The filter's time counts from the same origin: time>T just before #5 selects it first.
    press(&mut app, "f");
    type_text(&mut app, &format!("time>{:.3}", t5 - 0.001));
    press(&mut app, "<Enter>");
    assert_eq!(app.rows.first(), Some(&x5.id));
    // ~conn takes the same name; the waterfall labels rows with it and the number in full.
    press(&mut app, "f <C-u>");
    type_text(&mut app, &format!("~conn C{}", x5.connection.0));
    press(&mut app, "<Enter>");
    let expect: Vec<ExchId> = a
        .exchanges
        .iter()
        .filter(|x| x.connection == x5.connection)
        .map(|x| x.id)
        .collect();
    assert_eq!(app.rows, expect);
    press(&mut app, "<Esc> t t");
    let s = screen(&mut app, 160, 45);
    assert!(
        s.contains(&format!("C{} #{} ", x5.connection.0, x5.id.0)),
        "{s}"
    );
    // The ladder's time column counts from the origin too.
    press(&mut app, "t");
    let s = screen(&mut app, 160, 45);
    assert!(s.contains(&format!("{t5:.3}")), "{s}");
}

#[test]
fn columns_are_sized_from_content_and_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = app_a(dir.path());
    let s = screen(&mut app, 160, 45);
    // Exchange #0 of sample A asks the internal discovery name (the script's first HTTP step).
    let script = script("A-internal-rp-vip.script.json");
    let url = script["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["kind"] == "http")
        .unwrap()["url"]
        .as_str()
        .unwrap();
    let host = url.split('/').nth(2).unwrap();
    assert_eq!(host, "lyncdiscoverinternal.contoso.com");
    assert!(list_row(&s, 0).contains(host), "{s}");
    // A cut path keeps its last segment after an ellipsis.
    let a = Arc::clone(&app.analysis);
    let x = &a.exchanges[2];
    let target = &x.request.as_ref().unwrap().target;
    let last = target
        .split('?')
        .next()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap();
    let row = list_row(&s, 2);
    assert!(
        row.contains(&format!("…/{last}")) || row.contains(target.as_str()),
        "{row}"
    );
    // At 80×24: the verdict, the status and the outcome columns.
    let small = screen(&mut app, 80, 24);
    let header = small.lines().find(|l| l.starts_with("│#")).unwrap();
    assert!(
        header.contains("Status") && header.contains("Outcome"),
        "{small}"
    );
    let row0 = list_row(&small, 0);
    let x0 = &a.exchanges[0];
    assert!(
        row0.contains(&x0.response.as_ref().unwrap().status.to_string()),
        "{row0}"
    );
    let verdict = &a.signin[0].verdict;
    let title: String = small.lines().take(3).collect::<Vec<_>>().join(" ");
    let words: String = title.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(words.contains(verdict.as_str()), "{small}");
    insta::assert_snapshot!("a_open_80", small);
}

#[test]
fn timeline_legends_and_known_stage_names() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = app("B-external-home-pool-redirect.pcapng", dir.path());
    for (keys, legend) in [
        ("t", "◇ DNS lookup"),
        ("t", "░ waiting for the response"),
        ("t", "──► request"),
    ] {
        press(&mut app, keys);
        let s = screen(&mut app, 160, 45);
        let bottom = s.lines().rfind(|l| l.starts_with('└')).unwrap();
        assert!(bottom.contains(legend), "{s}");
    }
    press(&mut app, "?");
    let mut seen = String::new();
    for _ in 0..14 {
        seen.push_str(&screen(&mut app, 160, 45));
        press(&mut app, "<PgDn>");
    }
    assert!(seen.contains("Timeline glyphs"), "{seen}");
    press(&mut app, "<Esc>");
    // A stage nobody tags is an error at its column; a real one is accepted.
    press(&mut app, "f");
    type_text(&mut app, "~stage webticket");
    let e = app.input.as_ref().unwrap().error.clone().unwrap();
    assert!(e.contains("unknown stage webticket"), "{e}");
    assert!(e.contains("webticket-oauth"), "{e}");
    assert!(e.contains("at column 8"), "{e}");
    type_text(&mut app, "-oauth");
    assert_eq!(app.input.as_ref().unwrap().error, None);
    press(&mut app, "<C-u>");
    type_text(&mut app, "~outcome nope");
    let e = app.input.as_ref().unwrap().error.clone().unwrap();
    assert!(e.contains("unknown outcome nope"), "{e}");
}

#[test]
fn export_message_counts_in_words() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = app("D-user-404.pcapng", dir.path());
    // This one exchange, as JSON.
    press(&mut app, "x <Down> <Down> <Down> <Enter>");
    press(&mut app, "<C-u>");
    let out = dir.path().join("one.json");
    type_text(&mut app, out.to_str().unwrap());
    press(&mut app, "<Enter>");
    let st = app.status.clone().unwrap();
    assert!(st.text.starts_with("wrote 1 exchange as "), "{st:?}");
}

/// An app on sample A (its file name after the letter names the scenario).
fn app_a(dir: &Path) -> App {
    let name = std::fs::read_dir(lyncscope::testkit::sample("lync"))
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .find(|n| n.starts_with("A-") && n.ends_with(".pcapng"))
        .unwrap();
    app(&name, dir)
}

#[test]
fn a_cut_capture_says_so_in_the_title_at_80_columns() {
    let dir = tempfile::tempdir().unwrap();
    let whole = std::fs::read(sample("B-external-home-pool-redirect.pcapng")).unwrap();
    let cut = dir.path().join("cut.pcapng");
    std::fs::write(&cut, &whole[..50_000]).unwrap();
    std::fs::copy(
        sample("B-external-home-pool-redirect.keylog.txt"),
        dir.path().join("cut.keylog.txt"),
    )
    .unwrap();
    let options = Options {
        rules: Some(Arc::new(lyncscope::stage::RuleSet::builtin())),
        ..Options::default()
    };
    let a = analyze(std::slice::from_ref(&cut), &options, &mut ()).unwrap();
    assert!(a.inputs[0].truncated);
    let mut app = App::new(Arc::new(a), Notes::default(), vec![cut]);
    let s = screen(&mut app, 80, 24);
    let title: String = s.lines().take(4).collect::<Vec<_>>().join(" ");
    let words = title.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(words.contains("capture ends at frame"), "{s}");
    assert!(words.contains("the sign-in may have gone on"), "{s}");
}

#[test]
fn a_finding_with_connection_evidence_opens_that_connection() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = app("C-cert-mismatch.pcapng", dir.path());
    let a = Arc::clone(&app.analysis);
    let (i, f) = a
        .findings
        .iter()
        .enumerate()
        .find(|(_, f)| f.check == "C-CERT-7")
        .expect("the script expects C-CERT-7");
    assert!(f.exchanges.is_empty() && !f.connections.is_empty());
    press(&mut app, "F");
    for _ in 0..i {
        press(&mut app, "j");
    }
    press(&mut app, "<Enter>");
    assert_eq!(app.lower, lyncscope::tui::state::LowerPane::Connections);
    let name = format!("C{}", f.connections[0].0);
    assert_eq!(app.connections[app.connection].id, name);
    let s = screen(&mut app, 160, 45);
    assert!(s.contains(&format!("▶{name} ")), "{s}");
}
