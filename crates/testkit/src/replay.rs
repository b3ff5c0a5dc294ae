//! Reading a node's blocks back and re-executing them elsewhere.

use std::path::Path;

use groundwork_app::{App, Genesis};
use groundwork_primitives::{Hash, sha256};
use groundwork_proto::{MAX_BLOCK_BYTES, Message, decode_bounded, v1};
use groundwork_state::{Store, Tip};

use crate::error::{TestkitError, TestkitResult};

/// Decodes stored bytes, saying what they were if they do not decode.
pub(crate) fn decode_stored<M: Message + Default>(
    what: &'static str,
    bytes: &[u8],
) -> TestkitResult<M> {
    decode_bounded(what, bytes, MAX_BLOCK_BYTES).map_err(|e| TestkitError::Stored(e.to_string()))
}

fn stored_block(store: &Store, height: u64) -> TestkitResult<v1::Block> {
    let bytes = store
        .block(height)?
        .ok_or_else(|| TestkitError::Stored(format!("block {height} is missing below the tip")))?;
    decode_stored("block", &bytes)
}

/// Height, block hash (SHA-256 of the encoded header), app hash and time of every block in
/// `store`, from 1 to its tip, read from the stored headers.
pub fn stored_history(store: &Store) -> TestkitResult<Vec<Tip>> {
    let tip_height = store.tip()?.map_or(0, |tip| tip.height);
    (1..=tip_height)
        .map(|height| {
            let block = stored_block(store, height)?;
            let header = block
                .header
                .ok_or_else(|| TestkitError::Stored(format!("block {height} has no header")))?;
            let app_hash = Hash::from_slice(&header.app_hash)
                .map_err(|e| TestkitError::Stored(format!("block {height} app hash: {e}")))?;
            Ok(Tip {
                height: header.height,
                block_hash: sha256(&header.encode_to_vec()),
                app_hash,
                time_ms: header.time_ms,
            })
        })
        .collect()
}

/// Creates a store at `target`, runs `genesis` on it, then applies every block of `source`
/// (heights 1 to its tip) with [`App::apply_block`], checking the invariants after each.
/// Returns the tip after each block, in order.
pub fn replay_blocks(source: &Store, genesis: &Genesis, target: &Path) -> TestkitResult<Vec<Tip>> {
    let mut app = App::open(Store::open(target)?)?;
    app.init_chain(genesis)?;
    let tip_height = source.tip()?.map_or(0, |tip| tip.height);
    let mut tips = Vec::new();
    for height in 1..=tip_height {
        let tip = app.apply_block(&stored_block(source, height)?)?;
        app.check_invariants()?
            .map_err(|reason| TestkitError::Invariant { height, reason })?;
        tips.push(tip);
    }
    Ok(tips)
}
