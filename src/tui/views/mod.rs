//! One render function per screen region (trippy style); each reads the app state and draws.

pub mod compare;
pub mod connections;
pub mod detail;
pub mod findings;
pub mod list;
pub mod overlays;
pub mod timeline;
