//! Parameters of the accounts module.

use groundwork_primitives::Amount;
use serde::{Deserialize, Serialize};

/// The default minimum fee: 1,000 base units (0.00001 of a token at 8 decimals). Low enough for
/// a devnet, high enough that a flood of transactions costs something.
pub const DEFAULT_MIN_FEE: Amount = Amount(1_000);

/// Accounts parameters, set at genesis.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountsParams {
    /// The lowest fee a transaction may offer, in base units. Fees are burned.
    pub min_fee: Amount,
}

impl Default for AccountsParams {
    fn default() -> Self {
        AccountsParams {
            min_fee: DEFAULT_MIN_FEE,
        }
    }
}

impl AccountsParams {
    /// Checks the parameters.
    pub fn validate(&self) -> Result<(), String> {
        Ok(())
    }
}
