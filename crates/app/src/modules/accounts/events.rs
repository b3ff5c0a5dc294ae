//! Events the accounts module emits.

use groundwork_primitives::{Address, Amount};
use groundwork_proto::v1::Event;

use crate::events::{address_text, event};

/// `transfer`: tokens moved between accounts.
pub fn transfer(from: &Address, to: &Address, amount: Amount) -> Event {
    event(
        "transfer",
        [
            ("from", address_text(from)),
            ("to", address_text(to)),
            ("amount", amount.to_string()),
        ],
    )
}

/// `fee_burned`: a transaction's fee left the payer and the supply.
pub fn fee_burned(payer: &Address, amount: Amount) -> Event {
    event(
        "fee_burned",
        [
            ("payer", address_text(payer)),
            ("amount", amount.to_string()),
        ],
    )
}
