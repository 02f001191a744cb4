//! Graceful shutdown drains a request that is in flight when the stop is asked for.

use hrms::auth::Role;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{POLL_DEADLINE, TestApp, poll_until, spawn_app};

/// Polls /metrics until `n` requests are in flight (the scrape itself counts as one).
async fn wait_in_flight(app: &TestApp, n: u32) {
    let needle = format!("hrms_http_requests_in_flight {n}\n");
    poll_until(
        POLL_DEADLINE,
        &format!("{n} requests in flight"),
        || async {
            let text = app.get("/metrics", None).await.text().await.unwrap();
            if text.contains(&needle) {
                Ok(())
            } else {
                Err(format!("\n{text}"))
            }
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_in_flight_request_completes_during_graceful_shutdown() {
    let mut app = spawn_app().await;
    let token = app.token(0, Role::HrAdmin).await;
    let port: u16 = app.address.rsplit(':').next().unwrap().parse().unwrap();
    let body = br#"{"name": "Drained"}"#;
    let (head, tail) = body.split_at(8);
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let request = format!(
        "POST /departments HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: Bearer {token}\r\n\
         content-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    stream.write_all(head).await.unwrap();
    // The handler is now waiting for the rest of the body.
    wait_in_flight(&app, 2).await;

    app.begin_stop();
    stream.write_all(tail).await.unwrap();
    let mut response = String::new();
    tokio::time::timeout(POLL_DEADLINE, stream.read_to_string(&mut response))
        .await
        .unwrap()
        .unwrap();
    assert!(
        response.starts_with("HTTP/1.1 201"),
        "in-flight request finished: {response}"
    );
    tokio::time::timeout(POLL_DEADLINE, app.stop())
        .await
        .expect("stopped within the deadline");
    let (rows,): (i64,) = sqlx::query_as("SELECT count(*) FROM departments WHERE name = 'Drained'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(rows, 1);
    assert!(
        TcpStream::connect(("127.0.0.1", port)).await.is_err(),
        "no longer accepting"
    );
}
