//! report.html in a real headless browser (Debian's chromium): no script errors, a screenshot
//! that is not blank, and charts whose polylines have points. `GAUNTLET_SKIP_BROWSER_TESTS=1`
//! skips it on a machine without chromium; otherwise a missing browser is a failure that says
//! so. `GAUNTLET_CHROMIUM` names another binary.

use std::collections::HashMap;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use gauntlet_reports::model::{ScenarioResults, SpikeResult};

/// A headless page load takes ~3 s here; a hung browser is killed after this.
const BROWSER_DEADLINE: Duration = Duration::from_secs(60);
const WINDOW: (u32, u32) = (1100, 1600);

fn chromium() -> Option<PathBuf> {
    if std::env::var_os("GAUNTLET_SKIP_BROWSER_TESTS").is_some_and(|v| v == "1") {
        eprintln!("GAUNTLET_SKIP_BROWSER_TESTS=1: browser check skipped");
        return None;
    }
    let path = std::env::var_os("GAUNTLET_CHROMIUM")
        .map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from);
    assert!(
        path.is_file(),
        "{} not found: install Debian's chromium (`apt-get install chromium`), point \
         GAUNTLET_CHROMIUM at a browser, or set GAUNTLET_SKIP_BROWSER_TESTS=1",
        path.display()
    );
    Some(path)
}

/// Runs the browser headless on `page` with `extra` flags, killed after the deadline;
/// returns (stdout, stderr).
fn browse(browser: &Path, profile: &Path, page: &Path, extra: &[String]) -> (String, String) {
    let dir = profile.parent().expect("profile has a parent");
    let (out, err) = (dir.join("browser.out"), dir.join("browser.err"));
    let mut child = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--window-size={},{}", WINDOW.0, WINDOW.1))
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap())
        .spawn()
        .expect("chromium starts");
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait for chromium") {
            assert!(status.success(), "chromium exited with {status}");
            break;
        }
        if started.elapsed() > BROWSER_DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish within {BROWSER_DEADLINE:?}; killed");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    (
        std::fs::read_to_string(out).unwrap_or_default(),
        std::fs::read_to_string(err).unwrap_or_default(),
    )
}

/// Lines where the page logged to the console or threw: report.html has no scripts, so any
/// console line at all is an error.
fn script_errors(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| l.contains(":CONSOLE") || l.contains("Uncaught"))
        .collect()
}

/// Share of pixels that differ from the most common colour (the background).
fn non_background_share(png_path: &Path) -> f64 {
    let file = std::fs::File::open(png_path).expect("screenshot written");
    let mut reader = png::Decoder::new(BufReader::new(file))
        .read_info()
        .expect("screenshot is a PNG");
    let mut buf = vec![0; reader.output_buffer_size().expect("sane PNG size")];
    let info = reader.next_frame(&mut buf).expect("PNG decodes");
    assert_eq!(info.bit_depth, png::BitDepth::Eight, "{info:?}");
    let step = info.color_type.samples();
    let mut counts: HashMap<&[u8], usize> = HashMap::new();
    for px in buf[..info.buffer_size()].chunks_exact(step) {
        *counts.entry(px).or_default() += 1;
    }
    let total: usize = counts.values().sum();
    let background = counts.values().copied().max().unwrap_or(0);
    (total - background) as f64 / total.max(1) as f64
}

/// `points` attributes of every polyline in the DOM.
fn polyline_points(dom: &str) -> Vec<&str> {
    dom.split("<polyline")
        .skip(1)
        .map(|rest| {
            rest.split_once("points=\"")
                .and_then(|(_, p)| p.split_once('"'))
                .map_or("", |(p, _)| p)
        })
        .collect()
}

#[test]
fn report_html_renders_in_chromium_without_errors_and_with_charts() {
    let Some(browser) = chromium() else { return };
    let dir = crate::run::out_dir("browser");
    let mut report = gauntlet_reports::synthetic::report(90, 4, 20).expect("synthetic report");
    report.scenario_results = ScenarioResults {
        spike: Some(SpikeResult {
            baseline_stage: "steady".into(),
            spike_stage: "steady".into(),
            baseline_p95_us: 4_000,
            spike_p95_us: 12_000,
            recovery_factor: 1.2,
            recovery_us: Some(3_000_000),
        }),
        ..ScenarioResults::default()
    };
    // The synthetic run has a fault window, its timeline and a ledger; a phase threshold
    // gives it a chaos hypothesis.
    let during_fault = gauntlet_reports::parse_threshold("during fault: http.error_rate < 50%")
        .expect("threshold parses");
    gauntlet_reports::evaluate_all(&[during_fault], &mut report);
    assert_eq!(report.chaos.hypotheses.len(), 1);
    let page = dir.path().join("report.html");
    std::fs::write(&page, gauntlet_reports::render::html::render(&report)).unwrap();
    let shot = dir.path().join("report.png");
    let (_, stderr) = browse(
        &browser,
        &dir.path().join("profile-shot"),
        &page,
        &[format!("--screenshot={}", shot.display())],
    );
    let errors = script_errors(&stderr);
    assert!(errors.is_empty(), "script errors: {errors:#?}");
    let share = non_background_share(&shot);
    eprintln!("screenshot: {:.1}% non-background pixels", share * 100.0);
    assert!(
        share > 0.02,
        "screenshot is blank ({share:.4} non-background)"
    );

    let (dom, stderr) = browse(
        &browser,
        &dir.path().join("profile-dom"),
        &page,
        &["--dump-dom".to_owned()],
    );
    assert!(script_errors(&stderr).is_empty(), "{stderr}");
    assert!(
        dom.contains("class=\"banner"),
        "no verdict banner in the DOM"
    );
    assert!(dom.contains("id=\"spike\""), "no spike section in the DOM");
    assert!(dom.contains("id=\"chaos\""), "no chaos section in the DOM");
    assert!(
        dom.contains("id=\"ledger\""),
        "no ledger section in the DOM"
    );
    assert!(
        dom.contains("during fault: http.error_rate &lt; 50%"),
        "no hypothesis in the DOM"
    );
    let charts_part = &dom[..dom.find("id=\"chaos\"").unwrap()];
    assert_eq!(
        charts_part.matches("class=\"fault\"").count(),
        3,
        "each over-time chart shades the fault window"
    );
    assert!(
        dom.matches("<svg class=\"chart\"").count() >= 3,
        "charts missing"
    );
    let lines = polyline_points(&dom);
    assert!(
        lines.len() >= 5,
        "{} polylines: rps, p50/p95/p99, errors",
        lines.len()
    );
    for points in lines {
        let n = points.split_whitespace().count();
        assert!(
            n >= 30,
            "a chart line has {n} points, expected one per second"
        );
    }

    // The detector itself: a page that throws must be caught.
    let broken = dir.path().join("broken.html");
    std::fs::write(
        &broken,
        "<!DOCTYPE html><html><body><p>x</p><script>notDefined();</script></body></html>",
    )
    .unwrap();
    let (_, stderr) = browse(
        &browser,
        &dir.path().join("profile-broken"),
        &broken,
        &["--dump-dom".to_owned()],
    );
    assert!(
        script_errors(&stderr)
            .iter()
            .any(|l| l.contains("Uncaught")),
        "the console check misses a thrown error: {stderr}"
    );
}
