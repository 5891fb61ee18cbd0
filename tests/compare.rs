//! `lyncscope compare A B` and `report --compare-with`: two sign-ins aligned by stage. The
//! expected parting stage and statuses come from the samples' scenario scripts (what the mock
//! clients did), never from lyncscope's own output.

mod common;

use common::scripts::{lync_dir, s, script};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

const B: &str = "B-external-home-pool-redirect";
const D: &str = "D-user-404";

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_lyncscope"))
}

fn sample(name: &str, ext: &str) -> PathBuf {
    lync_dir().join(format!("{name}.{ext}"))
}

fn run(args: &[&std::ffi::OsStr]) -> String {
    let out = bin().args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn compare_json(a: &Path, b: &Path) -> Value {
    let text = run(&[
        "compare".as_ref(),
        a.as_os_str(),
        b.as_os_str(),
        "--format".as_ref(),
        "json".as_ref(),
    ]);
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["schema"], "lyncscope/compare-1");
    v
}

/// A step's answer as the script writes it: the HTTP status, or the DNS rcode.
fn answer(step: &Value) -> String {
    match step.get("status") {
        Some(Value::Number(n)) => n.to_string(),
        _ => s(step, "rcode").unwrap_or("").to_string(),
    }
}

/// The first step where two scripts differ (stage, kind or answer), with the step of each.
fn scripted_parting(a: &Value, b: &Value) -> (Value, Value) {
    let sa = a["steps"].as_array().unwrap();
    let sb = b["steps"].as_array().unwrap();
    for (x, y) in sa.iter().zip(sb) {
        let key = |st: &Value| {
            (
                s(st, "stage").map(str::to_string),
                s(st, "kind").map(str::to_string),
                answer(st),
            )
        };
        if key(x) != key(y) {
            return (x.clone(), y.clone());
        }
    }
    panic!("the scripts do not part");
}

#[test]
fn b_and_d_part_at_the_stage_their_scripts_part() {
    let stage = parts_where_the_scripts_part(B, D);
    // The example: the authenticated Autodiscover user request.
    assert_eq!(stage, "ad-user");
}

#[test]
fn f_and_g_part_at_the_stage_their_scripts_part() {
    // SfB Online: the same modern-auth sign-in, the token then rejected on one side.
    parts_where_the_scripts_part("F-online-modern-auth", "G-online-token-rejected");
}

/// Compares samples `good` and `bad` (names) and checks the parting stage and the statuses there
/// against their scripts; returns the stage.
fn parts_where_the_scripts_part(good: &str, bad: &str) -> String {
    let (step_b, step_d) = scripted_parting(&script(good), &script(bad));
    // What the scripts say: the same stage, one status on one side, another on the other.
    assert_eq!(s(&step_b, "stage"), s(&step_d, "stage"));
    let stage = s(&step_b, "stage").unwrap();
    let (status_b, status_d) = (answer(&step_b), answer(&step_d));
    assert_ne!(status_b, status_d);

    let v = compare_json(&sample(good, "pcapng"), &sample(bad, "pcapng"));
    assert_eq!(v["parting"]["stage"], stage, "{:#}", v["parting"]);
    assert_eq!(v["parting"]["occurrence"], 1);
    let pair = v["stages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["stage"] == stage && p["occurrence"] == 1)
        .unwrap();
    assert_eq!(pair["a"]["statuses"], serde_json::json!([status_b]));
    assert_eq!(pair["b"]["statuses"], serde_json::json!([status_d]));
    let status = pair["differences"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["kind"] == "status")
        .expect("a status difference");
    assert_eq!(status["matters"], true);
    // Both clients took the same steps before: every stage listed before the parting one is
    // the same on both sides.
    for p in v["stages"].as_array().unwrap() {
        if p["stage"] == stage && p["occurrence"] == 1 {
            break;
        }
        assert_eq!(p["same"], true, "{p:#}");
    }
    // The failing side's failed stage is the script's.
    assert_eq!(
        v["b"]["failed_stage"],
        script(bad)["expect"]["failed_stage"]
    );
    assert_eq!(v["a"]["signed_in"], script(good)["expect"]["signed_in"]);

    let text = run(&[
        "compare".as_ref(),
        sample(good, "pcapng").as_os_str(),
        sample(bad, "pcapng").as_os_str(),
    ]);
    assert!(
        text.contains(&format!(
            "they part at {stage}: status: {status_b} (A) vs {status_d} (B)"
        )),
        "{text}"
    );
    stage.to_string()
}

#[test]
fn a_capture_compared_with_itself_has_no_difference() {
    for name in [B, D] {
        let p = sample(name, "pcapng");
        let v = compare_json(&p, &p);
        assert_eq!(v["parting"], Value::Null);
        assert_eq!(v["differences"], 0, "{name}");
        assert!(v["stages"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["same"] == true));
        // Every stage the script went through is listed.
        for st in script(name)["steps"].as_array().unwrap() {
            let stage = s(st, "stage").unwrap();
            assert!(
                v["stages"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|p| p["stage"] == stage),
                "{name}: {stage}"
            );
        }
    }
}

#[test]
fn a_capture_compared_with_its_saz_export_has_no_stage_difference() {
    let dir = tempfile::tempdir().unwrap();
    let saz = dir.path().join("b.saz");
    let capture = sample(B, "pcapng");
    let out = bin()
        .args(["export", "--format", "saz", "-o"])
        .arg(&saz)
        .arg(&capture)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Our own export, and the SAZ Fiddler recorded of the same run.
    for other in [saz, sample(B, "saz")] {
        for (a, b) in [(&capture, &other), (&other, &capture)] {
            let v = compare_json(a, b);
            assert_eq!(v["packet_level"], false);
            assert_eq!(v["parting"], Value::Null, "{:#}", v["stages"]);
            for p in v["stages"].as_array().unwrap() {
                for d in p["differences"].as_array().unwrap() {
                    assert_eq!(d["matters"], false, "{other:?}: {p:#}");
                }
            }
            // Every HTTP stage of the script is compared.
            for st in script(B)["steps"].as_array().unwrap() {
                if s(st, "kind") != Some("http") {
                    continue;
                }
                let stage = s(st, "stage").unwrap();
                let pair = v["stages"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|p| p["stage"] == stage)
                    .unwrap_or_else(|| panic!("{stage} missing"));
                assert!(!pair["a"].is_null() && !pair["b"].is_null(), "{pair:#}");
            }
        }
    }
}

#[test]
fn per_side_key_options_reach_their_side() {
    // The key logs are embedded in the captures too; giving each side its own file must load.
    let text = run(&[
        "compare".as_ref(),
        sample(B, "pcapng").as_os_str(),
        sample(D, "pcapng").as_os_str(),
        "--a-keylog".as_ref(),
        sample(B, "keylog.txt").as_os_str(),
        "--b-keylog".as_ref(),
        sample(D, "keylog.txt").as_os_str(),
    ]);
    assert!(text.contains("they part at ad-user"), "{text}");
    // A missing key file is refused, naming its option.
    let out = bin()
        .arg("compare")
        .arg(sample(B, "pcapng"))
        .arg(sample(D, "pcapng"))
        .args(["--b-keylog", "/nonexistent/keys.txt"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/keys.txt"));
}

#[test]
fn reports_gain_a_comparison_section() {
    let (step_b, _) = scripted_parting(&script(B), &script(D));
    let stage = s(&step_b, "stage").unwrap();
    for (format, parting_row) in [
        ("markdown", format!("| ▶ | `{stage}` |")),
        (
            "html",
            format!("<tr class=\"parting\" style=\"background:#fdecea\" data-stage=\"{stage}\">"),
        ),
        ("text", format!("▶ {stage}")),
    ] {
        let text = run(&[
            "report".as_ref(),
            sample(B, "pcapng").as_os_str(),
            "--format".as_ref(),
            format.as_ref(),
            "--compare-with".as_ref(),
            sample(D, "pcapng").as_os_str(),
        ]);
        assert!(
            text.contains("omparison") || text.contains("Comparing"),
            "{format}"
        );
        assert!(text.contains(&parting_row), "{format}: {parting_row}");
    }
    let out = bin()
        .arg("report")
        .arg(sample(B, "pcapng"))
        .args(["--format", "json", "--compare-with"])
        .arg(sample(D, "pcapng"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
