//! The root filesystem: mmdebstrap run with our hooks, its tar hashed while it is saved.

use std::ffi::OsString;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use sha2::{Digest, Sha256};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::Command;

use super::*;

/// How mmdebstrap gets the right to create root-owned files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    Root,
    Unshare,
}

pub(super) fn preflight() -> Result<Mode, LocalImageError> {
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
pub(super) fn mirror_lines_for_host(suite: &str) -> Result<Vec<String>, LocalImageError> {
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

pub(super) fn mmdebstrap_args(
    mode: Mode,
    recipe: &Recipe<'_>,
    uploads: &[(PathBuf, &str)],
    mirrors: &[String],
) -> Vec<OsString> {
    let mode = match mode {
        Mode::Root => "--mode=root",
        Mode::Unshare => "--mode=unshare",
    };
    let mut args: Vec<OsString> = vec![
        mode.into(),
        format!("--variant={}", recipe.variant).into(),
        "--format=tar".into(),
        // A flaky mirror should cost a retry, not the whole build.
        "--aptopt=Acquire::Retries \"3\"".into(),
    ];
    if !recipe.packages.is_empty() {
        args.push(format!("--include={}", recipe.packages.join(",")).into());
    }
    args.extend(
        DPKG_FILTERS
            .iter()
            .map(|f| OsString::from(format!("--dpkgopt={f}"))),
    );
    for (on_host, in_image) in uploads {
        let mut upload = OsString::from("--customize-hook=upload ");
        upload.push(on_host);
        upload.push(format!(" {in_image}"));
        args.push(upload);
        args.push(format!("--customize-hook=chmod 0755 \"$1{in_image}\"").into());
    }
    for hook in &recipe.hooks {
        args.push(format!("--customize-hook={hook}").into());
    }
    args.push(SUITE.into());
    args.push("-".into()); // the tar goes to stdout, hashed as it is written
    args.extend(mirrors.iter().map(OsString::from));
    args
}

/// The root filesystem tar: its size and its sha256 (the layer's diff id).
#[derive(Debug)]
pub(super) struct Layer {
    pub(super) size: u64,
    pub(super) diff_id: String,
}

pub(super) async fn run_mmdebstrap(
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
