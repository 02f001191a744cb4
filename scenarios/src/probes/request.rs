//! One probe request, how it is shown in a report, and how it is sent.
//!
//! Probe requests are not recorded as samples: they are counted as probe attempts, so they
//! never mix into the latency statistics of the load they ride along.

use std::fmt;
use std::time::Duration;

use reqwest::Method;

use super::Prober;
use crate::hrms::JsonBody;

/// Times a request refused with 429 is retried (the probes must reach the check behind the
/// limiter even for a small-plan tenant; the noisy neighbour sends its own, unretried).
const RATE_LIMIT_RETRIES: u32 = 10;
/// Longest wait before such a retry, whatever `Retry-After` says.
const RATE_LIMIT_WAIT: Duration = Duration::from_millis(500);

/// What a probe sends.
#[derive(Debug, Clone)]
pub struct Req {
    method: Method,
    path: String,
    /// Who sends it, e.g. `tenant #0 employee` (for the report).
    who: String,
    token: Option<String>,
    headers: Vec<(&'static str, String)>,
    body: Option<serde_json::Value>,
    raw_body: Option<String>,
    /// What is special about the request that the report must show (e.g. a forged token).
    note: Option<String>,
}

impl Req {
    fn new(method: Method, path: impl Into<String>, who: impl Into<String>) -> Req {
        Req {
            method,
            path: path.into(),
            who: who.into(),
            token: None,
            headers: Vec::new(),
            body: None,
            raw_body: None,
            note: None,
        }
    }

    /// A GET.
    pub fn get(path: impl Into<String>, who: impl Into<String>) -> Req {
        Req::new(Method::GET, path, who)
    }

    /// A POST.
    pub fn post(path: impl Into<String>, who: impl Into<String>) -> Req {
        Req::new(Method::POST, path, who)
    }

    /// A PATCH.
    pub fn patch(path: impl Into<String>, who: impl Into<String>) -> Req {
        Req::new(Method::PATCH, path, who)
    }

    /// With a bearer token (none when `None`: the probe then shows as anonymous).
    pub fn token(mut self, token: Option<&str>) -> Req {
        self.token = token.map(str::to_owned);
        self
    }

    /// With a notable header (shown in the report).
    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Req {
        self.headers.push((name, value.into()));
        self
    }

    /// With a note for the report (not sent).
    pub fn note(mut self, note: impl Into<String>) -> Req {
        self.note = Some(note.into());
        self
    }

    /// With a JSON body.
    pub fn body(mut self, body: serde_json::Value) -> Req {
        self.body = Some(body);
        self
    }

    /// With a body sent as is (for malformed JSON).
    pub fn raw_body(mut self, body: impl Into<String>) -> Req {
        self.raw_body = Some(body.into());
        self
    }
}

impl fmt::Display for Req {
    /// `GET /employees/… as tenant #0 employee [X-Tenant-ID: …] body {…}`; real tokens are never
    /// shown, forged ones are described by the note.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} as {}", self.method, self.path, self.who)?;
        if let Some(note) = &self.note {
            write!(f, " ({note})")?;
        }
        for (name, value) in &self.headers {
            write!(f, " [{name}: {value}]")?;
        }
        if let Some(body) = &self.body {
            write!(f, " body {body}")?;
        }
        if let Some(body) = &self.raw_body {
            write!(f, " body {body}")?;
        }
        Ok(())
    }
}

/// What came back.
#[derive(Debug)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// The body.
    pub body: Vec<u8>,
    /// Send to last byte.
    pub latency: Duration,
}

impl JsonBody for Reply {
    fn body(&self) -> &[u8] {
        &self.body
    }
}

impl Prober {
    /// Sends `req`, retrying a bounded number of times while it is rate limited.
    pub async fn send(&self, req: &Req) -> Option<Reply> {
        let mut attempt = 0;
        loop {
            let reply = self.send_once(req).await?;
            if reply.status != 429 || attempt >= RATE_LIMIT_RETRIES {
                return Some(reply);
            }
            attempt += 1;
            tokio::time::sleep(RATE_LIMIT_WAIT).await;
        }
    }

    /// Sends `req` once.
    pub async fn send_once(&self, req: &Req) -> Option<Reply> {
        let url = format!("{}{}", self.base, req.path);
        let mut builder = self.http.request(req.method.clone(), url);
        if let Some(token) = &req.token {
            builder = builder.bearer_auth(token);
        }
        for (name, value) in &req.headers {
            builder = builder.header(*name, value);
        }
        if let Some(body) = &req.body {
            builder = builder.json(body);
        }
        if let Some(body) = &req.raw_body {
            builder = builder
                .header("content-type", "application/json")
                .body(body.clone());
        }
        let started = std::time::Instant::now();
        let response = builder.send().await.ok()?;
        let status = response.status().as_u16();
        let body = response.bytes().await.ok()?.to_vec();
        Some(Reply {
            status,
            body,
            latency: started.elapsed(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_shows_what_was_tried_but_never_the_token() {
        let req = Req::post("/employees", "tenant #0 hr_admin")
            .token(Some("secret-token"))
            .header("X-Tenant-ID", "t1")
            .note("forged token: tid → tenant #1")
            .body(serde_json::json!({"tenant_id": "t1"}));
        let shown = req.to_string();
        assert_eq!(
            shown,
            "POST /employees as tenant #0 hr_admin (forged token: tid → tenant #1) \
             [X-Tenant-ID: t1] body {\"tenant_id\":\"t1\"}"
        );
        assert!(!shown.contains("secret-token"));
    }
}
