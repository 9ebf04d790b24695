//! Runs a lowered `kernel::Program`: values through the array datapath and vector unit, node by node
//! and tile job by tile job, and the isolated-run cycle cost of every layer.

mod conv;
mod cost;
mod depthwise;
mod gemm;
pub mod memory;
mod operands;
mod subpixel;
mod transpose;

pub use cost::{
    CostModel, JobCost, KSplit, LayerCost, dram_cycles, layer_costs, tile_shape, tile_traffic,
    vector_traffic,
};
pub use gemm::{Fault, TileValues};
pub use memory::{JobTraffic, Scratchpad, Traffic};

use crate::array::{ArraySpec, vector};
use crate::config::AcceleratorConfig;
use crate::error::{Error, Result};
use crate::kernel::{GemmKernel, Kernel, Program, ProgramNode, VectorOp};
use crate::tensor::{Constant, DType, Tensor};
use gemm::GemmRun;
use rayon::prelude::*;

/// What one run produced.
#[derive(Debug, Clone)]
pub struct Execution {
    /// The graph outputs, in order.
    pub outputs: Vec<Tensor>,
    /// Nodes whose i32 accumulators overflowed (wrapped).
    pub overflowed: Vec<String>,
}

/// One inference in progress: the values computed so far and the GEMM node being tiled.
/// Nodes run in order; a GEMM node's tile jobs may be computed in any order and at any time
/// between [`Interpreter::begin`] and [`Interpreter::end`].
pub struct Interpreter<'p> {
    program: &'p Program,
    spec: ArraySpec,
    values: Vec<Option<Tensor>>,
    current: Option<(usize, GemmRun<'p>)>,
    overflowed: Vec<String>,
    /// The last node reading each value, when values may be moved and dropped after it
    /// (a functional run); `None` keeps every value (recording, simulation).
    last_use: Option<Vec<usize>>,
}

fn in_node(node: &ProgramNode) -> impl Fn(Error) -> Error + '_ {
    move |e| match e {
        e @ (Error::Node { .. } | Error::Unsupported { .. }) => e,
        e => Error::node(&node.name, node.op, e.to_string()),
    }
}

impl<'p> Interpreter<'p> {
    /// Binds the inputs (one per graph input, of the types and shapes the program was lowered for).
    pub fn new(
        program: &'p Program,
        inputs: &[Tensor],
        cfg: &AcceleratorConfig,
    ) -> Result<Interpreter<'p>> {
        let p = program;
        if inputs.len() != p.inputs.len() {
            return Err(Error::Shape(format!(
                "the model has {} inputs, {} given",
                p.inputs.len(),
                inputs.len()
            )));
        }
        let mut values: Vec<Option<Tensor>> = vec![None; p.values.len()];
        for (&id, t) in p.inputs.iter().zip(inputs) {
            let (dt, shape) = (p.dtype(id), p.shape(id));
            if t.shape() != shape || t.dtype() != dt {
                return Err(Error::Shape(format!(
                    "input '{}' was lowered for {dt} {shape:?}, got {} {:?}",
                    p.values[id].name,
                    t.dtype(),
                    t.shape()
                )));
            }
            if p.constant(id).is_some_and(|bound| bound != t) {
                return Err(Error::Shape(format!(
                    "input '{}' differs from the value the program was specialised to",
                    p.values[id].name
                )));
            }
            values[id] = Some(t.clone());
        }
        Ok(Interpreter {
            program,
            spec: ArraySpec::from_config(cfg),
            values,
            current: None,
            overflowed: Vec::new(),
            last_use: None,
        })
    }

    /// The constant behind each input of `node`, if any (its prepared forms are kept with it).
    fn constants(&self, node: usize) -> Vec<Option<&Constant>> {
        let p = self.program;
        p.nodes[node]
            .inputs
            .iter()
            .map(|i| i.and_then(|v| p.values[v].constant.as_ref()))
            .collect()
    }

    fn inputs(&self, node: usize) -> Vec<Option<&Tensor>> {
        let p = self.program;
        p.nodes[node]
            .inputs
            .iter()
            .map(|i| i.and_then(|v| self.values[v].as_ref().or(p.constant(v))))
            .collect()
    }

    /// Starts node `node`: a vector-unit node is computed at once; a GEMM node's operands are
    /// prepared and its tile jobs await [`Interpreter::compute_tile`].
    pub fn begin(&mut self, node: usize) -> Result<()> {
        let p = self.program;
        let n = &p.nodes[node];
        let out = n.outputs[0];
        match &p.kernels[node] {
            Kernel::Vector(v) => {
                if let Some(t) = self.take_identity_input(node) {
                    self.values[out] = Some(t);
                    return Ok(());
                }
                if let Some(t) = self.binary_in_place(node, &v.op) {
                    self.values[out] = Some(t);
                    return Ok(());
                }
                let ts = vector::eval(&v.op, &self.inputs(node)).map_err(in_node(n))?;
                if ts.len() < n.outputs.len() {
                    return Err(in_node(n)(Error::Shape(format!(
                        "{} outputs computed for {}",
                        ts.len(),
                        n.outputs.len()
                    ))));
                }
                for (&o, t) in n.outputs.iter().zip(ts) {
                    self.values[o] = Some(t);
                }
            }
            Kernel::Gemm(k) => {
                let run = GemmRun::new(
                    k,
                    &self.inputs(node),
                    &self.constants(node),
                    p.dtype(out),
                    p.shape(out),
                )
                .map_err(in_node(n))?;
                self.current = Some((node, run));
            }
        }
        Ok(())
    }

    /// Computes tile job `tile` of the current GEMM node on the array datapath.
    pub fn compute_tile(&self, tile: usize, fault: Option<Fault>) -> TileValues {
        let (_, run) = self.current.as_ref().expect("a GEMM node was begun");
        run.compute_tile(&self.spec, tile, fault)
    }

    /// Computes GEMM node `node` whole and ends it: the bits of computing and accepting each
    /// tile job in turn, without fault injection and without keeping tile values.
    fn run_gemm_whole(&mut self, node: usize, k: &GemmKernel) -> Result<()> {
        if subpixel::applies(k) {
            let p = self.program;
            let n = &p.nodes[node];
            let out = n.outputs[0];
            let (ins, consts) = (self.inputs(node), self.constants(node));
            let t = subpixel::run(k, &ins, &consts, &self.spec, p.dtype(out), p.shape(out))
                .map_err(in_node(n))?;
            if let Some(t) = t {
                self.values[out] = Some(t);
                return Ok(());
            }
        }
        if !conv::applies(k) {
            self.begin(node)?;
            let (_, run) = self.current.as_mut().expect("a GEMM node was begun");
            run.compute_all(&self.spec);
            return self.end(node);
        }
        let p = self.program;
        let n = &p.nodes[node];
        let out = n.outputs[0];
        let whole = if depthwise::applies(k) {
            depthwise::run
        } else {
            conv::run
        };
        let (t, overflow) = whole(
            k,
            &self.inputs(node),
            &self.constants(node),
            &self.spec,
            p.dtype(out),
            p.shape(out),
        )
        .map_err(in_node(n))?;
        if overflow {
            self.overflowed.push(n.name.clone());
        }
        self.values[out] = Some(t);
        Ok(())
    }

    /// Adds a computed tile into the current node's accumulators.
    pub fn accept_tile(&mut self, tile: usize, values: &TileValues, fault: Option<Fault>) {
        let (_, run) = self.current.as_mut().expect("a GEMM node was begun");
        run.accumulate(tile, values, fault);
    }

    /// Finishes node `node` (the output unit of a GEMM node; nothing for a vector node).
    pub fn end(&mut self, node: usize) -> Result<()> {
        if let Some((current, run)) = self.current.take() {
            debug_assert_eq!(current, node);
            let n = &self.program.nodes[node];
            let (t, overflow) = run.finish().map_err(in_node(n))?;
            if overflow {
                self.overflowed.push(n.name.clone());
            }
            self.values[n.outputs[0]] = Some(t);
        }
        Ok(())
    }

    /// The input of a node that changes nothing (a reshape to the input's own shape, a Cast
    /// to its own type), moved out when this node is its last reader in a functional run: the
    /// value the node would copy.
    fn take_identity_input(&mut self, node: usize) -> Option<Tensor> {
        let p = self.program;
        let n = &p.nodes[node];
        let input = (*n.inputs.first()?)?;
        let last = self.last_use.as_ref()?;
        let value = self.values[input].as_ref()?;
        let identity = match &p.kernels[node] {
            Kernel::Vector(v) => match &v.op {
                VectorOp::Reshape { shape } => shape == value.shape(),
                VectorOp::Cast { to } => value.dtype() == *to,
                _ => false,
            },
            Kernel::Gemm(_) => false,
        };
        if !identity || n.outputs.len() != 1 || last[input] != node || p.outputs.contains(&input) {
            return None;
        }
        self.values[input].take()
    }

    /// An Add, Sub, Mul or Div computed into one operand's buffer, when that operand is an
    /// f32 value this node reads last (not a graph output, not its other operand too) and has
    /// the output's shape, in a functional run: no fresh tensor is allocated and written.
    /// The bits are those of computing it anew ([`vector::binary_in_place`]).
    fn binary_in_place(&mut self, node: usize, op: &VectorOp) -> Option<Tensor> {
        if !matches!(
            op,
            VectorOp::Add | VectorOp::Sub | VectorOp::Mul | VectorOp::Div
        ) {
            return None;
        }
        let p = self.program;
        let n = &p.nodes[node];
        let last = self.last_use.as_ref()?;
        let [Some(x), Some(y)] = n.inputs[..] else {
            return None;
        };
        if x == y || n.outputs.len() != 1 {
            return None;
        }
        let shape = p.shape(n.outputs[0]);
        for (own, other, own_first) in [(x, y, true), (y, x, false)] {
            let fits = self.values[own]
                .as_ref()
                .is_some_and(|t| t.dtype() == DType::F32 && t.shape() == shape);
            if !fits || last[own] != node || p.outputs.contains(&own) {
                continue;
            }
            let mine = self.values[own].take()?;
            let Some(theirs) = self.values[other].as_ref().or(p.constant(other)) else {
                self.values[own] = Some(mine);
                return None;
            };
            match vector::binary_in_place(op, mine, theirs, own_first) {
                Ok(t) => return Some(t),
                Err(mine) => self.values[own] = Some(mine),
            }
        }
        None
    }

    /// Drops the values no node from `node` on reads (node `node` has ended): the graph
    /// outputs and the values later nodes read are kept. Frees an inference's intermediate
    /// tensors as it goes, so their memory is reused instead of held to the end.
    fn release_after(&mut self, node: usize) {
        let p = self.program;
        let Some(last_use) = &self.last_use else {
            return;
        };
        for &v in p.nodes[node].inputs.iter().flatten() {
            if last_use[v] == node && !p.outputs.contains(&v) {
                self.values[v] = None;
            }
        }
    }

    /// The (first) output of node `node`, once it has ended.
    pub fn node_output(&self, node: usize) -> Option<&Tensor> {
        let out = self.program.nodes.get(node)?.outputs[0];
        self.values[out].as_ref()
    }

    /// The graph outputs, once every node has ended.
    pub fn finish(self) -> Result<Execution> {
        let p = self.program;
        let outputs = p
            .outputs
            .iter()
            .map(|&o| {
                self.values[o]
                    .clone()
                    .or_else(|| p.constant(o).cloned())
                    .ok_or_else(|| {
                        Error::Shape(format!("output '{}' was not computed", p.values[o].name))
                    })
            })
            .collect::<Result<_>>()?;
        Ok(Execution {
            outputs,
            overflowed: self.overflowed,
        })
    }
}

/// Everything an isolated run computed: the reference a preempted, interleaved or fused run
/// of the same request must reproduce bit for bit.
#[derive(Debug, Clone)]
pub struct Recording {
    /// The graph outputs.
    pub outputs: Vec<Tensor>,
    /// Each node's output.
    pub nodes: Vec<Tensor>,
    /// Each GEMM node's tile values, by tile index (empty for vector nodes).
    pub tiles: Vec<Vec<TileValues>>,
}

fn run(
    program: &Program,
    inputs: &[Tensor],
    cfg: &AcceleratorConfig,
    record: bool,
) -> Result<(Execution, Option<Recording>)> {
    let mut it = Interpreter::new(program, inputs, cfg)?;
    let (mut nodes, mut tiles) = (Vec::new(), Vec::new());
    // The last node reading each value.
    let mut last_use = vec![0usize; program.values.len()];
    for (i, n) in program.nodes.iter().enumerate() {
        for &v in n.inputs.iter().flatten() {
            last_use[v] = i;
        }
    }
    if !record {
        it.last_use = Some(last_use);
    }
    for (i, kernel) in program.kernels.iter().enumerate() {
        if let (Kernel::Gemm(k), false) = (kernel, record) {
            it.run_gemm_whole(i, k)?;
            it.release_after(i);
            continue;
        }
        it.begin(i)?;
        let mut values = Vec::new();
        if let Kernel::Gemm(k) = kernel {
            values = (0..k.tiles.len())
                .into_par_iter()
                .map(|t| it.compute_tile(t, None))
                .collect();
            for (t, v) in values.iter().enumerate() {
                it.accept_tile(t, v, None);
            }
        }
        it.end(i)?;
        it.release_after(i);
        if record {
            nodes.push(
                it.node_output(i)
                    .cloned()
                    .ok_or_else(|| Error::Shape("node output missing".into()))?,
            );
            tiles.push(values);
        }
    }
    let exec = it.finish()?;
    let recording = record.then(|| Recording {
        outputs: exec.outputs.clone(),
        nodes,
        tiles,
    });
    Ok((exec, recording))
}

/// Runs `program` on `inputs` (one tensor per graph input, in order), every tile job of a
/// node in parallel.
pub fn execute(program: &Program, inputs: &[Tensor], cfg: &AcceleratorConfig) -> Result<Execution> {
    // On a thread of the pool: its parallel sections then start from a worker, and the
    // caller's thread waits asleep instead of competing with the workers for cores.
    rayon::scope(|_| Ok(run(program, inputs, cfg, false)?.0))
}

/// Runs `program` alone and records every node output and tile value.
pub fn record(program: &Program, inputs: &[Tensor], cfg: &AcceleratorConfig) -> Result<Recording> {
    let (_, rec) = run(program, inputs, cfg, true)?;
    rec.ok_or_else(|| Error::Invalid("recording was not kept".into()))
}
