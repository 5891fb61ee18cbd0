//! The HAR 1.2 schema (tests/data/har/schema, ahmadnassri/har-schema) as a check the tests
//! run on a HAR document: the exports of tests/har_export.rs and tests/redaction.rs.

use serde_json::Value;
use std::collections::HashMap;
use std::path::PathBuf;

fn schema_dir() -> Option<PathBuf> {
    let p = super::data("har/schema");
    p.is_dir().then_some(p)
}

// ---- HAR 1.2 schema check (tests/data/har/schema, ahmadnassri/har-schema) ----

const DATE_PATTERN: &str =
    r"^(\d{4})(-)?(\d\d)(-)?(\d\d)(T)?(\d\d)(:)?(\d\d)(:)?(\d\d)(\.\d+)?(Z|([+-])(\d\d)(:)?(\d\d))";

/// The schema's date-time pattern, by hand (no regex crate here).
fn matches_date_pattern(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    let digits = |i: &mut usize, n: usize| -> bool {
        let ok = b
            .get(*i..*i + n)
            .is_some_and(|d| d.iter().all(u8::is_ascii_digit));
        *i += n;
        ok
    };
    let opt = |i: &mut usize, c: u8| {
        if b.get(*i) == Some(&c) {
            *i += 1;
        }
    };
    if !digits(&mut i, 4) {
        return false;
    }
    for (sep, n) in [(b'-', 2), (b'-', 2), (b'T', 2), (b':', 2), (b':', 2)] {
        opt(&mut i, sep);
        if !digits(&mut i, n) {
            return false;
        }
    }
    if b.get(i) == Some(&b'.') && b.get(i + 1).is_some_and(u8::is_ascii_digit) {
        i += 1;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
    }
    match b.get(i) {
        Some(b'Z') => true,
        Some(b'+' | b'-') => {
            i += 1;
            if !digits(&mut i, 2) {
                return false;
            }
            opt(&mut i, b':');
            digits(&mut i, 2)
        }
        _ => false,
    }
}

fn check_format(format: &str, v: &Value) -> bool {
    let Some(s) = v.as_str() else { return true };
    match format {
        "date-time" => matches_date_pattern(s),
        "uri" => s.split_once(':').is_some_and(|(scheme, _)| {
            !scheme.is_empty()
                && scheme.chars().next().unwrap().is_ascii_alphabetic()
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        }),
        "ipv4" => s.parse::<std::net::Ipv4Addr>().is_ok(),
        "ipv6" => s.parse::<std::net::Ipv6Addr>().is_ok(),
        other => panic!("format {other} not supported by the test validator"),
    }
}

fn type_ok(t: &str, v: &Value) -> bool {
    match t {
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        "number" => v.is_number(),
        "integer" => v.is_i64() || v.is_u64(),
        "boolean" => v.is_boolean(),
        "null" => v.is_null(),
        other => panic!("type {other}"),
    }
}

fn validate(
    v: &Value,
    schema: &Value,
    all: &HashMap<String, Value>,
    at: &str,
    errors: &mut Vec<String>,
) {
    let Some(s) = schema.as_object() else { return };
    for (key, rule) in s {
        match key.as_str() {
            "$ref" => {
                let name = rule.as_str().unwrap().trim_end_matches('#');
                validate(v, &all[name], all, at, errors);
            }
            "type" => {
                let ok = match rule {
                    Value::String(t) => type_ok(t, v),
                    Value::Array(ts) => ts.iter().any(|t| type_ok(t.as_str().unwrap(), v)),
                    _ => panic!("type rule"),
                };
                if !ok {
                    errors.push(format!("{at}: not {rule}"));
                }
            }
            "required" => {
                if let Some(obj) = v.as_object() {
                    for r in rule.as_array().unwrap() {
                        if !obj.contains_key(r.as_str().unwrap()) {
                            errors.push(format!("{at}: missing {r}"));
                        }
                    }
                }
            }
            "properties" => {
                if let Some(obj) = v.as_object() {
                    for (name, sub) in rule.as_object().unwrap() {
                        if let Some(child) = obj.get(name) {
                            validate(child, sub, all, &format!("{at}.{name}"), errors);
                        }
                    }
                }
            }
            "items" => {
                for (i, item) in v.as_array().into_iter().flatten().enumerate() {
                    validate(item, rule, all, &format!("{at}[{i}]"), errors);
                }
            }
            "oneOf" => {
                let passing = rule
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|sub| {
                        let mut e = Vec::new();
                        validate(v, sub, all, at, &mut e);
                        e.is_empty()
                    })
                    .count();
                if passing != 1 {
                    errors.push(format!("{at}: {passing} of oneOf match"));
                }
            }
            "format" => {
                if !check_format(rule.as_str().unwrap(), v) {
                    errors.push(format!("{at}: not a {rule}: {v}"));
                }
            }
            "pattern" => {
                assert_eq!(rule.as_str().unwrap(), DATE_PATTERN, "unsupported pattern");
                if v.as_str().is_some_and(|s| !matches_date_pattern(s)) {
                    errors.push(format!("{at}: does not match the date pattern: {v}"));
                }
            }
            // Annotations and the files' non-standard keys.
            "$id" | "$schema" | "optional" | "min" | "unique" => {}
            other => panic!("schema keyword {other} not supported by the test validator"),
        }
    }
}

/// Errors of a HAR document against the HAR 1.2 schema; None when the schema is absent.
pub fn schema_errors(har: &[u8]) -> Option<Vec<String>> {
    let dir = schema_dir()?;
    let mut all = HashMap::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.ends_with(".json") {
            all.insert(
                name,
                serde_json::from_slice(&std::fs::read(e.path()).unwrap()).unwrap(),
            );
        }
    }
    let doc: Value = serde_json::from_slice(har).unwrap();
    let mut errors = Vec::new();
    validate(&doc, &all["har.json"], &all, "$", &mut errors);
    Some(errors)
}
