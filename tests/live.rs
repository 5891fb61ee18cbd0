//! The live feed: exchanges reach a UI while the capture is still being read, and what
//! arrives is what the capture holds.

mod common;

use common::synth::{client, server, Capture};
use lyncscope::model::Analysis;
use lyncscope::model::{absorb, LiveFeed};
use lyncscope::pipeline::Progress;
use lyncscope::{analyze, Options};
use std::time::{Duration, Instant};

/// Records, at each progress report before the end, how many exchanges the feed had given
/// out so far (waiting briefly for the tracking thread to catch up with what was sent).
struct Watch {
    feed: LiveFeed,
    preview: Analysis,
    seen: Vec<usize>,
}

impl Progress for Watch {
    fn update(&mut self, done: u64, total: u64) {
        if done >= total {
            return;
        }
        let until = Instant::now() + Duration::from_secs(10);
        loop {
            absorb(&mut self.preview, self.feed.take());
            if !self.preview.exchanges.is_empty() || Instant::now() > until {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        self.seen.push(self.preview.exchanges.len());
    }
}

/// `n` requests on one keep-alive connection, each answered with its number as the body.
fn keep_alive_capture(n: usize) -> Capture {
    let mut cap = Capture::new();
    let (mut c, mut s) = (client(40000, 1000), server(5000));
    cap.connect(&mut c, &mut s);
    for i in 0..n {
        let req = format!("GET /item/{i} HTTP/1.1\r\nHost: live.test\r\n\r\n");
        cap.send(&mut c, &mut s, req.as_bytes(), 1460);
        cap.wait(100);
        let body = i.to_string();
        let resp = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        cap.send(&mut s, &mut c, resp.as_bytes(), 1460);
        cap.wait(100);
    }
    cap.close(&mut c, &mut s);
    cap
}

#[test]
fn exchanges_arrive_while_the_capture_is_read() {
    let n = 15_000;
    let cap = keep_alive_capture(n);
    assert!(
        cap.frame_count() > 3 * 8192,
        "progress is reported every 8192 frames"
    );
    let dir = tempfile::tempdir().unwrap();
    let path = cap.write(dir.path(), "keepalive.pcap");
    let feed = LiveFeed::new();
    let mut options = Options {
        threads: Some(1),
        ..Options::default()
    };
    options.http.live = Some(feed.clone());
    let mut watch = Watch {
        feed: feed.clone(),
        preview: Analysis::default(),
        seen: Vec::new(),
    };
    let done = analyze(&[path], &options, &mut watch).unwrap();
    absorb(&mut watch.preview, feed.take());

    // While reading: some but not all requests were already listed (the one connection is
    // still open, so they came one by one, not when it closed).
    let first = *watch.seen.first().expect("progress before the end");
    assert!(first > 0 && first < n, "first report saw {first} of {n}");
    assert!(watch.seen.windows(2).all(|w| w[0] <= w[1]));

    // At the end the preview holds every request of the capture, in order, each with the
    // body length it was sent with, on one connection.
    let p = &watch.preview;
    assert_eq!(p.exchanges.len(), n);
    assert_eq!(p.connections.len(), 1);
    for (i, x) in p.exchanges.iter().enumerate() {
        let req = x.request.as_ref().unwrap();
        assert_eq!(req.target, format!("/item/{i}"));
        let resp = x.response.as_ref().unwrap();
        assert_eq!(resp.status, 200);
        assert_eq!(resp.body.wire_length, i.to_string().len() as u64);
        assert!(resp.body.kept.is_none() && resp.body.head.is_none());
    }
    assert_eq!(p.connections[0].exchanges.len(), n);
    assert_eq!(feed.dropped(), 0);
    // The same exchanges as the finished analysis.
    let key = |a: &Analysis| -> Vec<(String, u16)> {
        a.exchanges
            .iter()
            .map(|x| {
                (
                    x.request.as_ref().unwrap().target.clone(),
                    x.response.as_ref().unwrap().status,
                )
            })
            .collect()
    };
    assert_eq!(key(p), key(&done));
}

#[test]
fn a_sample_sign_in_arrives_whole() {
    // Sample B's scenario script lists every HTTP step the client made; the feed gives each
    // answered one, once.
    let path = common::sample("lync/B-external-home-pool-redirect.pcapng");
    let script: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(common::sample(
            "lync/B-external-home-pool-redirect.script.json",
        ))
        .unwrap(),
    )
    .unwrap();
    let feed = LiveFeed::new();
    let mut options = Options::default();
    options.http.live = Some(feed.clone());
    analyze(&[path], &options, &mut ()).unwrap();
    let mut preview = Analysis::default();
    absorb(&mut preview, feed.take());
    let mut got: Vec<(String, String, u16)> = preview
        .exchanges
        .iter()
        .filter_map(|x| {
            let q = x.request.as_ref()?;
            let r = x.response.as_ref()?;
            Some((q.method.to_string(), q.target.clone(), r.status))
        })
        .collect();
    let mut want = script_http_steps(&script);
    got.retain(|g| want.contains(g));
    got.sort();
    want.sort();
    assert!(!want.is_empty());
    assert_eq!(got, want);
}

/// (method, path, status) of each HTTP step of a scenario script.
fn script_http_steps(script: &serde_json::Value) -> Vec<(String, String, u16)> {
    script["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| {
            let method = s.get("method")?.as_str()?.to_string();
            let url = s.get("url")?.as_str()?;
            let status = s.get("status")?.as_u64()? as u16;
            let path = url
                .splitn(4, '/')
                .nth(3)
                .map_or("/".to_string(), |p| format!("/{p}"));
            Some((method, path, status))
        })
        .collect()
}
