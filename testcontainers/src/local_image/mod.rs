//! The local `gauntlet-deps` image: Postgres 15 and Redis (and Prometheus with node_exporter,
//! for the alert rules) from Debian packages, for Docker engines that cannot pull (no
//! registry). `gauntlet image build` calls [`build_local_image`].
//!
//! Recipe: `mmdebstrap` writes a Debian root filesystem as a tar on its stdout (hashed while it
//! is written to a temporary file); a customize-hook installs the entrypoint and pre-initialises
//! a Postgres data directory, so a container is ready in ~100 ms instead of running initdb.
//! The tar then becomes the single layer of a `docker load` archive that we stream to the engine.
//!
//! Why `docker load` and not `docker import`: import only accepts `CMD ENTRYPOINT ENV EXPOSE
//! ONBUILD USER VOLUME WORKDIR` as changes (Docker 20.10 rejects `STOPSIGNAL`), and Postgres
//! needs SIGINT to stop: it treats Docker's default SIGTERM as a "smart" shutdown that waits
//! for every client to leave. A load archive carries a full image config, so we write one.

mod archive;
pub mod harness;
mod recipe;

use std::io;
use std::process::ExitStatus;
use std::time::{Duration, Instant};

use bollard::Docker;
use sha2::{Digest, Sha256};

use archive::load_archive;
pub use recipe::mirror_lines_from_sources;
use recipe::{mirror_lines_for_host, mmdebstrap_args, preflight, run_mmdebstrap};

/// Repository part of the local image reference.
pub const LOCAL_IMAGE_REPOSITORY: &str = "gauntlet-deps";
/// The container entrypoint; embedded so that the tag hashes exactly what goes into the image.
pub const ENTRYPOINT_SCRIPT: &str = include_str!("../../assets/gauntlet-entrypoint.sh");
/// Debian release the image is built from: it is where `postgresql-15` lives.
pub const SUITE: &str = "bookworm";
/// Packages installed on top of the `apt` variant (essential set + apt): the two servers, and
/// Prometheus with node_exporter, so a run on Docker evaluates its alert rules in a container
/// of this image when the machine has no Prometheus of its own.
pub const PACKAGES: &[&str] = &[
    "postgresql-15",
    "redis-server",
    "prometheus",
    "prometheus-node-exporter",
];
/// Bump whenever the mmdebstrap arguments, hooks or image config below change: the tag must
/// change with them, or an old image would be taken for the new recipe.
pub const RECIPE_VERSION: u32 = 1;
/// Environment variable naming a Debian mirror URI, overriding the host's apt sources.
pub const MIRROR_ENV: &str = "GAUNTLET_DEBIAN_MIRROR";

pub(crate) const ENTRYPOINT_PATH: &str = "/usr/local/bin/gauntlet-entrypoint";
const SOURCE_FILES: &[&str] = &["/etc/apt/sources.list"];
const SOURCE_DIR: &str = "/etc/apt/sources.list.d";

/// dpkg filters: documentation, man pages and translations are dead weight in a test image.
/// LLVM (and its z3 dependency, ~130 MB together) only serves Postgres JIT, which the data
/// directory switches off (`jit = off`); without the library Postgres reports JIT unavailable
/// rather than failing. Postgres' own man pages stay: its postinst registers them with
/// update-alternatives, which fails if a master link target is missing.
pub(crate) const DPKG_FILTERS: &[&str] = &[
    "path-exclude=/usr/share/man/*",
    "path-exclude=/usr/share/doc/*",
    "path-include=/usr/share/doc/*/copyright",
    "path-exclude=/usr/share/locale/*",
    "path-exclude=/usr/share/info/*",
    "path-exclude=/usr/share/lintian/*",
    "path-exclude=/usr/lib/*/libLLVM*",
    "path-exclude=/usr/lib/*/libz3*",
    "path-exclude=/usr/lib/postgresql/15/lib/bitcode/*",
];

/// A reference to the local image, e.g. `gauntlet-deps:3f2a9c1d0b7e`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalImage {
    /// `repository:tag`, usable with `docker run` or `GenericImage::new(repo, tag)`.
    pub reference: String,
}

impl LocalImage {
    /// The image this build of Gauntlet expects (see [`local_image_reference`]).
    pub fn current() -> Self {
        Self {
            reference: local_image_reference(),
        }
    }

    /// The tag alone (the part after `:`), for `GenericImage::new(LOCAL_IMAGE_REPOSITORY, tag)`.
    pub fn tag(&self) -> &str {
        self.reference.rsplit_once(':').map_or("", |(_, tag)| tag)
    }
}

/// What [`build_local_image`] did.
#[derive(Debug, Clone)]
pub struct BuildOutcome {
    /// The image reference that is now present.
    pub reference: String,
    /// True when the tag was already there and nothing was built.
    pub already_present: bool,
    /// Wall time of the call.
    pub elapsed: Duration,
    /// Image size as the engine reports it.
    pub size_bytes: u64,
}

/// Why the local image could not be checked or built. Each message says how to fix it.
#[derive(Debug, thiserror::Error)]
pub enum LocalImageError {
    /// `mmdebstrap` is not on PATH.
    #[error("mmdebstrap not found on PATH: install it with `apt-get install mmdebstrap`")]
    MmdebstrapMissing,
    /// Neither root nor subordinate ids for mmdebstrap's unshare mode.
    #[error(
        "building the image needs root (mmdebstrap root mode) or mmdebstrap's unshare mode: run \
         `sudo gauntlet image build`, or give your user subordinate ids with `usermod \
         --add-subuids 100000-165535 --add-subgids 100000-165535 {user}`"
    )]
    NotRoot {
        /// The user without entries in /etc/subuid and /etc/subgid.
        user: String,
    },
    /// No usable Debian mirror for [`SUITE`] in the host's apt sources.
    #[error(
        "no Debian mirror for {suite} in the host's apt sources: set {MIRROR_ENV} to a mirror URI"
    )]
    NoDebianMirror {
        /// The suite looked for.
        suite: String,
    },
    /// mmdebstrap ran and failed.
    #[error("mmdebstrap failed ({status}); its last output:\n{log_tail}")]
    Mmdebstrap {
        /// Its exit status.
        status: ExitStatus,
        /// The last lines it printed on stderr.
        log_tail: String,
    },
    /// A local file or process operation failed.
    #[error("{action}")]
    Io {
        /// What we were doing.
        action: &'static str,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The root filesystem does not fit a ustar entry (8 GiB).
    #[error("root filesystem tar is {0} bytes, more than a ustar entry can hold (8 GiB)")]
    LayerTooLarge(u64),
    /// The Docker engine refused a request.
    #[error("Docker {action} failed")]
    Docker {
        /// Which request.
        action: &'static str,
        /// The engine's error.
        #[source]
        source: bollard::errors::Error,
    },
    /// Waiting for another process's build failed.
    #[error("waiting for another build: {0}")]
    Lock(String),
    /// The engine accepted the archive but the tag did not appear.
    #[error("Docker loaded the archive but {reference} is not present afterwards")]
    NotTagged {
        /// The missing reference.
        reference: String,
    },
}

fn io_err(action: &'static str) -> impl FnOnce(io::Error) -> LocalImageError {
    move |source| LocalImageError::Io { action, source }
}

fn docker_err(action: &'static str) -> impl FnOnce(bollard::errors::Error) -> LocalImageError {
    move |source| LocalImageError::Docker { action, source }
}

/// Everything the image content depends on, hashed into its tag.
#[derive(Debug, Clone, Copy)]
pub struct TagInputs<'a> {
    /// The entrypoint script text.
    pub entrypoint: &'a str,
    /// Packages passed to `--include`.
    pub packages: &'a [&'a str],
    /// Debian suite.
    pub suite: &'a str,
    /// [`RECIPE_VERSION`].
    pub recipe_version: u32,
}

impl TagInputs<'static> {
    /// The inputs of this build of Gauntlet.
    pub fn current() -> Self {
        Self {
            entrypoint: ENTRYPOINT_SCRIPT,
            packages: PACKAGES,
            suite: SUITE,
            recipe_version: RECIPE_VERSION,
        }
    }
}

/// First 12 hex digits of a sha256 over the inputs.
pub fn content_tag(inputs: &TagInputs<'_>) -> String {
    let mut fields: Vec<&[u8]> = vec![inputs.entrypoint.as_bytes()];
    let count = (inputs.packages.len() as u64).to_le_bytes();
    fields.push(&count);
    fields.extend(inputs.packages.iter().map(|p| p.as_bytes()));
    fields.push(inputs.suite.as_bytes());
    let version = inputs.recipe_version.to_le_bytes();
    fields.push(&version);
    hash_tag(&fields)
}

/// First 12 hex digits of a sha256 over `fields`. Every field is length-prefixed so that
/// moving bytes from one field to the next cannot produce the same hash.
pub(crate) fn hash_tag(fields: &[&[u8]]) -> String {
    let mut hasher = Sha256::new();
    for bytes in fields {
        hasher.update((bytes.len() as u64).to_le_bytes());
        hasher.update(bytes);
    }
    hex::encode(hasher.finalize())[..12].to_owned()
}

/// `gauntlet-deps:<content tag>` for this build of Gauntlet.
pub fn local_image_reference() -> String {
    format!(
        "{LOCAL_IMAGE_REPOSITORY}:{}",
        content_tag(&TagInputs::current())
    )
}

/// Whether the engine has the current local image. A 404 is `Ok(false)`; anything else that
/// goes wrong (daemon down, API mismatch) is an error, so callers can tell "build it" apart
/// from "Docker is broken".
pub async fn local_image_present(docker: &Docker) -> Result<bool, LocalImageError> {
    Ok(image_size(docker, &local_image_reference())
        .await?
        .is_some())
}

async fn image_size(docker: &Docker, reference: &str) -> Result<Option<u64>, LocalImageError> {
    match docker.inspect_image(reference).await {
        Ok(image) => Ok(Some(
            image.size.and_then(|s| u64::try_from(s).ok()).unwrap_or(0),
        )),
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        }) => Ok(None),
        Err(source) => Err(LocalImageError::Docker {
            action: "image inspect",
            source,
        }),
    }
}

/// Build the local image unless its tag is already present (then returns at once with
/// `already_present = true`). Progress lines go to `progress`. The temporary root filesystem
/// tar is removed whatever happens, including cancellation (it lives in a `TempDir`).
pub async fn build_local_image(
    docker: &Docker,
    progress: impl Fn(&str) + Sync,
) -> Result<BuildOutcome, LocalImageError> {
    let recipe = Recipe {
        reference: local_image_reference(),
        lock: "image-build",
        variant: "apt",
        packages: PACKAGES,
        uploads: vec![(Upload::Text(ENTRYPOINT_SCRIPT), ENTRYPOINT_PATH)],
        hooks: vec![
            // postgresql-15's postinst creates a Debian-style cluster in /etc + /var/lib; we
            // want a self-contained PGDATA like the official image, so drop it (and its 40 MB).
            "chroot \"$1\" pg_dropcluster 15 main || true".to_owned(),
            // The entrypoint's own `init` runs initdb, so build time and a fresh volume share
            // one recipe (password, scram for TCP, listen on '*', fsync off).
            format!("chroot \"$1\" {ENTRYPOINT_PATH} init"),
        ],
        // `Cmd` is left empty on purpose: the role must be named (`postgres` or `redis`),
        // otherwise the entrypoint prints its usage.
        config: serde_json::json!({
            "Entrypoint": [ENTRYPOINT_PATH],
            // SIGINT = Postgres "fast" shutdown; Redis treats it like SIGTERM.
            "StopSignal": "SIGINT",
            "ExposedPorts": { "5432/tcp": {}, "6379/tcp": {} },
            "Env": [
                "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "PGDATA=/var/lib/postgresql/data",
                "LANG=C.UTF-8",
            ],
            "Labels": {
                "org.opencontainers.image.title": LOCAL_IMAGE_REPOSITORY,
                "dev.gauntlet.recipe-version": RECIPE_VERSION.to_string(),
            },
        }),
    };
    build_image(docker, &recipe, progress).await
}

/// Where a file put into the image comes from.
#[derive(Debug)]
pub(crate) enum Upload<'a> {
    /// Text embedded in this binary (written to the build's temporary directory first).
    Text(&'a str),
    /// A file on this machine.
    File(&'a std::path::Path),
}

/// What one image is made of: mmdebstrap's variant and packages, files put in (each made
/// executable), customize hooks run after them, and the image config. Both of our images
/// are built from one of these, so they share the lock, the mirrors, the dpkg filters and
/// the `docker load` path.
#[derive(Debug)]
pub(crate) struct Recipe<'a> {
    /// `repository:tag`, the tag derived from everything below.
    pub reference: String,
    /// Name of the host lock that serialises builds of this image.
    pub lock: &'static str,
    /// mmdebstrap `--variant`.
    pub variant: &'static str,
    /// mmdebstrap `--include`.
    pub packages: &'a [&'a str],
    /// Files put into the image, each with its path there.
    pub uploads: Vec<(Upload<'a>, &'static str)>,
    /// `--customize-hook` commands after the uploads (`$1` is the root filesystem).
    pub hooks: Vec<String>,
    /// The image config's `config` object (entrypoint, stop signal, env, labels).
    pub config: serde_json::Value,
}

/// Build `recipe`'s image unless its tag is already present.
pub(crate) async fn build_image(
    docker: &Docker,
    recipe: &Recipe<'_>,
    progress: impl Fn(&str) + Sync,
) -> Result<BuildOutcome, LocalImageError> {
    let started = Instant::now();
    let reference = recipe.reference.clone();
    let present = |size_bytes, already: &str| {
        progress(&format!("{reference} {already}"));
        Ok(BuildOutcome {
            reference: reference.clone(),
            already_present: true,
            elapsed: started.elapsed(),
            size_bytes,
        })
    };
    if let Some(size_bytes) = image_size(docker, &reference).await? {
        return present(size_bytes, "is already present");
    }
    // Parallel test binaries can all find the image missing; one builds, the rest wait here
    // and then find it present.
    let _turn = crate::setup::lock::HostLock::acquire(
        recipe.lock,
        &format!("building {reference}"),
        &progress,
    )
    .await
    .map_err(LocalImageError::Lock)?;
    if let Some(size_bytes) = image_size(docker, &reference).await? {
        return present(size_bytes, "was built by another process meanwhile");
    }
    let mode = preflight()?;
    let mirrors = mirror_lines_for_host(SUITE)?;
    let work = tempfile::Builder::new()
        .prefix("gauntlet-image-")
        .tempdir()
        .map_err(io_err("creating a temporary directory"))?;
    let mut uploads = Vec::with_capacity(recipe.uploads.len());
    for (i, (source, path_in_image)) in recipe.uploads.iter().enumerate() {
        let on_host = match source {
            Upload::File(path) => path.to_path_buf(),
            Upload::Text(text) => {
                let file = work.path().join(format!("upload-{i}"));
                tokio::fs::write(&file, text)
                    .await
                    .map_err(io_err("writing a file for the image"))?;
                file
            }
        };
        uploads.push((on_host, *path_in_image));
    }
    let layer_path = work.path().join("rootfs.tar");

    progress(&format!(
        "building {reference} with mmdebstrap ({SUITE}, {}: {}) via {}",
        recipe.variant,
        recipe.packages.join(", "),
        mirrors.join(" | ")
    ));
    let args = mmdebstrap_args(mode, recipe, &uploads, &mirrors);
    let layer = run_mmdebstrap(args, &layer_path, &progress).await?;
    progress(&format!(
        "root filesystem: {} MB, sha256 {}",
        layer.size / 1_000_000,
        &layer.diff_id[..12]
    ));

    load_archive(docker, recipe, &layer_path, &layer, &progress).await?;
    let size_bytes =
        image_size(docker, &reference)
            .await?
            .ok_or_else(|| LocalImageError::NotTagged {
                reference: reference.clone(),
            })?;
    progress(&format!(
        "{reference} loaded ({} MB)",
        size_bytes / 1_000_000
    ));
    Ok(BuildOutcome {
        reference,
        already_present: false,
        elapsed: started.elapsed(),
        size_bytes,
    })
}
