//! marc engine
