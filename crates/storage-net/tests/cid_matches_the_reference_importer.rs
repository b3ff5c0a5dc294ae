//! Our CIDs against IPFS's reference JavaScript importer (`ipfs-unixfs-importer`, pinned in
//! `tests/js/package.json`), run through `node tests/js/cid.mjs`.
//!
//! Needs Node 20+ and the pinned packages: `npm ci --prefix crates/storage-net/tests/js`.
//! Without them the test fails (it does not skip), saying so.

// Test helpers fail the test loudly; clippy's test exemption covers only `#[test]` bodies.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use groundwork_storage_net::unixfs::{CHUNK_SIZE, MAX_LINKS_PER_NODE, compute_cid};

const INSTALL: &str = "npm ci --prefix crates/storage-net/tests/js";

fn js_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("js")
}

fn pseudo_random_file(path: &Path, length: usize, seed: u64) {
    let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut data = Vec::with_capacity(length + 8);
    while data.len() < length {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        data.extend_from_slice(&state.to_le_bytes());
    }
    data.truncate(length);
    let mut file = fs::File::create(path).unwrap();
    file.write_all(&data).unwrap();
}

/// The CIDs the reference importer gives `files`, one per file.
fn reference_cids(files: &[PathBuf]) -> Vec<String> {
    let importer = js_dir().join("node_modules").join("ipfs-unixfs-importer");
    assert!(
        importer.is_dir(),
        "the reference importer is not installed ({} is missing): run `{INSTALL}` from the \
         repository root, then run the tests again",
        importer.display()
    );
    let output = Command::new("node")
        .arg(js_dir().join("cid.mjs"))
        .args(files)
        .output()
        .unwrap_or_else(|error| {
            panic!("could not run `node` ({error}): install Node 20 or later, then `{INSTALL}`")
        });
    assert!(
        output.status.success(),
        "node cid.mjs failed ({}): {}\nIf packages are missing, run `{INSTALL}`",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn our_cids_equal_the_reference_importers_for_every_size_boundary() {
    let directory = tempfile::tempdir().unwrap();
    let full_node = MAX_LINKS_PER_NODE * CHUNK_SIZE;
    let sizes = [
        0,
        1,
        100,
        CHUNK_SIZE - 1,
        CHUNK_SIZE,
        CHUNK_SIZE + 1,
        full_node,
        full_node + 1,
        5 * 1024 * 1024 + 12_345,
        50 * 1024 * 1024 + 777,
    ];
    let files: Vec<PathBuf> = sizes
        .iter()
        .enumerate()
        .map(|(index, &size)| {
            let path = directory.path().join(format!("file-{size}"));
            pseudo_random_file(&path, size, index as u64 + 1);
            path
        })
        .collect();

    let expected = reference_cids(&files);
    assert_eq!(expected.len(), files.len(), "one CID per file from cid.mjs");
    for ((path, size), expected) in files.iter().zip(sizes).zip(&expected) {
        let ours = compute_cid(fs::File::open(path).unwrap())
            .unwrap()
            .to_string();
        assert_eq!(&ours, expected, "CID of a file of {size} bytes");
    }
}
