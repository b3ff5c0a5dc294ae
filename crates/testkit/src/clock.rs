//! A clock that advances only with blocks.

/// Block times from the genesis time and a fixed step: block `h` is at `genesis + h × step`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeededClock {
    /// The genesis time, ms since the Unix epoch.
    pub genesis_time_ms: u64,
    /// How far each block moves the clock, in ms.
    pub step_ms: u64,
}

impl SeededClock {
    /// The time of the block at `height` (saturating, so a huge height cannot wrap around).
    pub fn time_of_block(&self, height: u64) -> u64 {
        self.genesis_time_ms
            .saturating_add(height.saturating_mul(self.step_ms))
    }
}
