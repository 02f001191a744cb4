//! The docker half: the tools inside the container (the image's own Postgres 15), the WAL
//! archive and the backups on a named volume that the restored container mounts too. Only the
//! local `gauntlet-deps` image is supported: the restore prepares its data directory in a shell
//! step before that image's entrypoint.

use super::BackupError;
use crate::docker::{DockerServer, Extras, ImageFlavour};
use crate::{Role, Server, server::Inner};

/// Where the volume is mounted in the container.
pub const ROOT: &str = "/var/lib/postgresql/drill";
/// The restored server's data directory, on the volume.
const RESTORED_DATA: &str = "/var/lib/postgresql/drill/restored/data";
/// The Postgres 15 binaries of the local image.
const PGBIN: &str = "/usr/lib/postgresql/15/bin";

#[derive(Debug)]
pub(super) struct DockerPlace {
    volume: String,
}

impl DockerPlace {
    pub(super) fn new(server: &DockerServer) -> Result<Self, BackupError> {
        if server.image().flavour != ImageFlavour::Local {
            return Err(BackupError::Tool {
                what: "a backup drill on docker".into(),
                status: "refused".into(),
                output: format!(
                    "the drill needs the local image (`gauntlet image build`), not {}: it \
                     prepares the restored data directory before that image's entrypoint",
                    server.image().reference
                ),
            });
        }
        let volume = server.volume().ok_or_else(|| BackupError::Tool {
            what: "a backup drill on docker".into(),
            status: "refused".into(),
            output: "the Postgres container has no backup volume (provision with \
                     `backup_volume`)"
                .into(),
        })?;
        Ok(Self {
            volume: volume.to_owned(),
        })
    }

    /// Runs `body` under `sh` as `postgres` inside `server`'s container, over its socket.
    pub(super) async fn sh(
        &self,
        server: &Server,
        what: &str,
        body: &str,
    ) -> Result<String, BackupError> {
        let Inner::Docker(s) = &server.inner else {
            return Err(BackupError::Tool {
                what: what.to_owned(),
                status: "refused".into(),
                output: "not a docker server".into(),
            });
        };
        // A fresh volume is root's: hand it to postgres (idempotent) before dropping to it.
        let wrapper = format!(
            "mkdir -p {ROOT} && chown postgres:postgres {ROOT} && exec setpriv \
             --reuid=postgres --regid=postgres --init-groups sh -c \"$0\""
        );
        let env = [
            ("PGBIN", PGBIN),
            ("PGHOST", "/run/postgresql"),
            ("PGUSER", "postgres"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .to_vec();
        let cmd = vec!["sh".to_owned(), "-c".to_owned(), wrapper, body.to_owned()];
        let (code, output) = s.exec(cmd, env).await?;
        if code != 0 {
            return Err(BackupError::Tool {
                what: what.to_owned(),
                status: code.to_string(),
                output: output
                    .trim()
                    .chars()
                    .rev()
                    .take(1500)
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect(),
            });
        }
        Ok(output)
    }

    /// Removes the data directory under the running server, then kills the container.
    /// Postgres is PID 1 and may die of the removal first, taking the `exec` (exit 137) and
    /// the container with it: either way the data is gone and the server is down.
    pub(super) async fn destroy(&self, server: &Server) -> Result<(), BackupError> {
        if let Inner::Docker(s) = &server.inner {
            let cmd = ["sh", "-c", "rm -rf /var/lib/postgresql/data"]
                .map(str::to_owned)
                .to_vec();
            let removed = s.exec(cmd, Vec::new()).await;
            tracing::debug!(?removed, "data directory removed under the server");
        }
        if let Err(e) = server.kill().await {
            tracing::debug!(error = %e, "the container was already down");
        }
        Ok(())
    }

    /// A new container on the old host port and the same volume: `prep` fills its data
    /// directory (`$DATA`) from a backup; without it, the image's own fresh data directory
    /// (for a dump to load).
    pub(super) async fn start_restored(
        &self,
        old: &Server,
        prep: Option<&str>,
    ) -> Result<Server, BackupError> {
        let Inner::Docker(s) = &old.inner else {
            return Err(BackupError::NoBackup);
        };
        let extras = Extras {
            volume: Some(self.volume.clone()),
            host_port: old.url().port(),
            pgdata: prep.map(|_| RESTORED_DATA.to_owned()),
            prepare: prep
                .map(|p| format!("export DATA={RESTORED_DATA}\nmkdir -p {ROOT}/restored\n{p}")),
            // A restored server keeps its data on the drill's volume.
            data_size: None,
        };
        let server = DockerServer::start_with(
            s.engine().clone(),
            Role::Postgres,
            s.image(),
            s.ready_timeout(),
            extras,
        )
        .await?;
        Ok(Server::new(
            Role::Postgres,
            server.url().clone(),
            Inner::Docker(server),
        ))
    }
}
