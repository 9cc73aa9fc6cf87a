//! marc-testbed
