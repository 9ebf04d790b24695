//! One of N deterministic slices of a sweep's work units, written `I/N` with `I` counted
//! from 0 (as Slurm's `SLURM_ARRAY_TASK_ID` and Kubernetes' `JOB_COMPLETION_INDEX` are).

use crate::error::Error;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Shard `index` of `count`: the units whose index is `index` modulo `count`, so the
/// costly bisections, listed last, spread over the shards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    /// This shard, from 0 to `count − 1`.
    pub index: usize,
    /// How many shards the sweep is cut into (at least 1).
    pub count: usize,
}

impl Shard {
    /// Whether unit `unit` (an index into the sweep's units) belongs to this shard.
    pub fn contains(&self, unit: usize) -> bool {
        unit % self.count == self.index
    }
}

impl FromStr for Shard {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        let bad = |msg: &str| Error::Config {
            field: "shard".into(),
            msg: format!("'{s}' {msg}"),
        };
        let (i, n) = s
            .split_once('/')
            .ok_or_else(|| bad("is not I/N (shard I of N, I counted from 0)"))?;
        let parse = |x: &str| x.trim().parse::<usize>();
        let (Ok(index), Ok(count)) = (parse(i), parse(n)) else {
            return Err(bad("is not I/N with whole numbers I and N"));
        };
        if count == 0 {
            return Err(bad("has N = 0; N must be at least 1"));
        }
        if index >= count {
            return Err(bad(&format!(
                "has I = {index} outside 0..={}; I counts from 0",
                count - 1
            )));
        }
        Ok(Shard { index, count })
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_parse_zero_based_and_reject_out_of_range() {
        assert_eq!(
            "0/3".parse::<Shard>().unwrap(),
            Shard { index: 0, count: 3 }
        );
        assert_eq!(
            " 2 / 3 ".parse::<Shard>().unwrap(),
            Shard { index: 2, count: 3 }
        );
        assert_eq!(
            "0/1".parse::<Shard>().unwrap(),
            Shard { index: 0, count: 1 }
        );
        for bad in [
            "3/3", "1/0", "0/0", "-1/3", "1", "1/2/3", "a/b", "", "/", "1.5/3",
        ] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
        let msg = "3/3".parse::<Shard>().unwrap_err().to_string();
        assert!(msg.contains("shard") && msg.contains("0..=2"), "{msg}");
    }

    #[test]
    fn the_shards_of_a_count_cover_every_unit_exactly_once() {
        let shards: Vec<Shard> = (0..3).map(|index| Shard { index, count: 3 }).collect();
        for unit in 0..20 {
            let owners = shards.iter().filter(|s| s.contains(unit)).count();
            assert_eq!(owners, 1, "unit {unit}");
        }
        // Round robin: shard 1 of 3 takes 1, 4, 7, …
        let one: Vec<usize> = (0..10).filter(|&u| shards[1].contains(u)).collect();
        assert_eq!(one, [1, 4, 7]);
    }
}
