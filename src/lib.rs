//! vouch: a supply-chain gate.
//!
//! Data flows one way: lockfiles → packages → advisory matching → waivers → findings →
//! report → verdict. The library never prints and never exits; `main.rs` owns the
//! process boundary (stdout/stderr and the exit code).

pub mod advisory;
pub mod audit;
pub mod cli;
pub mod finding;
mod json;
pub mod licenses;
pub mod lockfile;
pub mod package;
pub mod policy;
pub mod report;
pub mod sbom;
pub mod verify;
pub mod waiver;
