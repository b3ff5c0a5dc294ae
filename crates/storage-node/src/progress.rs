//! Progress bars on long transfers: on standard error, only when it is a terminal.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Transfers shorter than this get no bar (they finish before one is worth drawing).
pub const MIN_BYTES_FOR_BAR: u64 = 16 * 1024 * 1024;

/// A byte counter drawn as a bar when standard error is a terminal, silent otherwise.
#[derive(Debug, Clone)]
pub struct Progress {
    bar: ProgressBar,
}

impl Progress {
    /// A bar for `total` bytes labelled `label`; hidden unless `enabled`, standard error is a
    /// terminal and the transfer is long.
    pub fn new(label: &str, total: u64, enabled: bool) -> Progress {
        if !enabled || total < MIN_BYTES_FOR_BAR || !std::io::stderr().is_terminal() {
            return Progress {
                bar: ProgressBar::hidden(),
            };
        }
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
        if let Ok(style) = ProgressStyle::with_template(
            "{msg:>4} [{bar:40}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
        ) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message(label.to_string());
        Progress { bar }
    }

    /// Counts `bytes` more done.
    pub fn advance(&self, bytes: u64) {
        self.bar.inc(bytes);
    }

    /// Removes the bar.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
