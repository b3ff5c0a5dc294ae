//! The shared vocabulary of Groundwork: keys and signatures (ed25519 for accounts, P-256 ECDSA for
//! devices whose keys live in secure elements), `gw1…` addresses, token [`Amount`]s in integer base
//! units, and 32-byte hashes.
//!
//! Nothing here does I/O or reads a clock; everything is deterministic, so the state machine can use
//! it directly.
//!
//! ```
//! use groundwork_primitives::{Address, Amount, SigningKey, domain};
//!
//! let key = SigningKey::from_seed([7; 32]);
//! let address = Address::from_public_key(&key.public_key());
//! assert!(address.to_string().starts_with("gw1"));
//!
//! let signature = key.sign(domain::TRANSACTION, "groundwork-devnet", b"body bytes");
//! assert!(key.public_key().verify(domain::TRANSACTION, "groundwork-devnet", b"body bytes", &signature).is_ok());
//!
//! let amount = Amount::parse("12.5", 8).unwrap();
//! assert_eq!(amount.base_units(), 1_250_000_000);
//! assert_eq!(amount.display(8), "12.5");
//! ```

mod address;
mod amount;
mod device_id;
pub mod domain;
pub mod ed25519;
mod hash;
mod keys;

pub use address::{ADDRESS_HRP, ADDRESS_LEN, Address, AddressError};
pub use amount::{Amount, AmountError, DEFAULT_DECIMALS, MAX_DECIMALS};
pub use device_id::{DEVICE_HRP, DeviceId};
pub use hash::{Hash, HashError, sha256};
pub use keys::{
    ED25519_BATCH, KeyError, PreparedKey, PublicKey, Signature, SigningKey, batch_verify_ed25519,
    batch_verify_prepared, signed_message, signed_message_digest,
};
