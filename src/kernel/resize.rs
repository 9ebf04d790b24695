//! The resolved geometry of a Resize: per resampled axis, its lengths, scale and region of
//! interest, and the input coordinate of every output coordinate.

/// How Resize picks or blends input pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResizeMode {
    /// The nearest input pixel, rounded by the nearest mode.
    Nearest(NearestMode),
    /// (Multi-)linear interpolation.
    Linear,
}

/// How Resize's nearest mode rounds a source coordinate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NearestMode {
    /// Round half down.
    RoundPreferFloor,
    /// Round half up.
    RoundPreferCeil,
    /// Floor.
    Floor,
    /// Ceil.
    Ceil,
}

/// How Resize maps an output coordinate to an input coordinate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CoordinateTransform {
    /// `(x + 0.5) / scale − 0.5`.
    HalfPixel,
    /// Half pixel, centred on the output canvas when the output size was rounded.
    HalfPixelSymmetric,
    /// Half pixel, but `−0.5` for an output of length 1.
    PytorchHalfPixel,
    /// `x · (in − 1) / (out − 1)`.
    AlignCorners,
    /// `x / scale`.
    Asymmetric,
    /// The roi's window of the input, corners aligned; outside the input gives
    /// `extrapolation_value`.
    TfCropAndResize,
}

/// One resized axis.
#[derive(Debug, Clone, PartialEq)]
pub struct AxisPlan {
    /// The axis.
    pub axis: usize,
    /// Input length.
    pub input: usize,
    /// Output length.
    pub output: usize,
    /// The scale (output / input as given or derived).
    pub scale: f64,
    /// The region of interest (tf_crop_and_resize), as fractions of the input.
    pub roi: (f64, f64),
}

/// The resolved geometry of a Resize: every axis whose size or sampling changes.
#[derive(Debug, Clone, PartialEq)]
pub struct ResizePlan {
    /// Output shape.
    pub shape: Vec<usize>,
    /// The axes to resample, ascending.
    pub axes: Vec<AxisPlan>,
}

impl AxisPlan {
    /// The input coordinate of output coordinate `y`; `None` outside the input when cropping
    /// (tf_crop_and_resize: the output takes the extrapolation value there).
    pub fn source(&self, t: CoordinateTransform, y: usize) -> Option<f64> {
        let (y, inw, outi) = (y as f64, self.input as f64, self.output as f64);
        let outw = self.scale * inw;
        let x = match t {
            CoordinateTransform::AlignCorners if outw == 1.0 => 0.0,
            CoordinateTransform::AlignCorners => y * (inw - 1.0) / (outw - 1.0),
            CoordinateTransform::Asymmetric => y / self.scale,
            CoordinateTransform::PytorchHalfPixel if outw == 1.0 => -0.5,
            CoordinateTransform::PytorchHalfPixel | CoordinateTransform::HalfPixel => {
                (y + 0.5) / self.scale - 0.5
            }
            CoordinateTransform::HalfPixelSymmetric => {
                let offset = inw / 2.0 * (1.0 - outi / outw);
                offset + (y + 0.5) / self.scale - 0.5
            }
            CoordinateTransform::TfCropAndResize => {
                let (r0, r1) = self.roi;
                let x = if outw == 1.0 {
                    (r1 - r0) * (inw - 1.0) / 2.0
                } else {
                    y * (r1 - r0) * (inw - 1.0) / (outw - 1.0)
                } + r0 * (inw - 1.0);
                if x < 0.0 || x > inw - 1.0 {
                    return None;
                }
                x
            }
        };
        Some(x)
    }
}
