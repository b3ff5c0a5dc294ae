//! The reports module has no transaction messages: device reports are not transactions. They
//! travel in `Block.reports`, are admitted by the node's ingest (`POST /v1/reports`) and judged by
//! [`super::process_reports`] after the block's transactions. This file exists so every module
//! has the same shape.
