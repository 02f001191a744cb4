//! Typed configuration, layered: defaults → optional TOML file → environment.
//!
//! Every section derives `Deserialize` with `#[serde(default)]`, so a file names only what it
//! changes. The environment is merged into the same TOML tree before one typed parse, which
//! keeps a single source of validation: a bad value fails at start with the key named.
//!
//! Environment variables:
//! - well-known names: `DATABASE_URL`, `REDIS_URL`, `HRMS_BIND`, `HRMS_DB_POOL_SIZE`,
//!   `HRMS_LOG_FORMAT`, `JWT_SECRET`, `OPERATOR_TOKEN`, `HRMS_ARGON2_M_COST`,
//!   `HRMS_ARGON2_T_COST`, `HRMS_ARGON2_P_COST`;
//! - any key by path: `HRMS__SECTION__KEY=value` (e.g. `HRMS__RATE_LIMIT__FAIL_OPEN=false`);
//!   the value is read as a TOML literal when it parses as one, else as a string.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;
use url::Url;

use crate::ratelimit::RateLimitConfig;

/// Why the configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The config file could not be read.
    #[error("cannot read config file {path}")]
    Read {
        /// The file named.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file or the merged environment is not valid for [`Settings`].
    #[error("invalid configuration")]
    Invalid(#[from] toml::de::Error),
}

/// The whole service configuration.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// HTTP listener and request handling.
    pub server: ServerSettings,
    /// Postgres connection pool.
    pub database: DatabaseSettings,
    /// Redis (job queue and rate limiting).
    pub redis: RedisSettings,
    /// Tokens, password hashing, operator credential.
    pub auth: AuthSettings,
    /// Background payroll workers.
    pub jobs: JobSettings,
    /// Per-tenant rate limiting (tiers, fail-open, webhook).
    pub rate_limit: RateLimitConfig,
    /// Logging.
    pub log: LogSettings,
    /// Seeded defects for testing the harness; all off by default.
    pub defects: crate::defects::Defects,
}

/// HTTP server settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerSettings {
    /// Address to listen on; port 0 picks a free port (tests).
    pub bind: SocketAddr,
    /// Largest accepted request body; bigger bodies get 413 before any parsing.
    pub body_limit_bytes: usize,
    /// Upper bound for one request, so a stuck dependency cannot pin a connection forever.
    #[serde(with = "humantime_serde")]
    pub request_timeout: Duration,
    /// How long graceful shutdown waits for in-flight requests and running jobs.
    #[serde(with = "humantime_serde")]
    pub shutdown_grace: Duration,
    /// Accounts each request's DB, pool-wait and Redis time per route (`hrms_route_*`, the
    /// run's diagnosis). On by default; off only to measure what the accounting costs
    /// (`benches/benches/service_employees.rs`).
    pub route_costs: bool,
    /// A delay every API request waits before it is handled, drawn uniformly from
    /// `min..=max`: a latency known in advance, to calibrate a load generator against (the
    /// request metrics count it, as a client does; `/metrics` and `/health/*` are not
    /// delayed). Off unless configured; never for production.
    pub injected_latency: Option<InjectedLatency>,
}

/// `server.injected_latency`: the bounds of a uniform random delay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InjectedLatency {
    /// Shortest delay.
    #[serde(with = "humantime_serde")]
    pub min: Duration,
    /// Longest delay; below `min` it is taken as `min` (a fixed delay).
    #[serde(with = "humantime_serde")]
    pub max: Duration,
}

impl InjectedLatency {
    /// One delay, uniform over the bounds at microsecond resolution.
    pub fn sample(&self) -> Duration {
        let micros = |d: Duration| u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        let (lo, hi) = (micros(self.min), micros(self.max));
        if hi <= lo {
            return self.min;
        }
        Duration::from_micros(rand::random_range(lo..=hi))
    }
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            body_limit_bytes: 64 * 1024,
            request_timeout: Duration::from_secs(30),
            shutdown_grace: Duration::from_secs(10),
            route_costs: true,
            injected_latency: None,
        }
    }
}

/// Postgres settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseSettings {
    /// Connection URL (a superuser or the schema owner: migrations create the app role).
    pub url: Url,
    /// Pool size ceiling.
    pub max_connections: u32,
    /// Connections kept open when idle.
    pub min_connections: u32,
    /// How long a request waits for a pooled connection before answering 503. Short on
    /// purpose: with the database down, failing fast beats queueing every request.
    #[serde(with = "humantime_serde")]
    pub acquire_timeout: Duration,
    /// Server-side `statement_timeout` for every connection.
    #[serde(with = "humantime_serde")]
    pub statement_timeout: Duration,
    /// Run the embedded migrations on start.
    pub migrate: bool,
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self {
            url: Url::parse("postgres://postgres:postgres@127.0.0.1:5432/hrms")
                .expect("static URL parses"),
            max_connections: 20,
            min_connections: 0,
            acquire_timeout: Duration::from_secs(2),
            statement_timeout: Duration::from_secs(5),
            migrate: true,
        }
    }
}

/// Redis settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RedisSettings {
    /// Connection URL.
    pub url: Url,
    /// Per-command timeout; a hung Redis must not hang requests.
    #[serde(with = "humantime_serde")]
    pub response_timeout: Duration,
    /// Timeout of one (re)connection attempt.
    #[serde(with = "humantime_serde")]
    pub connect_timeout: Duration,
}

impl Default for RedisSettings {
    fn default() -> Self {
        Self {
            url: Url::parse("redis://127.0.0.1:6379").expect("static URL parses"),
            response_timeout: Duration::from_millis(500),
            connect_timeout: Duration::from_millis(500),
        }
    }
}

/// A secret string: never printed by `Debug`.
#[derive(Clone, Default, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    /// The secret itself; call sites that use it are easy to grep.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Authentication settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthSettings {
    /// HMAC key for access tokens. Empty means "generate one per process", which is fine for
    /// one instance and tests, and wrong for several instances behind a balancer.
    pub jwt_secret: Secret,
    /// Lifetime of an access token.
    #[serde(with = "humantime_serde")]
    pub token_ttl: Duration,
    /// Password hashing cost.
    pub argon2: Argon2Settings,
    /// Bearer token of the platform operator for `/admin/*`; unset disables those routes.
    pub operator_token: Option<Secret>,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            jwt_secret: Secret::default(),
            token_ttl: Duration::from_secs(3600),
            argon2: Argon2Settings::default(),
            operator_token: None,
        }
    }
}

/// Argon2id parameters: realistic by default, cheap for load tests that measure the API
/// rather than the KDF.
#[derive(Debug, Clone, Copy, serde::Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Argon2Settings {
    /// Memory in KiB.
    pub m_cost: u32,
    /// Iterations.
    pub t_cost: u32,
    /// Lanes.
    pub p_cost: u32,
}

impl Argon2Settings {
    /// The cheapest parameters argon2 accepts: for tests and seeded load-test users.
    pub const CHEAP: Self = Self {
        m_cost: 8,
        t_cost: 1,
        p_cost: 1,
    };
}

impl Default for Argon2Settings {
    fn default() -> Self {
        // OWASP's argon2id recommendation (19 MiB, 2 iterations, 1 lane).
        Self {
            m_cost: 19 * 1024,
            t_cost: 2,
            p_cost: 1,
        }
    }
}

/// Background job settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct JobSettings {
    /// Payroll workers in this process; 0 runs none (an API-only instance).
    pub workers: usize,
    /// Employees per payroll batch; each batch commits on its own, so a restart loses at
    /// most one batch of work (and redoes it idempotently).
    pub batch_size: u32,
    /// Sleep between queue polls when the queue is empty.
    #[serde(with = "humantime_serde")]
    pub poll_interval: Duration,
    /// Pause after each batch. Zero in production; tests raise it to stretch a run so a
    /// restart lands mid-run.
    #[serde(with = "humantime_serde")]
    pub batch_pause: Duration,
}

impl Default for JobSettings {
    fn default() -> Self {
        Self {
            workers: 2,
            batch_size: 100,
            poll_interval: Duration::from_millis(200),
            batch_pause: Duration::ZERO,
        }
    }
}

/// Log output format.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Pretty,
    /// One JSON object per line.
    Json,
}

/// Logging settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogSettings {
    /// Output format.
    pub format: LogFormat,
    /// `tracing_subscriber::EnvFilter` directive; `RUST_LOG` wins when set.
    pub filter: String,
}

impl Default for LogSettings {
    fn default() -> Self {
        Self {
            format: LogFormat::Pretty,
            filter: "info".into(),
        }
    }
}

/// Well-known environment names and the config path each one sets.
const ENV_ALIASES: &[(&str, &[&str])] = &[
    ("DATABASE_URL", &["database", "url"]),
    ("REDIS_URL", &["redis", "url"]),
    ("HRMS_BIND", &["server", "bind"]),
    ("HRMS_DB_POOL_SIZE", &["database", "max_connections"]),
    ("HRMS_LOG_FORMAT", &["log", "format"]),
    ("JWT_SECRET", &["auth", "jwt_secret"]),
    ("OPERATOR_TOKEN", &["auth", "operator_token"]),
    ("HRMS_ARGON2_M_COST", &["auth", "argon2", "m_cost"]),
    ("HRMS_ARGON2_T_COST", &["auth", "argon2", "t_cost"]),
    ("HRMS_ARGON2_P_COST", &["auth", "argon2", "p_cost"]),
];

/// Secrets are always strings, even when they look like numbers.
const STRING_ONLY: &[&str] = &["JWT_SECRET", "OPERATOR_TOKEN", "DATABASE_URL", "REDIS_URL"];

impl Settings {
    /// Loads defaults, then `file` (when given), then the process environment.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        Self::load_from(file, std::env::vars())
    }

    /// Like [`Settings::load`] with an explicit environment (tests, embedding).
    pub fn load_from(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let mut tree = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.display().to_string(),
                    source,
                })?;
                toml::from_str::<toml::Table>(&text)?
            }
            None => toml::Table::new(),
        };
        for (name, raw) in env {
            if let Some((_, path)) = ENV_ALIASES.iter().find(|(alias, _)| *alias == name) {
                let value = if STRING_ONLY.contains(&name.as_str()) {
                    toml::Value::String(raw)
                } else {
                    literal(&raw)
                };
                insert_path(&mut tree, path, value);
            } else if let Some(rest) = name.strip_prefix("HRMS__") {
                let path: Vec<String> = rest.split("__").map(str::to_lowercase).collect();
                let path: Vec<&str> = path.iter().map(String::as_str).collect();
                insert_path(&mut tree, &path, literal(&raw));
            }
        }
        Ok(toml::Table::try_into(tree)?)
    }
}

/// Reads an environment value as a TOML literal (number, bool, quoted string, array) when it
/// is one, else as a plain string: `20` is a number, `json` a string, `"20"` a string.
fn literal(raw: &str) -> toml::Value {
    toml::from_str::<toml::Table>(&format!("v = {raw}"))
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(raw.to_owned()))
}

fn insert_path(tree: &mut toml::Table, path: &[&str], value: toml::Value) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut node = tree;
    for key in parents {
        let entry = node
            .entry((*key).to_owned())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        if !entry.is_table() {
            *entry = toml::Value::Table(toml::Table::new());
        }
        node = entry.as_table_mut().expect("just made a table");
    }
    node.insert((*last).to_owned(), value);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect()
    }

    #[test]
    fn defaults_load_without_file_or_env() {
        let s = Settings::load_from(None, env(&[])).unwrap();
        assert_eq!(s.database.max_connections, 20);
        assert_eq!(s.log.format, LogFormat::Pretty);
    }

    #[test]
    fn environment_overrides_typed_fields() {
        let s = Settings::load_from(
            None,
            env(&[
                ("DATABASE_URL", "postgres://u:p@db:5433/x"),
                ("HRMS_DB_POOL_SIZE", "7"),
                ("HRMS_LOG_FORMAT", "json"),
                ("JWT_SECRET", "12345"),
                ("HRMS__DATABASE__ACQUIRE_TIMEOUT", "750ms"),
                ("HRMS__JOBS__WORKERS", "0"),
            ]),
        )
        .unwrap();
        assert_eq!(s.database.url.port(), Some(5433));
        assert_eq!(s.database.max_connections, 7);
        assert_eq!(s.log.format, LogFormat::Json);
        assert_eq!(s.auth.jwt_secret.expose(), "12345");
        assert_eq!(s.database.acquire_timeout, Duration::from_millis(750));
        assert_eq!(s.jobs.workers, 0);
    }

    #[test]
    fn file_layer_sits_between_defaults_and_env() {
        let dir = std::env::temp_dir().join(format!("hrms-cfg-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("hrms.toml");
        std::fs::write(
            &path,
            "[database]\nmax_connections = 3\nmin_connections = 1\n",
        )
        .unwrap();
        let s = Settings::load_from(Some(&path), env(&[("HRMS_DB_POOL_SIZE", "9")])).unwrap();
        std::fs::remove_dir_all(&dir).ok();
        assert_eq!(s.database.max_connections, 9, "env beats file");
        assert_eq!(s.database.min_connections, 1, "file beats default");
    }

    #[test]
    fn injected_latency_reads_from_env_and_samples_within_its_bounds() {
        let vars = [
            ("HRMS__SERVER__INJECTED_LATENCY__MIN", "15ms"),
            ("HRMS__SERVER__INJECTED_LATENCY__MAX", "25ms"),
        ];
        let s = Settings::load_from(None, env(&vars)).unwrap();
        let latency = s.server.injected_latency.expect("configured");
        let ms = |n| Duration::from_millis(n);
        assert!((0..200).all(|_| (ms(15)..=ms(25)).contains(&latency.sample())));
    }

    #[test]
    fn bad_values_are_refused_with_an_error() {
        let err = Settings::load_from(None, env(&[("HRMS_DB_POOL_SIZE", "many")]));
        assert!(matches!(err, Err(ConfigError::Invalid(_))));
        let err = Settings::load_from(None, env(&[("HRMS__DATABASE__NOPE", "1")]));
        assert!(
            matches!(err, Err(ConfigError::Invalid(_))),
            "unknown keys are refused"
        );
    }

    #[test]
    fn the_example_file_loads() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("hrms.example.toml");
        let s = Settings::load_from(Some(&path), env(&[])).unwrap();
        assert_eq!(s.auth.token_ttl, Duration::from_secs(3600));
        assert_eq!(s.rate_limit.tiers.free.read.capacity, 20);
        assert!(s.rate_limit.fail_open);
    }

    #[test]
    fn secrets_do_not_print() {
        let s = Secret::new("hunter2");
        assert!(!format!("{s:?}").contains("hunter2"));
    }
}
