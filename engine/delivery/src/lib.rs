//! marc-delivery
