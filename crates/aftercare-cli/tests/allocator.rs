#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The binary allocates with mimalloc, for the C code in it as well (decision 0025): a
//! build that lost either spends a fifth to a third more CPU on every read and would pass
//! every other test.

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

#[test]
fn the_binary_defines_malloc_for_sqlite() {
    // With mimalloc's `override` the executable defines `malloc` and `free` and exports
    // them, so the C library's own calls and SQLite's resolve to them rather than to
    // glibc's. Without it, they are only imported. `nm` comes with binutils, which the C
    // compiler the build needs brings.
    let out = Command::new("nm")
        .args(["-D", "--defined-only", env!("CARGO_BIN_EXE_aftercare")])
        .output()
        .expect("nm (binutils) runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let symbols = String::from_utf8_lossy(&out.stdout);
    for name in ["malloc", "free", "realloc", "calloc"] {
        assert!(
            symbols.lines().any(|l| l.ends_with(&format!(" T {name}"))),
            "the binary does not define {name}"
        );
    }
}
