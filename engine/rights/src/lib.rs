//! marc-rights
