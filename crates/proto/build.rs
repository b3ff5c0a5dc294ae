//! Compiles `proto/groundwork/v1/*.proto` with protox (a protobuf compiler written in Rust), so no
//! `protoc` binary is needed on the machine.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let files = [
        "groundwork/v1/keys.proto",
        "groundwork/v1/tx.proto",
        "groundwork/v1/credits.proto",
        "groundwork/v1/devices.proto",
        "groundwork/v1/storage.proto",
        "groundwork/v1/reports.proto",
        "groundwork/v1/block.proto",
    ];
    for file in files {
        println!("cargo:rerun-if-changed=proto/{file}");
    }
    let descriptors = protox::compile(files, ["proto"])?;
    prost_build::Config::new().compile_fds(descriptors)?;
    Ok(())
}
