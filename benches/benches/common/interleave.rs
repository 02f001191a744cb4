//! The interleaved pass the comparison benches end with.

use std::time::{Duration, Instant};

/// Runs `rounds` rounds of one `first` then one `second`, and returns the total wall time of
/// each side: drifting background load on a shared machine hits both alike, which criterion's
/// one-target-after-the-other sampling cannot promise.
pub async fn interleaved<F1, F2>(
    rounds: usize,
    mut first: impl FnMut() -> F1,
    mut second: impl FnMut() -> F2,
) -> (Duration, Duration)
where
    F1: Future<Output = ()>,
    F2: Future<Output = ()>,
{
    let (mut a, mut b) = (Duration::ZERO, Duration::ZERO);
    for _ in 0..rounds {
        let started = Instant::now();
        first().await;
        a += started.elapsed();
        let started = Instant::now();
        second().await;
        b += started.elapsed();
    }
    (a, b)
}

/// Prints an interleaved pass's outcome: each side's rate of `unit`s (`elements` per side in
/// total, the pass described by `pass`) and the line `<ratio_label> ratio: X.XX`, proxied over
/// direct, that the README quotes.
pub fn print_ratio(
    ratio_label: &str,
    pass: &str,
    unit: &str,
    elements: usize,
    (proxied, direct): (Duration, Duration),
) {
    let per_sec = |t: Duration| elements as f64 / t.as_secs_f64();
    println!(
        "interleaved pass ({pass}): proxy {:.0} {unit}/s, direct {:.0} {unit}/s",
        per_sec(proxied),
        per_sec(direct)
    );
    println!(
        "{ratio_label} ratio: {:.2}",
        per_sec(proxied) / per_sec(direct)
    );
}
