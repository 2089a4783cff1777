//! The `keel` binary: the server and the tools (see [`keel_api::cli`]).

/// mimalloc rather than glibc's malloc: the server and the relay allocate many small,
/// short-lived buffers per request and per event, where glibc's allocator measured costly.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    keel_api::cli::main().await
}
