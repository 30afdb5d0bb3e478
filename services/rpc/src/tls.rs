//! TLS for outgoing connections (`https://`, `wss://`, `/https` and `/wss` multiaddrs): rustls
//! with the ring provider and the system's root certificates. A private CA (a venus-auth or
//! gateway behind an internal certificate) is added the usual way, with `SSL_CERT_FILE` or
//! `SSL_CERT_DIR`, or per client with [`crate::ClientBuilder::tls_config`].

use std::sync::{Arc, OnceLock};

use rustls::ClientConfig;

/// The process-wide client configuration, built once: loading the system store reads files.
pub fn client_config() -> Arc<ClientConfig> {
    static CONFIG: OnceLock<Arc<ClientConfig>> = OnceLock::new();
    CONFIG
        .get_or_init(|| Arc::new(config_with_roots(system_roots())))
        .clone()
}

/// A client configuration trusting exactly `roots` (and nothing from the system).
pub fn config_with_roots(roots: rustls::RootCertStore) -> ClientConfig {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    // ring supports every default protocol version, so this cannot fail; fall back to the
    // builder's own defaults rather than panic if a future rustls says otherwise.
    match ClientConfig::builder_with_provider(provider).with_safe_default_protocol_versions() {
        Ok(b) => b.with_root_certificates(roots).with_no_client_auth(),
        Err(e) => {
            tracing::error!(error = %e, "rustls rejected the default protocol versions");
            ClientConfig::builder()
                .with_root_certificates(rustls::RootCertStore::empty())
                .with_no_client_auth()
        }
    }
}

/// Roots from PEM text (a CA bundle file's contents).
pub fn roots_from_pem(pem: &[u8]) -> Result<rustls::RootCertStore, String> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(pem) {
        let cert = cert.map_err(|e| format!("not a PEM certificate: {e}"))?;
        roots
            .add(cert)
            .map_err(|e| format!("unusable CA certificate: {e}"))?;
    }
    if roots.is_empty() {
        return Err("no certificate in the PEM data".into());
    }
    Ok(roots)
}

fn system_roots() -> rustls::RootCertStore {
    let found = rustls_native_certs::load_native_certs();
    for e in &found.errors {
        tracing::warn!(error = %e, "could not read part of the system's root certificates");
    }
    let mut roots = rustls::RootCertStore::empty();
    let (added, ignored) = roots.add_parsable_certificates(found.certs);
    if ignored > 0 {
        tracing::debug!(ignored, "unparsable system root certificates skipped");
    }
    if added == 0 {
        tracing::warn!(
            "no system root certificates found: https:// and wss:// peers will be refused; \
             install ca-certificates or set SSL_CERT_FILE"
        );
    }
    roots
}

/// A reqwest builder whose TLS is [`client_config`]: every HTTP client in the workspace starts
/// here so `https://` works the same everywhere. (reqwest is built without a crypto provider of
/// its own, so a bare `reqwest::Client::new()` would panic; this one cannot.)
#[allow(clippy::disallowed_methods)] // the one sanctioned place
pub fn http_client_builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder().tls_backend_preconfigured((*client_config()).clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_pem_is_refused_with_a_reason() {
        assert!(
            roots_from_pem(b"hello")
                .unwrap_err()
                .contains("no certificate")
        );
        let bad = b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        assert!(roots_from_pem(bad).is_err());
    }

    #[test]
    fn the_shared_config_is_built_once() {
        assert!(Arc::ptr_eq(&client_config(), &client_config()));
    }
}
