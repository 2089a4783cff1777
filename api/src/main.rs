//! The `keel` binary: the server and the tools (see [`keel_api::cli`]).

#[tokio::main]
async fn main() -> std::process::ExitCode {
    keel_api::cli::main().await
}
