//! Groundwork's storage network in motion: the provider server, the put/get client, the repair
//! worker and the throughput benchmark.
//!
//! [`groundwork_storage_net`] holds the pure parts (CIDs, erasure coding, commitments,
//! challenges); this crate moves bytes between disks over HTTP:
//!
//! - [`store`] — a provider's pieces on disk, written crash-safely (temporary file, fsync,
//!   rename, fsync of the folder) and verified on start;
//! - [`server`] — the provider's HTTP API ([`wire`]): uploads checked against their commitment,
//!   ranged downloads, proofs of challenged chunks; capacity, bandwidth ([`bandwidth`]) and body
//!   limits with clear JSON errors;
//! - [`client`] — `put` (CID, erasure coding, commitments, parallel uploads to providers chosen by
//!   [`placement`]) and `get` (parallel fetches of any `k` pieces, every byte verified, fallback
//!   on slow or missing providers), recording placements as [`manifest`]s;
//! - [`repair`] — audits pieces with proofs and rebuilds the lost ones elsewhere;
//! - [`chain`] — onboarding and offers, receipts, deals, repairs and proofs on chain;
//! - [`gc`] — a provider deletes the pieces of ended deals, as the chain says;
//! - [`local`] — providers on loopback in one process (devnet, benchmark, tests);
//! - [`bench`] — put and get throughput through all of the above.

pub mod bandwidth;
pub mod bench;
pub mod chain;
pub mod client;
pub mod gc;
pub mod local;
pub mod manifest;
pub mod placement;
pub mod pool;
pub mod progress;
pub mod provider_client;
pub mod repair;
pub mod server;
pub mod size;
pub mod store;
pub mod wire;
