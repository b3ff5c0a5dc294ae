//! The state machine's modules. Each is a folder with the same files: `mod.rs` (genesis and block
//! hooks), `msgs.rs` (its transaction messages: stateless check, then execution), `state.rs` (its
//! read/write extension traits; the only code that builds its keys), `params.rs`, `events.rs`
//! and `query.rs`. Modules reach each other only through those traits.

pub mod accounts;
pub mod credits;
pub mod devices;
pub mod reports;
pub mod rewards;
pub mod staking;
pub mod storage;
