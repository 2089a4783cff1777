//! The README lists every aggregate's events and the secret-bearing ones; this keeps it from
//! drifting from the code.

use keel_domain::event_types;

#[test]
fn the_readme_lists_every_event_type() {
    let readme = include_str!("../../../README.md");
    let missing: Vec<&str> = event_types::all()
        .filter(|t| !readme.contains(&format!("`{t}`")))
        .collect();
    assert!(missing.is_empty(), "README.md does not list {missing:?}");
}

#[test]
fn the_readme_lists_every_secret_bearing_event_type_with_its_fields() {
    let readme = include_str!("../../../README.md");
    for (event_type, fields) in event_types::secret_bearing() {
        let row = format!("| `{event_type}` | `{}` |", fields.join("`, `"));
        assert!(readme.contains(&row), "README.md lacks the row {row}");
    }
}
