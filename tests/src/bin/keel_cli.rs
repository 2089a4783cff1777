//! The `keel` command line, built into the test package so that tests can run it as a process
//! of its own (and kill it): `CARGO_BIN_EXE_keel_cli` names only binaries of the test's package.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    keel_api::cli::main().await
}
