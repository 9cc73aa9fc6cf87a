//! marc-audit
