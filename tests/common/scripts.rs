//! The Lync samples and their scenario scripts (samples/lync/*.script.json: what the mock
//! client did, written by the client itself), as the report tests read them.
#![allow(dead_code)]

use lyncscope::model::{Analysis, ExchId, Exchange};
use lyncscope::{analyze, Options};
use serde_json::Value;
use std::path::PathBuf;
use std::sync::Arc;

pub fn lync_dir() -> PathBuf {
    super::sample("lync")
}

pub fn script(name: &str) -> Value {
    let p = lync_dir().join(format!("{name}.script.json"));
    serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap()
}

/// A sample analysed with the built-in stage rules, bodies kept.
pub fn analysis(name: &str) -> Analysis {
    let mut opts = Options {
        rules: Some(Arc::new(lyncscope::stage::RuleSet::builtin())),
        ..Default::default()
    };
    opts.http.keep_body_max = 1 << 20;
    let p = lync_dir().join(format!("{name}.pcapng"));
    analyze(&[p], &opts, &mut ()).unwrap()
}

pub fn s<'a>(v: &'a Value, k: &str) -> Option<&'a str> {
    v.get(k).and_then(Value::as_str)
}

/// The URL of a request as the script writes it: `scheme://Host-header/target`.
pub fn url_of(x: &Exchange) -> Option<String> {
    let r = x.request.as_ref()?;
    Some(format!(
        "{}://{}{}",
        x.scheme.as_str(),
        r.headers.get("host")?,
        r.target
    ))
}

/// The exchange of each HTTP step of the script (same method and URL, in order).
pub fn http_steps<'a>(a: &'a Analysis, sc: &'a Value) -> Vec<(&'a Value, &'a Exchange)> {
    let mut used = vec![false; a.exchanges.len()];
    let mut out = Vec::new();
    for st in sc["steps"].as_array().unwrap() {
        if s(st, "kind") != Some("http") {
            continue;
        }
        let found = a.exchanges.iter().position(|x| {
            !used[x.id.0 as usize]
                && x.request.as_ref().map(|r| &*r.method) == s(st, "method")
                && url_of(x).as_deref() == s(st, "url")
        });
        let i = found.unwrap_or_else(|| panic!("step {:?} not found", s(st, "step")));
        used[i] = true;
        out.push((st, &a.exchanges[i]));
    }
    out
}

pub fn all(a: &Analysis) -> Vec<ExchId> {
    a.exchanges.iter().map(|x| x.id).collect()
}
