//! marc-screen
