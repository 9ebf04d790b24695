//! A tenant as the simulator runs it: its lowered program cut into jobs (tile jobs and vector
//! jobs), layer by layer, with the costs the policies estimate from.

use super::Decoder;
use crate::config::AcceleratorConfig;
use crate::exec::{
    CostModel, JobCost, JobTraffic, Recording, tile_shape, tile_traffic, vector_traffic,
};
use crate::kernel::{Kernel, Program, TileProfile};
use crate::sched::{LayerProfile, Outlook, outlook};
use crate::tensor::Tensor;
use crate::units::{Cycles, TenantId};
use std::collections::HashMap;

/// One unit of work an array runs without interruption.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Job {
    /// Tile index within the node (`None` for a vector job).
    pub tile: Option<usize>,
    /// The tile job's GEMM shape and datapath (`None` for a vector job).
    pub profile: Option<TileProfile>,
    /// Its compute cycles and DRAM bytes (when nothing is resident).
    pub cost: JobCost,
    /// Its DRAM traffic by operand.
    pub traffic: JobTraffic,
}

/// One node of the program as jobs.
#[derive(Debug, Clone)]
pub struct Layer {
    /// Node index in the program.
    pub node: usize,
    /// Its jobs (all independent).
    pub jobs: Vec<Job>,
    /// For each job, the next one (in job order, wrapping around) that reads the same
    /// weight block; itself when none does.
    pub same_weights: Vec<u32>,
    /// For each array, in job order, the jobs whose home it is: the layer's weight blocks
    /// (in order of first use) are dealt round-robin over the arrays, and each job goes with
    /// its block (a job without one counts as a block of its own).
    pub homes: Vec<Vec<u32>>,
}

impl Layer {
    /// Node `node`'s layer of `jobs` on `arrays` arrays.
    pub fn new(node: usize, jobs: Vec<Job>, arrays: usize) -> Layer {
        let mut same_weights: Vec<u32> = (0..jobs.len() as u32).collect();
        let arrays = arrays.max(1);
        let mut homes = vec![Vec::new(); arrays];
        // Per weight block: its ordinal, and the first and last job reading it so far.
        let mut blocks: HashMap<u64, (usize, u32, u32)> = HashMap::new();
        let mut ordinal = 0;
        for (j, job) in jobs.iter().enumerate() {
            let j = j as u32;
            let block = job.traffic.weights.map(|b| b.block);
            let home = match block.and_then(|b| blocks.get_mut(&b)) {
                Some((home, first, last)) => {
                    same_weights[*last as usize] = j;
                    same_weights[j as usize] = *first;
                    *last = j;
                    *home
                }
                None => {
                    if let Some(b) = block {
                        blocks.insert(b, (ordinal, j, j));
                    }
                    ordinal += 1;
                    ordinal - 1
                }
            };
            homes[home % arrays].push(j);
        }
        Layer {
            node,
            jobs,
            same_weights,
            homes,
        }
    }
}

/// A tenant ready to simulate.
#[derive(Debug, Clone)]
pub struct TenantModel {
    /// Its id (index in the tenant list).
    pub id: TenantId,
    /// Display name.
    pub name: String,
    /// PREMA priority level (1, 3 or 9).
    pub priority: u8,
    /// Weight for WSTP and partitioning.
    pub weight: f64,
    /// The lowered model.
    pub program: Program,
    /// Its layers as jobs, in program order.
    pub layers: Vec<Layer>,
    /// Work profile of every layer.
    pub profile: Vec<LayerProfile>,
    /// For every layer, what the layers after it hold (for the policies' estimates).
    pub outlook: Vec<Outlook>,
    /// The inputs every request of this tenant computes on (functional mode).
    pub inputs: Vec<Tensor>,
    /// The isolated run's values (functional mode).
    pub reference: Option<Recording>,
    /// Latency of one request alone on the accelerator ([`crate::sim::isolated_latency`]);
    /// for a decoder, of a request of its declared prompt and generation lengths.
    pub isolated: Cycles,
    /// A decoder's steps: its requests are token loops run pass by pass (`None`: every
    /// request is one pass of `layers`).
    pub decoder: Option<Decoder>,
}

/// One pass of a lowered program as jobs: its layers with their work profiles and outlooks.
#[derive(Debug, Clone)]
pub struct Pass {
    /// Its layers as jobs, in program order.
    pub layers: Vec<Layer>,
    /// Work profile of every layer.
    pub profile: Vec<LayerProfile>,
    /// For every layer, what the layers after it hold.
    pub outlook: Vec<Outlook>,
}

impl Pass {
    /// Cuts `program` into jobs for `cfg`.
    pub fn new(program: &Program, cfg: &AcceleratorConfig) -> Pass {
        let costs = CostModel::new(cfg);
        let layers: Vec<Layer> = program
            .kernels
            .iter()
            .enumerate()
            .map(|(node, k)| {
                let jobs = match k {
                    Kernel::Gemm(g) => g
                        .tiles
                        .iter()
                        .enumerate()
                        .map(|(i, t)| Job {
                            tile: Some(i),
                            profile: Some(TileProfile {
                                shape: tile_shape(g, t),
                                datapath: g.datapath,
                            }),
                            cost: costs.tile(g, t),
                            traffic: tile_traffic(g, t),
                        })
                        .collect(),
                    Kernel::Vector(v) if v.work == 0 => Vec::new(),
                    Kernel::Vector(v) => vec![Job {
                        tile: None,
                        profile: None,
                        cost: costs.vector(v),
                        traffic: vector_traffic(v),
                    }],
                };
                Layer::new(node, jobs, cfg.arrays)
            })
            .collect();
        let profile: Vec<LayerProfile> = layers
            .iter()
            .map(|l| LayerProfile {
                jobs: l.jobs.len(),
                cost: l
                    .jobs
                    .iter()
                    .map(|j| j.cost.contended(cfg.dram_bytes_per_cycle, cfg.arrays))
                    .sum(),
            })
            .collect();
        Pass {
            outlook: outlook(&profile, cfg.arrays),
            layers,
            profile,
        }
    }

    /// Its layers, profiles and outlooks.
    pub fn parts(&self) -> (&[Layer], &[LayerProfile], &[Outlook]) {
        (&self.layers, &self.profile, &self.outlook)
    }

    /// Σ estimated cost of every job: the pass's work on one array.
    pub fn work(&self) -> Cycles {
        self.profile.iter().map(|l| l.cost).sum()
    }
}

impl TenantModel {
    /// Cuts `program` into jobs for `cfg`.
    pub fn new(
        id: TenantId,
        name: &str,
        priority: u8,
        weight: f64,
        program: Program,
        inputs: Vec<Tensor>,
        cfg: &AcceleratorConfig,
    ) -> TenantModel {
        let Pass {
            layers,
            profile,
            outlook,
        } = Pass::new(&program, cfg);
        TenantModel {
            id,
            name: name.to_string(),
            priority,
            weight,
            program,
            layers,
            outlook,
            profile,
            inputs,
            reference: None,
            isolated: Cycles::ZERO,
            decoder: None,
        }
    }

    /// Σ estimated cost of every job: the request's work on one array.
    pub fn work(&self) -> Cycles {
        self.profile.iter().map(|l| l.cost).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::memory::BlockRef;

    /// A job reading weight block `block` (`None`: a vector job, without one).
    fn job(block: Option<u64>) -> Job {
        Job {
            tile: None,
            profile: None,
            cost: JobCost {
                compute: Cycles(1),
                bytes: 0,
            },
            traffic: JobTraffic {
                weights: block.map(|block| BlockRef { block, bytes: 64 }),
                ..JobTraffic::default()
            },
        }
    }

    /// Jobs reading blocks 7, 9, 7, 9, none, 5 on 2 arrays: the blocks in order of first use
    /// are 7, 9, (the job without one), 5, dealt to arrays 0, 1, 0, 1; the jobs of block 7
    /// (0 and 2) and of block 9 (1 and 3) chain to each other, the others to themselves.
    #[test]
    fn weight_blocks_chain_and_are_dealt_round_robin() {
        let jobs = [Some(7), Some(9), Some(7), Some(9), None, Some(5)];
        let layer = Layer::new(0, jobs.map(job).to_vec(), 2);
        assert_eq!(layer.same_weights, [2, 3, 0, 1, 4, 5]);
        assert_eq!(layer.homes, [vec![0, 2, 4], vec![1, 3, 5]]);
    }
}
