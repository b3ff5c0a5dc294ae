//! Events the accounts module emits.

use groundwork_primitives::{Address, Amount};
use groundwork_proto::v1::Event;

use crate::events::event;

/// `transfer`: tokens moved between accounts.
pub fn transfer(from: &Address, to: &Address, amount: Amount) -> Event {
    event(
        "transfer",
        [
            ("from", from.to_string()),
            ("to", to.to_string()),
            ("amount", amount.to_string()),
        ],
    )
}

/// `fee_burned`: a transaction's fee left the payer and the supply.
pub fn fee_burned(payer: &Address, amount: Amount) -> Event {
    event(
        "fee_burned",
        [("payer", payer.to_string()), ("amount", amount.to_string())],
    )
}
