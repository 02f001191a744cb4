//! The native half: the Debian binaries beside the server's `postgres`, run as the server's
//! account on this host; the archive and backups in the old server's directory (outside its
//! data directory, so destroying the data leaves them, as a backup host would).

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use nix::unistd::{Gid, Uid};

use super::BackupError;
use crate::native::{NativeBinaries, NativeServer, postgres};
use crate::{Role, Server, server::Inner};

/// A backup tool may run this long (a base backup of a small database takes about a second).
const TOOL_TIMEOUT: Duration = Duration::from_secs(300);

#[derive(Debug)]
pub(super) struct NativePlace {
    root: String,
    /// The old server's data directory (what `destroy_data_dir` removes).
    data: PathBuf,
    bins: NativeBinaries,
    account: Option<(Uid, Gid)>,
    port: u16,
    ready_timeout: Duration,
}

impl NativePlace {
    pub(super) fn new(server: &NativeServer) -> Result<Self, BackupError> {
        let root = server.dir().join("drill");
        std::fs::create_dir_all(&root).map_err(|e| crate::ProvisionError::io("mkdir drill", e))?;
        let account = postgres::server_account()?;
        postgres::give_to(&root, account)?;
        Ok(Self {
            root: root.display().to_string(),
            data: server.dir().join("data"),
            bins: NativeBinaries::locate()?,
            account,
            port: server.url().port().unwrap_or(5432),
            ready_timeout: server.ready_timeout(),
        })
    }

    pub(super) fn root(&self) -> &str {
        &self.root
    }

    /// Runs `body` under `sh` as the server's account, against the server on our port.
    pub(super) async fn sh(&self, what: &str, body: &str) -> Result<String, BackupError> {
        self.sh_with(what, body, None).await
    }

    async fn sh_with(
        &self,
        what: &str,
        body: &str,
        data: Option<&std::path::Path>,
    ) -> Result<String, BackupError> {
        // The tools beside the server's real binary (PATH may hold a symlink to it alone):
        // a base backup must come from the server's own major version.
        let real = std::fs::canonicalize(&self.bins.postgres)
            .unwrap_or_else(|_| self.bins.postgres.clone());
        let bin = real.parent().unwrap_or(std::path::Path::new("/"));
        let mut command = tokio::process::Command::new("sh");
        command
            .arg("-c")
            .arg(body)
            .env("PGBIN", bin)
            .env("PGHOST", "127.0.0.1")
            .env("PGPORT", self.port.to_string())
            .env("PGUSER", postgres::SUPERUSER)
            .current_dir(&self.root)
            .stdin(Stdio::null())
            .kill_on_drop(true);
        if let Some(data) = data {
            command.env("DATA", data);
        }
        if let Some((uid, gid)) = self.account {
            command.uid(uid.as_raw()).gid(gid.as_raw());
        }
        let output = match tokio::time::timeout(TOOL_TIMEOUT, command.output()).await {
            Ok(result) => result.map_err(|e| crate::ProvisionError::io(what.to_owned(), e))?,
            Err(_) => {
                return Err(BackupError::Tool {
                    what: what.to_owned(),
                    status: "timeout".into(),
                    output: format!("still running after {TOOL_TIMEOUT:?}"),
                });
            }
        };
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        if !output.status.success() {
            return Err(BackupError::Tool {
                what: what.to_owned(),
                status: output.status.to_string(),
                output: tail(&text, 1500),
            });
        }
        Ok(text)
    }

    /// Kills the server and removes its data directory.
    pub(super) async fn destroy(&self, server: &Server) -> Result<(), BackupError> {
        server.kill().await?;
        std::fs::remove_dir_all(&self.data)
            .map_err(|e| crate::ProvisionError::io("removing the data directory", e))?;
        Ok(())
    }

    /// A new server in a new directory on the old port: `prep` fills its data directory
    /// (`$DATA`) from a backup; without it, a fresh copy of the template (for a dump to load).
    pub(super) async fn start_restored(&self, prep: Option<&str>) -> Result<Server, BackupError> {
        let dir = tempfile::Builder::new()
            .prefix("gauntlet-postgres-restored-")
            .tempdir()
            .map_err(|e| crate::ProvisionError::io("creating a temp dir", e))?;
        postgres::give_to(dir.path(), self.account)?;
        let data = dir.path().join("data");
        let body = match prep {
            Some(prep) => prep.to_owned(),
            None => {
                let template = postgres::template(&self.bins).await?;
                format!("set -eu\ncp -a '{}' \"$DATA\"\n", template.display())
            }
        };
        self.sh_with("preparing the restored data directory", &body, Some(&data))
            .await?;
        let started =
            NativeServer::start_postgres_in(dir, &data, self.port, &self.bins, self.ready_timeout)
                .await;
        let server = started?;
        Ok(Server::new(
            Role::Postgres,
            server.url().clone(),
            Inner::Native(server),
        ))
    }
}

fn tail(text: &str, max: usize) -> String {
    let start = text.len().saturating_sub(max);
    let start = (start..text.len())
        .find(|i| text.is_char_boundary(*i))
        .unwrap_or(text.len());
    text[start..].trim().to_owned()
}
