//! The `docker load` archive around the root filesystem, streamed to the engine.

use std::io;
use std::path::Path;

use bollard::Docker;
use bollard::query_parameters::ImportImageOptions;
use bytes::Bytes;
use futures::{Stream, StreamExt, TryStreamExt, stream};
use tokio::io::AsyncReadExt;

use super::recipe::Layer;
use super::*;

/// Stream a `docker load` archive (manifest.json, config, the layer) to the engine. The layer
/// is read from disk in chunks: it is hundreds of MB and need not sit in memory.
pub(super) async fn load_archive(
    docker: &Docker,
    recipe: &Recipe<'_>,
    layer_path: &Path,
    layer: &Layer,
    progress: &impl Fn(&str),
) -> Result<(), LocalImageError> {
    let reference = recipe.reference.as_str();
    let history = format!(
        "gauntlet image build: mmdebstrap {SUITE} {} + {}",
        recipe.variant,
        recipe.packages.join(" ")
    );
    let archive = tar::LoadArchive::new(
        reference,
        &layer.diff_id,
        layer.size,
        &recipe.config,
        &history,
    )
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
            config: &serde_json::Value,
            history: &str,
        ) -> Option<Self> {
            if layer_size > MAX_ENTRY {
                return None;
            }
            let config = image_config(diff_id, config, history)
                .to_string()
                .into_bytes();
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

    /// Image config (OCI/Docker image JSON) around the recipe's `config` object.
    fn image_config(diff_id: &str, config: &serde_json::Value, history: &str) -> serde_json::Value {
        let architecture = match std::env::consts::ARCH {
            "x86_64" => "amd64",
            "aarch64" => "arm64",
            other => other,
        };
        serde_json::json!({
            "architecture": architecture,
            "os": "linux",
            "config": config,
            "rootfs": { "type": "layers", "diff_ids": [format!("sha256:{diff_id}")] },
            "history": [{ "created_by": history }],
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
