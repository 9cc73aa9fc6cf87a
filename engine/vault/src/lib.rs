//! marc-vault
