//! The UI drawn whole into a test terminal, as text (gitui's whole-screen snapshots).

use lyncscope::tui::app::App;
use lyncscope::tui::theme::Theme;
use ratatui::backend::TestBackend;
use ratatui::Terminal;

/// Every cell of a `w`×`h` screen, a line per row with trailing blanks cut.
pub fn screen(app: &mut App, w: u16, h: u16) -> String {
    let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
    term.draw(|f| lyncscope::tui::draw::draw(f, app, &Theme::plain()))
        .unwrap();
    let buf = term.backend().buffer().clone();
    let mut out = String::new();
    for y in 0..h {
        let mut line = String::new();
        for x in 0..w {
            line.push_str(buf[(x, y)].symbol());
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}
