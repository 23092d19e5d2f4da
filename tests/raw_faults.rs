//! Transport faults an HTTP mock cannot produce, from a raw TCP server: a connection reset
//! after the request, a body cut short of its Content-Length, a body that drips one byte at
//! a time, and headers that never finish. Each must end in bounded time with the right error
//! kind, be retried the configured number of times, and say nothing of the secret or of the
//! partial token it received.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use flyteauth::{Authenticator, ErrorKind};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const SECRET: &str = "raw-fault-secret-never-logged";
/// A token fragment sent in broken responses; it must not reach an error message.
const PARTIAL_TOKEN: &str = "partial-token-fragment";

#[derive(Clone, Copy)]
enum Fault {
    /// Read the request, then close with SO_LINGER 0: the client sees a TCP RST.
    Reset,
    /// Announce 400 bytes of JSON, send 40, close.
    Truncated,
    /// Send the headers, then one body byte every 100 ms, forever.
    SlowDrip,
    /// Send a status line and one header, then nothing.
    StalledHeaders,
}

/// A loopback server that answers every connection with `fault`; counts connections.
async fn serve(fault: Fault) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let connections = Arc::new(AtomicUsize::new(0));
    let count = connections.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(answer(stream, fault));
        }
    });
    (format!("http://{addr}/token"), connections)
}

async fn read_request_head(stream: &mut TcpStream) {
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => seen.extend_from_slice(&buf[..n]),
        }
    }
}

async fn answer(mut stream: TcpStream, fault: Fault) {
    read_request_head(&mut stream).await;
    match fault {
        Fault::Reset => {
            // Deprecated because a non-zero linger blocks on drop; zero sends an RST at once.
            #[allow(deprecated)]
            let _ = stream.set_linger(Some(Duration::ZERO));
            drop(stream);
        }
        Fault::Truncated => {
            let body = format!("{{\"access_token\":\"{PARTIAL_TOKEN}");
            let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\
                        content-length: 400\r\nconnection: close\r\n\r\n";
            let _ = stream.write_all(head.as_bytes()).await;
            let _ = stream.write_all(body.as_bytes()).await;
            let _ = stream.shutdown().await;
        }
        Fault::SlowDrip => {
            let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\
                        content-length: 100000\r\n\r\n{\"access_token\":\"";
            if stream.write_all(head.as_bytes()).await.is_err() {
                return;
            }
            let mut ticker = tokio::time::interval(Duration::from_millis(100));
            loop {
                ticker.tick().await;
                if stream.write_all(b"x").await.is_err() {
                    return;
                }
            }
        }
        Fault::StalledHeaders => {
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n")
                .await;
            // Keep the connection open until the client gives up.
            let mut buf = [0u8; 64];
            while let Ok(n) = stream.read(&mut buf).await {
                if n == 0 {
                    return;
                }
            }
        }
    }
}

fn authenticator(token_url: &str) -> Authenticator {
    common::capture_library_logs();
    let cfg = json!({
        "authType": "ClientSecret", "clientId": "app", "clientSecret": SECRET,
        "tokenUrl": token_url, "scopes": ["all"], "authorizationHeader": "authorization",
        "maxRetries": 2, "perRetryTimeout": "700ms", "maxBackoffDelay": "20ms",
    });
    Authenticator::from_json(&cfg.to_string()).unwrap()
}

/// Runs the first fetch against `fault`; returns the error, the connection count and the
/// elapsed time, after checking that nothing secret is in the error.
async fn first_fetch_fails(fault: Fault) -> (flyteauth::Error, usize, Duration) {
    let (url, connections) = serve(fault).await;
    let auth = authenticator(&url);
    let started = Instant::now();
    let e = auth.metadata().await.unwrap_err();
    let elapsed = started.elapsed();
    let text = format!("{e} {e:?}");
    assert!(!text.contains(SECRET), "secret in the error: {text}");
    assert!(
        !text.contains(PARTIAL_TOKEN),
        "token fragment in the error: {text}"
    );
    (e, connections.load(Ordering::SeqCst), elapsed)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_connection_reset_is_a_retried_network_error() {
    let (e, connections, elapsed) = first_fetch_fails(Fault::Reset).await;
    assert_eq!(e.kind(), ErrorKind::Network, "{e}");
    assert!(
        e.message().contains("/token"),
        "says which call failed: {e}"
    );
    assert!(e.message().contains("reset"), "names the reset: {e}");
    assert_eq!(connections, 3, "maxRetries 2: three attempts");
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_truncated_body_is_a_retried_network_error_without_the_fragment() {
    let (e, connections, elapsed) = first_fetch_fails(Fault::Truncated).await;
    assert_eq!(e.kind(), ErrorKind::Network, "{e}");
    assert_eq!(e.http_status(), Some(200), "{e}");
    assert_eq!(connections, 3);
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_slow_drip_body_times_out_per_attempt() {
    let (e, connections, elapsed) = first_fetch_fails(Fault::SlowDrip).await;
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    assert_eq!(connections, 3);
    // Three attempts of 700 ms each, plus two short backoffs: the drip never extends an attempt.
    assert!(elapsed >= Duration::from_millis(2100), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(10), "{elapsed:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn headers_that_never_finish_time_out() {
    let (e, connections, elapsed) = first_fetch_fails(Fault::StalledHeaders).await;
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    assert_eq!(connections, 3);
    assert!(elapsed < Duration::from_secs(10), "{elapsed:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_per_call_deadline_cuts_a_slow_drip_short() {
    // The caller's own deadline wins over the library's retries.
    let (url, _connections) = serve(Fault::SlowDrip).await;
    let auth = authenticator(&url);
    let started = Instant::now();
    let e = tokio::task::spawn_blocking(move || {
        auth.metadata_blocking(Some(Duration::from_millis(300)))
    })
    .await
    .unwrap()
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}
