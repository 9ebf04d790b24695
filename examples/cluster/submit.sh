#!/bin/bash
# Queues the sharded sweep as a job array and the merge after it (run from the repository
# root, on the cluster's login node). Arguments are passed to both sbatch calls' job scripts
# through the environment, e.g. `WORKLOAD=workloads/vision.toml examples/cluster/submit.sh`.
set -euo pipefail
here=$(dirname "$0")
mkdir -p parts "${PARTS:-parts}"  # parts/: the jobs' logs
sweep=$(sbatch --parsable "$here/sweep.slurm")
sbatch --dependency="afterok:${sweep%%;*}" "$here/merge.slurm"
