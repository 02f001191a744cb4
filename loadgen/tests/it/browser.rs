//! report.html in a real headless browser (Debian's chromium): no script errors, a screenshot
//! that is not blank, and charts whose polylines have points. A missing browser is a failure
//! that says how to provide it or skip the tests (`needs_chromium`, which
//! `GAUNTLET_SKIP_BROWSER_TESTS=1 cargo xtask test` filters out). `GAUNTLET_CHROMIUM` names
//! another binary.

use std::collections::HashMap;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use gauntlet_reports::model::{ScenarioResults, SpikeResult};

use crate::support::poll;

/// A headless page load takes ~3 s here; a hung browser is killed after this.
const BROWSER_DEADLINE: Duration = Duration::from_secs(60);
const WINDOW: (u32, u32) = (1100, 1600);

/// The browser to drive; fails, saying how to provide it or skip these tests, when absent.
fn chromium() -> PathBuf {
    let path = std::env::var_os("GAUNTLET_CHROMIUM")
        .map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from);
    assert!(
        path.is_file(),
        "{} not found: install Debian's chromium (`apt-get install chromium`, which `cargo \
         xtask test` does), point GAUNTLET_CHROMIUM at a browser, or skip these tests: `cargo \
         test -- --skip needs_chromium` (`GAUNTLET_SKIP_BROWSER_TESTS=1 cargo xtask test` \
         does, and lists them as skipped)",
        path.display()
    );
    path
}

/// Runs the browser headless on `page` in a `window` (width, height) with `extra` flags,
/// killed after the deadline; returns (stdout, stderr).
fn browse(
    browser: &Path,
    profile: &Path,
    page: &Path,
    window: (u32, u32),
    extra: &[String],
) -> (String, String) {
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
        .arg(format!("--window-size={},{}", window.0, window.1))
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap())
        .spawn()
        .expect("chromium starts");
    let finished = poll(BROWSER_DEADLINE, || {
        child.try_wait().expect("wait for chromium").ok_or(())
    });
    let Ok(status) = finished else {
        let _ = child.kill();
        let _ = child.wait();
        panic!("chromium did not finish within {BROWSER_DEADLINE:?}; killed");
    };
    assert!(status.success(), "chromium exited with {status}");
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

/// Measures the rendered page from inside it and leaves the result in the DOM of the page
/// that frames it, where `--dump-dom` returns it (report.html itself has no scripts; only
/// this test's copy does).
const MEASURE: &str = r#"<script>
const table = document.querySelector('table.endpoints');
const card = table.closest('section');
const cs = getComputedStyle(card);
const rows = [...table.rows].slice(1).map(r => r.getBoundingClientRect().height);
const line = c => getComputedStyle(document.querySelector('polyline.' + c));
const out = {
  table_right: table.getBoundingClientRect().right,
  card_inner_right: card.getBoundingClientRect().right - parseFloat(cs.paddingRight)
    - parseFloat(cs.borderRightWidth),
  card_scrolls: card.scrollWidth > card.clientWidth,
  page_scrolls: document.documentElement.scrollWidth > document.documentElement.clientWidth,
  row_min: Math.min(...rows),
  row_max: Math.max(...rows),
  order: [...document.querySelectorAll('polyline')].map(p => p.getAttribute('class')),
  stroke: Object.fromEntries(['l-p95', 'l-p99', 'l-err'].map(c => [c, line(c).stroke])),
  p99_dash: line('l-p99').strokeDasharray,
  width: window.innerWidth,
};
const pre = document.createElement('pre');
pre.id = 'measure';
pre.textContent = JSON.stringify(out);
parent.document.body.appendChild(pre);
</script>"#;

/// What [`MEASURE`] found on `page` (in `dir`) shown `width` px wide. The page is framed:
/// headless chromium will not make a window narrower than 500 px.
fn measure(browser: &Path, dir: &Path, page: &str, width: u32) -> serde_json::Value {
    let frame = dir.join(format!("frame-{width}.html"));
    std::fs::write(
        &frame,
        format!("<!DOCTYPE html><iframe src=\"{page}\" width=\"{width}\" height=\"800\"></iframe>"),
    )
    .unwrap();
    let (dom, stderr) = browse(
        browser,
        &dir.join(format!("profile-measure-{width}")),
        &frame,
        (width + 100, 900),
        // The framed page writes into its parent: both are files, one origin only with this.
        &[
            "--dump-dom".to_owned(),
            "--allow-file-access-from-files".to_owned(),
        ],
    );
    assert!(script_errors(&stderr).is_empty(), "{stderr}");
    let json = dom
        .split_once("<pre id=\"measure\">")
        .and_then(|(_, rest)| rest.split_once("</pre>"))
        .map(|(json, _)| json.replace("&amp;", "&"))
        .unwrap_or_else(|| panic!("no measurement in the DOM: {dom}"));
    let measured: serde_json::Value = serde_json::from_str(&json).expect("JSON");
    assert_eq!(
        measured["width"], width,
        "measured at another width: {measured}"
    );
    measured
}

/// Every test here needs the browser: `GAUNTLET_SKIP_BROWSER_TESTS=1 cargo xtask test`
/// filters them out by this module's name and lists them as skipped.
mod needs_chromium {
    use super::*;

    #[test]
    fn report_html_renders_in_chromium_without_errors_and_with_charts() {
        let browser = chromium();
        let dir = crate::support::out_dir("browser");
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
            WINDOW,
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
            WINDOW,
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
            WINDOW,
            &["--dump-dom".to_owned()],
        );
        assert!(
            script_errors(&stderr)
                .iter()
                .any(|l| l.contains("Uncaught")),
            "the console check misses a thrown error: {stderr}"
        );
    }

    /// What a reader saw at 1400 px: the Endpoints table ran past its card, long endpoint names
    /// broke after the method or inside a word, and p95 vanished under p99 where they were equal.
    /// At 390 px a wide table or chart must scroll inside its card, not push the page sideways.
    #[test]
    fn report_html_fits_its_cards_at_1400_and_390_px_and_keeps_p95_visible() {
        let browser = chromium();
        let dir = crate::support::out_dir("browser-fit");
        let endpoints = gauntlet_scenarios::hrms::Endpoint::ALL;
        let mut report =
            gauntlet_reports::synthetic::report(30, endpoints.len(), 5).expect("synthetic report");
        // The real names: the longest (`POST /leave/requests/{id}/approve`) are what wrapped.
        for (e, real) in report.endpoints.iter_mut().zip(endpoints) {
            e.name = real.name().to_owned();
        }
        let html = gauntlet_reports::render::html::render(&report);
        let page = "measured.html";
        std::fs::write(
            dir.path().join(page),
            html.replace("</body>", &format!("{MEASURE}</body>")),
        )
        .unwrap();

        let wide = measure(&browser, dir.path(), page, 1400);
        let (right, inner) = (&wide["table_right"], &wide["card_inner_right"]);
        assert!(
            right.as_f64() <= inner.as_f64().map(|r| r + 0.5),
            "the table ends at {right} px, its card's content at {inner} px: {wide}"
        );
        assert_eq!(wide["card_scrolls"], false, "{wide}");
        let (min, max) = (&wide["row_min"], &wide["row_max"]);
        assert!(
            max.as_f64() <= min.as_f64().map(|m| m * 1.2),
            "an endpoint row is taller than the others (a wrapped name): {min} vs {max} px"
        );
        let order: Vec<&str> = wide["order"]
            .as_array()
            .expect("order")
            .iter()
            .filter_map(|c| c.as_str())
            .collect();
        let at = |class: &str| order.iter().position(|c| *c == class);
        assert!(
            at("l-p95") < at("l-p99") && wide["p99_dash"] != "none",
            "p99 must be drawn over p95 dashed, so p95 shows through: {wide}"
        );
        let strokes = &wide["stroke"];
        assert!(
            strokes["l-p95"] != strokes["l-p99"] && strokes["l-p99"] != strokes["l-err"],
            "lines share a colour: {strokes}"
        );

        let narrow = measure(&browser, dir.path(), page, 390);
        assert_eq!(narrow["page_scrolls"], false, "{narrow}");
        assert_eq!(narrow["card_scrolls"], true, "{narrow}");
    }
}
