//! Events the credits module emits.

use groundwork_primitives::{Address, Amount};
use groundwork_proto::v1::Event;

use crate::events::event;

/// `price_submitted`: an oracle reported the token's price.
pub fn price_submitted(oracle: &Address, micro_fiat_per_token: u64) -> Event {
    event(
        "price_submitted",
        [
            ("oracle", oracle.to_string()),
            ("micro_fiat_per_token", micro_fiat_per_token.to_string()),
        ],
    )
}

/// `credits_minted`: tokens were burned for credits.
pub fn credits_minted(
    payer: &Address,
    beneficiary: &Address,
    burned: Amount,
    credits: u64,
    micro_fiat_per_token: u64,
) -> Event {
    event(
        "credits_minted",
        [
            ("payer", payer.to_string()),
            ("beneficiary", beneficiary.to_string()),
            ("burned", burned.to_string()),
            ("credits", credits.to_string()),
            ("micro_fiat_per_token", micro_fiat_per_token.to_string()),
        ],
    )
}
