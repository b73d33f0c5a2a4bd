//! Failures a collection must turn into one clear error, quickly: nothing listening, a
//! server that never answers, a wrong password, TLS the server cannot give, bad input.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use witness_collector::{CollectContext, CollectError, Status};
use witness_postgres::PostgresConfig;

use crate::support::{TestDb, collect, collect_in, connect, dsn_file_config, within};

fn config(dsn: &str, dir: &tempfile::TempDir) -> PostgresConfig {
    let mut c = dsn_file_config(dir.path(), dsn);
    c.connect_timeout_secs = 1;
    c
}

#[tokio::test]
async fn nothing_listening_fails_at_once_with_the_reason() {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        l.local_addr().unwrap().port()
    };
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let err =
        collect(&config(&format!("postgresql://w@127.0.0.1:{port}/app"), &dir)).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(2));
    let CollectError::Unreachable { target, reason } = &err else { panic!("{err:?}") };
    assert_eq!(target, &format!("PostgreSQL 127.0.0.1:{port}/app"));
    assert!(reason.contains("Connection refused"), "{reason}");
}

/// A TCP listener that accepts and never says a word: not a PostgreSQL server at all.
#[tokio::test]
async fn a_server_that_never_answers_times_out_within_the_connect_timeout() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let held = tokio::spawn(async move {
        let mut kept = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            kept.push(socket);
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let err =
        collect(&config(&format!("postgresql://w@127.0.0.1:{port}/app"), &dir)).await.unwrap_err();
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(900) && took < Duration::from_secs(3), "{took:?}");
    assert_eq!(
        err.to_string(),
        format!("PostgreSQL 127.0.0.1:{port}/app (connect) did not answer within 1s")
    );

    // A run deadline shorter than the connect timeout wins.
    let mut c = config(&format!("postgresql://w@127.0.0.1:{port}/app"), &dir);
    c.connect_timeout_secs = 30;
    let mut ctx = CollectContext::for_test();
    ctx.deadline = tokio::time::Instant::now() + Duration::from_millis(700);
    let started = Instant::now();
    let err = collect_in(&c, &ctx).await.unwrap_err();
    assert!(matches!(err, CollectError::Timeout { .. }), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(2));
    held.abort();
}

/// The test server trusts 127.0.0.1, so no password can be wrong there: this fake server
/// asks for a cleartext password and answers it the way PostgreSQL does when it is wrong
/// (ErrorResponse FATAL 28P01).
#[tokio::test]
async fn a_wrong_password_is_an_authentication_failure_and_the_password_is_never_shown() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let startup = read_startup(&mut socket).await;
        assert!(startup.windows(7).any(|w| w == b"witness"), "application_name is sent");
        socket.write_all(&[b'R', 0, 0, 0, 8, 0, 0, 0, 3]).await.unwrap(); // cleartext password
        let mut tag = [0u8; 1];
        socket.read_exact(&mut tag).await.unwrap();
        assert_eq!(tag[0], b'p');
        let password = read_body(&mut socket).await;
        let fields: &[(u8, &str)] = &[
            (b'S', "FATAL"),
            (b'V', "FATAL"),
            (b'C', "28P01"),
            (b'M', "password authentication failed for user \"w\""),
        ];
        socket.write_all(&message(b'E', &error_fields(fields))).await.unwrap();
        password
    });
    let dir = tempfile::tempdir().unwrap();
    let c = config(
        &format!(
            "host=127.0.0.1 port={port} user=w password=not-the-password dbname=app sslmode=disable"
        ),
        &dir,
    );
    let ctx = CollectContext::for_test();
    let err = collect_in(&c, &ctx).await.unwrap_err();
    let sent = within("the fake server", server).await.unwrap();
    assert_eq!(sent, b"not-the-password\0");
    assert_eq!(
        err.to_string(),
        format!(
            "cannot reach PostgreSQL 127.0.0.1:{port}/app: rejected: authentication failed: \
             password authentication failed for user \"w\" (SQLSTATE 28P01)"
        )
    );
    let quoted = ctx.redact("FATAL: role w password not-the-password rejected");
    assert!(!quoted.contains("not-the-password"), "{quoted}");
}

/// A fake server that answers the TLS request with `N`, as PostgreSQL does with `ssl = off`.
#[tokio::test]
async fn tls_required_from_a_server_without_tls_is_one_clear_error() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut request = [0u8; 8];
        socket.read_exact(&mut request).await.unwrap();
        assert_eq!(request, [0, 0, 0, 8, 4, 210, 22, 47], "an SSLRequest");
        socket.write_all(b"N").await.unwrap();
        let mut rest = Vec::new();
        let _ = socket.read_to_end(&mut rest).await;
        rest
    });
    let dir = tempfile::tempdir().unwrap();
    for mode in ["require", "verify-full"] {
        let err =
            collect(&config(&format!("postgresql://w@127.0.0.1:{port}/app?sslmode={mode}"), &dir))
                .await
                .unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "cannot reach PostgreSQL 127.0.0.1:{port}/app: error performing TLS handshake: server does not support TLS"
            )
        );
        if mode == "require" {
            let after = within("the fake server", server).await.unwrap();
            assert!(after.is_empty(), "nothing is sent in clear after TLS was refused");
            break;
        }
    }
}

/// The real server: its certificate (snakeoil on Debian) is not trusted by the system, so
/// `verify-full` fails; trusted through `sslrootcert`, `verify-ca` passes while
/// `verify-full` still fails on the name, since the certificate does not name 127.0.0.1.
/// When the server has no TLS, every TLS mode fails with that reason instead.
#[tokio::test]
async fn sslmodes_are_honoured_against_the_real_server() {
    let db = TestDb::create("tls").await;
    let admin = connect(&db.config_as(None)).await;
    let ssl: String = admin.query_one("SHOW ssl", &[]).await.unwrap().get(0);
    if ssl != "on" {
        let err = collect(&db.config_for(&db.dsn_as(None, "sslmode=require"))).await.unwrap_err();
        assert!(err.to_string().ends_with("server does not support TLS"), "{err}");
        return;
    }
    let ev = collect(&db.config_for(&db.dsn_as(None, "sslmode=require"))).await.expect("require");
    assert_eq!(ev.data["tls"], "require");
    assert_ne!(ev.status, Status::Failed);

    let err = collect(&db.config_for(&db.dsn_as(None, "sslmode=verify-full"))).await.unwrap_err();
    assert!(err.to_string().contains("invalid peer certificate"), "{err}");

    let cert: String = admin
        .query_one("SELECT pg_read_file(current_setting('ssl_cert_file'))", &[])
        .await
        .unwrap()
        .get(0);
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("server.pem");
    std::fs::write(&root, cert).unwrap();
    let with_root = format!("sslrootcert='{}'", root.display());
    let ev = collect(&db.config_for(&db.dsn_as(None, &format!("sslmode=verify-ca {with_root}"))))
        .await
        .expect("verify-ca trusts the chain whatever the name");
    assert_eq!(ev.data["tls"], "verify-ca");
    let err =
        collect(&db.config_for(&db.dsn_as(None, &format!("sslmode=verify-full {with_root}"))))
            .await
            .unwrap_err();
    assert!(err.to_string().contains("certificate not valid for name \"127.0.0.1\""), "{err}");
}

#[tokio::test]
async fn a_dsn_that_does_not_parse_is_a_configuration_error() {
    let dir = tempfile::tempdir().unwrap();
    let err = collect(&config("postgresql://w:hunter22@db:notaport/app", &dir)).await.unwrap_err();
    assert!(matches!(err, CollectError::Config(_)), "{err:?}");
    assert!(
        err.to_string().starts_with("configuration: the connection string does not parse: "),
        "{err}"
    );
    assert!(!err.to_string().contains("hunter22"));

    let err = collect(&config("postgresql://w@db/app?sslmode=sometimes", &dir)).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "configuration: the connection string does not parse: sslmode `sometimes` is not one of disable, allow, prefer, require, verify-ca, verify-full"
    );
}

#[tokio::test]
async fn a_missing_dsn_variable_is_named() {
    let config = PostgresConfig::new("main", "WITNESS_TEST_PG_DSN_SURELY_UNSET");
    let err = collect(&config).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "configuration: environment variable WITNESS_TEST_PG_DSN_SURELY_UNSET is not set"
    );
}

async fn read_startup(socket: &mut TcpStream) -> Vec<u8> {
    let body = read_body(socket).await;
    assert_eq!(
        &body[..4],
        &[0, 3, 0, 0],
        "protocol 3.0 startup (sslmode=disable sends no SSLRequest)"
    );
    body
}

/// Reads an Int32 length and the rest of the message.
async fn read_body(socket: &mut TcpStream) -> Vec<u8> {
    let len = socket.read_u32().await.unwrap() as usize;
    let mut body = vec![0u8; len - 4];
    socket.read_exact(&mut body).await.unwrap();
    body
}

fn message(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut m = vec![tag];
    m.extend_from_slice(&u32::try_from(body.len() + 4).unwrap().to_be_bytes());
    m.extend_from_slice(body);
    m
}

fn error_fields(fields: &[(u8, &str)]) -> Vec<u8> {
    let mut body = Vec::new();
    for (code, value) in fields {
        body.push(*code);
        body.extend_from_slice(value.as_bytes());
        body.push(0);
    }
    body.push(0);
    body
}
