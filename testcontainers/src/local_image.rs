//! The local `gauntlet-deps` image: Postgres 15 and Redis from Debian packages, for Docker
//! engines that cannot pull (no registry). `gauntlet image build` calls [`build_local_image`].
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

use std::ffi::OsString;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

use bollard::Docker;
use bollard::query_parameters::ImportImageOptions;
use bytes::Bytes;
use futures::{Stream, StreamExt, TryStreamExt, stream};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::Command;

/// Repository part of the local image reference.
pub const LOCAL_IMAGE_REPOSITORY: &str = "gauntlet-deps";
/// The container entrypoint; embedded so that the tag hashes exactly what goes into the image.
pub const ENTRYPOINT_SCRIPT: &str = include_str!("../assets/gauntlet-entrypoint.sh");
/// Debian release the image is built from: it is where `postgresql-15` lives.
pub const SUITE: &str = "bookworm";
/// Packages installed on top of the `apt` variant (essential set + apt).
pub const PACKAGES: &[&str] = &["postgresql-15", "redis-server"];
/// Bump whenever the mmdebstrap arguments, hooks or image config below change: the tag must
/// change with them, or an old image would be taken for the new recipe.
pub const RECIPE_VERSION: u32 = 1;
/// Environment variable naming a Debian mirror URI, overriding the host's apt sources.
pub const MIRROR_ENV: &str = "GAUNTLET_DEBIAN_MIRROR";

const ENTRYPOINT_PATH: &str = "/usr/local/bin/gauntlet-entrypoint";
const SOURCE_FILES: &[&str] = &["/etc/apt/sources.list"];
const SOURCE_DIR: &str = "/etc/apt/sources.list.d";

/// dpkg filters: documentation, man pages and translations are dead weight in a test image.
/// LLVM (and its z3 dependency, ~130 MB together) only serves Postgres JIT, which the data
/// directory switches off (`jit = off`); without the library Postgres reports JIT unavailable
/// rather than failing. Postgres' own man pages stay: its postinst registers them with
/// update-alternatives, which fails if a master link target is missing.
const DPKG_FILTERS: &[&str] = &[
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
    #[error("{action}: {source}")]
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
    #[error("Docker {action} failed: {source}")]
    Docker {
        /// Which request.
        action: &'static str,
        /// The engine's error.
        #[source]
        source: bollard::errors::Error,
    },
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

/// First 12 hex digits of a sha256 over the inputs. Every field is length-prefixed so that
/// moving bytes from one field to the next cannot produce the same hash.
pub fn content_tag(inputs: &TagInputs<'_>) -> String {
    let mut hasher = Sha256::new();
    let mut field = |bytes: &[u8]| {
        hasher.update((bytes.len() as u64).to_le_bytes());
        hasher.update(bytes);
    };
    field(inputs.entrypoint.as_bytes());
    field(&(inputs.packages.len() as u64).to_le_bytes());
    for package in inputs.packages {
        field(package.as_bytes());
    }
    field(inputs.suite.as_bytes());
    field(&inputs.recipe_version.to_le_bytes());
    let digest = hex::encode(hasher.finalize());
    digest[..12].to_owned()
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
    progress: impl Fn(&str),
) -> Result<BuildOutcome, LocalImageError> {
    let started = Instant::now();
    let reference = local_image_reference();
    if let Some(size_bytes) = image_size(docker, &reference).await? {
        progress(&format!("{reference} is already present"));
        return Ok(BuildOutcome {
            reference,
            already_present: true,
            elapsed: started.elapsed(),
            size_bytes,
        });
    }
    let mode = preflight()?;
    let mirrors = mirror_lines_for_host(SUITE)?;
    let work = tempfile::Builder::new()
        .prefix("gauntlet-image-")
        .tempdir()
        .map_err(io_err("creating a temporary directory"))?;
    let script = work.path().join("gauntlet-entrypoint");
    tokio::fs::write(&script, ENTRYPOINT_SCRIPT)
        .await
        .map_err(io_err("writing the entrypoint script"))?;
    let layer_path = work.path().join("rootfs.tar");

    progress(&format!(
        "building {reference} with mmdebstrap ({SUITE}: {}) via {}",
        PACKAGES.join(", "),
        mirrors.join(" | ")
    ));
    let args = mmdebstrap_args(mode, &script, &mirrors);
    let layer = run_mmdebstrap(args, &layer_path, &progress).await?;
    progress(&format!(
        "root filesystem: {} MB, sha256 {}",
        layer.size / 1_000_000,
        &layer.diff_id[..12]
    ));

    load_archive(docker, &reference, &layer_path, &layer, &progress).await?;
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

/// How mmdebstrap gets the right to create root-owned files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Root,
    Unshare,
}

fn preflight() -> Result<Mode, LocalImageError> {
    if find_on_path("mmdebstrap").is_none() {
        return Err(LocalImageError::MmdebstrapMissing);
    }
    let uid = nix::unistd::geteuid();
    if uid.is_root() {
        return Ok(Mode::Root);
    }
    let user = nix::unistd::User::from_uid(uid)
        .ok()
        .flatten()
        .map_or_else(|| uid.to_string(), |u| u.name);
    let has_ids = |file: &str| {
        std::fs::read_to_string(file).is_ok_and(|text| {
            text.lines()
                .any(|l| l.split(':').next() == Some(user.as_str()))
        })
    };
    if has_ids("/etc/subuid") && has_ids("/etc/subgid") {
        Ok(Mode::Unshare)
    } else {
        Err(LocalImageError::NotRoot { user })
    }
}

fn find_on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

/// `deb URI SUITE main` lines for `suite` and its -updates/-security companions, taken from
/// apt sources text in either format (one-line `deb ...` or deb822 paragraphs). Disabled and
/// `deb-src` entries are skipped; duplicates are removed, order kept.
pub fn mirror_lines_from_sources(sources: &str, suite: &str) -> Vec<String> {
    let wanted = [
        suite.to_owned(),
        format!("{suite}-updates"),
        format!("{suite}-security"),
    ];
    let mut entries: Vec<(String, String)> = Vec::new();
    let mut push = |uri: &str, s: &str| {
        let entry = (uri.trim_end_matches('/').to_owned(), s.to_owned());
        if wanted.iter().any(|w| w == s) && !entries.contains(&entry) {
            entries.push(entry);
        }
    };
    for line in sources.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("deb ") {
            let rest = match rest.trim_start().strip_prefix('[') {
                Some(with_options) => with_options.split_once(']').map_or("", |(_, r)| r),
                None => rest,
            };
            let mut words = rest.split_whitespace();
            if let (Some(uri), Some(s)) = (words.next(), words.next()) {
                push(uri, s);
            }
        }
    }
    for paragraph in sources.split("\n\n") {
        let field = |name: &str| {
            paragraph.lines().find_map(|l| {
                let (key, value) = l.split_once(':')?;
                key.trim()
                    .eq_ignore_ascii_case(name)
                    .then(|| value.trim().to_owned())
            })
        };
        let is_deb = field("Types").is_some_and(|t| t.split_whitespace().any(|t| t == "deb"));
        let enabled = field("Enabled").is_none_or(|e| !e.eq_ignore_ascii_case("no"));
        if let (true, true, Some(uris), Some(suites)) =
            (is_deb, enabled, field("URIs"), field("Suites"))
        {
            for uri in uris.split_whitespace() {
                suites.split_whitespace().for_each(|s| push(uri, s));
            }
        }
    }
    entries
        .into_iter()
        .map(|(uri, s)| format!("deb {uri} {s} main"))
        .collect()
}

/// The host's own mirrors (the brief: never a hard-coded host), or [`MIRROR_ENV`].
fn mirror_lines_for_host(suite: &str) -> Result<Vec<String>, LocalImageError> {
    if let Some(uri) = std::env::var_os(MIRROR_ENV).and_then(|v| v.into_string().ok()) {
        return Ok(vec![format!("deb {} {suite} main", uri.trim())]);
    }
    let mut files: Vec<PathBuf> = SOURCE_FILES.iter().map(PathBuf::from).collect();
    if let Ok(dir) = std::fs::read_dir(SOURCE_DIR) {
        let mut listed: Vec<PathBuf> = dir.filter_map(|e| e.ok().map(|e| e.path())).collect();
        listed.sort();
        files.extend(listed.into_iter().filter(|p| {
            p.extension()
                .is_some_and(|ext| ext == "list" || ext == "sources")
        }));
    }
    let mut lines: Vec<String> = Vec::new();
    for text in files.iter().filter_map(|f| std::fs::read_to_string(f).ok()) {
        for line in mirror_lines_from_sources(&text, suite) {
            if !lines.contains(&line) {
                lines.push(line);
            }
        }
    }
    if lines.iter().any(|l| l.ends_with(&format!(" {suite} main"))) {
        Ok(lines)
    } else {
        Err(LocalImageError::NoDebianMirror {
            suite: suite.to_owned(),
        })
    }
}

fn mmdebstrap_args(mode: Mode, script: &Path, mirrors: &[String]) -> Vec<OsString> {
    let mode = match mode {
        Mode::Root => "--mode=root",
        Mode::Unshare => "--mode=unshare",
    };
    let mut args: Vec<OsString> = vec![
        mode.into(),
        "--variant=apt".into(),
        "--format=tar".into(),
        format!("--include={}", PACKAGES.join(",")).into(),
        // A flaky mirror should cost a retry, not the whole build.
        "--aptopt=Acquire::Retries \"3\"".into(),
    ];
    args.extend(
        DPKG_FILTERS
            .iter()
            .map(|f| OsString::from(format!("--dpkgopt={f}"))),
    );
    let mut upload = OsString::from("--customize-hook=upload ");
    upload.push(script);
    upload.push(format!(" {ENTRYPOINT_PATH}"));
    args.push(upload);
    for hook in [
        format!("chmod 0755 \"$1{ENTRYPOINT_PATH}\""),
        // postgresql-15's postinst creates a Debian-style cluster in /etc + /var/lib; we want a
        // self-contained PGDATA like the official image, so drop it (and its 40 MB).
        "chroot \"$1\" pg_dropcluster 15 main || true".to_owned(),
        // The entrypoint's own `init` runs initdb, so build time and a fresh volume share one
        // recipe (password, scram for TCP, listen on '*', fsync off).
        format!("chroot \"$1\" {ENTRYPOINT_PATH} init"),
    ] {
        args.push(format!("--customize-hook={hook}").into());
    }
    args.push(SUITE.into());
    args.push("-".into()); // the tar goes to stdout, hashed as it is written
    args.extend(mirrors.iter().map(OsString::from));
    args
}

/// The root filesystem tar: its size and its sha256 (the layer's diff id).
#[derive(Debug)]
struct Layer {
    size: u64,
    diff_id: String,
}

async fn run_mmdebstrap(
    args: Vec<OsString>,
    layer_path: &Path,
    progress: &impl Fn(&str),
) -> Result<Layer, LocalImageError> {
    let mut child = Command::new("mmdebstrap")
        .args(&args)
        // Without a terminal on stdin, mmdebstrap would read extra sources from it.
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(io_err("starting mmdebstrap"))?;
    let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
        return Err(io_err("capturing mmdebstrap's output")(io::Error::other(
            "no pipe",
        )));
    };
    let (layer, log_tail) =
        tokio::join!(save_hashed(stdout, layer_path), relay_log(stderr, progress));
    let status = child
        .wait()
        .await
        .map_err(io_err("waiting for mmdebstrap"))?;
    if !status.success() {
        return Err(LocalImageError::Mmdebstrap {
            status,
            log_tail: log_tail.join("\n"),
        });
    }
    layer
}

async fn save_hashed(
    mut from: tokio::process::ChildStdout,
    path: &Path,
) -> Result<Layer, LocalImageError> {
    let mut file = tokio::fs::File::create(path)
        .await
        .map_err(io_err("creating the rootfs tar"))?;
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = from
            .read(&mut buf)
            .await
            .map_err(io_err("reading mmdebstrap's tar"))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        file.write_all(&buf[..n])
            .await
            .map_err(io_err("writing the rootfs tar"))?;
        size += n as u64;
    }
    file.flush()
        .await
        .map_err(io_err("writing the rootfs tar"))?;
    Ok(Layer {
        size,
        diff_id: hex::encode(hasher.finalize()),
    })
}

/// Forward mmdebstrap's status lines (`I:`/`W:`/`E:`) and keep the last lines of everything
/// (dpkg's output included) for the error message.
async fn relay_log(from: tokio::process::ChildStderr, progress: &impl Fn(&str)) -> Vec<String> {
    const KEEP: usize = 25;
    let mut tail: Vec<String> = Vec::with_capacity(KEEP);
    let mut lines = BufReader::new(from).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        if ["I: ", "W: ", "E: "].iter().any(|p| line.starts_with(p)) {
            progress(&format!("mmdebstrap: {line}"));
        }
        if tail.len() == KEEP {
            tail.remove(0);
        }
        tail.push(line);
    }
    tail
}

/// Stream a `docker load` archive (manifest.json, config, the layer) to the engine. The layer
/// is read from disk in chunks: it is hundreds of MB and need not sit in memory.
async fn load_archive(
    docker: &Docker,
    reference: &str,
    layer_path: &Path,
    layer: &Layer,
    progress: &impl Fn(&str),
) -> Result<(), LocalImageError> {
    let archive = tar::LoadArchive::new(reference, &layer.diff_id, layer.size, ENTRYPOINT_PATH)
        .ok_or(LocalImageError::LayerTooLarge(layer.size))?;
    let file = tokio::fs::File::open(layer_path)
        .await
        .map_err(io_err("opening the rootfs tar"))?;
    let body = stream::iter([Ok(Bytes::from(archive.head))])
        .chain(file_chunks(file))
        .chain(stream::iter([Ok(Bytes::from(archive.tail))]));
    progress(&format!("loading {reference} into Docker"));
    let options = ImportImageOptions {
        quiet: true,
        ..Default::default()
    };
    let mut replies = docker.import_image(options, bollard::body_try_stream(body), None);
    while let Some(reply) = replies.next().await {
        let info = reply.map_err(docker_err("image load"))?;
        if let Some(line) = info
            .stream
            .as_deref()
            .map(str::trim)
            .filter(|l| !l.is_empty())
        {
            progress(line);
        }
    }
    Ok(())
}

fn file_chunks(file: tokio::fs::File) -> impl Stream<Item = io::Result<Bytes>> + Send + 'static {
    stream::try_unfold(file, |mut file| async move {
        let mut buf = vec![0u8; 1 << 20];
        let n = file.read(&mut buf).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.truncate(n);
        Ok(Some((Bytes::from(buf), file)))
    })
    .into_stream()
}

/// The `docker load` archive around the layer: a hand-written ustar stream (three entries)
/// so the multi-hundred-MB layer can be streamed from disk between a small head and tail.
mod tar {
    const BLOCK: usize = 512;
    /// The ustar size field holds 11 octal digits.
    const MAX_ENTRY: u64 = 0o77_777_777_777;

    /// Everything but the layer's bytes: `head` goes before them, `tail` after.
    pub(super) struct LoadArchive {
        pub(super) head: Vec<u8>,
        pub(super) tail: Vec<u8>,
    }

    impl LoadArchive {
        /// `None` if the layer is too large for a ustar entry.
        pub(super) fn new(
            reference: &str,
            diff_id: &str,
            layer_size: u64,
            entrypoint: &str,
        ) -> Option<Self> {
            if layer_size > MAX_ENTRY {
                return None;
            }
            let config = image_config(diff_id, entrypoint).to_string().into_bytes();
            let config_name = format!(
                "{}.json",
                hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&config))
            );
            let manifest = serde_json::json!([{
                "Config": config_name,
                "RepoTags": [reference],
                "Layers": ["layer/layer.tar"],
            }])
            .to_string()
            .into_bytes();
            let mut head = Vec::with_capacity(8 * BLOCK + manifest.len() + config.len());
            for (name, data) in [
                ("manifest.json", &manifest),
                (config_name.as_str(), &config),
            ] {
                head.extend_from_slice(&header(name, data.len() as u64, b'0'));
                head.extend_from_slice(data);
                head.resize(head.len().next_multiple_of(BLOCK), 0);
            }
            head.extend_from_slice(&header("layer/", 0, b'5'));
            head.extend_from_slice(&header("layer/layer.tar", layer_size, b'0'));
            let padding = (BLOCK - (layer_size % BLOCK as u64) as usize) % BLOCK;
            // The end of an archive is two zero blocks.
            Some(Self {
                head,
                tail: vec![0; padding + 2 * BLOCK],
            })
        }
    }

    /// Image config (OCI/Docker image JSON). `Cmd` is left empty on purpose: the role must be
    /// named (`postgres` or `redis`), otherwise the entrypoint prints its usage.
    fn image_config(diff_id: &str, entrypoint: &str) -> serde_json::Value {
        let architecture = match std::env::consts::ARCH {
            "x86_64" => "amd64",
            "aarch64" => "arm64",
            other => other,
        };
        serde_json::json!({
            "architecture": architecture,
            "os": "linux",
            "config": {
                "Entrypoint": [entrypoint],
                // SIGINT = Postgres "fast" shutdown; Redis treats it like SIGTERM.
                "StopSignal": "SIGINT",
                "ExposedPorts": { "5432/tcp": {}, "6379/tcp": {} },
                "Env": [
                    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                    "PGDATA=/var/lib/postgresql/data",
                    "LANG=C.UTF-8",
                ],
                "Labels": {
                    "org.opencontainers.image.title": super::LOCAL_IMAGE_REPOSITORY,
                    "dev.gauntlet.recipe-version": super::RECIPE_VERSION.to_string(),
                },
            },
            "rootfs": { "type": "layers", "diff_ids": [format!("sha256:{diff_id}")] },
            "history": [{ "created_by": format!(
                "gauntlet image build: mmdebstrap {} + {}", super::SUITE, super::PACKAGES.join(" ")) }],
        })
    }

    /// A ustar header for a root-owned regular file (`b'0'`) or directory (`b'5'`); names are
    /// ours and short (< 100 bytes), so no prefix/long-name handling is needed.
    fn header(name: &str, size: u64, kind: u8) -> [u8; BLOCK] {
        let mut h = [0u8; BLOCK];
        let name = &name.as_bytes()[..name.len().min(99)];
        h[..name.len()].copy_from_slice(name);
        octal(&mut h[100..108], if kind == b'5' { 0o755 } else { 0o644 });
        octal(&mut h[108..116], 0);
        octal(&mut h[116..124], 0);
        octal(&mut h[124..136], size);
        octal(&mut h[136..148], 0);
        h[156] = kind;
        h[257..263].copy_from_slice(b"ustar\0");
        h[263..265].copy_from_slice(b"00");
        // The checksum is computed with its own field filled with spaces.
        h[148..156].fill(b' ');
        let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
        octal(&mut h[148..155], u64::from(sum));
        h
    }

    /// Zero-padded octal digits followed by a NUL, filling `field`. Values that do not fit
    /// keep their low digits (callers check sizes against [`MAX_ENTRY`] first).
    fn octal(field: &mut [u8], value: u64) {
        let digits = field.len() - 1;
        let text = format!("{value:0digits$o}");
        let text = &text.as_bytes()[text.len() - digits..];
        field[..digits].copy_from_slice(text);
        field[digits] = 0;
    }
}
