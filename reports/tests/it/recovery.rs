//! Time to recover after faults, against a band around the baseline.

use std::time::Duration;

use gauntlet_reports::recovery::{BaselineLimits, RecoveryBand, SecondSample, recovery_time};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn sec(error_rate: f64, p95_ms: u64) -> SecondSample {
    SecondSample {
        error_rate,
        p95: Some(ms(p95_ms)),
    }
}

#[test]
fn recovery_time_counts_until_band_holds_for_consecutive_seconds() {
    let band = RecoveryBand {
        consecutive: 3,
        ..RecoveryBand::default()
    };
    // Baseline: p95 ~100 ms, no errors. Fault at 5..8, removed at second 8.
    let mut series = vec![
        sec(0.0, 100),
        sec(0.0, 98),
        sec(0.0, 102),
        sec(0.0, 100),
        sec(0.0, 100),
    ];
    series.extend([sec(0.5, 900), sec(0.6, 950), sec(0.4, 800)]);
    // 8: still bad, 9: ok, 10: blip (p95 over 120), 11..14 ok.
    series.extend([
        sec(0.1, 300),
        sec(0.0, 110),
        sec(0.0, 130),
        sec(0.0, 105),
        sec(0.005, 101),
        sec(0.0, 99),
    ]);
    let t = recovery_time(&series, 5, 8, &band).unwrap();
    assert_eq!(t, Some(Duration::from_secs(3)));

    let limits = BaselineLimits::from_baseline(&series[..5], &band).unwrap();
    assert_eq!(limits.p95_max, ms(120));

    let never = recovery_time(&series[..12], 5, 8, &band).unwrap();
    assert_eq!(never, None);
    let no_base = recovery_time(
        &[SecondSample {
            error_rate: 0.0,
            p95: None,
        }],
        1,
        0,
        &band,
    );
    assert!(no_base.is_err());
}
