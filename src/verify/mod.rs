//! Image signature verification.

pub mod keyless;
