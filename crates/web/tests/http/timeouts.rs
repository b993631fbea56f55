//! Slow clients (issue 21): connections that never finish their headers once stayed open
//! for good (20 still open after 65 s); now they are closed, and the server answers others
//! meanwhile.

use std::time::Duration;

use tandem_test_support::{TestApp, backends};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[tokio::test]
async fn connections_that_never_finish_their_headers_are_closed() {
    // The server's own behaviour: one backend is enough.
    let Some(backend) = backends().into_iter().next() else {
        return;
    };
    let app = TestApp::start(backend).await;
    let addr = app.url.trim_start_matches("http://").to_owned();
    let mut slow = Vec::new();
    for _ in 0..20 {
        let mut s = TcpStream::connect(&addr).await.expect("connect");
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: tandem\r\n")
            .await
            .expect("write");
        slow.push(s);
    }
    let ok = reqwest::get(app.url("/healthz")).await.expect("healthz answers");
    assert!(ok.status().is_success());
    let limit = tandem_web::HEADER_READ_TIMEOUT + Duration::from_secs(10);
    for s in &mut slow {
        let mut rest = Vec::new();
        let closed = tokio::time::timeout(limit, s.read_to_end(&mut rest)).await;
        assert!(closed.is_ok(), "a connection is still open after {limit:?}");
    }
}

#[tokio::test]
async fn at_most_the_connection_limit_is_served_and_a_freed_slot_serves_the_next() {
    let Some(backend) = backends().into_iter().next() else {
        return;
    };
    let app = TestApp::start(backend).await;
    let addr = app.url.trim_start_matches("http://").to_owned();
    // Every slot taken by a connection that has sent nothing yet (each is closed by the
    // header timeout, 10 s, so the checks below come well before that).
    let mut idle = Vec::new();
    for _ in 0..tandem_web::MAX_CONNECTIONS {
        idle.push(TcpStream::connect(&addr).await.expect("connect"));
    }
    let mut next = TcpStream::connect(&addr).await.expect("the kernel still accepts");
    next.write_all(b"GET /healthz HTTP/1.1\r\nHost: tandem\r\nConnection: close\r\n\r\n")
        .await
        .expect("write");
    let mut first = [0u8; 12];
    let early = tokio::time::timeout(Duration::from_secs(1), next.read_exact(&mut first)).await;
    assert!(early.is_err(), "a connection past the limit was served");
    // One idle connection goes: its slot serves the waiting one.
    drop(idle.pop());
    tokio::time::timeout(Duration::from_secs(5), next.read_exact(&mut first))
        .await
        .expect("served once a slot was free")
        .expect("read");
    assert_eq!(&first, b"HTTP/1.1 200");
}
