//! Exchanges handed out while the analysis still runs, so a UI can list them as they come.
//!
//! The HTTP layer pushes a body-less copy of each exchange when its response ends; the UI
//! takes what arrived every few hundred milliseconds and folds it into a provisional
//! [`Analysis`] ([`absorb`]) that it replaces with the real one when loading ends. Ids, stages,
//! TLS facts and findings exist only in the real one.

use crate::model::{Analysis, Body, ConnId, Connection, ExchId, Exchange, FrameNo};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

/// Exchanges waiting to be taken beyond this are dropped (a UI that stopped taking them
/// must not make the analysis grow without bound); the real analysis still has them all.
const PENDING_MAX: usize = 1 << 18;

/// One finished exchange and the TCP connection it came on.
#[derive(Debug, Clone)]
pub struct LiveExchange {
    pub client: SocketAddr,
    pub server: SocketAddr,
    /// Names the TCP connection (unique within a capture).
    pub conn_first_frame: FrameNo,
    /// Bodies are left out: only their lengths and hashes are there.
    pub exchange: Exchange,
}

/// Shared between the analysis threads (which push) and the UI (which takes).
#[derive(Clone, Default)]
pub struct LiveFeed(Arc<Mutex<Pending>>);

#[derive(Default)]
struct Pending {
    items: Vec<LiveExchange>,
    dropped: u64,
}

impl std::fmt::Debug for LiveFeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LiveFeed")
    }
}

impl LiveFeed {
    pub fn new() -> LiveFeed {
        LiveFeed::default()
    }

    /// Adds `exchange`, leaving its bodies out.
    pub fn push(
        &self,
        client: SocketAddr,
        server: SocketAddr,
        first_frame: FrameNo,
        mut exchange: Exchange,
    ) {
        if let Some(r) = &mut exchange.request {
            strip(&mut r.body);
        }
        if let Some(r) = &mut exchange.response {
            strip(&mut r.body);
        }
        let item = LiveExchange {
            client,
            server,
            conn_first_frame: first_frame,
            exchange,
        };
        // A poisoned lock only means a pushing thread panicked; the analysis reports that.
        let Ok(mut p) = self.0.lock() else { return };
        if p.items.len() >= PENDING_MAX {
            p.dropped += 1;
        } else {
            p.items.push(item);
        }
    }

    /// Everything pushed since the last call.
    pub fn take(&self) -> Vec<LiveExchange> {
        self.0
            .lock()
            .map(|mut p| std::mem::take(&mut p.items))
            .unwrap_or_default()
    }

    /// Exchanges dropped because nobody took them in time.
    pub fn dropped(&self) -> u64 {
        self.0.lock().map(|p| p.dropped).unwrap_or(0)
    }
}

fn strip(b: &mut Body) {
    b.kept = None;
    b.wire_kept = None;
    b.head = None;
}

/// Folds newly arrived exchanges into a provisional analysis: connections are made up from
/// the endpoints (one per first frame), exchanges are kept in order of their first frame and
/// numbered by position.
pub fn absorb(a: &mut Analysis, batch: Vec<LiveExchange>) {
    a.partial = true;
    if batch.is_empty() {
        return;
    }
    let mut conn_of: HashMap<(FrameNo, SocketAddr, SocketAddr), ConnId> = a
        .connections
        .iter()
        .map(|c| ((c.first_frame, c.client, c.server), c.id))
        .collect();
    for item in batch {
        let key = (item.conn_first_frame, item.client, item.server);
        let id = *conn_of.entry(key).or_insert_with(|| {
            let id = ConnId(a.connections.len() as u32);
            a.connections.push(provisional_connection(id, &item));
            id
        });
        let c = &mut a.connections[id.0 as usize];
        if let Some(first) = item.exchange.timing.first() {
            c.first_seen = c.first_seen.min(first.ts);
        }
        let last = [
            item.exchange.timing.response_end(),
            item.exchange.timing.request_end(),
        ]
        .into_iter()
        .flatten()
        .map(|x| x.ts)
        .max();
        if let Some(last) = last {
            c.last_seen = c.last_seen.max(last);
        }
        let mut x = item.exchange;
        x.connection = id;
        // Its id and tunnel link are a worker's own, not this analysis's: the provisional
        // view goes without the link (the final analysis has it).
        x.id = ExchId(u32::MAX);
        x.tunnel = None;
        a.exchanges.push(x);
    }
    // Mostly in order already (two sorted runs): the stable sort merges them in linear time.
    a.exchanges.sort_by_key(|x| {
        (
            x.timing.first().map_or(FrameNo(u64::MAX), |f| f.frame),
            x.connection,
        )
    });
    for c in &mut a.connections {
        c.exchanges.clear();
    }
    let mut new_id = vec![0u32; a.exchanges.len()];
    for (i, x) in a.exchanges.iter_mut().enumerate() {
        // Exchanges already absorbed were numbered by position; new ones are u32::MAX.
        if let Some(n) = new_id.get_mut(x.id.0 as usize) {
            *n = i as u32;
        }
        x.id = ExchId(i as u32);
        a.connections[x.connection.0 as usize].exchanges.push(x.id);
    }
    for x in a.exchanges.iter_mut().filter(|x| x.tunnel.is_some()) {
        let renumber = |old: u32| new_id.get(old as usize).copied().unwrap_or(old);
        x.tunnel = x.tunnel.and_then(|t| t.renumbered(renumber));
    }
}

fn provisional_connection(id: ConnId, item: &LiveExchange) -> Connection {
    Connection {
        first_frame: item.conn_first_frame,
        last_frame: item.conn_first_frame,
        ..Connection::from_endpoints(id, item.client, item.server)
    }
}
