//! HDR histogram helpers: one fixed configuration for every latency histogram in a report, and
//! the text encoding that lets `report.json` carry histograms that merge exactly.
//!
//! Every histogram Gauntlet writes has the same bounds and precision, so merging two of them is a
//! plain bucket-by-bucket addition with no re-quantisation error.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::{Deserializer, Serializer as _, V2DeflateSerializer};

/// Significant decimal digits kept by every latency histogram (±0.1% value resolution).
pub const SIGNIFICANT_DIGITS: u8 = 3;

/// Smallest latency a histogram distinguishes, in microseconds.
pub const LOWEST_DISCERNIBLE_US: u64 = 1;

/// Largest latency a histogram stores, in microseconds (10 minutes). Larger values are clamped
/// rather than rejected: a request that slow is a timeout in every scenario we run, and clamping
/// keeps `record` infallible and allocation-free.
pub const HIGHEST_TRACKABLE_US: u64 = 600_000_000;

/// Name of the encoding used for the `histogram` strings in `report.json`.
pub const ENCODING: &str = "hdrhistogram-v2-deflate+base64";

/// Errors from decoding or merging serialized histograms.
#[derive(Debug, thiserror::Error)]
pub enum HistogramError {
    /// The text is not valid base64.
    #[error("histogram is not valid base64")]
    Base64(#[from] base64::DecodeError),
    /// The bytes are not a valid HdrHistogram V2 (deflate) payload.
    #[error("histogram payload is not valid HdrHistogram V2: {0:?}")]
    Deserialize(hdrhistogram::serialization::DeserializeError),
    /// Serialization failed (only possible on internal inconsistencies).
    #[error("histogram could not be serialized: {0:?}")]
    Serialize(hdrhistogram::serialization::V2DeflateSerializeError),
    /// Two histograms could not be added (value out of the destination's range).
    #[error("histograms could not be merged: {0:?}")]
    Merge(hdrhistogram::AdditionError),
}

/// A new, empty latency histogram with the report-wide configuration.
///
/// It does not auto-resize: its memory is fixed at creation so the hot path never allocates.
pub fn new_histogram() -> Histogram<u64> {
    // The bounds are compile-time constants that satisfy hdrhistogram's preconditions
    // (low >= 1, high >= 2 * low, sigfig <= 5), so creation cannot fail.
    Histogram::new_with_bounds(
        LOWEST_DISCERNIBLE_US,
        HIGHEST_TRACKABLE_US,
        SIGNIFICANT_DIGITS,
    )
    .expect("constant histogram bounds are valid")
}

/// Serialize a histogram as base64 of the V2 deflate format.
pub fn encode(hist: &Histogram<u64>) -> Result<String, HistogramError> {
    let mut bytes = Vec::with_capacity(256);
    V2DeflateSerializer::new()
        .serialize(hist, &mut bytes)
        .map_err(HistogramError::Serialize)?;
    Ok(BASE64.encode(bytes))
}

/// Decode a string produced by [`encode`] (or by any HdrHistogram V2 / V2-deflate writer).
///
/// The result is re-based onto a histogram with the report-wide bounds so that decoded
/// histograms can always be added together.
pub fn decode(text: &str) -> Result<Histogram<u64>, HistogramError> {
    let bytes = BASE64.decode(text.trim())?;
    let decoded: Histogram<u64> = Deserializer::new()
        .deserialize(&mut bytes.as_slice())
        .map_err(HistogramError::Deserialize)?;
    let mut out = new_histogram();
    add_clamped(&mut out, &decoded);
    Ok(out)
}

/// Add `src` into `dst`, clamping values beyond `dst`'s range instead of failing.
///
/// For histograms with identical configuration this is an exact bucket-wise addition.
pub fn add_clamped(dst: &mut Histogram<u64>, src: &Histogram<u64>) {
    if dst.add(src).is_ok() {
        return;
    }
    // Different bounds (a foreign writer): fall back to re-recording each bucket.
    for v in src.iter_recorded() {
        dst.saturating_record_n(v.value_iterated_to(), v.count_at_value());
    }
}

/// Decode and sum several encoded histograms.
pub fn merge_encoded<'a>(
    texts: impl IntoIterator<Item = &'a str>,
) -> Result<Histogram<u64>, HistogramError> {
    let mut out = new_histogram();
    for text in texts {
        add_clamped(&mut out, &decode(text)?);
    }
    Ok(out)
}

/// The value at `quantile` (0.0..=1.0), or 0 for an empty histogram.
pub fn quantile_us(hist: &Histogram<u64>, quantile: f64) -> u64 {
    if hist.is_empty() {
        0
    } else {
        hist.value_at_quantile(quantile)
    }
}
