//! TLS to PostgreSQL as the database URL asks for it, read the way libpq reads it.
//!
//! - `sslmode=disable`: plain TCP.
//! - `sslmode=prefer` (the default) and `require`: TLS when the server offers it;
//!   `require` refuses a server that does not. Without a root certificate the server's
//!   certificate is not verified, as in libpq: the connection is encrypted (no
//!   passive eavesdropping) but the server is not authenticated (an active attacker on
//!   the path could impersonate it). Give `sslrootcert` to authenticate it.
//! - `sslrootcert=PATH` (PEM, one or more certificates): the server's chain must lead
//!   to one of them. With `require` or `verify-ca` that is all that is checked (libpq
//!   also treats `require` with a root file as `verify-ca`); `verify-full` also checks
//!   that the certificate names the host connected to.
//! - `verify-ca` and `verify-full` without `sslrootcert` are refused: libpq would fall
//!   back to `~/.postgresql/root.crt`, a file a server process should not depend on.
//!
//! tokio-postgres itself knows only `disable`, `prefer` and `require` and no
//! `sslrootcert`, so those are taken out of the URL here before it is parsed.

use std::path::PathBuf;
use std::sync::Arc;

use entreposto_store::{Result, StoreError};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use rustls_pki_types::pem::PemObject;
use tokio_postgres_rustls::MakeRustlsConnect;

/// What the server's certificate must prove.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Verify {
    /// Nothing: encryption only (no root certificate given).
    Nothing,
    /// A chain to one of the roots in the file.
    Chain(PathBuf),
    /// A chain to one of the roots, for the host connected to.
    ChainAndName(PathBuf),
}

/// The connection settings of `url` and the TLS connector they call for.
pub(crate) fn connect_settings(url: &str) -> Result<(tokio_postgres::Config, MakeRustlsConnect)> {
    let (url, verify) = split_tls_options(url)?;
    let config: tokio_postgres::Config = url
        .parse()
        .map_err(|e: tokio_postgres::Error| bad_url(e.to_string()))?;
    Ok((config, MakeRustlsConnect::new(client_config(&verify)?)))
}

fn bad_url(why: impl std::fmt::Display) -> StoreError {
    StoreError::Other(format!("bad database URL: {why}"))
}

/// `url` without the options tokio-postgres does not know (`sslrootcert`, and the
/// `verify-*` modes, which become `require`), and what they ask to verify.
fn split_tls_options(url: &str) -> Result<(String, Verify)> {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, q),
        None => return Ok((url.to_string(), Verify::Nothing)),
    };
    let mut kept = Vec::new();
    let (mut mode, mut root) = (None, None);
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match key {
            "sslrootcert" => {
                let path = percent_encoding::percent_decode_str(value)
                    .decode_utf8()
                    .map_err(|_| bad_url("sslrootcert is not UTF-8"))?;
                root = Some(PathBuf::from(path.as_ref()));
            }
            "sslmode" => {
                mode = Some(value.to_string());
                let known = if value.starts_with("verify-") {
                    "require"
                } else {
                    value
                };
                kept.push(format!("sslmode={known}"));
            }
            _ => kept.push(pair.to_string()),
        }
    }
    let verify = match (mode.as_deref(), root) {
        (Some("verify-full"), Some(root)) => Verify::ChainAndName(root),
        (Some(m @ ("verify-ca" | "verify-full")), None) => {
            return Err(bad_url(format!(
                "sslmode={m} needs sslrootcert=<file of trusted root certificates>"
            )))
        }
        (Some("disable"), _) => Verify::Nothing,
        (_, Some(root)) => Verify::Chain(root),
        (_, None) => Verify::Nothing,
    };
    let url = if kept.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    Ok((url, verify))
}

fn client_config(verify: &Verify) -> Result<ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier: Arc<dyn ServerCertVerifier> = match verify {
        Verify::Nothing => Arc::new(EncryptOnly(provider.clone())),
        Verify::Chain(path) => Arc::new(ChainOnly(webpki(path, &provider)?)),
        Verify::ChainAndName(path) => webpki(path, &provider)?,
    };
    Ok(ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| StoreError::Other(format!("TLS: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth())
}

/// rustls's standard verifier over the roots in `path`.
fn webpki(
    path: &std::path::Path,
    provider: &Arc<CryptoProvider>,
) -> Result<Arc<WebPkiServerVerifier>> {
    let unreadable = |e: &dyn std::fmt::Display| {
        StoreError::Other(format!("sslrootcert {}: {e}", path.display()))
    };
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(path).map_err(|e| unreadable(&e))? {
        roots
            .add(cert.map_err(|e| unreadable(&e))?)
            .map_err(|e| unreadable(&e))?;
    }
    if roots.is_empty() {
        return Err(unreadable(&"no certificate in the file"));
    }
    WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| unreadable(&e))
}

/// Accepts any server certificate (libpq's `require` without a root file), but still
/// checks that the server holds the key of the certificate it presented, so the
/// handshake itself is sound.
#[derive(Debug)]
struct EncryptOnly(Arc<CryptoProvider>);

impl ServerCertVerifier for EncryptOnly {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// The standard verifier without the host-name check (libpq's `verify-ca`).
#[derive(Debug)]
struct ChainOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_options_are_taken_out_of_the_url() {
        let split = |u: &str| split_tls_options(u).unwrap();
        assert_eq!(
            split("postgres://u@h/db"),
            ("postgres://u@h/db".into(), Verify::Nothing)
        );
        assert_eq!(
            split("postgres://u@h/db?sslmode=require&connect_timeout=3"),
            (
                "postgres://u@h/db?sslmode=require&connect_timeout=3".into(),
                Verify::Nothing
            )
        );
        assert_eq!(
            split("postgres://u@h/db?sslrootcert=%2Fetc%2Froot.pem&sslmode=require"),
            (
                "postgres://u@h/db?sslmode=require".into(),
                Verify::Chain("/etc/root.pem".into())
            )
        );
        assert_eq!(
            split("postgres://u@h/db?sslmode=verify-ca&sslrootcert=/r.pem"),
            (
                "postgres://u@h/db?sslmode=require".into(),
                Verify::Chain("/r.pem".into())
            )
        );
        assert_eq!(
            split("postgres://u@h/db?sslmode=verify-full&sslrootcert=/r.pem&x=1"),
            (
                "postgres://u@h/db?sslmode=require&x=1".into(),
                Verify::ChainAndName("/r.pem".into())
            )
        );
        assert_eq!(
            split("postgres://u@h/db?sslrootcert=/r.pem"),
            ("postgres://u@h/db".into(), Verify::Chain("/r.pem".into()))
        );
        assert!(split_tls_options("postgres://u@h/db?sslmode=verify-full").is_err());
        assert!(split_tls_options("postgres://u@h/db?sslmode=verify-ca").is_err());
    }

    #[test]
    fn a_missing_root_file_is_a_clear_error() {
        let err = connect_settings("postgres://u@h/db?sslrootcert=/nonexistent/root.pem")
            .err()
            .unwrap();
        assert!(err.to_string().contains("/nonexistent/root.pem"), "{err}");
    }
}
