//! The filesystem that holds Postgres's data, as the disk alert and the `disk_fill` fault see it.
//!
//! A run that fills Postgres's disk must not fill the machine's: when asked
//! ([`crate::ProvisionConfig::postgres_data_size`]), provisioning gives Postgres's data
//! directory a filesystem of its own with a known size — a tmpfs mounted on the data directory
//! natively (root only: mounting needs `CAP_SYS_ADMIN`), a sized tmpfs in the container for
//! Docker. [`DataDisk::fill`] then writes one file until the filesystem is as full as asked,
//! and [`DataDisk::free`] deletes it. Only a sized filesystem can be filled.
//!
//! Both backends are reached from the host by path: a container's filesystems through
//! `/proc/<pid>/root`, the same way node_exporter is pointed at them (`--path.rootfs`), so the
//! fault and the alert look at one filesystem.

use std::fs::{self, File};
use std::path::{Path, PathBuf};

use nix::fcntl::{FallocateFlags, fallocate};
use nix::mount::{MntFlags, MsFlags, mount, umount2};
use nix::sys::statvfs::statvfs;

use crate::error::{ControlError, ProvisionError};

/// The file [`DataDisk::fill`] writes inside the data directory. Postgres ignores files it
/// does not know in its data directory.
pub const FILL_FILE: &str = "gauntlet-disk-fill";

/// Where the filesystem holding Postgres's data is, seen from this host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataDisk {
    /// The root the data directory's path is relative to: `/` natively, `/proc/<pid>/root`
    /// for a container (node_exporter's `--path.rootfs`).
    pub rootfs: PathBuf,
    /// The procfs whose `1/mountinfo` lists the data directory's mount (node_exporter's
    /// `--path.procfs`): `/proc` natively, the container's own `/proc` otherwise.
    pub procfs: PathBuf,
    /// The data directory, as a path inside `rootfs`.
    pub data_dir: PathBuf,
    /// Whether provisioning gave the data its own filesystem of a known size (only then may
    /// it be filled).
    pub sized: bool,
}

/// What [`DataDisk::fill`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Filled {
    /// The filesystem's size in bytes.
    pub size: u64,
    /// Bytes in use before the fill.
    pub used_before: u64,
    /// Bytes written (0 when the filesystem was already that full).
    pub written: u64,
}

impl Filled {
    /// Percent in use after the fill.
    pub fn percent_after(&self) -> f64 {
        if self.size == 0 {
            return 0.0;
        }
        (self.used_before + self.written) as f64 * 100.0 / self.size as f64
    }
}

impl DataDisk {
    /// The data directory as this host reaches it.
    pub fn host_path(&self) -> PathBuf {
        let inside = self.data_dir.strip_prefix("/").unwrap_or(&self.data_dir);
        self.rootfs.join(inside)
    }

    /// The mount point (inside `rootfs`) of the filesystem holding the data directory: the
    /// longest mount point of `procfs/1/mountinfo` that is a prefix of it.
    pub fn mount_point(&self) -> Option<PathBuf> {
        let table = fs::read_to_string(self.procfs.join("1/mountinfo")).ok()?;
        mount_holding(&table, &self.data_dir)
    }

    /// Writes [`FILL_FILE`] until the filesystem is `percent` full (nothing if it already
    /// is). Refused for a filesystem provisioning did not size: that is the machine's disk.
    pub fn fill(&self, percent: u8) -> Result<Filled, ControlError> {
        const ACTION: &str = "disk_fill";
        if !self.sized {
            return Err(ControlError::InvalidState {
                action: ACTION,
                reason: "Postgres's data is on a filesystem gauntlet did not size (it would fill \
                         the machine's disk); a run sizes one when its plan has a disk_fill fault"
                    .to_owned(),
            });
        }
        let failed = |what: &str, e: nix::Error| ControlError::Failed {
            action: ACTION,
            reason: format!("{what} {}: {e}", self.host_path().display()),
        };
        let dir = self.host_path();
        let stats = statvfs(&dir).map_err(|e| failed("statvfs", e))?;
        let block = stats.fragment_size();
        let size = stats.blocks() * block;
        let used_before = size - stats.blocks_free() * block;
        let target = size / 100 * u64::from(percent);
        let written = target.saturating_sub(used_before);
        if written > 0 {
            let file = File::create(dir.join(FILL_FILE)).map_err(|e| ControlError::Failed {
                action: ACTION,
                reason: format!("creating {FILL_FILE} in {}: {e}", dir.display()),
            })?;
            // fallocate rather than writing zeros: tmpfs reserves the pages at once, so the
            // disk is full the moment the fault begins, not after seconds of copying.
            let length = i64::try_from(written).unwrap_or(i64::MAX);
            fallocate(&file, FallocateFlags::empty(), 0, length)
                .map_err(|e| failed("fallocate in", e))?;
        }
        Ok(Filled {
            size,
            used_before,
            written,
        })
    }

    /// Deletes what [`DataDisk::fill`] wrote; nothing to delete is not an error.
    pub fn free(&self) -> Result<(), ControlError> {
        match fs::remove_file(self.host_path().join(FILL_FILE)) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(ControlError::Failed {
                action: "disk_fill removal",
                reason: format!("deleting {FILL_FILE}: {e}"),
            }),
        }
    }
}

/// The longest mount point in a mountinfo `table` that holds `path`.
pub fn mount_holding(table: &str, path: &Path) -> Option<PathBuf> {
    table
        .lines()
        .filter_map(|line| line.split(' ').nth(4))
        .map(|field| PathBuf::from(unescape_mount(field)))
        .filter(|mount| path.starts_with(mount))
        .max_by_key(|mount| mount.components().count())
}

/// mountinfo writes space, tab, newline and backslash as `\ooo` octal escapes.
fn unescape_mount(field: &str) -> String {
    let mut out = String::new();
    let mut rest = field;
    while let Some(i) = rest.find('\\') {
        out.push_str(&rest[..i]);
        let code = rest
            .get(i + 1..i + 4)
            .and_then(|o| u8::from_str_radix(o, 8).ok());
        match code {
            Some(byte) => {
                out.push(char::from(byte));
                rest = &rest[i + 4..];
            }
            None => {
                out.push('\\');
                rest = &rest[i + 1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// A tmpfs of a fixed size mounted on a native server's data directory, unmounted on drop.
#[derive(Debug)]
pub(crate) struct SizedMount {
    path: PathBuf,
}

impl SizedMount {
    /// Mounts a tmpfs of `bytes` on `path` (created if absent), mode 0700.
    pub(crate) fn mount(path: &Path, bytes: u64) -> Result<Self, ProvisionError> {
        fs::create_dir_all(path).map_err(|e| ProvisionError::io("creating the data mount", e))?;
        let options = format!("size={bytes},mode=0700");
        mount(
            Some("tmpfs"),
            path,
            Some("tmpfs"),
            MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
            Some(options.as_str()),
        )
        .map_err(|e| {
            let hint = if e == nix::Error::EPERM {
                " (a sized filesystem for Postgres's data, which disk_fill needs, is a tmpfs \
                 mount: run as root, or use the docker backend)"
            } else {
                ""
            };
            ProvisionError::io(
                format!("mounting a {bytes}-byte tmpfs on {}{hint}", path.display()),
                std::io::Error::from(e),
            )
        })?;
        Ok(Self {
            path: path.to_owned(),
        })
    }
}

impl Drop for SizedMount {
    fn drop(&mut self) {
        // Lazy: a server that has not quite let go of a file must not keep the mount (and
        // its memory) alive; the kernel detaches it now and frees it when the last user goes.
        if let Err(e) = umount2(&self.path, MntFlags::MNT_DETACH) {
            tracing::warn!(path = %self.path.display(), error = %e, "unmounting Postgres's sized data filesystem");
        }
    }
}

/// Detaches a mount on `path` if there is one (the reaper's clean-up of a killed harness's
/// sized data directory); any error means there was nothing to detach.
pub(crate) fn detach_if_mounted(path: &Path) {
    let _ = umount2(path, MntFlags::MNT_DETACH);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_longest_mount_holding_a_path_wins_and_escapes_are_read() {
        let table = "22 1 8:1 / / rw - ext4 /dev/vda rw\n\
                     40 22 0:5 / /tmp rw - tmpfs tmpfs rw\n\
                     41 40 0:6 / /tmp/gauntlet-postgres-x/data rw - tmpfs tmpfs rw\n\
                     42 22 0:7 / /mnt/with\\040space rw - tmpfs tmpfs rw\n";
        assert_eq!(
            mount_holding(table, Path::new("/tmp/gauntlet-postgres-x/data")),
            Some(PathBuf::from("/tmp/gauntlet-postgres-x/data"))
        );
        assert_eq!(
            mount_holding(table, Path::new("/tmp/gauntlet-postgres-x")),
            Some(PathBuf::from("/tmp"))
        );
        assert_eq!(
            mount_holding(table, Path::new("/mnt/with space/pg")),
            Some(PathBuf::from("/mnt/with space"))
        );
    }

    #[test]
    fn a_container_path_is_reached_through_its_root() {
        let disk = DataDisk {
            rootfs: PathBuf::from("/proc/42/root"),
            procfs: PathBuf::from("/proc/42/root/proc"),
            data_dir: PathBuf::from("/var/lib/postgresql/data"),
            sized: true,
        };
        assert_eq!(
            disk.host_path(),
            PathBuf::from("/proc/42/root/var/lib/postgresql/data")
        );
    }

    #[test]
    fn an_unsized_filesystem_is_never_filled() {
        let dir = tempfile::tempdir().unwrap();
        let disk = DataDisk {
            rootfs: PathBuf::from("/"),
            procfs: PathBuf::from("/proc"),
            data_dir: dir.path().to_owned(),
            sized: false,
        };
        assert!(matches!(
            disk.fill(90),
            Err(ControlError::InvalidState { .. })
        ));
        assert!(!dir.path().join(FILL_FILE).exists());
        disk.free().unwrap();
    }
}
