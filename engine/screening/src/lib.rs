//! marc-screening
