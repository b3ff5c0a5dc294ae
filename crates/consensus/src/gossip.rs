//! Sharing admitted transactions and device reports between validators, so that whichever
//! validator leads a view can propose what was submitted to any of them.
//!
//! Every node admits a submission itself (signature, nonce, counters) and then shares it on the
//! [`channels::GOSSIP`](crate::channels::GOSSIP) channel with every other validator, which
//! admits it again and does not share it further (the validator set is fully connected). What
//! is waiting when a sharing starts goes out as one message, so batches grow with load.
//!
//! ```text
//! message: version (u8 = 1)
//!          ‖ tx count (varint) ‖ { length (varint) ‖ envelope bytes } ×count
//!          ‖ report count (varint) ‖ { length (varint) ‖ report bytes } ×count
//! ```
//!
//! Decoding is bounded by [`GOSSIP_LIMITS`]: a message breaking a limit is dropped whole.

use std::sync::Arc;

use bytes::{Buf as _, BufMut as _};
use commonware_p2p::{Receiver, Recipients, Sender};
use futures::channel::mpsc::UnboundedReceiver;
use futures::{FutureExt as _, StreamExt as _};

use crate::{Gossip, Mempool};

/// The format version written first in every message.
const VERSION: u8 = 1;

/// Limits of one gossip message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GossipLimits {
    /// Most bytes of one message (the sender never exceeds it; a receiver refuses more).
    pub max_message_bytes: usize,
    /// Most transactions or reports in one message.
    pub max_items: usize,
    /// Largest transaction.
    pub max_tx_bytes: usize,
    /// Largest report.
    pub max_report_bytes: usize,
}

/// The limits every validator uses.
pub const GOSSIP_LIMITS: GossipLimits = GossipLimits {
    max_message_bytes: 4 * 1024 * 1024,
    max_items: 100_000,
    max_tx_bytes: groundwork_proto::MAX_TX_BYTES,
    max_report_bytes: groundwork_proto::MAX_REPORT_BYTES,
};

fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.put_u8((value as u8) | 0x80);
        value >>= 7;
    }
    out.put_u8(value as u8);
}

fn get_varint(buf: &mut &[u8]) -> Option<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        if !buf.has_remaining() {
            return None;
        }
        let byte = buf.get_u8();
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

/// The encoded size of `item` in a message.
fn item_size(item: &[u8]) -> usize {
    item.len() + 10
}

/// Encodes `gossip` (the caller keeps it under the message limit).
pub(crate) fn encode(gossip: &Gossip) -> Vec<u8> {
    let size: usize = gossip
        .txs
        .iter()
        .chain(&gossip.reports)
        .map(|i| item_size(i))
        .sum();
    let mut out = Vec::with_capacity(size + 21);
    out.put_u8(VERSION);
    for list in [&gossip.txs, &gossip.reports] {
        put_varint(&mut out, list.len() as u64);
        for item in list {
            put_varint(&mut out, item.len() as u64);
            out.put_slice(item);
        }
    }
    out
}

/// Decodes a message from a peer, or says why it is refused.
pub(crate) fn decode(mut bytes: &[u8], limits: &GossipLimits) -> Result<Gossip, String> {
    if bytes.len() > limits.max_message_bytes {
        return Err(format!("{} bytes is above the limit", bytes.len()));
    }
    if !bytes.has_remaining() || bytes.get_u8() != VERSION {
        return Err("unknown version".into());
    }
    let mut lists = [Vec::new(), Vec::new()];
    for (list, max_item) in lists
        .iter_mut()
        .zip([limits.max_tx_bytes, limits.max_report_bytes])
    {
        let count = get_varint(&mut bytes).ok_or("truncated count")?;
        if count > limits.max_items as u64 {
            return Err(format!("{count} items is above the limit"));
        }
        for _ in 0..count {
            let len = get_varint(&mut bytes).ok_or("truncated length")?;
            if len > max_item as u64 || len > bytes.remaining() as u64 {
                return Err(format!("an item of {len} bytes is too long"));
            }
            let (item, rest) = bytes.split_at(len as usize);
            list.push(item.to_vec());
            bytes = rest;
        }
    }
    if bytes.has_remaining() {
        return Err("trailing bytes".into());
    }
    let [txs, reports] = lists;
    Ok(Gossip { txs, reports })
}

/// Moves whatever `outgoing` holds now into batches under the message limit.
fn batches(first: Gossip, outgoing: &mut UnboundedReceiver<Gossip>) -> Vec<Gossip> {
    let limit = GOSSIP_LIMITS.max_message_bytes - 64;
    let mut out = vec![Gossip::default()];
    let mut size = 0usize;
    let mut add = |item: Vec<u8>, is_tx: bool, out: &mut Vec<Gossip>| {
        let item_bytes = item_size(&item);
        let full = {
            let last = &out[out.len() - 1];
            size + item_bytes > limit
                || last.txs.len().max(last.reports.len()) >= GOSSIP_LIMITS.max_items
        };
        if full {
            out.push(Gossip::default());
            size = 0;
        }
        size += item_bytes;
        let last = out.len() - 1;
        if is_tx {
            out[last].txs.push(item);
        } else {
            out[last].reports.push(item);
        }
    };
    let mut next = Some(first);
    while let Some(gossip) = next {
        for tx in gossip.txs {
            add(tx, true, &mut out);
        }
        for report in gossip.reports {
            add(report, false, &mut out);
        }
        next = outgoing.try_recv().ok();
    }
    out.retain(|g| !g.is_empty());
    out
}

/// Shares what the node hands over in `outgoing` and gives the mempool what peers share, until
/// both ends close.
pub(crate) async fn run<S, R>(
    mut sender: S,
    mut receiver: R,
    mut outgoing: UnboundedReceiver<Gossip>,
    mempool: Arc<dyn Mempool>,
) where
    S: Sender,
    R: Receiver,
{
    enum Event<M> {
        Outgoing(Option<Gossip>),
        Incoming(M),
    }
    let mut outgoing_open = true;
    loop {
        let event = {
            let next_outgoing = async {
                if outgoing_open {
                    outgoing.next().await
                } else {
                    futures::future::pending().await
                }
            }
            .fuse();
            let next_incoming = receiver.recv().fuse();
            futures::pin_mut!(next_outgoing, next_incoming);
            futures::select! {
                gossip = next_outgoing => Event::Outgoing(gossip),
                message = next_incoming => Event::Incoming(message),
            }
        };
        match event {
            Event::Outgoing(Some(gossip)) => {
                for batch in batches(gossip, &mut outgoing) {
                    let items = batch.txs.len() + batch.reports.len();
                    let reached = sender.send(Recipients::All, encode(&batch), false);
                    tracing::trace!(
                        items,
                        peers = reached.len(),
                        "shared transactions and reports"
                    );
                }
            }
            // The node stopped sharing; keep taking what peers share.
            Event::Outgoing(None) => outgoing_open = false,
            Event::Incoming(Ok((peer, message))) => {
                match decode(message.as_ref(), &GOSSIP_LIMITS) {
                    Ok(gossip) => mempool.received(gossip),
                    Err(reason) => {
                        tracing::warn!(?peer, %reason, "dropping a malformed gossip message")
                    }
                }
            }
            Event::Incoming(Err(error)) => {
                tracing::debug!(%error, "the gossip channel closed");
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_round_trips_and_broken_ones_are_refused() {
        let gossip = Gossip {
            txs: vec![vec![1, 2, 3], vec![]],
            reports: vec![vec![9; 300]],
        };
        let bytes = encode(&gossip);
        assert_eq!(decode(&bytes, &GOSSIP_LIMITS), Ok(gossip));
        assert!(decode(&bytes[..bytes.len() - 1], &GOSSIP_LIMITS).is_err());
        let mut trailing = bytes.clone();
        trailing.push(0);
        assert!(decode(&trailing, &GOSSIP_LIMITS).is_err());
        let tight = GossipLimits {
            max_report_bytes: 100,
            ..GOSSIP_LIMITS
        };
        assert!(decode(&bytes, &tight).is_err());
        assert!(decode(&[2], &GOSSIP_LIMITS).is_err());
        // A huge claimed count with no bytes behind it is refused, not allocated.
        let mut lying = vec![VERSION];
        put_varint(&mut lying, 99);
        assert!(decode(&lying, &GOSSIP_LIMITS).is_err());
    }

    #[test]
    fn waiting_submissions_are_split_into_messages_under_the_limit() {
        let (tx, mut rx) = futures::channel::mpsc::unbounded();
        let big = vec![7u8; 60_000];
        for _ in 0..100 {
            tx.unbounded_send(Gossip {
                txs: vec![big.clone()],
                reports: vec![],
            })
            .unwrap();
        }
        let first = Gossip {
            txs: vec![],
            reports: vec![vec![1; 10]],
        };
        let out = batches(first, &mut rx);
        assert!(out.len() >= 2, "6 MB must not fit one message");
        let total: usize = out.iter().map(|g| g.txs.len() + g.reports.len()).sum();
        assert_eq!(total, 101);
        for batch in &out {
            assert!(encode(batch).len() <= GOSSIP_LIMITS.max_message_bytes);
        }
    }
}
