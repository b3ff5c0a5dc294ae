//! Events the reports module emits: verdicts travel as report results, not events.
