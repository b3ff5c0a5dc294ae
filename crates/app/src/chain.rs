//! Chain-wide facts kept in state: the chain's identity and token, the validator set, and the
//! last block's height and time (written every block, so every block changes the state root).

use serde::{Deserialize, Serialize};

use groundwork_state::{StateRead, StateWrite};

use crate::error::{AppError, AppResult};
use crate::genesis::{Genesis, GenesisValidator, TokenInfo};

const INFO_KEY: &[u8] = b"chain/info";
const LAST_BLOCK_KEY: &[u8] = b"chain/last_block";
const VALIDATORS_KEY: &[u8] = b"chain/validators";

/// What every transaction and query needs to know about the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainInfo {
    /// The chain id.
    pub chain_id: String,
    /// The token.
    pub token: TokenInfo,
    /// Genesis time, ms since the Unix epoch.
    pub genesis_time_ms: u64,
}

impl ChainInfo {
    /// The chain facts of a genesis document.
    pub fn from_genesis(genesis: &Genesis) -> Self {
        ChainInfo {
            chain_id: genesis.chain_id.clone(),
            token: genesis.token.clone(),
            genesis_time_ms: genesis.genesis_time_ms,
        }
    }
}

/// Height and time of the last executed block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastBlock {
    /// Height.
    pub height: u64,
    /// Time, ms since the Unix epoch.
    pub time_ms: u64,
}

fn decode<T: for<'de> Deserialize<'de>>(key: &[u8], bytes: &[u8]) -> AppResult<T> {
    serde_json::from_slice(bytes).map_err(|e| AppError::Corrupt {
        key: String::from_utf8_lossy(key).into_owned(),
        reason: e.to_string(),
    })
}

fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    // Plain data structs always serialise.
    serde_json::to_vec(value).unwrap_or_default()
}

/// Reads the chain facts, or `None` before genesis.
pub fn chain_info(state: &impl StateRead) -> AppResult<Option<ChainInfo>> {
    state
        .get(INFO_KEY)?
        .map(|bytes| decode(INFO_KEY, &bytes))
        .transpose()
}

/// Writes the chain facts (genesis only).
pub fn put_chain_info(state: &mut impl StateWrite, info: &ChainInfo) {
    state.put(INFO_KEY.to_vec(), encode(info));
}

/// The last executed block (height 0 and the genesis time before any block).
pub fn last_block(state: &impl StateRead) -> AppResult<LastBlock> {
    match state.get(LAST_BLOCK_KEY)? {
        Some(bytes) => decode(LAST_BLOCK_KEY, &bytes),
        None => Ok(LastBlock {
            height: 0,
            time_ms: 0,
        }),
    }
}

/// Records the block being executed.
pub fn put_last_block(state: &mut impl StateWrite, last: LastBlock) {
    state.put(LAST_BLOCK_KEY.to_vec(), encode(&last));
}

/// The validator set.
pub fn validators(state: &impl StateRead) -> AppResult<Vec<GenesisValidator>> {
    match state.get(VALIDATORS_KEY)? {
        Some(bytes) => decode(VALIDATORS_KEY, &bytes),
        None => Ok(Vec::new()),
    }
}

/// Replaces the validator set.
pub fn put_validators(state: &mut impl StateWrite, validators: &[GenesisValidator]) {
    state.put(VALIDATORS_KEY.to_vec(), encode(&validators));
}

const BLOCK_HASH_PREFIX: &[u8] = b"chain/block_hash/";

/// How many recent block hashes state keeps (beacon randomness reads them).
pub const BLOCK_HASH_WINDOW: u64 = 256;

fn block_hash_key(height: u64) -> Vec<u8> {
    [BLOCK_HASH_PREFIX, &height.to_be_bytes()].concat()
}

/// The hash of block `height`, if it is recent enough to be kept.
pub fn block_hash_at(
    state: &impl StateRead,
    height: u64,
) -> AppResult<Option<groundwork_primitives::Hash>> {
    match state.get(&block_hash_key(height))? {
        Some(bytes) => groundwork_primitives::Hash::from_slice(&bytes)
            .map(Some)
            .map_err(|e| AppError::Corrupt {
                key: format!("chain/block_hash/{height}"),
                reason: e.to_string(),
            }),
        None => Ok(None),
    }
}

/// Records the parent's hash as block `height − 1`'s and forgets hashes beyond the window.
pub fn put_parent_hash(
    state: &mut impl StateWrite,
    height: u64,
    parent: &groundwork_primitives::Hash,
) {
    if height == 0 {
        return;
    }
    state.put(block_hash_key(height - 1), parent.0.to_vec());
    if height > BLOCK_HASH_WINDOW + 1 {
        state.delete(block_hash_key(height - 1 - BLOCK_HASH_WINDOW));
    }
}
