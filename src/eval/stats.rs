//! Replicate statistics: a mean with its 95 % confidence interval over independent runs
//! (seeds), and the win / tie / loss of one scheduler against another by those intervals.
//!
//! Requests within one run are not independent (a queue carries its backlog from one to the
//! next), so the unit of replication is the run: each seed gives one value, and the interval
//! is Student's t over the seeds.

use serde::Serialize;

/// Two-sided 95 % quantiles of Student's t, `T95[df - 1]` for 1 to 30 degrees of freedom
/// (any statistics table, e.g. NIST/SEMATECH e-Handbook of Statistical Methods, 1.3.6.7.2);
/// beyond 30 the normal quantile 1.960 is within 4 %.
const T95: [f64; 30] = [
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
    2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
    2.052, 2.048, 2.045, 2.042,
];

/// A mean over replicates and the half-width of its 95 % confidence interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Interval {
    /// The mean.
    pub mean: f64,
    /// Half the width of the 95 % confidence interval (0 for a single replicate, which has
    /// no spread to estimate: its interval is unknown, not exact).
    pub half_width: f64,
    /// How many replicates.
    pub n: usize,
}

impl Interval {
    /// The mean and 95 % interval of `values` (at least one).
    ///
    /// # Panics
    /// If `values` is empty.
    pub fn of(values: &[f64]) -> Interval {
        let n = values.len();
        assert!(n > 0, "an interval of no values");
        let mean = values.iter().sum::<f64>() / n as f64;
        if n == 1 {
            return Interval {
                mean,
                half_width: 0.0,
                n,
            };
        }
        let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
        let t = T95.get(n - 2).copied().unwrap_or(1.960);
        Interval {
            mean,
            half_width: t * (var / n as f64).sqrt(),
            n,
        }
    }

    /// The interval's lower end.
    pub fn low(&self) -> f64 {
        self.mean - self.half_width
    }

    /// The interval's upper end.
    pub fn high(&self) -> f64 {
        self.mean + self.half_width
    }
}

/// How a contender fares against an opponent, higher being better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Better, and the intervals do not overlap.
    Win,
    /// The intervals overlap (or the values are equal).
    Tie,
    /// Worse, and the intervals do not overlap.
    Loss,
}

impl Outcome {
    /// `a` against `b`: a win or loss only when their 95 % intervals are disjoint.
    pub fn of(a: &Interval, b: &Interval) -> Outcome {
        if a.low() > b.high() {
            Outcome::Win
        } else if a.high() < b.low() {
            Outcome::Loss
        } else {
            Outcome::Tie
        }
    }
}

/// Wins, ties and losses counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Tally {
    /// Wins.
    pub wins: usize,
    /// Ties.
    pub ties: usize,
    /// Losses.
    pub losses: usize,
}

impl Tally {
    /// Counts one more outcome.
    pub fn add(&mut self, o: Outcome) {
        match o {
            Outcome::Win => self.wins += 1,
            Outcome::Tie => self.ties += 1,
            Outcome::Loss => self.losses += 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Worked by hand: values 1, 2, 3 have mean 2, sample variance 1, standard error
    /// 1/√3 = 0.57735, and t(0.975, 2) = 4.303, so the half-width is 2.4843.
    #[test]
    fn the_interval_of_three_values_is_students_t() {
        let i = Interval::of(&[1.0, 2.0, 3.0]);
        assert_eq!(i.mean, 2.0);
        assert!((i.half_width - 4.303 / 3f64.sqrt()).abs() < 1e-12);
        assert!((i.half_width - 2.4843).abs() < 1e-4);
        assert_eq!(Interval::of(&[5.0]).half_width, 0.0);
        // Forty values 0, 1, 0, 1, ...: mean 0.5, variance 40/(4·39), the normal quantile.
        let v: Vec<f64> = (0..40).map(|i| (i % 2) as f64).collect();
        let i = Interval::of(&v);
        assert!((i.half_width - 1.960 * (10.0 / 39.0 / 40.0f64).sqrt()).abs() < 1e-12);
    }

    #[test]
    fn only_disjoint_intervals_win_or_lose() {
        let at = |mean, half_width| Interval {
            mean,
            half_width,
            n: 3,
        };
        assert_eq!(Outcome::of(&at(0.9, 0.01), &at(0.8, 0.05)), Outcome::Win);
        assert_eq!(Outcome::of(&at(0.8, 0.05), &at(0.9, 0.01)), Outcome::Loss);
        assert_eq!(Outcome::of(&at(0.9, 0.06), &at(0.8, 0.05)), Outcome::Tie);
        assert_eq!(Outcome::of(&at(1.0, 0.0), &at(1.0, 0.0)), Outcome::Tie);
        let mut t = Tally::default();
        for o in [Outcome::Win, Outcome::Tie, Outcome::Tie, Outcome::Loss] {
            t.add(o);
        }
        assert_eq!((t.wins, t.ties, t.losses), (1, 2, 1));
    }
}
