//! Ephemeral Postgres: a data directory copied from a once-initialised template, started on a
//! pinned loopback port.
//!
//! `initdb` costs ~1 s here; copying its result costs ~30 ms. The template lives in the system
//! temp dir keyed by the server version and the user it belongs to, so it is built once per
//! machine rather than once per test, and created under a temporary name and renamed into place
//! so concurrent processes never see half a template.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use nix::{
    sys::signal::Signal,
    unistd::{Gid, Uid, User, chown},
};
use tokio::sync::OnceCell;

use super::{binaries::NativeBinaries, process::LaunchSpec};
use crate::error::ProvisionError;

/// The superuser the template is initialised with; the URL we hand out uses it.
pub const SUPERUSER: &str = "postgres";

/// Built once per process; later calls reuse the path.
static TEMPLATE: OnceCell<PathBuf> = OnceCell::const_new();

/// Returns the template data directory, creating it on first use.
pub async fn template(bins: &NativeBinaries) -> Result<PathBuf, ProvisionError> {
    TEMPLATE
        .get_or_try_init(|| {
            let bins = bins.clone();
            async move {
                tokio::task::spawn_blocking(move || build_template(&bins))
                    .await
                    .map_err(|e| ProvisionError::io("initdb task", std::io::Error::other(e)))?
            }
        })
        .await
        .cloned()
}

/// The account the server must run as: `postgres` when we are root, ourselves otherwise.
pub fn server_account() -> Result<Option<(Uid, Gid)>, ProvisionError> {
    if !Uid::effective().is_root() {
        return Ok(None);
    }
    let user = User::from_name("postgres")
        .map_err(|e| ProvisionError::io("looking up the postgres user", e.into()))?
        .ok_or_else(|| {
            ProvisionError::InvalidConfig(
                "running as root, and Postgres refuses root: create a `postgres` user \
                 (the postgresql package does) or run as an ordinary user"
                    .into(),
            )
        })?;
    Ok(Some((user.uid, user.gid)))
}

fn build_template(bins: &NativeBinaries) -> Result<PathBuf, ProvisionError> {
    let account = server_account()?;
    let version = super::binaries::version_of(&bins.postgres).unwrap_or_default();
    let key = crate::short_hash(&[
        version.as_bytes(),
        bins.postgres.as_os_str().as_encoded_bytes(),
    ]);
    let owner = account.map_or(Uid::effective(), |(uid, _)| uid);
    let root = std::env::temp_dir().join(format!("gauntlet-pg-template-{}-{key}", owner.as_raw()));
    let final_dir = root.join("data");
    if final_dir.join("PG_VERSION").is_file() {
        return Ok(final_dir);
    }
    std::fs::create_dir_all(&root)
        .map_err(|e| ProvisionError::io(format!("creating {}", root.display()), e))?;
    give_to(&root, account)?;
    let staging = root.join(format!("staging-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    let log = root.join(format!("initdb-{}.log", std::process::id()));
    let output = initdb_command(bins, &staging, account)
        .output()
        .map_err(|e| ProvisionError::io(format!("running {}", bins.initdb.display()), e))?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let _ = std::fs::write(&log, &text);
    if !output.status.success() {
        return Err(ProvisionError::Initdb { log, output: text });
    }
    let _ = std::fs::remove_file(&log);
    // Another process may have won the race; its template is as good as ours.
    if std::fs::rename(&staging, &final_dir).is_err() && final_dir.join("PG_VERSION").is_file() {
        let _ = std::fs::remove_dir_all(&staging);
    }
    Ok(final_dir)
}

fn initdb_command(bins: &NativeBinaries, data: &Path, account: Option<(Uid, Gid)>) -> Command {
    use std::os::unix::process::CommandExt;
    let mut cmd = Command::new(&bins.initdb);
    cmd.arg("-D")
        .arg(data)
        .args(["-U", SUPERUSER, "--auth=trust", "-E", "UTF8", "--locale=C"])
        // The template is disposable; fsync of every file would triple initdb's time.
        .arg("--no-sync");
    if let Some((uid, gid)) = account {
        cmd.uid(uid.as_raw()).gid(gid.as_raw());
    }
    cmd
}

/// Copies the template into `instance_dir/data` and returns the launch spec.
pub fn prepare_instance(
    bins: &NativeBinaries,
    template: &Path,
    instance_dir: &Path,
    port: u16,
) -> Result<LaunchSpec, ProvisionError> {
    let account = server_account()?;
    give_to(instance_dir, account)?;
    let data = instance_dir.join("data");
    // A sized filesystem is already mounted there: copy into it, and give it to the server.
    let mounted = data.exists();
    let (from, to) = if mounted {
        (template.join("."), data.join("."))
    } else {
        (template.to_owned(), data.clone())
    };
    // `cp -a` keeps modes and ownership (Postgres insists on a 0700 data dir it owns).
    let status = Command::new("cp")
        .arg("-a")
        .arg(&from)
        .arg(&to)
        .status()
        .map_err(|e| ProvisionError::io("running cp -a for the data directory", e))?;
    if !status.success() {
        return Err(ProvisionError::io(
            format!("copying {} to {}", template.display(), data.display()),
            std::io::Error::other(format!("cp exited with {status}")),
        ));
    }
    if mounted {
        give_to(&data, account)?;
    }
    launch_spec(bins, &data, instance_dir, port)
}

/// The launch spec of a server on the data directory `data` (already in place, owned by the
/// server account), with its log and socket in `instance_dir`.
pub fn launch_spec(
    bins: &NativeBinaries,
    data: &Path,
    instance_dir: &Path,
    port: u16,
) -> Result<LaunchSpec, ProvisionError> {
    let account = server_account()?;
    give_to(instance_dir, account)?;
    let log_path = instance_dir.join("postgres.log");
    std::fs::File::create(&log_path).map_err(|e| ProvisionError::io("creating postgres.log", e))?;
    give_to(&log_path, account)?;
    Ok(LaunchSpec {
        program: bins.postgres.clone(),
        args: server_args(
            data,
            instance_dir,
            port,
            has_statement_stats(&bins.postgres),
        ),
        run_as: account,
        log_path,
        stop_signal: Signal::SIGINT,
    })
}

/// Whether the server's own library directory holds `pg_stat_statements` (it ships with
/// Debian's server package; a build without it must still start, so it is asked, not assumed).
/// The binary's real path: found on PATH it is often a link (`/usr/local/bin/postgres` →
/// `/usr/lib/postgresql/15/bin/postgres`), and the library sits beside the real one.
fn has_statement_stats(postgres: &Path) -> bool {
    std::fs::canonicalize(postgres)
        .unwrap_or_else(|_| postgres.to_path_buf())
        .parent()
        .and_then(Path::parent)
        .is_some_and(|root| root.join("lib/pg_stat_statements.so").is_file())
}

fn server_args(data: &Path, socket_dir: &Path, port: u16, statement_stats: bool) -> Vec<String> {
    let mut args = vec![
        "-D".to_owned(),
        data.display().to_string(),
        "-p".to_owned(),
        port.to_string(),
        "-h".to_owned(),
        "127.0.0.1".to_owned(),
        // Our own socket dir: /var/run/postgresql may not exist or not be ours.
        "-k".to_owned(),
        socket_dir.display().to_string(),
    ];
    for setting in [
        // A process crash (SIGKILL) keeps the OS page cache, so acknowledged commits survive
        // kill/restart experiments without fsync; only a machine crash would lose them, and
        // that is not something we simulate. fsync costs ~10x on small commits here.
        "fsync=off",
        "full_page_writes=off",
        "max_connections=300",
        "shared_buffers=128MB",
        "log_min_messages=warning",
    ] {
        args.push("-c".to_owned());
        args.push(setting.to_owned());
    }
    if statement_stats {
        // Loaded at start-up only (a restart to change): the run's diagnosis reads the
        // slowest statements from it.
        args.push("-c".to_owned());
        args.push("shared_preload_libraries=pg_stat_statements".to_owned());
    }
    args
}

pub(crate) fn give_to(path: &Path, account: Option<(Uid, Gid)>) -> Result<(), ProvisionError> {
    if let Some((uid, gid)) = account {
        chown(path, Some(uid), Some(gid))
            .map_err(|e| ProvisionError::io(format!("chown {}", path.display()), e.into()))?;
    }
    Ok(())
}
