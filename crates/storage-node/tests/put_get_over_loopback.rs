//! Put and get through real provider servers on loopback, real disks.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::time::Duration;

use groundwork_storage_net::erasure::ErasureParams;
use groundwork_storage_net::unixfs;
use groundwork_storage_node::client::{TransferOptions, discover, get_file, put_file};
use groundwork_storage_node::local::{LocalProviders, LocalProvidersConfig};
use groundwork_storage_node::manifest::Manifest;
use groundwork_storage_node::provider_client::ProviderClient;
use groundwork_storage_node::repair::{RepairOptions, repair};
use groundwork_storage_node::store::parse_root;

fn providers(dir: &Path, count: usize) -> LocalProviders {
    LocalProviders::start(LocalProvidersConfig {
        root: dir.to_path_buf(),
        count,
        capacity: 1 << 30,
        price: 100,
        bandwidth: 0,
        first_addr: "127.0.0.1:0".parse().unwrap(),
        chain_id: None,
    })
    .unwrap()
}

fn options() -> TransferOptions {
    TransferOptions {
        timeout: Duration::from_secs(20),
        hedge_after: Duration::from_secs(2),
        progress: false,
    }
}

/// Bytes that are not all alike (so a misplaced piece cannot go unnoticed).
fn content(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..len)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 33) as u8
        })
        .collect()
}

/// Small segments so that tests exercise many segments without large files.
fn params() -> ErasureParams {
    ErasureParams {
        data_pieces: 4,
        total_pieces: 6,
        segment_size: 1 << 20,
    }
}

fn put(client: &ProviderClient, urls: &[String], path: &Path, params: ErasureParams) -> Manifest {
    let (candidates, errors) = discover(client, urls);
    assert!(errors.is_empty(), "{errors:?}");
    put_file(client, path, params, candidates, &options())
        .unwrap()
        .manifest
}

#[test]
fn files_of_every_awkward_size_come_back_byte_for_byte_with_the_ipfs_cid() {
    let dir = tempfile::tempdir().unwrap();
    let group = providers(&dir.path().join("providers"), 6);
    let client = ProviderClient::new(Duration::from_secs(20));
    let chunk = unixfs::CHUNK_SIZE;
    for (name, len) in [
        ("empty", 0),
        ("tiny", 11),
        ("one chunk", chunk),
        ("one chunk plus one", chunk + 1),
        ("one segment plus one", (1 << 20) + 1),
        ("multi-MiB", 5 * (1 << 20) + 12_345),
    ] {
        let bytes = content(len, len as u64);
        let path = dir.path().join("input");
        std::fs::write(&path, &bytes).unwrap();
        let manifest = put(&client, group.urls(), &path, params());
        assert_eq!(
            manifest.cid,
            unixfs::compute_cid(&bytes[..]).unwrap().to_string(),
            "{name}"
        );
        let output = dir.path().join("output");
        get_file(&client, &manifest, &output, &options()).unwrap();
        assert!(std::fs::read(&output).unwrap() == bytes, "{name} differs");
    }
}

#[test]
fn the_file_survives_losing_n_minus_k_providers_and_not_more() {
    let dir = tempfile::tempdir().unwrap();
    let group = providers(&dir.path().join("providers"), 6);
    let client = ProviderClient::new(Duration::from_secs(20));
    let bytes = content(3 * (1 << 20) + 7, 1);
    let path = dir.path().join("input");
    std::fs::write(&path, &bytes).unwrap();
    let manifest = put(&client, group.urls(), &path, params());

    // Two of six gone (data providers, so decoding needs parity).
    group.stop(0).unwrap();
    group.stop(2).unwrap();
    let output = dir.path().join("output");
    let report = get_file(&client, &manifest, &output, &options()).unwrap();
    assert!(std::fs::read(&output).unwrap() == bytes);
    assert!(
        !report.failures.is_empty(),
        "the dead providers were noticed"
    );

    // A third: fewer than k pieces of every segment are left.
    group.stop(4).unwrap();
    let error = get_file(&client, &manifest, &dir.path().join("lost"), &options()).unwrap_err();
    assert!(
        format!("{error:#}").contains("could be fetched and verified"),
        "{error:#}"
    );
    assert!(!dir.path().join("lost").exists());
}

#[test]
fn a_provider_that_corrupts_or_deletes_a_piece_is_caught_and_repair_restores_redundancy() {
    let dir = tempfile::tempdir().unwrap();
    let group = providers(&dir.path().join("providers"), 8);
    let client = ProviderClient::new(Duration::from_secs(20));
    let bytes = content(2 * (1 << 20) + 99, 2);
    let path = dir.path().join("input");
    std::fs::write(&path, &bytes).unwrap();
    let mut manifest = put(&client, group.urls(), &path, params());

    // Corrupt data piece 0 of segment 0 and delete data piece 1 of segment 1 on their disks.
    let corrupt = &manifest.segments[0].pieces[0];
    let corrupt_home = home_of(&group, &corrupt.url);
    let corrupt_file = corrupt_home.join("pieces").join(&corrupt.root);
    let mut stored = std::fs::read(&corrupt_file).unwrap();
    stored[100] ^= 0xff;
    std::fs::write(&corrupt_file, stored).unwrap();
    let deleted = &manifest.segments[1].pieces[1];
    std::fs::remove_file(
        home_of(&group, &deleted.url)
            .join("pieces")
            .join(&deleted.root),
    )
    .unwrap();

    // get notices both, fetches other pieces, and the file is right.
    let output = dir.path().join("output");
    let report = get_file(&client, &manifest, &output, &options()).unwrap();
    assert!(std::fs::read(&output).unwrap() == bytes);
    let failures: Vec<_> = report
        .failures
        .iter()
        .map(|(segment, piece, _)| (*segment, *piece))
        .collect();
    assert!(failures.contains(&(0, 0)), "{:?}", report.failures);
    assert!(failures.contains(&(1, 1)), "{:?}", report.failures);
    assert!(
        report
            .failures
            .iter()
            .any(|(_, _, reason)| reason.contains("commitment"))
    );

    // Repair audits every piece with proofs, rebuilds the two, and places them elsewhere.
    let (candidates, _) = discover(&client, group.urls());
    let before = manifest.clone();
    let repaired = repair(
        &client,
        &mut manifest,
        candidates.clone(),
        &RepairOptions::default(),
    )
    .unwrap();
    let mut fixed: Vec<_> = repaired.repaired.iter().map(|(s, p, _)| (*s, *p)).collect();
    fixed.sort();
    assert_eq!(fixed, vec![(0, 0), (1, 1)], "{repaired:?}");
    assert!(repaired.lost_segments.is_empty());
    for (segment, piece, url) in &repaired.repaired {
        let old = &before.segments[*segment].pieces[usize::from(*piece)];
        assert_ne!(&old.url, url, "a rebuilt piece goes to a new provider");
        let holders: Vec<_> = manifest.segments[*segment]
            .pieces
            .iter()
            .map(|p| &p.url)
            .collect();
        let distinct: std::collections::BTreeSet<_> = holders.iter().collect();
        assert_eq!(distinct.len(), holders.len(), "one piece per provider");
    }
    // Full redundancy again: a second pass finds every piece healthy.
    let again = repair(
        &client,
        &mut manifest,
        candidates,
        &RepairOptions::default(),
    )
    .unwrap();
    assert!(again.unhealthy.is_empty(), "{again:?}");

    // And the file survives losing any two providers of segment 0 now, e.g. the first two.
    for url in [
        &manifest.segments[0].pieces[0].url,
        &manifest.segments[0].pieces[1].url,
    ] {
        let index = group.urls().iter().position(|u| u == url).unwrap();
        group.stop(index).unwrap();
    }
    let output = dir.path().join("after-repair");
    get_file(&client, &manifest, &output, &options()).unwrap();
    assert!(std::fs::read(&output).unwrap() == bytes);
}

fn home_of(group: &LocalProviders, url: &str) -> std::path::PathBuf {
    let index = group.urls().iter().position(|u| u == url).unwrap();
    group.home(index).unwrap().to_path_buf()
}

#[test]
fn a_manifest_that_does_not_describe_the_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let group = providers(&dir.path().join("providers"), 6);
    let client = ProviderClient::new(Duration::from_secs(20));
    let bytes = content(100_000, 3);
    let path = dir.path().join("input");
    std::fs::write(&path, &bytes).unwrap();
    let mut manifest = put(&client, group.urls(), &path, params());
    manifest.cid = unixfs::compute_cid(&b"another file"[..])
        .unwrap()
        .to_string();
    let output = dir.path().join("output");
    let error = get_file(&client, &manifest, &output, &options()).unwrap_err();
    assert!(format!("{error:#}").contains("not "), "{error:#}");
    assert!(!output.exists(), "nothing is written under the output name");
    // A root that is not hex.
    manifest.segments[0].pieces[0].root = "zz".into();
    assert!(manifest.validate().is_err());
    assert!(parse_root("zz").is_none());
}

#[test]
fn put_says_when_there_are_too_few_providers() {
    let dir = tempfile::tempdir().unwrap();
    let group = providers(&dir.path().join("providers"), 3);
    let client = ProviderClient::new(Duration::from_secs(20));
    let path = dir.path().join("input");
    std::fs::write(&path, content(1000, 4)).unwrap();
    let (candidates, _) = discover(&client, group.urls());
    let error = put_file(&client, &path, params(), candidates, &options()).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("need 6 distinct providers, 3 answered"),
        "{error}"
    );
}

#[test]
fn a_provider_that_vanishes_during_put_has_its_pieces_placed_elsewhere() {
    let dir = tempfile::tempdir().unwrap();
    let group = providers(&dir.path().join("providers"), 7);
    let client = ProviderClient::new(Duration::from_secs(20));
    let bytes = content(2 * (1 << 20) + 5, 9);
    let path = dir.path().join("input");
    std::fs::write(&path, &bytes).unwrap();
    let (candidates, _) = discover(&client, group.urls());
    // The cheapest provider (ranked first) goes away after answering /v1/info.
    group.stop(0).unwrap();
    let report = put_file(&client, &path, params(), candidates, &options()).unwrap();
    assert!(report.retried >= 1);
    let gone = &group.urls()[0];
    assert!(
        report
            .manifest
            .segments
            .iter()
            .all(|segment| segment.pieces.iter().all(|piece| &piece.url != gone))
    );
    let output = dir.path().join("output");
    get_file(&client, &report.manifest, &output, &options()).unwrap();
    assert!(std::fs::read(&output).unwrap() == bytes);
}
