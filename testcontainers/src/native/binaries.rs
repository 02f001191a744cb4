//! Finding `postgres`, `initdb` and `redis-server` on this machine.
//!
//! Debian keeps the Postgres server binaries off PATH under /usr/lib/postgresql/<major>/bin, so
//! PATH alone would miss the most common installation.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use crate::error::ProvisionError;

/// Server binaries the native backend runs.
#[derive(Debug, Clone)]
pub struct NativeBinaries {
    /// `postgres` server executable.
    pub postgres: PathBuf,
    /// `initdb`, next to `postgres`.
    pub initdb: PathBuf,
    /// `redis-server` executable.
    pub redis_server: PathBuf,
}

impl NativeBinaries {
    /// Locates all three or says which is missing.
    pub fn locate() -> Result<Self, ProvisionError> {
        let postgres = find_postgres_bin("postgres").ok_or(ProvisionError::BinaryMissing {
            binary: "postgres",
            package: "postgresql (Debian: postgresql-15)",
        })?;
        let initdb = postgres
            .parent()
            .map(|dir| dir.join("initdb"))
            .filter(|p| p.is_file())
            .or_else(|| find_postgres_bin("initdb"))
            .ok_or(ProvisionError::BinaryMissing {
                binary: "initdb",
                package: "postgresql",
            })?;
        let redis_server = find_on_path("redis-server").ok_or(ProvisionError::BinaryMissing {
            binary: "redis-server",
            package: "redis-server",
        })?;
        Ok(Self {
            postgres,
            initdb,
            redis_server,
        })
    }
}

/// `postgres --version` / `redis-server --version`, first line, for `gauntlet env`.
pub fn version_of(binary: &Path) -> Option<String> {
    let out = Command::new(binary).arg("--version").output().ok()?;
    String::from_utf8(out.stdout)
        .ok()?
        .lines()
        .next()
        .map(|l| l.trim().to_owned())
}

/// PATH first (the user's choice wins), then the newest /usr/lib/postgresql/*/bin.
pub fn find_postgres_bin(name: &str) -> Option<PathBuf> {
    find_on_path(name).or_else(|| {
        let mut majors: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(|entry| {
                let entry = entry.ok()?;
                let major = entry.file_name().to_str()?.parse::<u32>().ok()?;
                let candidate = entry.path().join("bin").join(name);
                candidate.is_file().then_some((major, candidate))
            })
            .collect();
        majors.sort();
        majors.pop().map(|(_, path)| path)
    })
}

/// Looks `name` up on PATH.
pub fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}
