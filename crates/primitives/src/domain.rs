//! Domain tags: the first bytes of every signed message, so that a signature made for one purpose
//! can never be replayed as another (a transaction signature is never a valid device report).
//!
//! A signed message is `tag || u8(len(chain id)) || chain id || body`; see
//! [`crate::signed_message`] and `docs/protocol.md`.

/// Signs a transaction body.
pub const TRANSACTION: &[u8] = b"groundwork/v1/tx";
/// Signs a device report body (devices issue).
pub const DEVICE_REPORT: &[u8] = b"groundwork/v1/device-report";
/// A hardware maker's attestation that a device key lives in hardware it built.
pub const MAKER_ATTESTATION: &[u8] = b"groundwork/v1/maker-attestation";
/// A device proving it holds its key when it is onboarded.
pub const DEVICE_ONBOARDING: &[u8] = b"groundwork/v1/device-onboarding";
/// A block proposal signed by a validator.
pub const BLOCK_PROPOSAL: &[u8] = b"groundwork/v1/block-proposal";
/// A payer countersigning a device's data transfer receipt.
pub const DATA_RECEIPT: &[u8] = b"groundwork/v1/data-receipt";
/// A storage provider's receipt for a piece it stores durably (storage deals and repairs).
pub const STORAGE_PIECE_RECEIPT: &[u8] = b"groundwork/v1/storage-piece-receipt";
