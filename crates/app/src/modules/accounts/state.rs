//! The accounts module's state, reached only through [`AccountsRead`] and [`AccountsWrite`].
//!
//! Keys (built only here):
//! - `accounts/a/` ‖ 20-byte address → balance (u128 BE, 16 bytes) ‖ nonce (u64 BE, 8 bytes)
//! - `accounts/supply` → genesis ‖ minted ‖ burned (three u128 BE)
//! - `accounts/params` → JSON [`AccountsParams`]

use groundwork_primitives::{ADDRESS_LEN, Address, Amount};
use groundwork_state::{StateRead, StateWrite};

use crate::error::{AppError, AppResult};
use crate::modules::accounts::params::AccountsParams;

const ACCOUNT_PREFIX: &[u8] = b"accounts/a/";
const SUPPLY_KEY: &[u8] = b"accounts/supply";
const PARAMS_KEY: &[u8] = b"accounts/params";

/// The state key of an account.
pub fn account_key(address: &Address) -> Vec<u8> {
    let mut key = Vec::with_capacity(ACCOUNT_PREFIX.len() + ADDRESS_LEN);
    key.extend_from_slice(ACCOUNT_PREFIX);
    key.extend_from_slice(address.as_bytes());
    key
}

/// An account's balance and next nonce.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Account {
    /// Liquid balance.
    pub balance: Amount,
    /// The nonce its next transaction must carry.
    pub nonce: u64,
}

impl Account {
    fn encode(&self) -> [u8; 24] {
        let mut out = [0u8; 24];
        out[..16].copy_from_slice(&self.balance.0.to_be_bytes());
        out[16..].copy_from_slice(&self.nonce.to_be_bytes());
        out
    }

    fn decode(key: &[u8], bytes: &[u8]) -> AppResult<Account> {
        let corrupt = || AppError::Corrupt {
            key: hex::encode(key),
            reason: "account is not 24 bytes".into(),
        };
        let balance: [u8; 16] = bytes
            .get(..16)
            .ok_or_else(corrupt)?
            .try_into()
            .map_err(|_| corrupt())?;
        let nonce: [u8; 8] = bytes
            .get(16..24)
            .ok_or_else(corrupt)?
            .try_into()
            .map_err(|_| corrupt())?;
        if bytes.len() != 24 {
            return Err(corrupt());
        }
        Ok(Account {
            balance: Amount(u128::from_be_bytes(balance)),
            nonce: u64::from_be_bytes(nonce),
        })
    }
}

/// The token's supply counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Supply {
    /// Sum of the genesis balances.
    pub genesis: Amount,
    /// Everything minted since genesis (rewards, re-mints).
    pub minted: Amount,
    /// Everything burned since genesis (fees, credit purchases, slashing).
    pub burned: Amount,
}

impl Supply {
    /// `genesis + minted − burned`, or `None` if the counters are inconsistent.
    pub fn total(&self) -> Option<Amount> {
        self.genesis
            .checked_add(self.minted)?
            .checked_sub(self.burned)
    }

    fn encode(&self) -> [u8; 48] {
        let mut out = [0u8; 48];
        out[..16].copy_from_slice(&self.genesis.0.to_be_bytes());
        out[16..32].copy_from_slice(&self.minted.0.to_be_bytes());
        out[32..].copy_from_slice(&self.burned.0.to_be_bytes());
        out
    }

    fn decode(bytes: &[u8]) -> AppResult<Supply> {
        let corrupt = || AppError::Corrupt {
            key: "accounts/supply".into(),
            reason: "supply is not 48 bytes".into(),
        };
        if bytes.len() != 48 {
            return Err(corrupt());
        }
        let field = |i: usize| -> AppResult<Amount> {
            let raw: [u8; 16] = bytes[i * 16..(i + 1) * 16]
                .try_into()
                .map_err(|_| corrupt())?;
            Ok(Amount(u128::from_be_bytes(raw)))
        };
        Ok(Supply {
            genesis: field(0)?,
            minted: field(1)?,
            burned: field(2)?,
        })
    }
}

/// Why a balance could not be changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BalanceError {
    /// Not enough funds.
    #[error("account {account} holds {available} base units, {needed} are needed")]
    Insufficient {
        /// The account.
        account: Address,
        /// Its balance.
        available: Amount,
        /// The amount asked for.
        needed: Amount,
    },
    /// The credit would overflow u128.
    #[error("the balance of {0} would overflow")]
    Overflow(Address),
}

/// Reading accounts.
pub trait AccountsRead: StateRead {
    /// An account (all zero if it never received anything).
    fn account(&self, address: &Address) -> AppResult<Account> {
        let key = account_key(address);
        match self.get(&key)? {
            Some(bytes) => Account::decode(&key, &bytes),
            None => Ok(Account::default()),
        }
    }

    /// The supply counters.
    fn supply(&self) -> AppResult<Supply> {
        match self.get(SUPPLY_KEY)? {
            Some(bytes) => Supply::decode(&bytes),
            None => Ok(Supply::default()),
        }
    }

    /// The module's parameters.
    fn accounts_params(&self) -> AppResult<AccountsParams> {
        match self.get(PARAMS_KEY)? {
            Some(bytes) => serde_json::from_slice(&bytes).map_err(|e| AppError::Corrupt {
                key: "accounts/params".into(),
                reason: e.to_string(),
            }),
            None => Ok(AccountsParams::default()),
        }
    }

    /// Up to `limit` accounts in address order, after the account key `after`.
    fn accounts_page(
        &self,
        after: Option<&[u8]>,
        limit: usize,
    ) -> AppResult<Vec<(Address, Account)>> {
        self.scan_prefix(ACCOUNT_PREFIX, after, limit)?
            .into_iter()
            .map(|(key, value)| {
                let address = Address::from_slice(&key[ACCOUNT_PREFIX.len()..]).map_err(|e| {
                    AppError::Corrupt {
                        key: hex::encode(&key),
                        reason: e.to_string(),
                    }
                })?;
                Ok((address, Account::decode(&key, &value)?))
            })
            .collect()
    }
}

impl<S: StateRead + ?Sized> AccountsRead for S {}

/// Changing accounts.
pub trait AccountsWrite: StateWrite + AccountsRead {
    /// Stores an account.
    fn put_account(&mut self, address: &Address, account: &Account) {
        self.put(account_key(address), account.encode().to_vec());
    }

    /// Stores the supply counters.
    fn put_supply(&mut self, supply: &Supply) {
        self.put(SUPPLY_KEY.to_vec(), supply.encode().to_vec());
    }

    /// Stores the parameters.
    fn put_accounts_params(&mut self, params: &AccountsParams) {
        // Plain data always serialises.
        self.put(
            PARAMS_KEY.to_vec(),
            serde_json::to_vec(params).unwrap_or_default(),
        );
    }

    /// Takes `amount` from an account's balance.
    fn debit(&mut self, address: &Address, amount: Amount) -> AppResult<Result<(), BalanceError>> {
        let mut account = self.account(address)?;
        let Some(balance) = account.balance.checked_sub(amount) else {
            return Ok(Err(BalanceError::Insufficient {
                account: *address,
                available: account.balance,
                needed: amount,
            }));
        };
        account.balance = balance;
        self.put_account(address, &account);
        Ok(Ok(()))
    }

    /// Adds `amount` to an account's balance.
    fn credit(&mut self, address: &Address, amount: Amount) -> AppResult<Result<(), BalanceError>> {
        let mut account = self.account(address)?;
        let Some(balance) = account.balance.checked_add(amount) else {
            return Ok(Err(BalanceError::Overflow(*address)));
        };
        account.balance = balance;
        self.put_account(address, &account);
        Ok(Ok(()))
    }

    /// Takes `amount` from an account and out of the supply.
    fn burn_from(
        &mut self,
        address: &Address,
        amount: Amount,
    ) -> AppResult<Result<(), BalanceError>> {
        if let Err(e) = self.debit(address, amount)? {
            return Ok(Err(e));
        }
        self.burn_held(amount)?;
        Ok(Ok(()))
    }

    /// Records that `amount`, already taken out of an account or held outside accounts (a fee,
    /// bonded stake, escrow), was burned: the supply's `burned` counter grows by it.
    fn burn_held(&mut self, amount: Amount) -> AppResult<()> {
        let mut supply = self.supply()?;
        supply.burned = supply
            .burned
            .checked_add(amount)
            .ok_or_else(|| AppError::Corrupt {
                key: "accounts/supply".into(),
                reason: "burned counter overflow".into(),
            })?;
        self.put_supply(&supply);
        Ok(())
    }

    /// Creates new tokens in many accounts, updating the supply once; returns the total minted.
    /// On an overflowing balance nothing of the supply changes and the error names the account
    /// (the balances credited before it stay in this overlay: callers drop it).
    fn mint_many(
        &mut self,
        credits: &[(Address, Amount)],
    ) -> AppResult<Result<Amount, BalanceError>> {
        let mut total = Amount::ZERO;
        for (address, amount) in credits {
            if let Err(e) = self.credit(address, *amount)? {
                return Ok(Err(e));
            }
            total = add_minted(total, *amount)?;
        }
        self.count_minted(total)?;
        Ok(Ok(total))
    }

    /// [`AccountsWrite::mint_many`] for callers that already read the accounts (in parallel, say):
    /// `accounts[i]` must be `credits[i].0`'s account as this state holds it. The writes and the
    /// result are the same as `mint_many`'s. The addresses must be in strictly increasing order
    /// (so each is credited once and its pre-read account is current); otherwise, or when the
    /// lengths differ, this falls back to `mint_many`, which reads every account itself.
    fn mint_many_read(
        &mut self,
        credits: &[(Address, Amount)],
        accounts: &[Account],
    ) -> AppResult<Result<Amount, BalanceError>> {
        let distinct = credits.windows(2).all(|pair| pair[0].0 < pair[1].0);
        if !distinct || accounts.len() != credits.len() {
            return self.mint_many(credits);
        }
        let mut total = Amount::ZERO;
        for ((address, amount), account) in credits.iter().zip(accounts) {
            let Some(balance) = account.balance.checked_add(*amount) else {
                return Ok(Err(BalanceError::Overflow(*address)));
            };
            self.put_account(
                address,
                &Account {
                    balance,
                    nonce: account.nonce,
                },
            );
            total = add_minted(total, *amount)?;
        }
        self.count_minted(total)?;
        Ok(Ok(total))
    }

    /// Adds `total` to the supply's minted counter.
    fn count_minted(&mut self, total: Amount) -> AppResult<()> {
        let mut supply = self.supply()?;
        supply.minted = supply.minted.checked_add(total).ok_or(AppError::Corrupt {
            key: "accounts/supply".into(),
            reason: "minted counter overflow".into(),
        })?;
        self.put_supply(&supply);
        Ok(())
    }

    /// Creates `amount` new tokens in an account.
    fn mint_to(
        &mut self,
        address: &Address,
        amount: Amount,
    ) -> AppResult<Result<(), BalanceError>> {
        if let Err(e) = self.credit(address, amount)? {
            return Ok(Err(e));
        }
        self.count_minted(amount)?;
        Ok(Ok(()))
    }
}

impl<S: StateWrite + ?Sized> AccountsWrite for S {}

/// `total + amount` for a running sum of minted amounts; an overflow means corrupt state.
fn add_minted(total: Amount, amount: Amount) -> AppResult<Amount> {
    total.checked_add(amount).ok_or(AppError::Corrupt {
        key: "accounts/supply".into(),
        reason: "minted amount overflow".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use groundwork_state::Overlay;
    use std::collections::BTreeMap;

    #[test]
    fn minting_with_accounts_read_first_writes_what_minting_reads_itself() {
        let base: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
        let mut before = Overlay::new(&base);
        before.put_account(
            &Address([2; 20]),
            &Account {
                balance: Amount(40),
                nonce: 3,
            },
        );
        before.put_supply(&Supply {
            genesis: Amount(40),
            ..Supply::default()
        });
        let base: BTreeMap<Vec<u8>, Vec<u8>> = before
            .into_changes()
            .into_iter()
            .filter_map(|(k, v)| Some((k, v?)))
            .collect();
        let credits: Vec<(Address, Amount)> = (1..=4u8)
            .map(|i| (Address([i; 20]), Amount(u128::from(i) * 10)))
            .collect();

        let mut plain = Overlay::new(&base);
        let minted = plain.mint_many(&credits).unwrap().unwrap();
        let mut read_first = Overlay::new(&base);
        let accounts: Vec<Account> = credits
            .iter()
            .map(|(a, _)| read_first.account(a).unwrap())
            .collect();
        assert_eq!(
            read_first.mint_many_read(&credits, &accounts).unwrap(),
            Ok(minted)
        );
        assert_eq!(minted, Amount(100));
        assert_eq!(read_first.changes(), plain.changes());
        assert_eq!(read_first.account(&Address([2; 20])).unwrap().nonce, 3);
        assert_eq!(read_first.supply().unwrap().minted, Amount(100));

        // Out of order or repeated addresses: the plain path, with the same result.
        let repeated = vec![credits[1], credits[0], credits[1]];
        let mut plain = Overlay::new(&base);
        let minted = plain.mint_many(&repeated).unwrap();
        let mut read_first = Overlay::new(&base);
        let stale = vec![Account::default(); 3];
        assert_eq!(
            read_first.mint_many_read(&repeated, &stale).unwrap(),
            minted
        );
        assert_eq!(read_first.changes(), plain.changes());

        // An overflowing balance names the account, as minting one by one does.
        let huge = vec![(Address([2; 20]), Amount(u128::MAX))];
        let accounts = vec![read_first.account(&Address([2; 20])).unwrap()];
        assert_eq!(
            Overlay::new(&base)
                .mint_many_read(&huge, &accounts)
                .unwrap(),
            Err(BalanceError::Overflow(Address([2; 20])))
        );
    }
}
