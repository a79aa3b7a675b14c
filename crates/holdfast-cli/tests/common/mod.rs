//! What every black-box test of the `holdfast` binary needs: run it in a directory, insist it succeeded.
#![allow(dead_code)]
use std::path::Path;
use std::process::{Command, Output};

/// Runs `holdfast args…` in `dir`, ignoring the caller's $HOLDFAST_DB and $HOLDFAST_CONFIG.
pub fn holdfast(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_holdfast")).current_dir(dir).env_remove("HOLDFAST_DB").env_remove("HOLDFAST_CONFIG").args(args).output().expect("run holdfast")
}

/// Its stdout, after asserting it exited 0 (else the exit code and both streams).
pub fn ok(o: &Output) -> String {
    assert!(o.status.success(), "exit {:?}\nstdout:\n{}\nstderr:\n{}", o.status.code(), String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Like [`ok`], with stderr (where import summaries go) appended to stdout.
pub fn ok_with_stderr(o: &Output) -> String {
    ok(o) + &String::from_utf8_lossy(&o.stderr)
}
