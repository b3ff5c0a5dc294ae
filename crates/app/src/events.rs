//! Building events.

use groundwork_proto::v1::{Attribute, Event};

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
