//! The service's life around a deploy: a recent backup exists where backups are written, and
//! a stop drains — on SIGTERM new connections are refused while a request in flight (a login
//! whose body is still arriving) completes.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::Context;
use super::support::Finding;

/// The in-flight request's body arrives in this many pieces, this far apart: long enough to
/// be certainly in flight when the stop begins, short against the service's drain grace.
const PIECES: usize = 6;
const PIECE_GAP: Duration = Duration::from_millis(250);
/// How long after the stop a new connection must be refused by.
const REFUSE_DEADLINE: Duration = Duration::from_secs(5);
/// How long the slow login may take to be counted in flight before the stop.
const IN_FLIGHT_DEADLINE: Duration = Duration::from_secs(5);
/// How deep under the backup directory to look (a base backup is a directory of files).
const BACKUP_DEPTH: usize = 3;

pub fn backup_recent(ctx: &Context<'_>) -> Finding {
    let Some(policy) = &ctx.backup else {
        return Finding::skip("no backup location configured (--backup-dir)");
    };
    let newest = newest_file(&policy.dir, BACKUP_DEPTH);
    let Some((path, modified)) = newest else {
        return Finding::fail(
            format!("no backup under {}", policy.dir.display()),
            Vec::new(),
        );
    };
    let age = SystemTime::now()
        .duration_since(modified)
        .unwrap_or_default();
    let evidence = vec![format!(
        "newest: {} ({} old; at most {})",
        path.display(),
        humantime::format_duration(Duration::from_secs(age.as_secs())),
        humantime::format_duration(policy.max_age)
    )];
    if age <= policy.max_age {
        Finding::pass("a backup within the allowed age", evidence)
    } else {
        Finding::fail("the newest backup is older than allowed", evidence)
    }
}

fn newest_file(dir: &Path, depth: usize) -> Option<(PathBuf, SystemTime)> {
    let mut newest: Option<(PathBuf, SystemTime)> = None;
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let path = entry.path();
        let Ok(meta) = entry.metadata() else { continue };
        let candidate = if meta.is_dir() {
            if depth == 0 {
                continue;
            }
            newest_file(&path, depth - 1)
        } else {
            meta.modified().ok().map(|m| (path, m))
        };
        if let Some((p, m)) = candidate
            && newest.as_ref().is_none_or(|(_, n)| m > *n)
        {
            newest = Some((p, m));
        }
    }
    newest
}

pub async fn graceful_shutdown(ctx: &mut Context<'_>) -> Finding {
    let login = match ctx.fixture.tenants.first().and_then(|t| t.users.first()) {
        Some(u) => serde_json::json!({"email": u.email, "password": u.password}).to_string(),
        None => return Finding::error(&anyhow::anyhow!("the fixture has no user")),
    };
    let (client, base_url) = (ctx.client().clone(), ctx.base_url.clone());
    let Some(local) = ctx.local.as_mut() else {
        return Finding::skip("local only: stopping the service needs the stack verify started");
    };
    let address = base_url.trim_start_matches("http://").to_owned();
    let outcome = async {
        let before = in_flight(&client, &base_url).await;
        let mut stream = TcpStream::connect(&address).await?;
        let head = format!(
            "POST /auth/login HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n",
            login.len()
        );
        stream.write_all(head.as_bytes()).await?;
        let pieces = split(login.as_bytes(), PIECES);
        stream.write_all(pieces[0]).await?;
        stream.flush().await?;
        // The stop must find the request in flight, not still in the listen backlog: on a
        // busy machine the service may not have accepted the connection yet, and a backlog
        // is reset when the listener closes. The service counts a request in flight once its
        // head is read.
        wait_until_in_flight(&client, &base_url, before).await?;
        let how = local.service.begin_stop().await?;
        let stopped = Instant::now();
        let refused_after = refused_within(&address, REFUSE_DEADLINE).await;
        for piece in &pieces[1..] {
            tokio::time::sleep(PIECE_GAP).await;
            stream.write_all(piece).await?;
        }
        let mut answer = Vec::new();
        tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer)).await??;
        let answer = String::from_utf8_lossy(&answer).into_owned();
        anyhow::Ok((how, refused_after, answer, stopped.elapsed()))
    }
    .await;
    let (how, refused_after, answer, took) = match outcome {
        Ok(o) => o,
        Err(e) => return Finding::error(&e),
    };
    let status_line = answer.lines().next().unwrap_or("(no answer)").to_owned();
    let mut evidence = vec![
        format!(
            "POST /auth/login in flight, body sent in {PIECES} pieces {} ms apart",
            PIECE_GAP.as_millis()
        ),
        format!("stop: {how}"),
    ];
    let mut problems = Vec::new();
    match refused_after {
        Some(after) => evidence.push(format!(
            "a new connection was refused {} ms after the stop",
            after.as_millis()
        )),
        None => problems.push(format!(
            "new connections were still accepted {} s after the stop",
            REFUSE_DEADLINE.as_secs()
        )),
    }
    evidence.push(format!(
        "the in-flight request finished {} ms after the stop: {status_line}",
        took.as_millis()
    ));
    if !status_line.contains(" 200 ") {
        problems.push(format!(
            "the request in flight did not complete: {status_line}"
        ));
    }
    Finding::judge(
        "in-flight request completed; new connections refused",
        problems,
        evidence,
    )
}

/// `hrms_http_requests_in_flight` as the service reports it. The scrape counts itself in
/// flight too, alike every time, so only a difference between two readings means anything.
async fn in_flight(client: &reqwest::Client, base_url: &str) -> Option<f64> {
    let url = format!("{base_url}/metrics");
    let text = crate::run::scrape::fetch(client, &url, Duration::from_secs(2)).await?;
    crate::run::scrape::samples(&text)
        .find(|s| s.name == "hrms_http_requests_in_flight")
        .map(|s| s.value)
}

/// Polls until the service counts one request more in flight than `before` (the slow login),
/// within [`IN_FLIGHT_DEADLINE`]. A service without the gauge (`before` is `None`) is given
/// a moment instead: all that can be done without it.
async fn wait_until_in_flight(
    client: &reqwest::Client,
    base_url: &str,
    before: Option<f64>,
) -> anyhow::Result<()> {
    let Some(before) = before else {
        tokio::time::sleep(PIECE_GAP).await;
        return Ok(());
    };
    let started = Instant::now();
    while started.elapsed() < IN_FLIGHT_DEADLINE {
        if in_flight(client, base_url)
            .await
            .is_some_and(|now| now > before)
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    anyhow::bail!(
        "the service never counted the slow login in flight within {} s",
        IN_FLIGHT_DEADLINE.as_secs()
    )
}

/// `text` in `n` pieces (the last holds the remainder; none is empty when `text` is long
/// enough).
fn split(text: &[u8], n: usize) -> Vec<&[u8]> {
    let size = (text.len() / n).max(1);
    let mut out = Vec::new();
    let mut rest = text;
    while out.len() + 1 < n && rest.len() > size {
        let (a, b) = rest.split_at(size);
        out.push(a);
        rest = b;
    }
    out.push(rest);
    out
}

/// How long until a TCP connect to `address` is refused, polled every 20 ms.
async fn refused_within(address: &str, deadline: Duration) -> Option<Duration> {
    let started = Instant::now();
    while started.elapsed() < deadline {
        match tokio::time::timeout(Duration::from_millis(500), TcpStream::connect(address)).await {
            Ok(Err(_)) => return Some(started.elapsed()),
            Ok(Ok(_)) | Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
    None
}
