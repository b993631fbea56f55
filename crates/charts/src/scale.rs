//! Mapping data to pixels, and choosing round tick values.

/// Round tick values covering [min, max]: steps of 1, 2 or 5 times a power of ten, about
/// `target` of them. An empty or inverted range gets one tick.
pub fn nice_ticks(min: f64, max: f64, target: usize) -> Vec<f64> {
    if !(min.is_finite() && max.is_finite()) || max <= min {
        return vec![if min.is_finite() { min } else { 0.0 }];
    }
    let raw = (max - min) / target.max(1) as f64;
    let power = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * power)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * power);
    // Whole multiples of the step, rounded to the step's decimals so that 3 x 0.2 prints
    // as 0.6.
    let decimals = (-step.log10().floor()).max(0.0) as i32 + 1;
    let unit = 10f64.powi(decimals);
    let (first, last) = (
        (min / step - 1e-9).ceil() as i64,
        (max / step + 1e-9).floor() as i64,
    );
    let mut ticks = Vec::new();
    for k in first..=last.min(first + 100) {
        let value = (k as f64 * step * unit).round() / unit;
        ticks.push(if value == 0.0 { 0.0 } else { value });
    }
    ticks
}

/// A linear map from a data interval onto a pixel interval.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Linear {
    pub d0: f64,
    pub d1: f64,
    pub p0: f64,
    pub p1: f64,
}

impl Linear {
    pub fn map(&self, v: f64) -> f64 {
        if self.d1 == self.d0 {
            return (self.p0 + self.p1) / 2.0;
        }
        self.p0 + (v - self.d0) / (self.d1 - self.d0) * (self.p1 - self.p0)
    }
}

/// The data range of an axis: fixed ends where given, else the data's extent (including
/// `extra` values such as rules), widened when it is a single value.
pub(crate) fn extent(
    fixed: (Option<f64>, Option<f64>),
    values: impl Iterator<Item = f64>,
    zero: bool,
) -> (f64, f64) {
    let mut lo = f64::INFINITY;
    let mut hi = f64::NEG_INFINITY;
    for v in values.filter(|v| v.is_finite()) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if zero {
        lo = lo.min(0.0);
        hi = hi.max(0.0);
    }
    if !lo.is_finite() {
        lo = 0.0;
        hi = 1.0;
    }
    let lo = fixed.0.unwrap_or(lo);
    let mut hi = fixed.1.unwrap_or(hi);
    if hi <= lo {
        hi = lo + 1.0;
    }
    (lo, hi)
}
