//! Functional mode's value checks: every tile, node output and graph output a request
//! computes while interleaved with others is compared with its tenant's isolated run.

use super::{Mismatch, SimOutcome, TenantModel};
use crate::error::Result;
use crate::exec::{Fault, Interpreter, TileValues};
use crate::units::RequestId;
use rayon::prelude::*;

/// Computes and checks the tiles `finished` (in completion order, each with the fault
/// injected into it) of node `node` of `request` of `tenant`, then the node's output, noting
/// every difference in `out`; empties `finished`.
pub(super) fn layer(
    it: &mut Interpreter,
    tenant: &TenantModel,
    request: RequestId,
    node: usize,
    finished: &mut Vec<(usize, Option<Fault>)>,
    out: &mut SimOutcome,
) -> Result<()> {
    let reference = tenant.reference.as_ref().expect("checked at start");
    let mismatch = |tile: Option<usize>, what: &str| Mismatch {
        tenant: tenant.id,
        request,
        layer: tenant.program.nodes[node].name.clone(),
        tile,
        what: what.into(),
    };
    // The layer's tiles read only its inputs: computed at once, on the rayon threads (the
    // accelerator's arrays working in parallel), then checked and accepted in completion
    // order.
    let values: Vec<TileValues> = finished
        .par_iter()
        .map(|&(tile, fault)| it.compute_tile(tile, fault))
        .collect();
    for (&(tile, fault), v) in finished.iter().zip(values) {
        if !v.bit_identical(&reference.tiles[node][tile]) {
            out.mismatches.push(mismatch(
                Some(tile),
                "tile values differ from the isolated run",
            ));
        }
        it.accept_tile(tile, &v, fault);
    }
    finished.clear();
    it.end(node)?;
    if !it
        .node_output(node)
        .is_some_and(|t| t.bit_identical(&reference.nodes[node]))
    {
        out.mismatches
            .push(mismatch(None, "node output differs from the isolated run"));
    }
    Ok(())
}

/// Finishes `request` of `tenant` and checks its graph outputs, counting it checked in `out`.
pub(super) fn outputs(
    it: Interpreter,
    tenant: &TenantModel,
    request: RequestId,
    out: &mut SimOutcome,
) -> Result<()> {
    let outputs = it.finish()?.outputs;
    out.checked += 1;
    if outputs != tenant.reference.as_ref().expect("checked at start").outputs {
        out.mismatches.push(Mismatch {
            tenant: tenant.id,
            request,
            layer: "graph outputs".into(),
            tile: None,
            what: "outputs differ from the isolated run".into(),
        });
    }
    Ok(())
}
