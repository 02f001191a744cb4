//! Verdict precedence: aborted > invalid > fail > pass, with every reason listed.

use gauntlet_reports::model::{Report, Verdict};
use gauntlet_reports::verdict::{apply, exit_code};
use gauntlet_reports::{evaluate_all, parse_threshold};

use crate::support::{realistic_report, run_info};

#[test]
fn pass_when_thresholds_hold_and_fail_when_one_fails() {
    let mut r = realistic_report();
    evaluate_all(&[parse_threshold("http.p95 < 10s").unwrap()], &mut r);
    assert_eq!((r.verdict, r.reasons.len()), (Verdict::Pass, 0));
    evaluate_all(
        &[
            parse_threshold("http.p95 < 10s").unwrap(),
            parse_threshold("http.p95 < 1us").unwrap(),
        ],
        &mut r,
    );
    assert_eq!(r.verdict, Verdict::Fail);
    assert_eq!(r.reasons.len(), 1);
    assert!(r.reasons[0].contains("http.p95 < 1us"), "{:?}", r.reasons);
    assert_eq!(exit_code(r.verdict), 1);
}

#[test]
fn saturated_generator_is_invalid_and_interruption_is_aborted() {
    let mut r = realistic_report();
    evaluate_all(&[parse_threshold("http.p95 < 1us").unwrap()], &mut r);
    r.generator.saturated = true;
    r.generator.reasons = vec!["CPU at 100% for 12 s".into()];
    apply(&mut r);
    assert_eq!(r.verdict, Verdict::Invalid);
    assert!(r.reasons.iter().any(|x| x.contains("CPU at 100%")));
    assert!(
        r.reasons.iter().any(|x| x.contains("threshold failed")),
        "all reasons kept"
    );
    r.run.interrupted = true;
    apply(&mut r);
    assert_eq!(r.verdict, Verdict::Aborted);
    assert_eq!(
        (
            exit_code(Verdict::Invalid),
            exit_code(Verdict::Aborted),
            exit_code(Verdict::Pass)
        ),
        (4, 130, 0)
    );
}

#[test]
fn no_data_threshold_fails_the_run() {
    let mut r = Report::empty(run_info("smoke"));
    evaluate_all(&[parse_threshold("ledger.lost == 0").unwrap()], &mut r);
    assert_eq!(r.verdict, Verdict::Fail);
    assert!(r.reasons[0].contains("no data"), "{:?}", r.reasons);
}
