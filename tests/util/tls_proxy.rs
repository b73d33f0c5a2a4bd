//! A TLS-terminating proxy on 127.0.0.1 for the tests of `[store] ca_file`: it presents a
//! certificate for 127.0.0.1 issued by a CA made on the spot (nobody trusts it unless
//! told to), and passes the bytes of each connection on to a plain TCP upstream (a
//! Garage node's S3 port), as a TLS ingress in front of a self-hosted store does. It runs
//! on its own thread and runtime, so a test may block on a child process meanwhile; it
//! stops when dropped.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use witness_net::testing::TestCertificate;

pub struct TlsProxy {
    /// `https://127.0.0.1:<port>`.
    pub endpoint: String,
    /// The PEM of the CA that issued the proxy's certificate.
    pub ca_pem: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TlsProxy {
    /// Starts the proxy in front of `upstream`.
    pub fn start(upstream: SocketAddr) -> Self {
        let expires_on = (chrono::Utc::now() + chrono::Duration::days(30)).date_naive();
        let certificate = TestCertificate::issued_by_test_ca(expires_on);
        let acceptor = TlsAcceptor::from(Arc::new(certificate.server_config()));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let (stop_tx, mut stop_rx) = tokio::sync::oneshot::channel();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build();
            runtime.unwrap().block_on(async move {
                let listener = TcpListener::from_std(listener).unwrap();
                loop {
                    let client = tokio::select! {
                        _ = &mut stop_rx => return,
                        accepted = listener.accept() => match accepted {
                            Ok((client, _)) => client,
                            Err(_) => continue,
                        },
                    };
                    let acceptor = acceptor.clone();
                    tokio::spawn(async move {
                        // A client that refuses the certificate ends the handshake here.
                        let Ok(mut tls) = acceptor.accept(client).await else { return };
                        let Ok(mut server) = TcpStream::connect(upstream).await else { return };
                        let _ = tokio::io::copy_bidirectional(&mut tls, &mut server).await;
                    });
                }
            });
        });
        Self {
            endpoint: format!("https://127.0.0.1:{port}"),
            ca_pem: certificate.ca_pem,
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }
}

impl Drop for TlsProxy {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
