//! `vouch db update|status`.

use crate::common::{tempdir, vouch};

#[test]
fn status_without_a_database_is_an_error() {
    let cache = tempdir();
    vouch()
        .args(["db", "status"])
        .env("VOUCH_CACHE_DIR", cache.path())
        .assert()
        .code(2)
        .stderr(predicates::str::contains("no usable advisory database"));
}
