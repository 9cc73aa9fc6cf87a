//! marc-recording
