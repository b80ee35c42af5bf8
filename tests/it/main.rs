//! Integration tests: one binary, a module per command. Every test runs the real `vouch`
//! binary against real files (lockfiles made by the real package managers, the real
//! advisory snapshots in ../shared/advisories) and asserts the exit code and output.

#![allow(clippy::unwrap_used)] // tests may panic on the unexpected

mod common;
/// The self-made Sigstore (test CA, Fulcio-like leaves, Rekor and CT log keys), shared
/// with the library's unit tests.
#[path = "../support/sigstore_signer.rs"]
mod sigstore_signer;

mod accuracy;
mod audit;
mod check;
mod cli;
mod conformance;
mod db;
mod db_osv;
mod db_osv_delta;
mod docs;
mod fuzz_regressions;
mod go;
mod json_contract;
mod limits;
mod npm;
mod osv;
mod project;
mod python;
mod registry;
mod reports;
mod rustsec_index;
mod sbom;
mod sbom_input;
mod secrets;
mod verify;
mod verify_blob;
mod verify_harness;
mod verify_keyless;
mod verify_tlog;
mod waivers;
