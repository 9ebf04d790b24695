//! Which graph rewrites the lowering runs: each can be switched off alone (in an accelerator
//! TOML's `[rewrites]` table, or with `--rewrites`), so that what it changes, in cycles and in
//! values, can be seen against the graph as written.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// One rewrite of the lowering's graph optimisation (`ir::rewrite::optimize`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rewrite {
    /// `Conv → BatchNormalization` folded into the Conv's weights and bias. Changes the
    /// rounding of every output of the pair.
    FoldBatchnorm,
    /// `DQ → Conv/MatMul/Gemm [→ Relu] → Q` run as one integer kernel (QLinearConv,
    /// QLinearMatMul): what puts a QDQ model on the int8 datapath. Changes values.
    AbsorbQdq,
    /// `DQ → data movement → Q` of one scale runs the movement on the codes. Bit-identical.
    QdqMovement,
    /// Casts to the type a value already has, and Identities, removed. Bit-identical.
    DropNoOps,
    /// Transposes moved past element-wise ops and Pads until they merge with another
    /// Transpose or cancel it. Bit-identical.
    CancelTransposes,
    /// A zero-fill Pad of the spatial dims before a float Conv becomes the Conv's padding.
    /// Bit-identical.
    FoldPad,
    /// A ReLU after a float Conv, ConvTranspose, Gemm or MatMul runs in the arrays' output
    /// unit. Bit-identical. Off by default: it changes the programs, and so the cycles, of
    /// the zoo's networks that the committed evaluation rests on.
    FuseRelu,
}

impl Rewrite {
    /// Every rewrite, in the order the lowering runs them.
    pub const ALL: [Rewrite; 7] = [
        Rewrite::FoldBatchnorm,
        Rewrite::AbsorbQdq,
        Rewrite::QdqMovement,
        Rewrite::DropNoOps,
        Rewrite::CancelTransposes,
        Rewrite::FoldPad,
        Rewrite::FuseRelu,
    ];

    /// The name in TOML and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Rewrite::FoldBatchnorm => "fold_batchnorm",
            Rewrite::AbsorbQdq => "absorb_qdq",
            Rewrite::QdqMovement => "qdq_movement",
            Rewrite::DropNoOps => "drop_no_ops",
            Rewrite::CancelTransposes => "cancel_transposes",
            Rewrite::FoldPad => "fold_pad",
            Rewrite::FuseRelu => "fuse_relu",
        }
    }

    /// Whether the rewritten graph's outputs are bit-identical to the graph's as written.
    pub fn is_exact(self) -> bool {
        matches!(
            self,
            Rewrite::QdqMovement
                | Rewrite::DropNoOps
                | Rewrite::CancelTransposes
                | Rewrite::FoldPad
                | Rewrite::FuseRelu
        )
    }

    /// Whether the lowering runs it unless told otherwise.
    pub fn is_default(self) -> bool {
        self != Rewrite::FuseRelu
    }

    fn named(name: &str) -> Option<Rewrite> {
        let name = name.replace('-', "_");
        Rewrite::ALL.into_iter().find(|r| r.name() == name)
    }
}

/// The rewrites the lowering runs; by default every one but [`Rewrite::FuseRelu`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Rewrites {
    /// See [`Rewrite::FoldBatchnorm`].
    pub fold_batchnorm: bool,
    /// See [`Rewrite::AbsorbQdq`].
    pub absorb_qdq: bool,
    /// See [`Rewrite::QdqMovement`].
    pub qdq_movement: bool,
    /// See [`Rewrite::DropNoOps`].
    pub drop_no_ops: bool,
    /// See [`Rewrite::CancelTransposes`].
    pub cancel_transposes: bool,
    /// See [`Rewrite::FoldPad`].
    pub fold_pad: bool,
    /// See [`Rewrite::FuseRelu`].
    pub fuse_relu: bool,
}

impl Default for Rewrites {
    fn default() -> Self {
        Rewrite::ALL
            .into_iter()
            .fold(Rewrites::none(), |set, r| set.with(r, r.is_default()))
    }
}

impl Rewrites {
    /// Every rewrite.
    pub fn all() -> Rewrites {
        Rewrites::none().with_all(true)
    }

    /// No rewrite: the graph runs as written.
    pub fn none() -> Rewrites {
        Rewrites {
            fold_batchnorm: false,
            absorb_qdq: false,
            qdq_movement: false,
            drop_no_ops: false,
            cancel_transposes: false,
            fold_pad: false,
            fuse_relu: false,
        }
    }

    fn with_all(mut self, on: bool) -> Rewrites {
        for r in Rewrite::ALL {
            *self.flag(r) = on;
        }
        self
    }

    fn flag(&mut self, r: Rewrite) -> &mut bool {
        match r {
            Rewrite::FoldBatchnorm => &mut self.fold_batchnorm,
            Rewrite::AbsorbQdq => &mut self.absorb_qdq,
            Rewrite::QdqMovement => &mut self.qdq_movement,
            Rewrite::DropNoOps => &mut self.drop_no_ops,
            Rewrite::CancelTransposes => &mut self.cancel_transposes,
            Rewrite::FoldPad => &mut self.fold_pad,
            Rewrite::FuseRelu => &mut self.fuse_relu,
        }
    }

    /// Whether `r` runs.
    pub fn contains(mut self, r: Rewrite) -> bool {
        *self.flag(r)
    }

    /// This set with `r` switched on or off.
    pub fn with(mut self, r: Rewrite, on: bool) -> Rewrites {
        *self.flag(r) = on;
        self
    }

    /// Whether these are the default rewrites (left out of a serialised configuration).
    pub fn is_default(&self) -> bool {
        *self == Rewrites::default()
    }

    /// Parses a comma-separated list: `all`, `none`, `default`, a rewrite's name (switched
    /// on) or `no-NAME` (switched off), applied left to right. A list that starts with a name
    /// starts from none (`absorb_qdq` runs that rewrite alone); otherwise from the default
    /// (`no-cancel_transposes` runs every other default one, `default,fuse_relu` adds one).
    /// `-` and `_` are the same in names.
    pub fn parse(text: &str) -> Result<Rewrites> {
        let bad = |msg: String| Error::Config {
            field: "rewrites".into(),
            msg,
        };
        let tokens: Vec<&str> = text.split(',').map(str::trim).collect();
        let starts_with_name = tokens.first().and_then(|t| Rewrite::named(t)).is_some();
        let mut set = if starts_with_name {
            Rewrites::none()
        } else {
            Rewrites::default()
        };
        for token in tokens {
            set = match token {
                "all" => Rewrites::all(),
                "none" => Rewrites::none(),
                "default" => Rewrites::default(),
                t => {
                    let (name, on) = match t.strip_prefix("no-").or(t.strip_prefix("no_")) {
                        Some(name) => (name, false),
                        None => (t, true),
                    };
                    let r = Rewrite::named(name).ok_or_else(|| {
                        bad(format!(
                            "no rewrite '{name}' (rewrites: all, none, default, {})",
                            Rewrite::ALL.map(Rewrite::name).join(", ")
                        ))
                    })?;
                    set.with(r, on)
                }
            };
        }
        Ok(set)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_start_from_none_with_a_name_and_from_all_otherwise() {
        let only = Rewrites::parse("absorb-qdq").unwrap();
        assert!(only.contains(Rewrite::AbsorbQdq));
        assert_eq!(only, Rewrites::none().with(Rewrite::AbsorbQdq, true));
        let but = Rewrites::parse("no-cancel-transposes").unwrap();
        assert_eq!(
            but,
            Rewrites::default().with(Rewrite::CancelTransposes, false)
        );
        assert!(!Rewrites::default().contains(Rewrite::FuseRelu));
        assert_eq!(
            Rewrites::parse("default,fuse_relu").unwrap(),
            Rewrites::all()
        );
        assert_eq!(Rewrites::parse("none").unwrap(), Rewrites::none());
        assert_eq!(
            Rewrites::parse("none, drop_no_ops").unwrap(),
            Rewrites::none().with(Rewrite::DropNoOps, true)
        );
        assert_eq!(Rewrites::parse("all").unwrap(), Rewrites::all());
        assert!(Rewrites::parse("default").unwrap().is_default());
        let err = Rewrites::parse("fold_everything").unwrap_err().to_string();
        assert!(err.contains("fold_everything") && err.contains("cancel_transposes"));
    }
}
