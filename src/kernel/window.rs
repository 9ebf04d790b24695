//! Resolved geometry of sliding windows (convolution, pooling) and of slices.

/// The resolved geometry of one sliding-window op over `spatial` input dims.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    /// Kernel size per spatial dim.
    pub kernel: Vec<usize>,
    /// Stride per spatial dim.
    pub strides: Vec<usize>,
    /// Dilation per spatial dim.
    pub dilations: Vec<usize>,
    /// Padding before each spatial dim.
    pub pad_begin: Vec<usize>,
    /// Padding after each spatial dim (as declared; ceil mode may read past it).
    pub pad_end: Vec<usize>,
    /// Input size per spatial dim.
    pub input: Vec<usize>,
    /// Output size per spatial dim.
    pub output: Vec<usize>,
}

impl Window {
    /// Number of output positions.
    pub fn output_size(&self) -> usize {
        self.output.iter().product()
    }

    /// Number of taps of the kernel.
    pub fn kernel_size(&self) -> usize {
        self.kernel.iter().product()
    }
}

/// One resolved axis of a Slice: `start` to `end` (exclusive) by `step`, clamped per ONNX.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SliceAxis {
    /// The axis.
    pub axis: usize,
    /// First index.
    pub start: isize,
    /// End (exclusive; may be -1 for negative steps).
    pub end: isize,
    /// Step (non-zero).
    pub step: isize,
}

impl SliceAxis {
    /// Elements selected along the axis.
    pub fn len(&self) -> usize {
        // In i128: a step of ±2^63 or a start and end at opposite extremes stay exact.
        let (start, end, step) = (self.start as i128, self.end as i128, self.step as i128);
        let n = if step > 0 {
            (end - start + step - 1) / step
        } else {
            (start - end - step - 1) / -step
        };
        usize::try_from(n.max(0)).unwrap_or(usize::MAX)
    }

    /// True when nothing is selected.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
