//! The few statistics the noise model needs, each with the assumption it rests on (the module
//! header of `compare` says where each is used and why).

use statrs::distribution::{ContinuousCDF, Normal, StudentsT};

/// Mean and sample standard deviation (n − 1); `None` for fewer than two values.
pub fn mean_sd(values: &[f64]) -> Option<(f64, f64)> {
    let n = values.len();
    if n < 2 {
        return None;
    }
    let mean = values.iter().sum::<f64>() / n as f64;
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    Some((mean, var.sqrt()))
}

/// The one-sided `p` quantile of Student's t with `df` degrees of freedom.
pub fn t_quantile(p: f64, df: f64) -> f64 {
    StudentsT::new(0.0, 1.0, df.max(1.0))
        .map(|t| t.inverse_cdf(p.clamp(1e-12, 1.0 - 1e-12)))
        .unwrap_or(f64::INFINITY)
}

/// Half-width of the two-sided prediction interval (level `1 − alpha`) for one new value drawn
/// from the distribution that gave `k` values with sample standard deviation `sd`:
/// `t(1 − alpha/2, k − 1) · sd · √(1 + 1/k)`. Assumes the values are independent and roughly
/// normal (a run's p95 over many requests is close to normal by the central limit theorem).
pub fn prediction_half_width(k: usize, sd: f64, alpha: f64) -> f64 {
    if k < 2 {
        return f64::INFINITY;
    }
    t_quantile(1.0 - alpha / 2.0, (k - 1) as f64) * sd * (1.0 + 1.0 / k as f64).sqrt()
}

fn normal_sf(z: f64) -> f64 {
    Normal::standard().sf(z)
}

/// Ranks (1-based; ties get their mean rank) of `values`, in input order.
fn midranks(values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    let mut ranks = vec![0.0; values.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && values[order[j + 1]] == values[order[i]] {
            j += 1;
        }
        let rank = (i + j) as f64 / 2.0 + 1.0;
        for &o in &order[i..=j] {
            ranks[o] = rank;
        }
        i = j + 1;
    }
    ranks
}

/// Mann–Whitney U, one-sided: the p-value of "values in `new` tend to be larger than those in
/// `base`". Normal approximation with the tie correction and a continuity correction, which
/// is good from about 5 values a side; `None` below that. Assumes the values within each side
/// are exchangeable (here: the seconds of a run; neighbouring seconds are correlated, so the
/// p-value is optimistic, which the caller pays for with a strict significance level).
pub fn mann_whitney_greater(base: &[f64], new: &[f64]) -> Option<f64> {
    let (n1, n2) = (base.len(), new.len());
    if n1 < 5 || n2 < 5 {
        return None;
    }
    let all: Vec<f64> = base.iter().chain(new).copied().collect();
    let ranks = midranks(&all);
    let r2: f64 = ranks[n1..].iter().sum();
    let (n1f, n2f) = (n1 as f64, n2 as f64);
    let u2 = r2 - n2f * (n2f + 1.0) / 2.0;
    let n = n1f + n2f;
    let mut ties = 0.0;
    let mut sorted = all.clone();
    sorted.sort_by(f64::total_cmp);
    let mut i = 0;
    while i < sorted.len() {
        let j = sorted[i..].iter().take_while(|v| **v == sorted[i]).count();
        let t = j as f64;
        ties += t * t * t - t;
        i += j;
    }
    let var = n1f * n2f / 12.0 * ((n + 1.0) - ties / (n * (n - 1.0)));
    if var <= 0.0 {
        // Every value equal: no evidence either way.
        return Some(1.0);
    }
    let z = (u2 - n1f * n2f / 2.0 - 0.5) / var.sqrt();
    Some(normal_sf(z))
}

/// Wilcoxon signed-rank, one-sided: the p-value of "the differences `d` tend to be above 0".
/// Zero differences are dropped (Wilcoxon's rule); ties share their mean rank. Exact for up
/// to 60 non-zero differences (the permutation distribution of the signs, counted on doubled
/// ranks so mean ranks stay integers), normal beyond. Assumes the pairs are independent and
/// each difference symmetric about its median: true of interleaved slices, where whatever
/// else loads the machine loads both sides of a pair alike. `None` without a non-zero
/// difference.
pub fn wilcoxon_greater(d: &[f64]) -> Option<f64> {
    let nz: Vec<f64> = d.iter().copied().filter(|v| *v != 0.0).collect();
    if nz.is_empty() {
        return None;
    }
    let abs: Vec<f64> = nz.iter().map(|v| v.abs()).collect();
    let ranks = midranks(&abs);
    let doubled: Vec<usize> = ranks.iter().map(|r| (r * 2.0).round() as usize).collect();
    let w_plus: usize = nz
        .iter()
        .zip(&doubled)
        .filter(|(v, _)| **v > 0.0)
        .map(|(_, r)| *r)
        .sum();
    let n = nz.len();
    if n <= 60 {
        // counts[s] = number of sign assignments whose positive doubled-rank sum is s.
        let total: usize = doubled.iter().sum();
        let mut counts = vec![0f64; total + 1];
        counts[0] = 1.0;
        for &r in &doubled {
            for s in (r..=total).rev() {
                counts[s] += counts[s - r];
            }
        }
        let all: f64 = counts.iter().sum();
        let upper: f64 = counts[w_plus..].iter().sum();
        return Some(upper / all);
    }
    let nf = n as f64;
    let w = w_plus as f64 / 2.0;
    let mean = nf * (nf + 1.0) / 4.0;
    let var = nf * (nf + 1.0) * (2.0 * nf + 1.0) / 24.0;
    Some(normal_sf((w - mean - 0.5) / var.sqrt()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t_quantiles_match_the_tables() {
        assert!((t_quantile(0.975, 4.0) - 2.776).abs() < 1e-3);
        assert!((t_quantile(0.975, 1000.0) - 1.962).abs() < 1e-3);
    }

    #[test]
    fn wilcoxon_is_exact_for_small_samples() {
        // Ten positive differences: only one of 2^10 sign patterns is as extreme.
        let d: Vec<f64> = (1..=10).map(f64::from).collect();
        assert!((wilcoxon_greater(&d).unwrap() - 1.0 / 1024.0).abs() < 1e-12);
        // The smallest one negative: two patterns (it, or nothing) reach W+ ≥ 54.
        let mut d2 = d.clone();
        d2[0] = -1.0;
        assert!((wilcoxon_greater(&d2).unwrap() - 2.0 / 1024.0).abs() < 1e-12);
        let mixed = [1.0, -2.0, 3.0, -4.0, 5.0, -6.0];
        assert!(wilcoxon_greater(&mixed).unwrap() > 0.3);
        assert_eq!(wilcoxon_greater(&[0.0, 0.0]), None);
    }

    #[test]
    fn mann_whitney_sees_a_shift_and_not_a_shuffle() {
        let base: Vec<f64> = (0..30).map(|i| 100.0 + f64::from(i % 7)).collect();
        let doubled: Vec<f64> = base.iter().map(|v| v * 2.0).collect();
        assert!(mann_whitney_greater(&base, &doubled).unwrap() < 1e-6);
        let mut same = base.clone();
        same.reverse();
        assert!(mann_whitney_greater(&base, &same).unwrap() > 0.4);
        assert_eq!(mann_whitney_greater(&base[..3], &base), None);
    }
}
