//! Building events.

use groundwork_proto::v1::{Attribute, Event};

/// An event of `kind` with the given attributes, in order.
pub fn event(kind: &str, attributes: &[(&str, String)]) -> Event {
    Event {
        kind: kind.to_string(),
        attributes: attributes
            .iter()
            .map(|(key, value)| Attribute {
                key: (*key).to_string(),
                value: value.clone(),
            })
            .collect(),
    }
}
