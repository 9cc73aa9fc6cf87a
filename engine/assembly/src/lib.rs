//! marc-assembly
