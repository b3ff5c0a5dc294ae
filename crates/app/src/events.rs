//! Building events.

use std::cell::RefCell;
use std::collections::HashMap;

use groundwork_primitives::Address;
use groundwork_proto::v1::{Attribute, Event};

/// Addresses whose text [`address_text`] remembers per thread before it forgets them all.
const ADDRESS_MEMO: usize = 65_536;

thread_local! {
    static ADDRESS_TEXTS: RefCell<HashMap<Address, String>> = RefCell::new(HashMap::new());
}

/// An address as events write it (bech32m, exactly `address.to_string()`). Execution writes the
/// same addresses again and again (a sender's fee and its transfer, a busy recipient), and
/// encoding one costs more than looking it up: the texts are remembered per thread, up to
/// [`ADDRESS_MEMO`] of them.
pub fn address_text(address: &Address) -> String {
    ADDRESS_TEXTS.with(|texts| {
        let mut texts = texts.borrow_mut();
        if let Some(text) = texts.get(address) {
            return text.clone();
        }
        let text = address.to_string();
        if texts.len() >= ADDRESS_MEMO {
            texts.clear();
        }
        texts.insert(*address, text.clone());
        text
    })
}

/// An event of `kind` with the given attributes, in order.
pub fn event<'a>(kind: &str, attributes: impl IntoIterator<Item = (&'a str, String)>) -> Event {
    Event {
        kind: kind.to_string(),
        attributes: attributes
            .into_iter()
            .map(|(key, value)| Attribute {
                key: key.to_string(),
                value,
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_reads_the_same_remembered_or_not_even_past_the_memos_bound() {
        let first = Address([7; 20]);
        assert_eq!(address_text(&first), first.to_string());
        assert_eq!(address_text(&first), first.to_string());
        for i in 0..=ADDRESS_MEMO as u32 {
            let mut bytes = [0u8; 20];
            bytes[..4].copy_from_slice(&i.to_be_bytes());
            let address = Address(bytes);
            assert_eq!(address_text(&address), address.to_string());
        }
        assert_eq!(address_text(&first), first.to_string());
    }
}
