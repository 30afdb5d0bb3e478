//! The config's `ReadTimeout` and `WriteTimeout` are applied: a client that sends headers and
//! then stalls on the body gets an error answer instead of holding the connection, and the
//! server keeps answering everyone else.

#![allow(clippy::unwrap_used)]

mod common;

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_request_body_is_cut_off_at_read_timeout() {
    let home = Home::new(&Backend::Sqlite);
    let config = home.repo().join("config.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        format!("ReadTimeout = \"1s\"\nWriteTimeout = \"1s\"\n{text}"),
    )
    .unwrap();
    let server = home.start();

    let mut stalled = std::net::TcpStream::connect(("127.0.0.1", home.port)).unwrap();
    stalled
        .write_all(
            b"POST /verify HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
              Content-Length: 100\r\n\r\n{\"Token\":",
        )
        .unwrap();
    stalled
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let started = Instant::now();
    let mut answer = Vec::new();
    let mut buf = [0u8; 1024];
    // Read until the status line is in, or the server closes.
    while !answer.windows(2).any(|w| w == b"\r\n") {
        match stalled.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => answer.extend_from_slice(&buf[..n]),
            Err(e) => panic!(
                "no answer to the stalled request after {:?}: {e}",
                started.elapsed()
            ),
        }
    }
    let status_line = String::from_utf8_lossy(&answer)
        .lines()
        .next()
        .unwrap_or("")
        .to_owned();
    assert!(
        status_line.starts_with("HTTP/1.1 4") || status_line.starts_with("HTTP/1.1 5"),
        "a stalled body must get an error status, got {status_line:?}"
    );

    // Everyone else is still served.
    let (status, body) = verify_json(&home.url(), &server.admin_token, &server.admin_token).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_keep_alive_connection_is_closed_at_idle_timeout() {
    let home = Home::new(&Backend::Sqlite);
    let config = home.repo().join("config.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, format!("IdleTimeout = \"1s\"\n{text}")).unwrap();
    let server = home.start();

    let mut conn = std::net::TcpStream::connect(("127.0.0.1", home.port)).unwrap();
    let body = format!("{{\"Token\":\"{}\"}}", server.admin_token);
    write!(
        conn,
        "POST /verify HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        server.admin_token,
        body.len()
    )
    .unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut answer = Vec::new();
    let mut buf = [0u8; 1024];
    while !String::from_utf8_lossy(&answer).contains("\"perm\"") {
        let n = conn.read(&mut buf).unwrap();
        assert!(n > 0, "closed before answering");
        answer.extend_from_slice(&buf[..n]);
    }
    assert!(
        answer.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&answer)
    );
    // Kept alive, then idle: the server closes it after about a second, well before 20 s.
    let idle_since = Instant::now();
    let n = conn
        .read(&mut buf)
        .expect("the server closes the connection");
    assert_eq!(n, 0, "nothing but the close arrives");
    let waited = idle_since.elapsed();
    assert!(
        waited >= Duration::from_millis(900) && waited < Duration::from_secs(10),
        "closed after {waited:?}"
    );
}
