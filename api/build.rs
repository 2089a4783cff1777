//! Compiles the KurrentDB client protocol's `.proto` files (in `proto/`) into Rust with protox,
//! a pure-Rust protobuf compiler, so building Keel needs no `protoc`.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let files = ["proto/streams.proto", "proto/serverfeatures.proto"];
    for file in ["proto/shared.proto", "proto/status.proto"]
        .iter()
        .chain(&files)
    {
        println!("cargo:rerun-if-changed={file}");
    }
    let descriptors = protox::compile(files, ["proto"])?;
    tonic_build::configure()
        .build_client(false)
        .build_server(true)
        .compile_fds(descriptors)?;
    Ok(())
}
