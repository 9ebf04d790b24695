//! The ONNX type and shape rules onnxruntime enforces between a node's inputs: a model that
//! breaks one is refused at load (exit 2) with the node, the op and the rule named; the same
//! model with the rule kept runs.

#[path = "one_node/mod.rs"]
mod one_node;

use one_node::*;
use std::process::Command;

/// `bad` is refused naming node 'n', its op and `rule`; `good` runs.
fn refused(good: OneNode, bad: OneNode, rule: &str) {
    good.run(None)
        .unwrap_or_else(|e| panic!("the valid {} is refused: {e}", good.op));
    let e = bad
        .run(None)
        .expect_err("the invalid model must be refused")
        .to_string();
    let node = format!("node 'n' ({})", bad.op);
    assert!(e.contains(&node) && e.contains(rule), "{e}");
}

/// QLinearMatMul of a [2, 4] uint8 input by [4, 3] weights of type `b_ty`, with the zero
/// points given (the weights' scale per column when their zero point has three values).
fn qlinear_matmul(a_zp: TensorProto, b_ty: i32, b_zp: TensorProto) -> OneNode {
    let b = raw("b", b_ty, &[4, 3], vec![1; 12]);
    let n: &[i64] = if b_zp.dims == [3] { &[3] } else { &[] };
    let scales = vec![0.25; n.iter().product::<i64>() as usize];
    OneNode::new("QLinearMatMul")
        .input("a", U8, &[2, 4])
        .init(f32s("as", &[], &[0.5]))
        .init(a_zp)
        .init(b)
        .init(f32s("bs", n, &scales))
        .init(b_zp)
        .init(f32s("ys", &[], &[1.0]))
        .init(u8s("yz", &[], &[3]))
}

use cdmsa::proto::TensorProto;

#[test]
fn qlinear_matmul_zero_points_have_their_data_type_and_one_value_per_column() {
    let good = || qlinear_matmul(u8s("az", &[], &[2]), U8, u8s("bz", &[3], &[1, 2, 3]));
    refused(
        good(),
        qlinear_matmul(u8s("az", &[], &[2]), U8, u8s("bz", &[7], &[1; 7])),
        "b_zero_point has shape [7]; it must hold one value or one per column (3)",
    );
    refused(
        good(),
        qlinear_matmul(i32s("az", &[], &[2]), U8, u8s("bz", &[3], &[1, 2, 3])),
        "a_zero_point is int32 but a is uint8",
    );
    refused(
        good(),
        qlinear_matmul(u8s("az", &[], &[2]), I8, u8s("bz", &[], &[1])),
        "b_zero_point is uint8 but b is int8",
    );
}

/// Conv of a [1, 1, 4, 4] float input by 4 filters of 3×3 of type `w_ty`, with a bias of
/// `bias` values.
fn conv(w_ty: i32, bias: usize) -> OneNode {
    let w = match w_ty {
        F32 => f32s("w", &[4, 1, 3, 3], &[0.5; 36]),
        t => raw("w", t, &[4, 1, 3, 3], vec![1; 36 * 4]),
    };
    OneNode::new("Conv")
        .input("x", F32, &[1, 1, 4, 4])
        .init(w)
        .init(f32s("b", &[bias as i64], &vec![1.0; bias]))
}

#[test]
fn conv_bias_is_one_per_output_channel_and_operands_share_a_type() {
    refused(
        conv(F32, 4),
        conv(F32, 7),
        "bias B [7] is not one value per output channel (4)",
    );
    refused(
        conv(F32, 4),
        conv(I32, 4),
        "X is float but W is int32: the operands must have one type",
    );
}

#[test]
fn matmul_operands_share_a_type() {
    let mm = |b_ty| {
        OneNode::new("MatMul")
            .input("a", F32, &[2, 4])
            .input("b", b_ty, &[4, 3])
    };
    refused(
        mm(F32),
        mm(F16),
        "A is float but B is float16: the operands must have one type",
    );
}

#[test]
fn conv_transpose_output_padding_is_below_the_stride() {
    let ct = |pad: i64| {
        OneNode::new("ConvTranspose")
            .input("x", F32, &[1, 1, 3, 3])
            .init(f32s("w", &[1, 2, 3, 3], &[0.5; 18]))
            .attr(ints("strides", &[2, 2]))
            .attr(ints("output_padding", &[pad, pad]))
    };
    refused(
        ct(1),
        ct(2),
        "output_padding 2 of spatial dim 0 is not below its stride 2 or dilation 1",
    );
}

#[test]
fn resize_axes_do_not_repeat() {
    let resize = |axes: &[i64]| {
        OneNode::new("Resize")
            .input("x", F32, &[1, 1, 2, 2])
            .skip()
            .init(f32s("scales", &[2], &[2.0, 2.0]))
            .attr(ints("axes", axes))
    };
    refused(
        resize(&[2, 3]),
        resize(&[2, -2]),
        "resize: axis 2 repeated in axes [2, -2]",
    );
}

#[test]
fn pooling_pads_are_smaller_than_the_kernel() {
    let pool = |op: &str, pad: i64| {
        OneNode::new(op)
            .input("x", F32, &[1, 1, 4, 4])
            .attr(ints("kernel_shape", &[2, 2]))
            .attr(ints("pads", &[pad, 0, 0, pad]))
    };
    for op in ["MaxPool", "AveragePool"] {
        refused(
            pool(op, 1),
            pool(op, 2),
            "pad 2 of spatial dim 0 is not smaller than the kernel [2, 2]",
        );
    }
}

/// The command line: exit 2 and one line naming the file, the node, the op and the rule.
#[test]
fn the_binary_refuses_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bias.onnx");
    std::fs::write(&path, conv(F32, 7).bytes()).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_cdmsa"))
        .arg("run")
        .arg(&path)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("bias.onnx")
            && err.contains("node 'n' (Conv)")
            && err.contains("not one value per output channel"),
        "{err}"
    );
}
