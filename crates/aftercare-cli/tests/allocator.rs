#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The binary allocates with mimalloc (decision 0025): a build that lost it spends a fifth
//! to a third more CPU on every read and would pass every other test.

use std::process::Command;

#[test]
fn the_binary_allocates_with_mimalloc() {
    // mimalloc says so on standard error when it starts, if asked.
    let out = Command::new(env!("CARGO_BIN_EXE_aftercare"))
        .arg("--version")
        .env("MIMALLOC_VERBOSE", "1")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("mimalloc: process init"),
        "no mimalloc in: {err}"
    );
    // Without the variable it says nothing: the server's own output is unchanged.
    let quiet = Command::new(env!("CARGO_BIN_EXE_aftercare"))
        .arg("--version")
        .env_remove("MIMALLOC_VERBOSE")
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&quiet.stderr).contains("mimalloc"));
}
