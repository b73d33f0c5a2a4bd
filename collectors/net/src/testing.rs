//! Test support for HTTP-speaking collectors (feature `test-support`): real servers on
//! 127.0.0.1 port 0, plain or TLS, and certificates made on the spot (a CA with a leaf for
//! 127.0.0.1, or a self-signed one nobody trusts). Shared here so the `http` and
//! `status_page` tests run against the same kind of server.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

/// Serves `router` over plain HTTP on 127.0.0.1 and returns its address. The server lives
/// as long as the test's runtime.
pub async fn serve(router: Router) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local address");
    tokio::spawn(async move { axum::serve(listener, router).await });
    addr
}

/// Serves `router` over TLS with `server` (see [`TestCertificate::server_config`]) on
/// 127.0.0.1 and returns its address.
pub async fn serve_tls(router: Router, server: rustls::ServerConfig) -> SocketAddr {
    let tcp = TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
    let addr = tcp.local_addr().expect("local address");
    let listener = TlsListener { tcp, acceptor: TlsAcceptor::from(Arc::new(server)) };
    tokio::spawn(async move { axum::serve(listener, router).await });
    addr
}

/// A TCP listener that completes the TLS handshake before handing the stream to axum;
/// connections whose handshake fails (a client rejecting the certificate) are dropped.
struct TlsListener {
    tcp: TcpListener,
    acceptor: TlsAcceptor,
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((stream, addr)) = self.tcp.accept().await else { continue };
            if let Ok(tls) = self.acceptor.accept(stream).await {
                return (tls, addr);
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}

/// A server certificate for 127.0.0.1 and the PEM of the CA a client must trust for it.
pub struct TestCertificate {
    /// The CA certificate (PEM) to configure as `ca_file`; for a self-signed certificate,
    /// the certificate itself.
    pub ca_pem: String,
    pub leaf_der: CertificateDer<'static>,
    key_der: Vec<u8>,
}

impl TestCertificate {
    /// A leaf for 127.0.0.1 issued by a fresh CA, expiring at the start (00:00 UTC) of
    /// `expires_on`.
    pub fn issued_by_test_ca(expires_on: chrono::NaiveDate) -> Self {
        use chrono::Datelike;
        let ca_key = rcgen::KeyPair::generate().expect("CA key");
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("CA");
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params.distinguished_name.push(rcgen::DnType::CommonName, "witness test CA");
        let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).expect("CA certificate");

        let leaf_key = rcgen::KeyPair::generate().expect("leaf key");
        let mut leaf_params =
            rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()]).expect("leaf");
        leaf_params.distinguished_name.push(rcgen::DnType::CommonName, "127.0.0.1");
        leaf_params.not_after = rcgen::date_time_ymd(
            expires_on.year(),
            u8::try_from(expires_on.month()).expect("month"),
            u8::try_from(expires_on.day()).expect("day"),
        );
        let leaf = leaf_params.signed_by(&leaf_key, &ca).expect("leaf certificate");
        Self { ca_pem: ca.pem(), leaf_der: leaf.der().clone(), key_der: leaf_key.serialize_der() }
    }

    /// A self-signed certificate for 127.0.0.1 that no client trusts.
    pub fn self_signed() -> Self {
        let rcgen::CertifiedKey { cert, signing_key } =
            rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()])
                .expect("self-signed certificate");
        Self {
            ca_pem: cert.pem(),
            leaf_der: cert.der().clone(),
            key_der: signing_key.serialize_der(),
        }
    }

    /// A rustls server configuration presenting this certificate.
    pub fn server_config(&self) -> rustls::ServerConfig {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key_der.clone()));
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("protocol versions")
            .with_no_client_auth()
            .with_single_cert(vec![self.leaf_der.clone()], key)
            .expect("server certificate");
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        config
    }
}
