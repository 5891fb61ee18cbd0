//! The UI's Compare pane over ratatui's TestBackend: sample B (a sign-in redirected to its home
//! pool) against sample D (the same client, whose user resource answers 404). Whole-screen
//! snapshots reviewed by eye; the parting stage is the one where the samples' scenario
//! scripts part (D's script records the 404 of the user request), never lyncscope's output.

mod common;

use common::screen::screen;
use lyncscope::model::{Analysis, Notes};
use lyncscope::tui::app::App;
use lyncscope::tui::state::LowerPane;
use lyncscope::{analyze, Options};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::Arc;

const B: &str = "B-external-home-pool-redirect";
const D: &str = "D-user-404";

fn sample(name: &str, ext: &str) -> PathBuf {
    lyncscope::testkit::sample("lync").join(format!("{name}.{ext}"))
}

/// A sample read with its key log.
fn load(name: &str) -> Analysis {
    let options = Options {
        rules: Some(Arc::new(lyncscope::stage::RuleSet::builtin())),
        keylogs: vec![sample(name, "keylog.txt")],
        ..Options::default()
    };
    analyze(&[sample(name, "pcapng")], &options, &mut ()).unwrap()
}

fn script(name: &str) -> Value {
    serde_json::from_slice(&std::fs::read(sample(name, "script.json")).unwrap()).unwrap()
}

/// An app on `a` compared with `b`, its notes going to a temporary directory.
fn app(a: &str, b: &str, dir: &Path) -> App {
    let analysis = load(a);
    let notes = Notes::from_inputs(&analysis);
    let mut app = App::new(Arc::new(analysis), notes, vec![sample(a, "pcapng")]);
    app.notes_path = Some(dir.join("notes.json"));
    app.compare_waiting(vec![sample(b, "pcapng")]);
    app.compare_with(Ok(load(b)));
    app
}

fn press(app: &mut App, c: char) {
    app.on_key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE));
}

/// The stage of the first step where two scenario scripts differ in stage, kind or answer.
fn scripted_parting_stage(a: &Value, b: &Value) -> String {
    let answer = |st: &Value| match st.get("status") {
        Some(Value::Number(n)) => n.to_string(),
        _ => st["rcode"].as_str().unwrap_or("").to_string(),
    };
    let key = |st: &Value| {
        (
            st["stage"].as_str().map(str::to_string),
            st["kind"].as_str().map(str::to_string),
            answer(st),
        )
    };
    let (sa, sb) = (
        a["steps"].as_array().unwrap(),
        b["steps"].as_array().unwrap(),
    );
    sa.iter()
        .zip(sb)
        .find(|(x, y)| key(x) != key(y))
        .map(|(x, _)| x["stage"].as_str().unwrap().to_string())
        .expect("the scripts part")
}

#[test]
fn b_against_d_marks_the_stage_where_the_scripts_part() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = app(B, D, dir.path());
    press(&mut app, 'V');
    assert_eq!(app.lower, LowerPane::Compare);
    let s = screen(&mut app, 160, 50);

    let (sb, sd) = (script(B), script(D));
    let stage = scripted_parting_stage(&sb, &sd);
    assert_eq!(stage, "ad-user");
    // D's script: the user request answered 404 where B's was answered 200.
    let d404 = sd["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|st| st["stage"] == "ad-user")
        .unwrap();
    assert_eq!(d404["status"], 404);
    assert!(
        s.contains(&format!("▲ {stage}: they part here")),
        "the lanes mark the parting stage:\n{s}"
    );
    let parting_row = s
        .lines()
        .find(|l| l.contains('▶') && l.contains(&stage))
        .unwrap_or_else(|| panic!("no ▶ row for {stage}:\n{s}"));
    assert!(
        parting_row.contains(" A 200 ") && parting_row.contains(" B 404 "),
        "{parting_row}"
    );
    assert!(s.contains("! status: 200 (A) vs 404 (B)"), "{s}");
    insta::assert_snapshot!("compare_b_d", s);

    // Enter selects A's exchange of that stage in the list: B's script's 200 to the user
    // request.
    app.on_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
    let x = app.selected_exchange().unwrap();
    let b200 = sb["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|st| st["stage"] == "ad-user")
        .unwrap();
    assert_eq!(b200["status"], 200);
    assert_eq!(x.response.as_ref().unwrap().status, 200);
    assert_eq!(x.stage.as_ref().unwrap().id, "ad-user");
}

#[test]
fn a_capture_compared_with_itself_shows_no_difference() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = app(B, B, dir.path());
    press(&mut app, 'V');
    let s = screen(&mut app, 160, 50);
    let c = app.compare.comparison.as_ref().unwrap();
    assert_eq!(c.parting, None);
    assert_eq!(c.difference_count(), 0);
    assert!(s.contains("no difference"), "{s}");
    assert!(s.contains("no stage where they part"), "{s}");
    assert!(!s.contains('≠') && !s.contains('▶'), "{s}");
    insta::assert_snapshot!("compare_b_b", s);
}

#[test]
fn v_without_a_second_input_asks_for_one() {
    let dir = tempfile::tempdir().unwrap();
    let analysis = load(D);
    let notes = Notes::from_inputs(&analysis);
    let mut app = App::new(Arc::new(analysis), notes, vec![sample(D, "pcapng")]);
    app.notes_path = Some(dir.path().join("notes.json"));
    press(&mut app, 'V');
    let path = sample(B, "pcapng");
    for c in path.display().to_string().chars() {
        press(&mut app, c);
    }
    let s = screen(&mut app, 160, 40);
    assert!(s.contains("compare with> "), "{s}");
    app.on_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
    // The event loop reads the file named; here the test stands in for it.
    assert_eq!(app.compare_request.take(), Some(path));
    assert_eq!(app.lower, LowerPane::Compare);
    assert!(screen(&mut app, 160, 40).contains("reading B"));
    app.compare_with(Ok(load(B)));
    let c = app.compare.comparison.as_ref().unwrap();
    assert_eq!(c.parting_pair().map(|p| p.stage.as_str()), Some("ad-user"));
}

#[test]
fn readme_compare_capture_is_the_snapshot() {
    // The README's screen of the Compare pane is the pane of the compare_b_d snapshot.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let snap = std::fs::read_to_string(root.join("tests/snapshots/tui_compare__compare_b_d.snap"))
        .unwrap();
    let pane: Vec<&str> = snap
        .lines()
        .skip_while(|l| !l.starts_with("┌ Compare"))
        .collect();
    let end = pane.iter().position(|l| l.starts_with('└')).unwrap();
    assert!(
        readme.contains(&pane[..=end].join("\n")),
        "README's Compare screen differs from tests/snapshots/tui_compare__compare_b_d.snap"
    );
}
