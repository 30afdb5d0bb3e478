//! The client over TLS: `https://` and `wss://` addresses reach a server behind a TLS
//! terminator with a private CA, and a certificate the client does not trust is refused with
//! a readable error.

#![allow(clippy::unwrap_used)] // a panic in a test is a failed assertion

mod common;

use std::sync::Arc;

use futures::StreamExt;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use venus_rpc::{Client, ClientError, Permission};

use common::{ADD, COUNT, start};

/// A TLS terminator for `localhost` in front of `backend`, as an ingress or a sidecar would
/// be; returns its port and the CA's PEM.
async fn tls_front(backend: std::net::SocketAddr) -> (u16, String) {
    let key = rcgen::KeyPair::generate().expect("key");
    let params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).expect("params");
    let cert = params.self_signed(&key).expect("self-signed");
    let ca_pem = cert.pem();
    let server_config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_no_client_auth()
    .with_single_cert(
        vec![cert.der().clone()],
        rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
    )
    .expect("server config");
    let acceptor = TlsAcceptor::from(Arc::new(server_config));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                if let Ok(mut plain) = TcpStream::connect(backend).await {
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
                }
            });
        }
    });
    (port, ca_pem)
}

fn trusting(ca_pem: &str) -> Arc<rustls::ClientConfig> {
    let roots = venus_rpc::tls::roots_from_pem(ca_pem.as_bytes()).expect("roots");
    Arc::new(venus_rpc::tls::config_with_roots(roots))
}

#[tokio::test]
async fn https_and_wss_reach_a_server_behind_tls() {
    let s = start().await;
    let (port, ca) = tls_front(s.addr).await;
    let token = s.token(Permission::Read);

    let https = Client::builder(&format!("https://localhost:{port}/rpc/v1"))
        .token(Some(token.clone()))
        .tls_config(trusting(&ca))
        .connect()
        .await
        .expect("https client");
    assert_eq!(https.call(ADD, (40, 2)).await.expect("https call"), 42);

    // The multiaddr form with /wss, and a channel over it.
    let wss = Client::builder(&format!("/dns/localhost/tcp/{port}/wss"))
        .token(Some(token))
        .tls_config(trusting(&ca))
        .connect()
        .await
        .expect("wss client");
    assert_eq!(wss.call(ADD, (1, 2)).await.expect("wss call"), 3);
    let counted: Vec<u64> = wss
        .subscribe(COUNT, (3,))
        .await
        .expect("sub")
        .collect()
        .await;
    assert_eq!(counted, vec![1, 2, 3]);
    assert_eq!(s.ran.count("Filecoin.Add"), 2);
}

#[tokio::test]
async fn an_untrusted_certificate_is_refused_and_nothing_runs() {
    let s = start().await;
    let (port, _ca) = tls_front(s.addr).await;
    let token = s.token(Permission::Read);

    // The default configuration trusts the system roots only, not this private CA.
    let https = Client::connect(
        &format!("https://localhost:{port}/rpc/v1"),
        Some(token.clone()),
    )
    .await
    .expect("http clients connect lazily");
    let err = https.call(ADD, (1, 1)).await.unwrap_err();
    assert!(
        matches!(&err, ClientError::Connect { reason, .. } if !reason.is_empty()),
        "{err:?}"
    );

    let err = Client::connect(&format!("wss://localhost:{port}/rpc/v1"), Some(token))
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("certificate") || text.contains("Certificate"),
        "the error should say the certificate was not trusted: {text}"
    );
    assert_eq!(s.ran.count("Filecoin.Add"), 0);
}
