//! What the UI and the reports both show, computed once from the frozen analysis: the time
//! layout and the stage lanes, stage-table rows, wire heads and curl commands, bodies
//! pretty-printed, authentication and TLS facts in words, the facts reports give about
//! exchanges, inputs and diagnostics, and two sign-ins compared stage by stage. It reads the model only; `report/` and `tui/` draw what it gives.

pub mod auth_words;
pub mod body;
pub mod compare;
pub mod connections;
pub mod facts;
pub mod lanes;
pub mod stage_rows;
pub mod timeline;
pub mod tls_words;
pub mod wire;
