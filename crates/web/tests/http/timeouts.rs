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
