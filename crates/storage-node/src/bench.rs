//! Benchmark (placeholder while building).
