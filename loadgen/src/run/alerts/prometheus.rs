//! A real Prometheus beside the run (Debian's `prometheus` package, as a supervised child
//! process on loopback), scraping the service every second and loaded with the rules file;
//! and, when this host can reach Postgres's data directory (natively, or a running container's
//! through its `/proc/<pid>/root`), node_exporter's filesystem collector for the disk alert.
//!
//! Why node_exporter rather than an exporter of our own: it is what a deployment already runs
//! on its database hosts, so the disk rule is written against the metric names operators
//! know (`node_filesystem_avail_bytes` / `_size_bytes`), and the run tests the rule that
//! would be deployed. Only the filesystem collector is enabled, and the scrape keeps only the
//! mount that holds the data directory, labelled `volume="postgres-data"` as the rule expects.
//!
//! Where they run ([`Place`]): as native processes when the machine has the binaries; else,
//! when Docker answers and holds the local image (which carries both packages) or can pull
//! the official ones, as containers on the host's network ([`super::container`]); else the
//! packages are installed (where allowed) and they run natively.
//! `GAUNTLET_PROMETHEUS=native|container` chooses.
//! Either way they listen on, and scrape, the host's loopback: a container on Docker's bridge
//! network could not reach the service there.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use bollard::Docker;
use gauntlet_testcontainers::disk::DataDisk;
use gauntlet_testcontainers::local_image::LocalImage;
use gauntlet_testcontainers::native::binaries::find_on_path;
use gauntlet_testcontainers::process::Supervised;
use gauntlet_testcontainers::setup::apt;
use gauntlet_testcontainers::{Observer, SystemChanges};
use nix::sys::signal::Signal;

use super::container::{
    ContainerProcess, HOST_ROOT, Images, Launch, OFFICIAL_NODE_EXPORTER, OFFICIAL_PROMETHEUS,
    find_images,
};

/// Debian's names for the two binaries (and their packages).
const PROMETHEUS: &str = "prometheus";
const NODE_EXPORTER: &str = "prometheus-node-exporter";
/// Chooses where they run: `native`, `container`, or (unset, `auto`) as the module says.
pub const PLACE_ENV: &str = "GAUNTLET_PROMETHEUS";

/// Scrape and rule evaluation interval: the run's clock ticks in seconds.
const INTERVAL: &str = "1s";
/// Below the interval, as Prometheus requires.
const SCRAPE_TIMEOUT: &str = "900ms";
/// How long Prometheus and node_exporter get to answer after their start.
const READY_DEADLINE: Duration = Duration::from_secs(30);
/// How long a stop may take before the process is killed (Prometheus flushes its head block).
const STOP_GRACE: Duration = Duration::from_secs(5);

/// What Prometheus is to scrape.
pub struct Scrape<'a> {
    /// The service's base URL (`http://127.0.0.1:PORT`).
    pub service: &'a str,
    /// Postgres's data directory and its filesystem, when this host can reach them (native,
    /// or a running container through its root).
    pub postgres_data: Option<DataDisk>,
}

/// A running Prometheus (and node_exporter) with its scratch directory.
pub struct LocalPrometheus {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// The mount node_exporter watches for the disk alert, when there is one.
    pub disk_mount: Option<PathBuf>,
    prometheus: Process,
    node_exporter: Option<Process>,
    _dir: ScratchDir,
}

/// Where Prometheus and node_exporter run.
enum Place {
    Native,
    Container { docker: Docker, images: Images },
}

/// One of them, running.
enum Process {
    Native(Supervised),
    Container(ContainerProcess),
}

impl Process {
    async fn has_exited(&mut self) -> bool {
        match self {
            Process::Native(child) => child.has_exited(),
            Process::Container(c) => c.has_exited().await,
        }
    }

    /// What it printed: its log file natively, the container's output otherwise.
    async fn output(&self, log: &Path) -> String {
        match self {
            Process::Native(_) => std::fs::read_to_string(log).unwrap_or_default(),
            Process::Container(c) => c.log().await,
        }
    }

    async fn stop(self) {
        match self {
            Process::Native(child) => {
                child.stop(Signal::SIGTERM, STOP_GRACE).await;
            }
            Process::Container(c) => c.stop(STOP_GRACE).await,
        }
    }
}

impl Place {
    /// As [`PLACE_ENV`] says, or as the module says when it says nothing.
    async fn choose(changes: SystemChanges, observer: &Observer) -> anyhow::Result<Place> {
        let wanted = std::env::var(PLACE_ENV).unwrap_or_default();
        let native = [PROMETHEUS, NODE_EXPORTER]
            .into_iter()
            .all(|b| find_on_path(b).is_some());
        match wanted.as_str() {
            "native" => {}
            "container" => {
                return Place::container(changes).await?.with_context(|| {
                    format!(
                        "{PLACE_ENV}=container needs Docker and the local image {} (`gauntlet \
                         image build`), or the official {OFFICIAL_PROMETHEUS} and \
                         {OFFICIAL_NODE_EXPORTER}",
                        LocalImage::current().reference
                    )
                });
            }
            "" | "auto" if native => return Ok(Place::Native),
            "" | "auto" => {
                if let Some(place) = Place::container(changes).await? {
                    return Ok(place);
                }
            }
            other => bail!("{PLACE_ENV}={other}: expected native, container or auto"),
        }
        ensure_installed(changes, observer).await?;
        Ok(Place::Native)
    }

    /// The container place when Docker answers and has (or may pull) images of both.
    async fn container(changes: SystemChanges) -> anyhow::Result<Option<Place>> {
        let Ok(docker) = gauntlet_testcontainers::docker::connect(Duration::from_secs(2)).await
        else {
            return Ok(None);
        };
        let may_pull = changes == SystemChanges::Allowed;
        Ok(find_images(&docker, may_pull)
            .await
            .map(|images| Place::Container { docker, images }))
    }

    /// Starts `binary` with `args`; `host`: node_exporter's root filesystem on the host.
    async fn spawn(
        &self,
        binary: &str,
        args: Vec<String>,
        scratch: &Path,
        log: &Path,
        host: Option<&Path>,
    ) -> anyhow::Result<Process> {
        match self {
            Place::Native => {
                let log = std::fs::File::create(log)?;
                let mut command = Command::new(binary);
                command
                    .args(args)
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(log);
                Ok(Process::Native(
                    Supervised::spawn(command, Signal::SIGKILL)
                        .with_context(|| format!("starting {binary}"))?,
                ))
            }
            Place::Container { docker, images } => {
                let imaged = if binary == PROMETHEUS {
                    &images.prometheus
                } else {
                    &images.node_exporter
                };
                let image = &imaged.image;
                let mut command = vec![imaged.binary.clone()];
                command.extend(args);
                let launch = Launch {
                    image,
                    command,
                    scratch,
                    host_processes: host.is_some(),
                    host_root: host.is_some_and(|rootfs| rootfs == Path::new("/")),
                };
                Ok(Process::Container(
                    ContainerProcess::start(docker, launch)
                        .await
                        .with_context(|| format!("starting {binary} in {image}"))?,
                ))
            }
        }
    }
}

impl LocalPrometheus {
    /// Installs the packages when they are missing (and allowed), writes the configuration
    /// and the (scaled) rules, starts both processes and waits until they answer.
    pub async fn start(
        scrape: &Scrape<'_>,
        rules_yaml: &str,
        changes: SystemChanges,
        observer: &Observer,
    ) -> anyhow::Result<LocalPrometheus> {
        let place = Place::choose(changes, observer).await?;
        let dir = ScratchDir::create()?;
        let disk = scrape
            .postgres_data
            .as_ref()
            .and_then(|disk| Some((disk, disk.mount_point()?)));
        let node_exporter = match disk {
            Some((disk, _)) => Some(start_node_exporter(&place, &dir.0, disk).await?),
            None => None,
        };
        let disk_mount = disk.map(|(_, mount)| mount);
        let port = free_port()?;
        let config = config(
            scrape.service,
            node_exporter.as_ref().map(|(_, addr)| addr.as_str()),
            disk_mount.as_deref(),
        )?;
        std::fs::write(dir.0.join("prometheus.yml"), config).context("writing prometheus.yml")?;
        std::fs::write(dir.0.join("rules.yml"), rules_yaml).context("writing rules.yml")?;
        let args = vec![
            format!("--config.file={}", dir.0.join("prometheus.yml").display()),
            format!("--storage.tsdb.path={}", dir.0.join("data").display()),
            format!("--web.listen-address=127.0.0.1:{port}"),
        ];
        let log = dir.0.join("prometheus.log");
        let mut prometheus = place.spawn(PROMETHEUS, args, &dir.0, &log, None).await?;
        let url = format!("http://127.0.0.1:{port}");
        wait_answers(&mut prometheus, &format!("{url}/-/ready"), &log).await?;
        Ok(LocalPrometheus {
            url,
            disk_mount,
            prometheus,
            node_exporter: node_exporter.map(|(p, _)| p),
            _dir: dir,
        })
    }

    /// Stops both processes (SIGTERM, then SIGKILL after a grace); the directory goes too.
    pub async fn stop(self) {
        self.prometheus.stop().await;
        if let Some(node) = self.node_exporter {
            node.stop().await;
        }
    }
}

async fn ensure_installed(changes: SystemChanges, observer: &Observer) -> anyhow::Result<()> {
    let missing: Vec<&str> = [PROMETHEUS, NODE_EXPORTER]
        .into_iter()
        .filter(|b| find_on_path(b).is_none())
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    apt::install_if_allowed(&missing, "evaluating the alert rules", changes, observer)
        .await
        .map_err(|e| anyhow::anyhow!(e))
        .context("--no-alerts runs without Prometheus")
}

/// node_exporter with the filesystem collector alone, on a free loopback port, looking at the
/// filesystems of `disk`'s root (a container's through `/proc/<pid>/root`, as a node_exporter
/// deployed beside the database would see them).
async fn start_node_exporter(
    place: &Place,
    dir: &Path,
    disk: &DataDisk,
) -> anyhow::Result<(Process, String)> {
    let port = free_port()?;
    let addr = format!("127.0.0.1:{port}");
    let log = dir.join("node-exporter.log");
    // In a container sharing the host's processes, `/proc/<pid>/root` names what it names on
    // the host; the host's own root is mounted at HOST_ROOT.
    let rootfs = match place {
        Place::Container { .. } if disk.rootfs == Path::new("/") => PathBuf::from(HOST_ROOT),
        _ => disk.rootfs.clone(),
    };
    let args = vec![
        "--collector.disable-defaults".to_owned(),
        "--collector.filesystem".to_owned(),
        format!("--path.rootfs={}", rootfs.display()),
        format!("--path.procfs={}", disk.procfs.display()),
        format!("--web.listen-address={addr}"),
    ];
    let mut child = place
        .spawn(NODE_EXPORTER, args, dir, &log, Some(&disk.rootfs))
        .await?;
    wait_answers(&mut child, &format!("http://{addr}/metrics"), &log).await?;
    Ok((child, addr))
}

/// prometheus.yml, written as JSON (which YAML reads as it is).
fn config(
    service: &str,
    node_exporter: Option<&str>,
    disk_mount: Option<&Path>,
) -> anyhow::Result<String> {
    let service = url::Url::parse(service).context("the service's URL")?;
    let host = format!(
        "{}:{}",
        service.host_str().unwrap_or("127.0.0.1"),
        service.port_or_known_default().unwrap_or(80)
    );
    let mut jobs = vec![serde_json::json!({
        "job_name": "hrms",
        "metrics_path": "/metrics",
        "static_configs": [{ "targets": [host] }],
    })];
    if let (Some(addr), Some(mount)) = (node_exporter, disk_mount) {
        jobs.push(serde_json::json!({
            "job_name": "postgres-disk",
            "static_configs": [{ "targets": [addr], "labels": { "volume": "postgres-data" } }],
            // Every other filesystem of this machine is not the database's.
            "metric_relabel_configs": [{
                "source_labels": ["mountpoint"],
                "regex": regex_literal(&mount.to_string_lossy()),
                "action": "keep",
            }],
        }));
    }
    let config = serde_json::json!({
        "global": {
            "scrape_interval": INTERVAL,
            "scrape_timeout": SCRAPE_TIMEOUT,
            "evaluation_interval": INTERVAL,
        },
        "rule_files": ["rules.yml"],
        "scrape_configs": jobs,
    });
    Ok(serde_json::to_string_pretty(&config)?)
}

/// `text` as an RE2 pattern matching exactly it (Prometheus anchors relabel regexes).
fn regex_literal(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        if !ch.is_alphanumeric() && ch != '/' && ch != '_' {
            out.push('\\');
        }
        out.push(ch);
    }
    out
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind(("127.0.0.1", 0))
        .and_then(|l| l.local_addr())
        .context("choosing a loopback port")?
        .port())
}

/// Polls `url` until it answers 200, the process exits (its log's tail is the error) or the
/// deadline passes.
async fn wait_answers(child: &mut Process, url: &str, log: &Path) -> anyhow::Result<()> {
    let client = reqwest::Client::new();
    let deadline = Instant::now() + READY_DEADLINE;
    loop {
        let answered = client
            .get(url)
            .timeout(Duration::from_millis(500))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success());
        if answered {
            return Ok(());
        }
        let exited = child.has_exited().await;
        if exited || Instant::now() >= deadline {
            let text = child.output(log).await;
            let tail: Vec<&str> = text.lines().rev().take(8).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            bail!(
                "{url} did not answer within {READY_DEADLINE:?}{}; its log ends:\n{}",
                if exited { " (the process exited)" } else { "" },
                tail.join("\n")
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A directory of this run's in the temp dir, removed on drop.
struct ScratchDir(PathBuf);

impl ScratchDir {
    fn create() -> anyhow::Result<ScratchDir> {
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let dir = std::env::temp_dir().join(format!(
            "gauntlet-prometheus-{}-{stamp}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        Ok(ScratchDir(dir))
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_becomes_an_exact_pattern() {
        assert_eq!(regex_literal("/tmp/a.b-c"), "/tmp/a\\.b\\-c");
    }
}
