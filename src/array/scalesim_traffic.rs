//! SCALE-Sim v3's per-layer memory traffic of one GEMM on one array: SRAM reads and writes
//! of the three operands, DRAM reads of ifmap and filter and DRAM writes of ofmap.
//!
//! This reproduces `scalesim==3.0.0` run on a GEMM topology (`M, N, K` rows: ifmap `A` is
//! `M×K`, filter `B` is `K×N`, ofmap `C` is `M×N`, every element its own address) with
//! `InterfaceBandwidth: CALC`, the mode in which memory never stalls reads (its
//! `memory/read_buffer_estimate_bw.py`). Its double-buffered scratchpads take whole KiB and
//! count one byte per element (`single_layer_sim.py` fixes `word_size = 1` and an active
//! fraction of one half), so the counts are in elements and do not depend on the operand
//! width. The rules, each with the SCALE-Sim source it follows:
//!
//! * **SRAM reads and writes** are the operand demands of `compute/systolic_compute_*.py`
//!   (folds taken column fold outer, row fold inner):
//!   - WS: ifmap `⌈N/C⌉·M·K`, filter `K·N`, ofmap `⌈K/R⌉·M·N` (partial sums written once per
//!     K fold);
//!   - OS: ifmap `⌈N/C⌉·M·K`, filter `⌈M/R⌉·K·N`, ofmap `M·N + ⌈M/R⌉·⌈N/C⌉·(R + C)` (SCALE-Sim
//!     adds the fold's height plus width to its ofmap count once per fold);
//!   - IS: ifmap `M·K`, filter `⌈M/C⌉·K·N`, ofmap `⌈K/R⌉·M·N`.
//! * **DRAM reads** (ifmap and filter alike, `ReadBufferEstimateBw`): the buffer of
//!   `E = 1024·KiB` elements groups the addresses it has not seen into sets of
//!   `S = ⌊E/100⌋` and keeps a window of 50 sets. An address read from the SRAM is fetched
//!   from DRAM unless it was fetched since the window last moved; once `W = 50·S` addresses
//!   have been fetched the window moves past all of them, forgetting them at once (not
//!   LRU). In demand order, the ifmap of WS and OS is all of `A` once per column fold (`⌈N/C⌉`
//!   identical passes), the ifmap of IS `A` once; the filter of WS is `B` once, of IS all of
//!   `B` once per column fold (`⌈M/C⌉` passes), of OS each column fold's `K×c` slice `⌈M/R⌉`
//!   times in a row. A block of `L` distinct addresses repeated `r` times is fetched `L·r`
//!   times when `L ≥ W` (no address survives a pass), else `L` times plus, when the window
//!   moves during the first pass and `r ≥ 2`, once more for each address fetched before it
//!   moved ([`FetchWindow::block`]). With `M·K < W` the ifmap is read from DRAM once.
//! * **DRAM writes** (`memory/write_buffer.py`): every ofmap demand element enters the
//!   buffer's current line of `C` elements (`C` = the array width, CALC mode's ofmap
//!   bandwidth). After each element, unless a drain is still running, a buffer holding more
//!   than `D = E − ⌈E/2⌉` elements closes its current line even when partial and drains the
//!   next `⌈D/C⌉` lines from its line list, one line per cycle; a drain counts `C` per line
//!   except for the empty places of the chunk's last line, so a partial line drained inside a
//!   later chunk counts as full. While a drain runs, a full buffer stalls the array until the
//!   drain ends; a drain lasts `⌈D/C⌉` cycles and the array writes at most `C` elements a
//!   cycle, so this needs an array wider than half the buffer (`C > E/2`: never with 1 KiB or
//!   more and up to 512 columns). At the end everything left drains. The write count is
//!   therefore `M·N` (per K fold for WS and IS) plus the padding of partial lines drained
//!   mid-chunk, which depends on the cycle of each demand; [`WriteBuffer`] replays it row by
//!   row of SCALE-Sim's ofmap demand matrix (per fold, `2R − 1` idle cycles then the skewed
//!   `M×C` block for WS, `N×C` for IS; `K − 1` idle cycles then the skewed, row-flipped `R×C`
//!   block for OS), in time linear in SCALE-Sim's cycles: milliseconds for a ResNet-50 layer.
//!
//! The counts depend on the dataflow, `R`, `C` and the three SRAM sizes only; not on the
//! address offsets, `Bandwidth`, the request buffers or the layout and bank settings, which
//! CALC mode does not use. (`InterfaceBandwidth: USER` uses another read buffer and sizes
//! ofmap lines by the user's bandwidth: not reproduced.)

use crate::config::{AcceleratorConfig, Dataflow};
use crate::kernel::GemmShape;
use std::collections::VecDeque;

/// The three scratchpad sizes SCALE-Sim takes, in KiB (one element per byte).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScalesimSram {
    /// `IfmapSramSzkB`.
    pub ifmap_kib: u64,
    /// `FilterSramSzkB`.
    pub filter_kib: u64,
    /// `OfmapSramSzkB`.
    pub ofmap_kib: u64,
}

impl ScalesimSram {
    /// The accelerator's per-array scratchpad as SCALE-Sim's three buffers: its
    /// `sram_split_kib` (`[inputs, weights, outputs]`) when given, else `sram_kib_per_array`
    /// split in thirds, rounded down. A size below 1 KiB is taken as 1 KiB (SCALE-Sim fails on
    /// an empty buffer).
    pub fn from_config(cfg: &AcceleratorConfig) -> ScalesimSram {
        let [i, f, o] = cfg
            .sram_split_kib
            .unwrap_or([cfg.sram_kib_per_array / 3; 3]);
        ScalesimSram {
            ifmap_kib: i.max(1),
            filter_kib: f.max(1),
            ofmap_kib: o.max(1),
        }
    }

    /// Elements a buffer of `kib` KiB holds (1024 per KiB, at least 1024).
    fn elements(kib: u64) -> u64 {
        kib.max(1).saturating_mul(1024)
    }
}

/// One GEMM layer's memory traffic as SCALE-Sim v3 counts it, in elements (words); see the
/// module documentation for the rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ScalesimTraffic {
    /// Ifmap (`A`) elements the array reads from the SRAM ("SRAM IFMAP Reads").
    pub sram_ifmap_reads: u64,
    /// Filter (`B`) elements the array reads from the SRAM ("SRAM Filter Reads").
    pub sram_filter_reads: u64,
    /// Ofmap (`C`) writes to the SRAM, partial sums included ("SRAM OFMAP Writes").
    pub sram_ofmap_writes: u64,
    /// Ifmap elements fetched from DRAM ("DRAM IFMAP Reads").
    pub dram_ifmap_reads: u64,
    /// Filter elements fetched from DRAM ("DRAM Filter Reads").
    pub dram_filter_reads: u64,
    /// Ofmap elements written to DRAM, drained line padding included ("DRAM OFMAP Writes").
    pub dram_ofmap_writes: u64,
    /// Cycles the array waits for the ofmap buffer to drain ("Stall Cycles").
    pub stall_cycles: u64,
}

/// SCALE-Sim v3's memory traffic of the GEMM `shape` on one `rows×cols` array with the
/// given dataflow and scratchpads (see the module documentation). A shape with no work
/// (`m`, `k` or `n` zero) moves nothing.
///
/// # Panics
/// If `rows` or `cols` is zero.
pub fn scalesim_traffic(
    shape: GemmShape,
    dataflow: Dataflow,
    rows: usize,
    cols: usize,
    sram: ScalesimSram,
) -> ScalesimTraffic {
    assert!(rows >= 1 && cols >= 1, "array of {rows}×{cols} PEs");
    let (m, k, n) = (shape.m as u64, shape.k as u64, shape.n as u64);
    if m == 0 || k == 0 || n == 0 {
        return ScalesimTraffic::default();
    }
    let (r, c) = (rows as u64, cols as u64);
    let mk = m.saturating_mul(k);
    let kn = k.saturating_mul(n);
    let mn = m.saturating_mul(n);
    let mut ifmap = FetchWindow::new(sram.ifmap_kib);
    let mut filter = FetchWindow::new(sram.filter_kib);
    let mut ofmap = WriteBuffer::new(sram.ofmap_kib, c);
    let (sram_ifmap_reads, sram_filter_reads, sram_ofmap_writes) = match dataflow {
        Dataflow::Ws => {
            let (row_folds, col_folds) = (k.div_ceil(r), n.div_ceil(c));
            ifmap.block(mk, col_folds);
            filter.block(kn, 1);
            stream_stationary(&mut ofmap, r, c, m, n, row_folds);
            (
                mk.saturating_mul(col_folds),
                kn,
                mn.saturating_mul(row_folds),
            )
        }
        Dataflow::Is => {
            let (row_folds, col_folds) = (k.div_ceil(r), m.div_ceil(c));
            ifmap.block(mk, 1);
            filter.block(kn, col_folds);
            stream_stationary(&mut ofmap, r, c, n, m, row_folds);
            (
                mk,
                kn.saturating_mul(col_folds),
                mn.saturating_mul(row_folds),
            )
        }
        Dataflow::Os => {
            let (row_folds, col_folds) = (m.div_ceil(r), n.div_ceil(c));
            ifmap.block(mk, col_folds);
            for fc in 0..col_folds {
                filter.block(k.saturating_mul(c.min(n - fc * c)), row_folds);
            }
            output_stationary(&mut ofmap, r, c, m, n, k);
            let per_fold = row_folds.saturating_mul(col_folds).saturating_mul(r + c);
            (
                mk.saturating_mul(col_folds),
                kn.saturating_mul(row_folds),
                mn.saturating_add(per_fold),
            )
        }
    };
    let (dram_ofmap_writes, stall_cycles) = ofmap.finish();
    ScalesimTraffic {
        sram_ifmap_reads,
        sram_filter_reads,
        sram_ofmap_writes,
        dram_ifmap_reads: ifmap.fetched,
        dram_filter_reads: filter.fetched,
        dram_ofmap_writes,
        stall_cycles,
    }
}

/// [`scalesim_traffic`] on one array of `cfg` (its rows, columns and dataflow), with the
/// scratchpads of [`ScalesimSram::from_config`].
pub fn scalesim_traffic_for(cfg: &AcceleratorConfig, shape: GemmShape) -> ScalesimTraffic {
    scalesim_traffic(
        shape,
        cfg.dataflow,
        cfg.rows,
        cfg.cols,
        ScalesimSram::from_config(cfg),
    )
}

/// The ofmap demand of WS (and IS, with `t = n`, `width = m`): for each column fold of the
/// `width` outputs (outer) and each of `row_folds` K folds (inner), `2R − 1` idle cycles then
/// the skewed `t×c` block, `c` the fold's columns (`systolic_compute_ws.py`,
/// `create_ofmap_demand_mat`).
fn stream_stationary(buf: &mut WriteBuffer, r: u64, c: u64, t: u64, width: u64, row_folds: u64) {
    for fc in 0..width.div_ceil(c) {
        let valid = c.min(width - fc * c);
        for _ in 0..row_folds {
            buf.idle(2 * r - 1);
            buf.skewed_block(t, 0, c, valid);
        }
    }
}

/// The ofmap demand of OS: for each column fold (outer) and row fold (inner), `K − 1` idle
/// cycles then the skewed `R×C` block flipped upside down, its padding rows on top
/// (`systolic_compute_os.py`, `create_ofmap_demand_mat`).
fn output_stationary(buf: &mut WriteBuffer, r: u64, c: u64, m: u64, n: u64, k: u64) {
    for fc in 0..n.div_ceil(c) {
        let valid = c.min(n - fc * c);
        for fr in 0..m.div_ceil(r) {
            let padding = r - r.min(m - fr * r);
            buf.idle(k - 1);
            buf.skewed_block(r, padding, c, valid);
        }
    }
}

/// SCALE-Sim's read buffer in CALC mode, counting DRAM fetches: an address is fetched unless
/// it was fetched since the window last moved; the window moves after every `window`
/// fetches (`ReadBufferEstimateBw.manage_prefetches`).
#[derive(Debug)]
struct FetchWindow {
    /// `50·⌊E/100⌋`: the fetches after which the window moves (0: never).
    window: u64,
    /// Fetches since the window last moved.
    since_move: u64,
    /// Fetches so far.
    fetched: u64,
}

impl FetchWindow {
    fn new(kib: u64) -> FetchWindow {
        FetchWindow {
            window: 50 * (ScalesimSram::elements(kib) / 100),
            since_move: 0,
            fetched: 0,
        }
    }

    /// Reads a block of `len` addresses never read before, in the same order `repeats ≥ 1`
    /// times in a row.
    ///
    /// An address read again `len` reads after its last read is still in the window only if
    /// the window has not moved since it was fetched, and then the window holds it and the
    /// `len − 1` others read in between: so with `len ≥ W` every read is a fetch. Otherwise
    /// the first pass fetches all `len`; if the window moved during it (`since_move + len ≥
    /// W`), the `W − since_move` addresses fetched before the move are fetched again in the
    /// second pass, after which the window holds the whole block.
    fn block(&mut self, len: u64, repeats: u64) {
        let w = self.window;
        let fetches = if w == 0 {
            len
        } else if len >= w {
            let all = len.saturating_mul(repeats);
            self.since_move =
                ((u128::from(self.since_move) + u128::from(all)) % u128::from(w)) as u64;
            all
        } else if self.since_move + len < w {
            self.since_move += len;
            len
        } else if repeats == 1 {
            self.since_move = self.since_move + len - w;
            len
        } else {
            let again = w - self.since_move;
            self.since_move = len;
            len + again
        };
        self.fetched = self.fetched.saturating_add(fetches);
    }
}

/// SCALE-Sim's ofmap write buffer (`write_buffer.py`), replayed one demand row (one cycle)
/// at a time, counting the elements it writes to DRAM and the cycles it stalls the array.
#[derive(Debug)]
struct WriteBuffer {
    /// Its active part `⌈E/2⌉`: a drain starts once fewer places are free.
    active: i64,
    /// Elements per line (the array's columns).
    width: u64,
    /// Lines per drain, `⌈(E − ⌈E/2⌉)/width⌉`.
    lines_per_drain: u64,
    /// Free places as SCALE-Sim counts them (a drained partial line frees its padding too).
    free: i64,
    /// Elements in the line being filled.
    fill: u64,
    /// Lines closed so far.
    lines: u64,
    /// Lines drained so far.
    drained: u64,
    /// Closed partial lines not yet drained: (line index, elements).
    partial: VecDeque<(u64, u64)>,
    /// The cycle the last drain ends.
    drain_end: i64,
    /// The demand row (cycle of an unstalled array) the next row has.
    row: i64,
    /// Stall cycles so far.
    stalls: i64,
    /// Elements written to DRAM so far.
    writes: u64,
}

impl WriteBuffer {
    fn new(kib: u64, width: u64) -> WriteBuffer {
        let total = ScalesimSram::elements(kib);
        let active = total.div_ceil(2);
        let to_i64 = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        WriteBuffer {
            active: to_i64(active),
            width,
            lines_per_drain: (total - active).div_ceil(width),
            free: to_i64(total),
            fill: 0,
            lines: 0,
            drained: 0,
            partial: VecDeque::new(),
            drain_end: 0,
            row: 0,
            stalls: 0,
            writes: 0,
        }
    }

    /// `rows` demand rows without an ofmap write.
    fn idle(&mut self, rows: u64) {
        self.row = self
            .row
            .saturating_add(i64::try_from(rows).unwrap_or(i64::MAX));
    }

    /// The rows of a `height×width`-place block skewed by one row per column (column `j`
    /// delayed by `j` rows, `height + width − 1` rows), whose rows `< skip` and columns
    /// `≥ valid` are empty.
    fn skewed_block(&mut self, height: u64, skip: u64, width: u64, valid: u64) {
        for t in 0..height + width - 1 {
            // Columns j < valid with skip ≤ t − j ≤ height − 1.
            let lo = (t + 1).saturating_sub(height);
            let count = match t.checked_sub(skip) {
                Some(hi) if hi.min(valid - 1) >= lo => hi.min(valid - 1) - lo + 1,
                _ => 0,
            };
            self.demand_row(count);
        }
    }

    /// One demand row writing `count` elements (`write_buffer.service_writes` on one line).
    fn demand_row(&mut self, count: u64) {
        let mut cycle = self.row + self.stalls;
        let start = cycle;
        self.row += 1;
        if count == 0 {
            return;
        }
        let n = i64::try_from(count).unwrap_or(i64::MAX);
        let quiet = if cycle < self.drain_end {
            self.free - n > 0
        } else {
            self.free - n >= self.active
        };
        if quiet {
            self.store(count);
            return;
        }
        for _ in 0..count {
            self.store(1);
            if cycle < self.drain_end {
                if self.free <= 0 {
                    cycle = self.drain_end;
                }
            } else if self.free < self.active {
                self.close_line();
                self.drain(cycle);
            }
        }
        self.stalls += cycle - start;
    }

    /// Puts `count` elements into lines.
    fn store(&mut self, count: u64) {
        self.free -= i64::try_from(count).unwrap_or(i64::MAX);
        self.fill += count;
        self.lines += self.fill / self.width;
        self.fill %= self.width;
    }

    /// Closes the line being filled, if it holds anything.
    fn close_line(&mut self) {
        if self.fill > 0 {
            self.partial.push_back((self.lines, self.fill));
            self.lines += 1;
            self.fill = 0;
        }
    }

    /// Drains the next lines starting at `cycle` (`write_buffer.empty_drain_buf`).
    fn drain(&mut self, cycle: i64) {
        let end = (self.drained + self.lines_per_drain).min(self.lines);
        let count = end - self.drained;
        if count == 0 {
            return;
        }
        let mut written = count * self.width;
        while let Some(&(line, fill)) = self.partial.front() {
            if line >= end {
                break;
            }
            if line == end - 1 {
                written -= self.width - fill;
            }
            self.partial.pop_front();
        }
        self.writes = self.writes.saturating_add(written);
        self.free += i64::try_from(written).unwrap_or(i64::MAX);
        self.drain_end = cycle + i64::try_from(count).unwrap_or(i64::MAX) - 1;
        self.drained = end;
    }

    /// Drains everything left (`write_buffer.empty_all_buffers`); returns the DRAM writes and
    /// the stall cycles.
    fn finish(mut self) -> (u64, u64) {
        self.close_line();
        while self.drained < self.lines {
            self.drain(self.drain_end + 1);
        }
        (self.writes, u64::try_from(self.stalls).unwrap_or(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sram(i: u64, f: u64, o: u64) -> ScalesimSram {
        ScalesimSram {
            ifmap_kib: i,
            filter_kib: f,
            ofmap_kib: o,
        }
    }

    fn gemm(m: usize, k: usize, n: usize) -> GemmShape {
        GemmShape { m, k, n }
    }

    #[test]
    fn fetch_window_forgets_a_whole_window_at_once() {
        // 1 KiB: sets of ⌊1024/100⌋ = 10 addresses, window 50 sets = 500 fetches.
        let mut w = FetchWindow::new(1);
        assert_eq!(w.window, 500);
        // 300 addresses twice: all stay in the window, fetched once.
        w.block(300, 2);
        assert_eq!((w.fetched, w.since_move), (300, 300));
        // 300 more, three times: the window moves after 200 of them, which are fetched again
        // in the second pass; then all 300 are held.
        w.block(300, 3);
        assert_eq!((w.fetched, w.since_move), (300 + 300 + 200, 300));
        // A block as large as the window never hits.
        w.block(500, 4);
        assert_eq!((w.fetched, w.since_move), (800 + 2000, 300));
    }

    #[test]
    fn sram_counts_follow_the_fold_counts() {
        // M=100, K=50, N=40 on 8×8: ⌈K/8⌉ = 7, ⌈N/8⌉ = 5, ⌈M/8⌉ = 13.
        let big = sram(1024, 1024, 1024);
        let ws = scalesim_traffic(gemm(100, 50, 40), Dataflow::Ws, 8, 8, big);
        assert_eq!(
            (
                ws.sram_ifmap_reads,
                ws.sram_filter_reads,
                ws.sram_ofmap_writes
            ),
            (5 * 5000, 2000, 7 * 4000)
        );
        let os = scalesim_traffic(gemm(100, 50, 40), Dataflow::Os, 8, 8, big);
        assert_eq!(
            (
                os.sram_ifmap_reads,
                os.sram_filter_reads,
                os.sram_ofmap_writes
            ),
            (5 * 5000, 13 * 2000, 4000 + 13 * 5 * 16)
        );
        let is = scalesim_traffic(gemm(100, 50, 40), Dataflow::Is, 8, 8, big);
        assert_eq!(
            (
                is.sram_ifmap_reads,
                is.sram_filter_reads,
                is.sram_ofmap_writes
            ),
            (5000, 13 * 2000, 7 * 4000)
        );
    }

    #[test]
    fn ifmap_is_fetched_once_when_it_fits_else_per_column_fold() {
        // 1 KiB ifmap buffer: window 500. M·K = 400 fits, 5000 does not.
        let fits = scalesim_traffic(gemm(20, 20, 40), Dataflow::Ws, 8, 8, sram(1, 1, 64));
        assert_eq!(fits.dram_ifmap_reads, 400);
        let spills = scalesim_traffic(gemm(100, 50, 40), Dataflow::Ws, 8, 8, sram(1, 1, 64));
        assert_eq!(spills.dram_ifmap_reads, 5 * 5000);
        assert_eq!(spills.dram_filter_reads, 2000);
    }

    #[test]
    fn a_large_ofmap_buffer_writes_each_output_once_per_k_fold_without_stalls() {
        // 4×4 array, M=4, K=8, N=4: two K folds of 16 outputs; 64 KiB never fills, the final
        // drain writes 8 full lines of 4.
        let t = scalesim_traffic(gemm(4, 8, 4), Dataflow::Ws, 4, 4, sram(64, 64, 64));
        assert_eq!((t.dram_ofmap_writes, t.stall_cycles), (32, 0));
    }

    #[test]
    fn partial_lines_drained_inside_a_chunk_count_as_full() {
        // A buffer of 8 elements, lines of 3: drains start above 4 held, 2 lines each.
        let mut b = WriteBuffer::new(1, 3);
        (b.active, b.lines_per_drain, b.free) = (4, 2, 8);
        // Rows of 2, 3 elements: after the 5th element the buffer holds 5 > 4: the partial
        // line [2 elements] closes and drains with the full line before it: 3 + 2 = 5.
        b.demand_row(2);
        b.demand_row(3);
        assert_eq!((b.writes, b.lines, b.drained), (5, 2, 2));
        // The drain ends at cycle 1 + 2 − 1 = 2. The row at cycle 2 stores 3 (5 places stay
        // free); at cycle 3 the 5th held element again closes a partial line of 2 and drains
        // it with the full line before it.
        b.demand_row(3);
        b.demand_row(2);
        assert_eq!((b.writes, b.lines, b.drained), (10, 4, 4));
        // Three partial lines left undrained, then drained 2 per chunk: the first chunk's
        // first line is partial but counts as full.
        b.partial.extend([(4, 1), (5, 1), (6, 1)]);
        b.lines = 7;
        let (writes, stalls) = b.finish();
        assert_eq!((writes, stalls), (10 + 3 + 1 + 1, 0));
    }

    #[test]
    fn a_full_buffer_stalls_until_the_running_drain_ends() {
        // A buffer of 8 elements, lines of 1: drains of 4 lines (4 cycles) start above 4 held.
        let mut b = WriteBuffer::new(1, 1);
        (b.active, b.lines_per_drain, b.free) = (4, 4, 8);
        // Cycle 0, 5 elements: the 5th starts a drain of 4, running until cycle 3.
        b.demand_row(5);
        assert_eq!((b.writes, b.drain_end), (4, 3));
        // Cycle 1, 8 elements: 7 fill the buffer (free 7 → 0) and the array waits until
        // cycle 3, where the 8th starts the next drain (until cycle 6): 2 stall cycles.
        b.demand_row(8);
        assert_eq!((b.writes, b.drain_end, b.stalls), (8, 6, 2));
        // The next row's cycle is 2 + 2 = 4; the final drain writes the 5 lines left.
        assert_eq!(b.row + b.stalls, 4);
        assert_eq!(b.finish(), (13, 2));
    }

    #[test]
    fn from_config_splits_thirds_without_a_split() {
        let mut cfg = AcceleratorConfig::preset("tiny").expect("preset");
        cfg.sram_split_kib = None;
        cfg.sram_kib_per_array = 96;
        assert_eq!(ScalesimSram::from_config(&cfg), sram(32, 32, 32));
        cfg.sram_split_kib = Some([16, 64, 16]);
        assert_eq!(ScalesimSram::from_config(&cfg), sram(16, 64, 16));
    }
}
