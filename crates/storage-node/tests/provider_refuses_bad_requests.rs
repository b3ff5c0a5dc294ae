//! The provider's answers to malformed, mismatched, oversized and excessive requests, over real
//! HTTP on loopback.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use groundwork_storage_net::commitment::{ChunkProof, piece_root, verify_chunk_proof};
use groundwork_storage_node::provider_client::{ProviderClient, ProviderError};
use groundwork_storage_node::server::{ProviderConfig, start};
use groundwork_storage_node::store::root_hex;

struct Running {
    _handle: groundwork_storage_node::server::ProviderHandle,
    runtime: tokio::runtime::Runtime,
    url: String,
    addr: std::net::SocketAddr,
}

fn provider(dir: &std::path::Path, configure: impl FnOnce(&mut ProviderConfig)) -> Running {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut config = ProviderConfig::new(
        dir.to_path_buf(),
        "127.0.0.1:0".parse().unwrap(),
        1 << 20,
        5,
    );
    configure(&mut config);
    let handle = runtime.block_on(start(config)).unwrap();
    let addr = handle.addr();
    Running {
        _handle: handle,
        runtime,
        url: format!("http://{addr}"),
        addr,
    }
}

fn refused(result: Result<impl std::fmt::Debug, ProviderError>) -> (u16, String, String) {
    match result {
        Err(ProviderError::Refused {
            status,
            code,
            message,
            ..
        }) => (status, code, message),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// Sends raw bytes and returns the whole answer as text.
fn raw(addr: std::net::SocketAddr, request: &[u8]) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream.write_all(request).unwrap();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer).into_owned()
}

#[test]
fn uploads_are_checked_against_their_commitment_and_the_limits() {
    let dir = tempfile::tempdir().unwrap();
    let running = provider(dir.path(), |config| config.max_piece_size = 300_000);
    let client = ProviderClient::new(Duration::from_secs(10));
    let piece = vec![3u8; 200_000];
    let root = piece_root(&piece);

    // A mismatch: the bytes of another piece under this root.
    let (status, code, message) = refused(client.put_piece(&running.url, &root, &[4u8; 200_000]));
    assert_eq!((status, code.as_str()), (422, "root_mismatch"), "{message}");
    assert!(message.contains(&root_hex(&root)), "{message}");

    // The right bytes are stored, a second upload is a no-op.
    let receipt = client.put_piece(&running.url, &root, &piece).unwrap();
    assert!(receipt.stored);
    assert!(
        !client
            .put_piece(&running.url, &root, &piece)
            .unwrap()
            .stored
    );

    // Too large for this provider.
    let big = vec![1u8; 300_001];
    let (status, code, message) = refused(client.put_piece(&running.url, &piece_root(&big), &big));
    assert_eq!((status, code.as_str()), (413, "too_large"), "{message}");

    // Larger than the free capacity (1 MiB offered, 200 kB used).
    let fits_not = vec![2u8; 290_000];
    let other = vec![5u8; 290_000];
    let third = vec![6u8; 290_000];
    client
        .put_piece(&running.url, &piece_root(&fits_not), &fits_not)
        .unwrap();
    client
        .put_piece(&running.url, &piece_root(&other), &other)
        .unwrap();
    let (status, code, message) =
        refused(client.put_piece(&running.url, &piece_root(&third), &third));
    assert_eq!(
        (status, code.as_str()),
        (507, "insufficient_storage"),
        "{message}"
    );
    assert!(message.contains("free"), "{message}");

    let info = client.info(&running.url).unwrap();
    assert_eq!(info.used, 200_000 + 2 * 290_000);
    assert_eq!(info.free, (1 << 20) - info.used);
    assert_eq!(info.pieces, 3);
    drop(running.runtime);
}

#[test]
fn malformed_requests_get_json_errors() {
    let dir = tempfile::tempdir().unwrap();
    let running = provider(dir.path(), |_| {});
    let client = ProviderClient::new(Duration::from_secs(10));

    // Not a root.
    let answer = raw(
        running.addr,
        b"GET /v1/pieces/not-hex HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("\"code\":\"bad_request\""), "{answer}");

    // An upload without a length (chunked).
    let root = root_hex(&piece_root(b"abc"));
    let request = format!(
        "PUT /v1/pieces/{root} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
    );
    let answer = raw(running.addr, request.as_bytes());
    assert!(answer.starts_with("HTTP/1.1 411"), "{answer}");

    // A body shorter than its Content-Length (the client hangs up).
    let request = format!(
        "PUT /v1/pieces/{root} HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\nConnection: close\r\n\r\nabc"
    );
    let mut stream = TcpStream::connect(running.addr).unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    stream.shutdown(std::net::Shutdown::Write).unwrap();
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    assert!(!answer.contains(" 201 "), "{answer}");

    // Not stored; unknown endpoint; bad chunk lists and ranges.
    let missing = piece_root(b"never stored");
    let (status, code, _) = refused(client.get_piece(&running.url, &missing, 12));
    assert_eq!((status, code.as_str()), (404, "not_found"));
    let answer = raw(
        running.addr,
        b"GET /v2/whatever HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(
        answer.starts_with("HTTP/1.1 404") && answer.contains("no such endpoint"),
        "{answer}"
    );

    let piece: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
    let root = piece_root(&piece);
    client.put_piece(&running.url, &root, &piece).unwrap();
    let (status, _, message) = refused(client.proofs(&running.url, &root, &[0, 3]));
    assert_eq!(status, 400, "chunk 3 of a 3-chunk piece: {message}");
    let answer = raw(
        running.addr,
        format!(
            "GET /v1/pieces/{}/proofs?chunks=1,x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            root_hex(&root)
        )
        .as_bytes(),
    );
    assert!(
        answer.starts_with("HTTP/1.1 400") && answer.contains("not a chunk index"),
        "{answer}"
    );
    let answer = raw(
        running.addr,
        format!(
            "GET /v1/pieces/{} HTTP/1.1\r\nHost: x\r\nRange: bytes=20000-\r\nConnection: close\r\n\r\n",
            root_hex(&root)
        )
        .as_bytes(),
    );
    assert!(answer.starts_with("HTTP/1.1 416"), "{answer}");

    // What works: ranged reads and proofs that verify.
    assert_eq!(
        client.get_range(&running.url, &root, 9_990, 10).unwrap(),
        piece[9_990..]
    );
    assert_eq!(
        client.get_range(&running.url, &root, 5, 3).unwrap(),
        piece[5..8]
    );
    let answer = client.proofs(&running.url, &root, &[2, 0]).unwrap();
    for (index, proof) in [2u64, 0].iter().zip(&answer.proofs) {
        let proof = ChunkProof::from_bytes(&hex::decode(proof).unwrap()).unwrap();
        assert_eq!(proof.chunk_index, *index);
        verify_chunk_proof(&root, 10_000, &proof).unwrap();
    }
    drop(running.runtime);
}

#[test]
fn over_the_bandwidth_limit_the_provider_says_when_to_come_back() {
    let dir = tempfile::tempdir().unwrap();
    // 100 kB/s; the burst is the largest piece, 150 kB.
    let running = provider(dir.path(), |config| {
        config.bandwidth = 100_000;
        config.max_piece_size = 150_000;
    });
    let piece = vec![8u8; 150_000];
    let root = piece_root(&piece);
    let client = ProviderClient::new(Duration::from_secs(10));
    client.put_piece(&running.url, &root, &piece).unwrap(); // the burst
    // Another 150 kB right away puts the bucket in debt; the next request must wait.
    let first = raw(
        running.addr,
        format!(
            "GET /v1/pieces/{} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            root_hex(&root)
        )
        .as_bytes(),
    );
    let second = raw(
        running.addr,
        format!(
            "GET /v1/pieces/{} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            root_hex(&root)
        )
        .as_bytes(),
    );
    let limited = [&first, &second]
        .into_iter()
        .find(|answer| answer.starts_with("HTTP/1.1 429"))
        .unwrap_or_else(|| panic!("no 429: {first:.200} / {second:.200}"));
    assert!(
        limited.to_ascii_lowercase().contains("retry-after: "),
        "{limited}"
    );
    assert!(limited.contains("rate_limited"), "{limited}");
    drop(running.runtime);
}
