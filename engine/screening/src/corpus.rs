//! Evaluation corpus (see below).
