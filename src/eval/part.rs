//! Partial sweep results: the JSON one shard writes, and merging shards' parts back into
//! the outputs of every unit, refusing parts that are missing, repeated or from another
//! sweep.

use super::{MAX_SEEDS, Shard, SweepResult, UnitOutput, seeded_units};
use crate::error::{Error, Result};
use crate::files;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::fmt::Debug;
use std::path::{Path, PathBuf};

/// The `format` marker of a part file.
pub const FORMAT: &str = "cdmsa-sweep-part/2";

/// What makes two runs the same sweep: shards of one sweep agree on all of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepIdentity {
    /// The workload file, as given on the command line.
    pub workload: String,
    /// The accelerator's name.
    pub accelerator: String,
    /// The load factors, in sweep order.
    pub loads: Vec<f64>,
    /// The scheduler names, in sweep order.
    pub schedulers: Vec<String>,
    /// Arrival seeds per point and per bisection.
    pub seeds: usize,
    /// The accelerator's sustainable throughput for the workload (requests/s), if it has
    /// any work ([`super::sustainable_throughput_rps`]).
    pub sustainable_throughput_rps: Option<f64>,
}

impl SweepIdentity {
    /// The sweep's JSON report (keys sorted, as `serde_json` maps keep them).
    pub fn report(&self, results: &[SweepResult]) -> serde_json::Value {
        json!({
            "workload": self.workload,
            "accelerator": self.accelerator,
            "loads": self.loads,
            "seeds": self.seeds,
            "sustainable_throughput_rps": self.sustainable_throughput_rps,
            "results": results,
        })
    }

    /// Every unit of the sweep (see [`seeded_units`]).
    pub fn units(&self) -> Vec<super::Unit> {
        seeded_units(self.schedulers.len(), self.loads.len(), self.seeds)
    }

    /// The first field in which `other` differs, if any.
    fn difference(&self, other: &SweepIdentity) -> Option<String> {
        let say = |field: &str, a: &dyn Debug, b: &dyn Debug| {
            Some(format!("{field} {b:?} where the first part has {a:?}"))
        };
        if self.workload != other.workload {
            say("workload", &self.workload, &other.workload)
        } else if self.accelerator != other.accelerator {
            say("accelerator", &self.accelerator, &other.accelerator)
        } else if self.loads != other.loads {
            say("loads", &self.loads, &other.loads)
        } else if self.schedulers != other.schedulers {
            say("schedulers", &self.schedulers, &other.schedulers)
        } else if self.seeds != other.seeds {
            say("seeds", &self.seeds, &other.seeds)
        } else if self.sustainable_throughput_rps.map(f64::to_bits)
            != other.sustainable_throughput_rps.map(f64::to_bits)
        {
            say(
                "sustainable_throughput_rps",
                &self.sustainable_throughput_rps,
                &other.sustainable_throughput_rps,
            )
        } else {
            None
        }
    }
}

/// One computed unit in a part.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartUnit {
    /// The unit's index among the sweep's units.
    pub index: usize,
    /// What it yielded.
    #[serde(flatten)]
    pub output: UnitOutput,
}

/// What one shard of a sweep writes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Part {
    /// Always [`FORMAT`].
    pub format: String,
    /// The sweep this is part of.
    pub sweep: SweepIdentity,
    /// Which shard.
    pub shard: Shard,
    /// The shard's units, in index order.
    pub units: Vec<PartUnit>,
}

/// The most bytes a part file may have (64 MiB): a swept point takes about a kilobyte.
const MAX_PART_BYTES: u64 = 64 << 20;

impl Part {
    /// Shard `shard`'s part of `sweep`: the outputs of its units, each with its index, in
    /// index order.
    pub fn new(sweep: SweepIdentity, shard: Shard, outputs: Vec<(usize, UnitOutput)>) -> Part {
        Part {
            format: FORMAT.into(),
            sweep,
            shard,
            units: outputs
                .into_iter()
                .map(|(index, output)| PartUnit { index, output })
                .collect(),
        }
    }

    /// Reads and checks a part file: its format marker, and that every unit is one of the
    /// sweep's, belongs to the shard and has an output of its kind.
    pub fn read(path: &Path) -> Result<Part> {
        let bytes = files::read(path, MAX_PART_BYTES, "the bound on sweep part files")?;
        let part: Part = serde_json::from_slice(&bytes).map_err(|e| {
            Error::malformed("sweep part", files::shorten(&e.to_string())).in_file(path)
        })?;
        part.check().map_err(|e| e.in_file(path))?;
        Ok(part)
    }

    fn check(&self) -> Result<()> {
        let bad = |msg: String| Err(Error::malformed("sweep part", msg));
        if self.format != FORMAT {
            return bad(format!("format '{}', expected '{FORMAT}'", self.format));
        }
        if self.shard.count == 0 || self.shard.index >= self.shard.count {
            return bad(format!(
                "shard {}/{} out of range",
                self.shard.index, self.shard.count
            ));
        }
        if !(1..=MAX_SEEDS).contains(&self.sweep.seeds) {
            return bad(format!(
                "{} seeds, outside 1..={MAX_SEEDS}",
                self.sweep.seeds
            ));
        }
        let all = self.sweep.units();
        for u in &self.units {
            let Some(&unit) = all.get(u.index) else {
                return bad(format!(
                    "unit {} beyond the sweep's {} units",
                    u.index,
                    all.len()
                ));
            };
            if !self.shard.contains(u.index) {
                return bad(format!("unit {} is not in shard {}", u.index, self.shard));
            }
            if !unit.yields(&u.output) {
                return bad(format!(
                    "unit {} ({unit:?}) has an output of another kind",
                    u.index
                ));
            }
        }
        Ok(())
    }
}

/// Merges the parts of one sweep (each with the file it came from) into the outputs of all
/// of its units, in index order. Refuses, naming the file, a part of another sweep or a
/// unit given twice, and names the units no part has.
pub fn merge(parts: Vec<(PathBuf, Part)>) -> Result<(SweepIdentity, Vec<UnitOutput>)> {
    let Some((first_path, first)) = parts.first() else {
        return Err(Error::Invalid("no sweep parts to merge".into()));
    };
    let (first_path, identity) = (first_path.clone(), first.sweep.clone());
    let counts: Vec<usize> = parts.iter().map(|(_, p)| p.shard.count).collect();
    let total = identity.units().len();
    // Each unit's output and the file it came from.
    let mut slots: Vec<Option<(UnitOutput, PathBuf)>> = vec![None; total];
    for (path, part) in parts {
        if let Some(d) = identity.difference(&part.sweep) {
            return Err(Error::Invalid(format!(
                "a part of another sweep than {}: {d}",
                first_path.display()
            ))
            .in_file(path));
        }
        for u in part.units {
            let Some(slot) = slots.get_mut(u.index) else {
                return Err(Error::malformed(
                    "sweep part",
                    format!("unit {} out of range", u.index),
                )
                .in_file(path));
            };
            if let Some((_, earlier)) = slot {
                return Err(Error::Invalid(format!(
                    "unit {} given twice (also in {})",
                    u.index,
                    earlier.display()
                ))
                .in_file(path));
            }
            *slot = Some((u.output, path.clone()));
        }
    }
    let missing: Vec<usize> = (0..total).filter(|&i| slots[i].is_none()).collect();
    if !missing.is_empty() {
        return Err(Error::Invalid(missing_message(&missing, total, &counts)));
    }
    let outputs = slots.into_iter().flatten().map(|(o, _)| o).collect();
    Ok((identity, outputs))
}

/// Names the missing units and, when every part cut the sweep the same way, the shards
/// they belong to.
fn missing_message(missing: &[usize], total: usize, counts: &[usize]) -> String {
    const SHOWN: usize = 8;
    let list: Vec<String> = missing.iter().take(SHOWN).map(usize::to_string).collect();
    let more = if missing.len() > SHOWN { ", …" } else { "" };
    let mut msg = format!(
        "{} of the sweep's {total} units missing: {}{more}",
        missing.len(),
        list.join(", ")
    );
    if let Some(&n) = counts
        .first()
        .filter(|&&n| n > 0 && counts.iter().all(|&c| c == n))
    {
        let mut shards: Vec<usize> = missing.iter().map(|&i| i % n).collect();
        shards.sort_unstable();
        shards.dedup();
        let names: Vec<String> = shards.iter().map(|s| format!("{s}/{n}")).collect();
        msg += &format!(" (shard {} not given?)", names.join(", "));
    }
    msg
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn part(units: Vec<PartUnit>) -> Part {
        Part {
            format: FORMAT.into(),
            sweep: SweepIdentity {
                workload: "w.toml".into(),
                accelerator: "tiny".into(),
                loads: vec![0.1, 0.2 + 0.1],
                schedulers: vec!["fcfs".into()],
                seeds: 1,
                sustainable_throughput_rps: Some(1e4),
            },
            shard: Shard { index: 0, count: 1 },
            units,
        }
    }

    #[test]
    fn parts_round_trip_every_float_bit_for_bit() {
        // Random bit patterns cover subnormals and 17-digit values, which a parser that is
        // not correctly rounded gets wrong in the last bit now and then.
        let mut rng = ChaCha8Rng::seed_from_u64(16);
        for _ in 0..2000 {
            let x = f64::from_bits(rng.random::<u64>() >> 1);
            if !x.is_finite() {
                continue;
            }
            let p = part(vec![PartUnit {
                index: 2,
                output: UnitOutput::LatencyBoundedThroughputRps(x),
            }]);
            let text = serde_json::to_string(&p).unwrap();
            let back: Part = serde_json::from_str(&text).unwrap();
            let UnitOutput::LatencyBoundedThroughputRps(y) = back.units[0].output else {
                panic!("{text}");
            };
            assert_eq!(x.to_bits(), y.to_bits(), "{text}");
            assert_eq!(serde_json::to_string(&back).unwrap(), text);
        }
    }

    #[test]
    fn missing_units_name_their_shard_when_the_parts_agree_on_n() {
        let msg = missing_message(&[1, 4, 7], 9, &[3, 3]);
        assert_eq!(
            msg,
            "3 of the sweep's 9 units missing: 1, 4, 7 (shard 1/3 not given?)"
        );
        let msg = missing_message(&(0..10).collect::<Vec<_>>(), 12, &[2, 3]);
        assert_eq!(
            msg,
            "10 of the sweep's 12 units missing: 0, 1, 2, 3, 4, 5, 6, 7, …"
        );
    }

    #[test]
    fn a_part_with_a_unit_outside_its_shard_or_of_the_wrong_kind_is_malformed() {
        // One scheduler × two loads: units 0 and 1 are points, unit 2 the bisection.
        let knee = |index| PartUnit {
            index,
            output: UnitOutput::LatencyBoundedThroughputRps(1.0),
        };
        assert!(part(vec![knee(2)]).check().is_ok());
        assert!(part(vec![knee(0)]).check().is_err());
        assert!(part(vec![knee(3)]).check().is_err());
        let mut p = part(vec![knee(2)]);
        p.shard = Shard { index: 1, count: 2 };
        assert!(p.check().is_err());
        p.format = "cdmsa-sweep-part/0".into();
        assert!(p.check().is_err());
    }

    #[test]
    fn seeds_set_the_units_and_must_be_in_range() {
        // One scheduler × two loads × three seeds: units 0–5 are points, 6–8 bisections.
        let knee = |index| PartUnit {
            index,
            output: UnitOutput::LatencyBoundedThroughputRps(1.0),
        };
        let mut p = part(vec![knee(6), knee(8)]);
        p.sweep.seeds = 3;
        assert!(p.check().is_ok());
        p.units = vec![knee(5)];
        assert!(p.check().is_err());
        p.units = vec![knee(9)];
        assert!(p.check().is_err());
        for seeds in [0, MAX_SEEDS + 1] {
            p.units.clear();
            p.sweep.seeds = seeds;
            let err = p.check().unwrap_err().to_string();
            assert!(err.contains("seeds"), "{err}");
        }
    }
}
