//! Scenario tests of the state machine, one file per behaviour, each named as a sentence.
//! Every block these tests make is followed by the supply invariants (the test node checks them).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use groundwork_primitives::{Address, Amount};
use groundwork_testkit::{GenesisBuilder, TestNode};

mod scenarios {
    pub mod a_bad_signature_costs_nothing;
    pub mod a_failed_transfer_still_pays_its_fee_and_changes_nothing_else;
    pub mod a_fee_below_the_minimum_is_refused;
    pub mod a_large_block_checks_every_signature_in_its_place;
    pub mod a_proposal_with_a_wrong_app_hash_is_rejected;
    pub mod a_replayed_transaction_is_refused_by_its_nonce;
    pub mod a_restarted_node_continues_from_its_last_committed_block;
    pub mod a_transaction_for_another_chain_is_refused;
    pub mod a_transfer_moves_tokens_and_burns_the_fee;
    pub mod an_account_proof_verifies_against_the_app_hash;
    pub mod replaying_the_blocks_into_a_fresh_store_gives_identical_state_roots;
    pub mod transactions_from_one_sender_execute_in_nonce_order;
}

/// Every account starts with this many base units.
const START: Amount = Amount(1_000_000);
/// The chain's minimum fee.
const MIN_FEE: Amount = Amount(1_000);

/// A node with three funded accounts of [`START`] and a minimum fee of [`MIN_FEE`].
fn node() -> TestNode {
    TestNode::start(
        GenesisBuilder::new()
            .accounts(3, START)
            .min_fee(MIN_FEE)
            .build(),
    )
    .unwrap()
}

/// An address no genesis account has.
fn stranger() -> Address {
    Address([0x5a; 20])
}
