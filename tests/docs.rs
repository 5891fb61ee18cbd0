//! docs/checks.md and docs/stages.md are generated from the check table and the built-in rules;
//! they must stay equal to what the generators give (`LYNCSCOPE_WRITE_DOCS=1 cargo test --test
//! docs` rewrites them).

use std::path::Path;

fn same_as_generated(file: &str, generated: String) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
    if std::env::var_os("LYNCSCOPE_WRITE_DOCS").is_some() {
        std::fs::write(&path, generated).unwrap();
        return;
    }
    let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        on_disk == generated,
        "{file} differs from what the code generates: LYNCSCOPE_WRITE_DOCS=1 cargo test --test docs"
    );
}

#[test]
fn checks_doc_is_the_check_table() {
    same_as_generated("docs/checks.md", lyncscope::stage::docs::checks_markdown());
}

#[test]
fn stages_doc_is_the_builtin_rule_table() {
    same_as_generated("docs/stages.md", lyncscope::stage::docs::stages_markdown());
}
