//! The real binary in a real terminal (tmux): open → filter → select → timeline → export →
//! quit, reading the screen with capture-pane. Needs tmux (.ci/run installs it); skipped
//! elsewhere when it is missing.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

struct Tmux {
    socket: String,
}

impl Tmux {
    fn run(&self, args: &[&str]) -> std::process::Output {
        Command::new("tmux")
            .args(["-L", &self.socket, "-f", "/dev/null"])
            .args(args)
            .output()
            .expect("tmux runs")
    }
    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "ui"];
        args.extend_from_slice(keys);
        assert!(self.run(&args).status.success());
    }
    fn text(&self, text: &str) {
        assert!(self
            .run(&["send-keys", "-t", "ui", "-l", text])
            .status
            .success());
    }
    fn screen(&self) -> String {
        String::from_utf8_lossy(&self.run(&["capture-pane", "-p", "-t", "ui"]).stdout).into_owned()
    }
    /// Waits until the screen shows `what` (20 s at most).
    fn wait_for(&self, what: &str) -> String {
        let start = Instant::now();
        loop {
            let s = self.screen();
            if s.contains(what) {
                return s;
            }
            if start.elapsed() > Duration::from_secs(20) {
                panic!("screen never showed {what:?}:\n{s}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    fn alive(&self) -> bool {
        self.run(&["has-session", "-t", "ui"]).status.success()
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.run(&["kill-server"]);
    }
}

/// Whether tmux is there; without it the tests are skipped, except in CI (which installs it).
fn have_tmux() -> bool {
    let there = Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    if !there {
        assert!(
            std::env::var_os("CI").is_none(),
            "tmux missing: .ci/run installs it"
        );
        eprintln!("skipped: tmux is not installed");
    }
    there
}

#[test]
fn open_filter_select_timeline_export_in_tmux() {
    if !have_tmux() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let name = "B-external-home-pool-redirect.pcapng";
    let src = lyncscope::testkit::sample("lync").join(name);
    // A copy, so the UI's notes file lands in the temporary directory.
    let capture: PathBuf = dir.path().join(name);
    std::fs::copy(&src, &capture).unwrap();
    let script: serde_json::Value = serde_json::from_slice(
        &std::fs::read(src.with_file_name("B-external-home-pool-redirect.script.json")).unwrap(),
    )
    .unwrap();

    let tmux = start("flow", dir.path(), &[capture.display().to_string()]);

    // The list fills in while loading; the verdict in the title says loading is over.
    tmux.wait_for("Exchanges");
    tmux.wait_for("signed in");

    // Filter to the user-resource stages.
    tmux.keys(&["f"]);
    tmux.wait_for("filter>");
    tmux.text("~stage ad-user");
    tmux.keys(&["Enter"]);
    let s = tmux.wait_for("· ~stage ad-user");
    let ad_user_steps: Vec<&serde_json::Value> = script["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["stage"] == "ad-user")
        .collect();
    assert!(!ad_user_steps.is_empty());
    assert!(
        s.contains(&format!("Exchanges {}/", ad_user_steps.len())),
        "{s}"
    );

    // Select the second row, then the timeline.
    tmux.keys(&["j", "t"]);
    tmux.wait_for("Swimlanes");

    // Export the shown exchanges as Markdown.
    let out = dir.path().join("shown.md");
    tmux.keys(&["x"]);
    tmux.wait_for("Export");
    tmux.keys(&["Down", "Right", "Down", "Down", "Down", "Enter", "C-u"]);
    tmux.wait_for("export to>");
    tmux.text(out.to_str().unwrap());
    tmux.keys(&["Enter"]);
    tmux.wait_for("wrote");
    let md = std::fs::read_to_string(&out).unwrap();
    for step in &ad_user_steps {
        let url = step["url"].as_str().unwrap();
        let path = url.splitn(4, '/').nth(3).unwrap();
        assert!(md.contains(path), "{path} missing from the Markdown export");
    }

    // `y` copies the selected exchange's URL through OSC 52, which tmux turns into a paste
    // buffer: one of the script's ad-user URLs, as the client used it.
    tmux.run(&["set-option", "-s", "set-clipboard", "on"]);
    tmux.keys(&["y"]);
    tmux.wait_for("copied the URL");
    let copied = tmux.run(&["show-buffer"]);
    let copied = String::from_utf8_lossy(&copied.stdout).to_string();
    assert!(
        ad_user_steps.iter().any(|st| st["url"] == copied.as_str()),
        "copied {copied:?}"
    );

    // Quit restores the terminal (the shell's `sleep` keeps the pane to look at).
    tmux.keys(&["q"]);
    let start = Instant::now();
    loop {
        let s = tmux.screen();
        if !s.contains("Exchanges") {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "still running:\n{s}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(tmux.alive());
}

/// Starts the binary in a fresh tmux server with `args`; the shell prints its exit status.
fn start(tag: &str, dir: &Path, args: &[String]) -> Tmux {
    let tmux = Tmux {
        socket: format!("lyncscope-test-{tag}-{}", std::process::id()),
    };
    let quoted: Vec<String> = args.iter().map(|a| format!("'{a}'")).collect();
    let cmd = format!(
        "cd '{}' && TERM=xterm-256color '{}' {}; echo \"exit=$?\"; sleep 30",
        dir.display(),
        env!("CARGO_BIN_EXE_lyncscope"),
        quoted.join(" ")
    );
    let started = tmux.run(&[
        "new-session",
        "-d",
        "-s",
        "ui",
        "-x",
        "160",
        "-y",
        "45",
        &cmd,
    ]);
    assert!(started.status.success(), "{started:?}");
    tmux
}

#[test]
fn user_keys_from_a_config_file() {
    if !have_tmux() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let capture = dir.path().join("D-user-404.pcapng");
    std::fs::copy(
        lyncscope::testkit::sample("lync/D-user-404.pcapng"),
        &capture,
    )
    .unwrap();
    // F2 opens the filter instead of f; the help lists F2.
    let good = dir.path().join("keys.toml");
    std::fs::write(&good, "[keys]\nfilter = \"F2\"\n").unwrap();
    let args = |config: &Path| {
        vec![
            capture.display().to_string(),
            "--config".to_string(),
            config.display().to_string(),
        ]
    };
    let tmux = start("keys", dir.path(), &args(&good));
    // The verdict line in the title says loading is over (docs/stages.md verdict line).
    tmux.wait_for("→ failed: ad-user");
    tmux.keys(&["f"]);
    std::thread::sleep(Duration::from_millis(300));
    assert!(!tmux.screen().contains("filter>"));
    tmux.keys(&["F2"]);
    tmux.wait_for("filter>");
    // (Esc and the next key sent together would read as Alt-key.)
    tmux.keys(&["Escape"]);
    std::thread::sleep(Duration::from_millis(300));
    tmux.keys(&["?"]);
    let help = tmux.wait_for("Everywhere");
    assert!(help.contains("F2"), "{help}");
    tmux.keys(&["q"]);
    std::thread::sleep(Duration::from_millis(300));
    tmux.keys(&["q"]);
    tmux.wait_for("exit=0");
    drop(tmux);

    // A key doing two things is refused before the terminal is taken: one line, exit 2.
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[keys]\nhelp = \"m\"\n").unwrap();
    let tmux = start("badkeys", dir.path(), &args(&bad));
    let s = tmux.wait_for("exit=2");
    assert!(
        s.contains("bad.toml") && s.contains("help") && s.contains("mark"),
        "{s}"
    );
}
