//! Each array's scratchpad between jobs: the operand blocks a job reads and writes over the
//! DRAM interface, which of them stay resident on the array afterwards, and what a job must
//! fetch given what is resident (least recently used evicted first).
//!
//! A weight block (a tile job's K×N-block of B) belongs to its tenant and layer: it is fetched
//! once for the M-blocks that reuse it on the same array, by any request of that tenant. An
//! input block (a tile job's M-block×K of A) belongs to its request and layer: it is fetched
//! once for the N-blocks that reuse it on the same array. Outputs drain to DRAM as they are
//! produced (the output partition is a write buffer) and vector jobs stream their operands,
//! so neither stays resident.

use crate::config::{AcceleratorConfig, Residency};
use hashlink::LinkedHashMap;
use serde::{Deserialize, Serialize};

/// Which operand a resident block holds (and, in a split scratchpad, its partition).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Operand {
    /// Rows of A.
    Inputs = 0,
    /// A block of B.
    Weights = 1,
}

/// A block of operands a job reads, identified within its layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BlockRef {
    /// Its index within the layer's blocks of its operand.
    pub block: u64,
    /// Its size.
    pub bytes: u64,
}

/// The DRAM traffic of one job, by operand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct JobTraffic {
    /// The weight block read (fetched unless resident).
    pub weights: Option<BlockRef>,
    /// The input block read (fetched unless resident).
    pub inputs: Option<BlockRef>,
    /// Bytes read that never stay resident (a vector job's operands, restored partial sums).
    pub streamed: u64,
    /// Bytes written.
    pub writes: u64,
    /// Whether fetched blocks stay resident (a job resumed after a K-tile cut reads only the
    /// rest of its blocks, which does not make them resident).
    pub keep: bool,
}

impl JobTraffic {
    /// Every byte the job moves when nothing is resident.
    pub fn bytes(&self) -> u64 {
        self.reads() + self.writes
    }

    /// Every byte the job reads when nothing is resident.
    pub fn reads(&self) -> u64 {
        self.weights.map_or(0, |b| b.bytes) + self.inputs.map_or(0, |b| b.bytes) + self.streamed
    }
}

/// A resident block's identity on an array: its operand, its owner (the tenant of a weight
/// block, the request of an input block), its layer and its index there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BlockKey {
    /// The operand.
    pub operand: Operand,
    /// The tenant (weights) or request (inputs).
    pub owner: u64,
    /// The node of the owner's program.
    pub node: u32,
    /// The block within the node.
    pub block: u64,
}

/// DRAM traffic and scratchpad hits of a tenant, an array or a layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Traffic {
    /// Bytes read from DRAM.
    pub dram_read_bytes: u64,
    /// Bytes written to DRAM.
    pub dram_write_bytes: u64,
    /// Operand bytes found resident in a scratchpad instead of read from DRAM.
    pub sram_hit_bytes: u64,
    /// Operand blocks found resident.
    pub sram_hits: u64,
}

impl std::ops::AddAssign for Traffic {
    fn add_assign(&mut self, o: Traffic) {
        self.dram_read_bytes += o.dram_read_bytes;
        self.dram_write_bytes += o.dram_write_bytes;
        self.sram_hit_bytes += o.sram_hit_bytes;
        self.sram_hits += o.sram_hits;
    }
}

/// One array's scratchpad: the blocks resident in each partition (one when unified), in
/// the order of their last use.
#[derive(Debug, Clone)]
pub struct Scratchpad {
    residency: Residency,
    /// Capacity of the inputs and weights partitions, or of the whole (both the same
    /// partition) when unified.
    capacity: [u64; 2],
    unified: bool,
    used: [u64; 2],
    /// Per partition: block → its size, least recently used first (a linked hash map keeps
    /// its freed nodes for reuse, so a miss that evicts allocates nothing).
    blocks: [LinkedHashMap<BlockKey, u64>; 2],
}

impl Scratchpad {
    /// An empty scratchpad of an array of `cfg`.
    pub fn new(cfg: &AcceleratorConfig) -> Scratchpad {
        let (capacity, unified) = match cfg.sram_split_bytes() {
            Some([inputs, weights, _]) => ([inputs, weights], false),
            None => ([cfg.sram_bytes(); 2], true),
        };
        Scratchpad {
            residency: cfg.residency,
            capacity,
            unified,
            used: [0; 2],
            blocks: [LinkedHashMap::new(), LinkedHashMap::new()],
        }
    }

    /// Forgets every block.
    pub fn clear(&mut self) {
        self.blocks.iter_mut().for_each(LinkedHashMap::clear);
        self.used = [0; 2];
    }

    /// Reads `block` as `key`: a hit when resident (it becomes the most recently used);
    /// otherwise its bytes are read from DRAM and, when `keep` and it fits its partition,
    /// it becomes resident, the least recently used blocks of the partition evicted first.
    pub fn fetch(&mut self, key: BlockKey, block: BlockRef, keep: bool) -> Traffic {
        let miss = Traffic {
            dram_read_bytes: block.bytes,
            ..Traffic::default()
        };
        if self.residency == Residency::None {
            return miss;
        }
        let part = self.partition(key.operand);
        let blocks = &mut self.blocks[part];
        if let hashlink::linked_hash_map::RawEntryMut::Occupied(mut hit) =
            blocks.raw_entry_mut().from_key(&key)
        {
            hit.to_back();
            return Traffic {
                sram_hit_bytes: block.bytes,
                sram_hits: 1,
                ..Traffic::default()
            };
        }
        if keep && block.bytes <= self.capacity[part] {
            while self.used[part] + block.bytes > self.capacity[part] {
                let (_, bytes) = blocks.pop_front().expect("a full partition holds a block");
                self.used[part] -= bytes;
            }
            self.used[part] += block.bytes;
            blocks.insert(key, block.bytes);
        }
        miss
    }

    /// Reads what a job of `traffic` needs, its weights owned by `tenant` and its inputs by
    /// `request`, in layer `node`: the job's DRAM traffic (its writes included) and hits.
    pub fn fetch_job(
        &mut self,
        traffic: &JobTraffic,
        tenant: u64,
        request: u64,
        node: u32,
    ) -> Traffic {
        let mut got = Traffic {
            dram_read_bytes: traffic.streamed,
            dram_write_bytes: traffic.writes,
            ..Traffic::default()
        };
        for (key, block) in blocks(traffic, tenant, request, node) {
            got += self.fetch(key, block, traffic.keep);
        }
        got
    }

    /// The bytes of the blocks a job of `traffic` (as in [`Scratchpad::fetch_job`]) would find
    /// resident, without using them.
    pub fn resident_bytes(
        &self,
        traffic: &JobTraffic,
        tenant: u64,
        request: u64,
        node: u32,
    ) -> u64 {
        if self.residency == Residency::None {
            return 0;
        }
        blocks(traffic, tenant, request, node)
            .filter(|(key, _)| self.blocks[self.partition(key.operand)].contains_key(key))
            .map(|(_, block)| block.bytes)
            .sum()
    }

    /// The partition that holds blocks of `operand`.
    fn partition(&self, operand: Operand) -> usize {
        if self.unified { 0 } else { operand as usize }
    }
}

/// The blocks a job of `traffic` reads with their keys: its weights owned by `tenant` and its
/// inputs by `request`, in layer `node`.
fn blocks(
    traffic: &JobTraffic,
    tenant: u64,
    request: u64,
    node: u32,
) -> impl Iterator<Item = (BlockKey, BlockRef)> {
    [
        (Operand::Weights, tenant, traffic.weights),
        (Operand::Inputs, request, traffic.inputs),
    ]
    .into_iter()
    .filter_map(move |(operand, owner, block)| {
        let block = block?;
        let key = BlockKey {
            operand,
            owner,
            node,
            block: block.block,
        };
        Some((key, block))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pad(kib: u64, split: Option<[u64; 3]>) -> Scratchpad {
        let mut cfg = AcceleratorConfig::preset("tiny").unwrap();
        cfg.sram_kib_per_array = kib;
        cfg.sram_split_kib = split;
        Scratchpad::new(&cfg)
    }

    fn key(operand: Operand, block: u64) -> BlockKey {
        BlockKey {
            operand,
            owner: 0,
            node: 0,
            block,
        }
    }

    fn kib(block: u64, kib: u64) -> BlockRef {
        BlockRef {
            block,
            bytes: kib * 1024,
        }
    }

    /// A 4 KiB scratchpad holds two 2 KiB blocks: A, B, A hits; C evicts B (the least
    /// recently used, A having been used after it); A still hits, B misses again.
    #[test]
    fn lru_keeps_the_recently_used() {
        let mut p = pad(4, None);
        let w = Operand::Weights;
        let read = |p: &mut Scratchpad, b| p.fetch(key(w, b), kib(b, 2), true).dram_read_bytes;
        assert_eq!(read(&mut p, 1), 2048);
        assert_eq!(read(&mut p, 2), 2048);
        assert_eq!(read(&mut p, 1), 0);
        assert_eq!(read(&mut p, 3), 2048);
        assert_eq!(read(&mut p, 1), 0);
        assert_eq!(read(&mut p, 2), 2048);
    }

    /// A block larger than its partition streams through and evicts nothing; a split
    /// scratchpad keeps inputs from evicting weights.
    #[test]
    fn oversized_blocks_stream_and_partitions_are_separate() {
        let mut p = pad(8, Some([2, 4, 2]));
        let (i, w) = (Operand::Inputs, Operand::Weights);
        assert_eq!(p.fetch(key(w, 1), kib(1, 4), true).dram_read_bytes, 4096);
        assert_eq!(p.fetch(key(i, 1), kib(1, 3), true).dram_read_bytes, 3072);
        assert_eq!(p.fetch(key(i, 2), kib(2, 2), true).dram_read_bytes, 2048);
        assert_eq!(p.fetch(key(i, 3), kib(3, 2), true).dram_read_bytes, 2048);
        assert_eq!(p.fetch(key(w, 1), kib(1, 4), true).sram_hits, 1);
        assert_eq!(p.fetch(key(i, 2), kib(2, 2), true).dram_read_bytes, 2048);
        // Not kept: read, not resident.
        assert_eq!(p.fetch(key(w, 2), kib(2, 1), false).dram_read_bytes, 1024);
        assert_eq!(p.fetch(key(w, 2), kib(2, 1), false).dram_read_bytes, 1024);
    }

    /// With residency off, everything is read every time.
    #[test]
    fn no_residency_reads_everything() {
        let mut cfg = AcceleratorConfig::preset("tiny").unwrap();
        cfg.residency = Residency::None;
        let mut p = Scratchpad::new(&cfg);
        let w = key(Operand::Weights, 0);
        assert_eq!(p.fetch(w, kib(0, 1), true).dram_read_bytes, 1024);
        assert_eq!(p.fetch(w, kib(0, 1), true).dram_read_bytes, 1024);
    }
}
