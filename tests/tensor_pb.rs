//! `TensorProto` ↔ `Tensor`: every element type through `raw_data` and through the typed
//! fields, hand-encoded protobuf bytes (field numbers from `onnx.proto`), external data and the
//! size checks. Expected bytes and values are worked out by hand from the IEEE 754 encodings.

use cdmsa::Error;
use cdmsa::proto::{StringStringEntryProto, TensorProto};
use cdmsa::tensor::pb::{decode_pb, read_pb, tensor_from_proto, tensor_to_proto, write_pb};
use cdmsa::tensor::{DType, Tensor};
use half::{bf16, f16};
use ndarray::{ArrayD, IxDyn};
use prost::Message;
use std::path::{Path, PathBuf};

fn arr<T: Clone>(shape: &[usize], v: &[T]) -> ArrayD<T> {
    ArrayD::from_shape_vec(IxDyn(shape), v.to_vec()).unwrap()
}

fn raw(code: i32, dims: &[i64], bytes: &[u8]) -> TensorProto {
    TensorProto {
        dims: dims.to_vec(),
        data_type: code,
        raw_data: bytes.to_vec().into(),
        name: "t".into(),
        ..Default::default()
    }
}

/// One case per element type: the tensor, its ONNX code and its little-endian bytes.
fn cases() -> Vec<(Tensor, i32, Vec<u8>)> {
    vec![
        // 1.0 = 0x3F800000, -2.5 = 0xC0200000
        (
            Tensor::F32(arr(&[2], &[1.0, -2.5])),
            1,
            vec![0x00, 0x00, 0x80, 0x3F, 0x00, 0x00, 0x20, 0xC0],
        ),
        (Tensor::U8(arr(&[2], &[0, 255])), 2, vec![0x00, 0xFF]),
        (Tensor::I8(arr(&[2], &[-1, 127])), 3, vec![0xFF, 0x7F]),
        (
            Tensor::I32(arr(&[2], &[-2, 65536])),
            6,
            vec![0xFE, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x01, 0x00],
        ),
        (
            Tensor::I64(arr(&[1, 2], &[-1, 1 << 40])),
            7,
            vec![0xFF; 8]
                .into_iter()
                .chain([0, 0, 0, 0, 0, 1, 0, 0])
                .collect(),
        ),
        (Tensor::Bool(arr(&[2], &[true, false])), 9, vec![0x01, 0x00]),
        // fp16: 1.0 = 0x3C00, -2.0 = 0xC000, 65504 = 0x7BFF
        (
            Tensor::F16(arr(
                &[3],
                &[
                    f16::from_f32(1.0),
                    f16::from_f32(-2.0),
                    f16::from_f32(65504.0),
                ],
            )),
            10,
            vec![0x00, 0x3C, 0x00, 0xC0, 0xFF, 0x7B],
        ),
        // bf16: 1.0 = 0x3F80, -2.5 = 0xC020
        (
            Tensor::BF16(arr(&[2], &[bf16::from_f32(1.0), bf16::from_f32(-2.5)])),
            16,
            vec![0x80, 0x3F, 0x20, 0xC0],
        ),
    ]
}

#[test]
fn raw_data_round_trip_for_every_dtype() {
    for (tensor, code, bytes) in cases() {
        let dims: Vec<i64> = tensor.shape().iter().map(|&d| d as i64).collect();
        let decoded = tensor_from_proto(&raw(code, &dims, &bytes), None).unwrap();
        assert_eq!(decoded, tensor, "decoding code {code}");
        let proto = tensor_to_proto(&tensor, "t");
        assert_eq!(proto, raw(code, &dims, &bytes), "encoding code {code}");
    }
}

#[test]
fn typed_fields_for_every_dtype() {
    let typed = |code: i32, dims: &[i64]| TensorProto {
        dims: dims.to_vec(),
        data_type: code,
        ..Default::default()
    };
    let f32s = TensorProto {
        float_data: vec![1.0, -2.5],
        ..typed(1, &[2])
    };
    let i64s = TensorProto {
        int64_data: vec![-1, 1 << 40],
        ..typed(7, &[1, 2])
    };
    let int32 = |code, v: &[i32]| TensorProto {
        int32_data: v.to_vec(),
        ..typed(code, &[v.len() as i64])
    };
    let expected = cases();
    let protos = [
        f32s,
        int32(2, &[0, 255]),
        int32(3, &[-1, 127]),
        int32(6, &[-2, 65536]),
        i64s,
        int32(9, &[1, 0]),
        // float16 and bfloat16 travel as their bit patterns in int32_data.
        int32(10, &[0x3C00, 0xC000, 0x7BFF]),
        int32(16, &[0x3F80, 0xC020]),
    ];
    for (proto, (tensor, code, _)) in protos.iter().zip(expected) {
        assert_eq!(
            tensor_from_proto(proto, None).unwrap(),
            tensor,
            "code {code}"
        );
    }
}

#[test]
fn hand_encoded_bytes_decode_and_encode() {
    // dims=[2] (field 1, varint), data_type=1 (field 2), name="x" (field 8),
    // raw_data (field 9, 8 bytes): 1.0, -2.5.
    let bytes = [
        0x08, 0x02, 0x10, 0x01, 0x42, 0x01, b'x', 0x4A, 0x08, 0x00, 0x00, 0x80, 0x3F, 0x00, 0x00,
        0x20, 0xC0,
    ];
    let t = decode_pb(&bytes).unwrap();
    assert_eq!(t, Tensor::F32(arr(&[2], &[1.0, -2.5])));
    assert_eq!(tensor_to_proto(&t, "x").encode_to_vec(), bytes);

    // dims 2 and 1 unpacked, data_type=6 (int32), int32_data packed (field 5): -1, 3.
    let bytes = [
        0x08, 0x02, 0x08, 0x01, 0x10, 0x06, 0x2A, 0x0B, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
        0xFF, 0xFF, 0x01, 0x03,
    ];
    let proto = TensorProto::decode(&bytes[..]).unwrap();
    assert_eq!(
        tensor_from_proto(&proto, None).unwrap(),
        Tensor::I32(arr(&[2, 1], &[-1, 3]))
    );

    // float_data (field 4) and int64_data (field 7) written unpacked are accepted too.
    let bytes = [0x08, 0x01, 0x10, 0x01, 0x25, 0x00, 0x00, 0x80, 0x3F];
    let proto = TensorProto::decode(&bytes[..]).unwrap();
    assert_eq!(
        tensor_from_proto(&proto, None).unwrap(),
        Tensor::F32(arr(&[1], &[1.0]))
    );
    let bytes = [0x08, 0x01, 0x10, 0x07, 0x38, 0x7F];
    let proto = TensorProto::decode(&bytes[..]).unwrap();
    assert_eq!(
        tensor_from_proto(&proto, None).unwrap(),
        Tensor::I64(arr(&[1], &[127]))
    );
}

#[test]
fn scalars_and_empty_tensors() {
    let scalar = Tensor::F32(arr(&[], &[4.0]));
    let proto = tensor_to_proto(&scalar, "s");
    assert!(proto.dims.is_empty());
    assert_eq!(tensor_from_proto(&proto, None).unwrap(), scalar);
    let empty = Tensor::I64(arr(&[0, 3], &[]));
    let proto = tensor_to_proto(&empty, "e");
    assert!(proto.raw_data.is_empty());
    assert_eq!(tensor_from_proto(&proto, None).unwrap(), empty);
}

fn malformed(t: &TensorProto) -> String {
    match tensor_from_proto(t, None) {
        Err(e @ Error::Malformed { .. }) => e.to_string(),
        other => panic!("expected a malformed-tensor error, got {other:?}"),
    }
}

#[test]
fn rejects_bad_data() {
    assert!(malformed(&raw(1, &[2, -1], &[])).contains("negative dimension -1"));
    assert!(malformed(&raw(1, &[2], &[0; 7])).contains("7 data bytes, expected 8"));
    assert!(malformed(&raw(9, &[1], &[2])).contains("bool byte 2"));
    let both = TensorProto {
        float_data: vec![1.0],
        ..raw(1, &[1], &[0; 4])
    };
    assert!(malformed(&both).contains("both"));
    let wrong_field = TensorProto {
        float_data: vec![1.0],
        ..raw(3, &[1], &[])
    };
    assert!(malformed(&wrong_field).contains("int32_data"));
    let few = TensorProto {
        int32_data: vec![1],
        ..raw(6, &[2], &[])
    };
    assert!(malformed(&few).contains("1 values in int32_data, expected 2"));
    let out_of_range = TensorProto {
        int32_data: vec![200],
        ..raw(3, &[1], &[])
    };
    assert!(malformed(&out_of_range).contains("200"));
    let bad_half = TensorProto {
        int32_data: vec![-1],
        ..raw(10, &[1], &[])
    };
    assert!(malformed(&bad_half).contains("-1"));
    let location = TensorProto {
        data_location: 7,
        ..raw(1, &[1], &[0; 4])
    };
    assert!(malformed(&location).contains("data_location 7"));
}

fn over_limit(t: &TensorProto) -> String {
    match tensor_from_proto(t, None) {
        Err(e @ Error::Limit(_)) => e.to_string(),
        other => panic!("expected a resource-limit error, got {other:?}"),
    }
}

#[test]
fn huge_declared_shape_fails_before_allocating() {
    // 10^12 float32 elements (4 TB) declared next to 30 bytes of data.
    let t = raw(1, &[1_000_000, 1_000_000], &[0; 30]);
    let msg = over_limit(&t);
    assert!(
        msg.contains("1000000000000 elements, more than the limit of 2147483648"),
        "{msg}"
    );
    // A product that overflows 64 bits.
    let t = raw(1, &[1 << 62, 1 << 62, 4], &[]);
    assert!(over_limit(&t).contains("elements"));
    // An empty tensor does not excuse an absurd dimension.
    let t = raw(1, &[0, 1 << 40, 1 << 40], &[]);
    assert!(over_limit(&t).contains("elements"));
    assert_eq!(
        tensor_from_proto(&raw(1, &[0, 1 << 20], &[]), None)
            .unwrap()
            .shape(),
        [0, 1 << 20]
    );
    // Below the element limit but with no data: a count mismatch, not an allocation.
    let t = raw(7, &[1 << 31], &[]);
    assert!(malformed(&t).contains("expected 2147483648"));
}

#[test]
fn unsupported_types_name_the_onnx_type() {
    for (code, name) in [
        (11, "double"),
        (8, "string"),
        (5, "int16"),
        (0, "undefined"),
    ] {
        match tensor_from_proto(&raw(code, &[1], &[0; 8]), None) {
            Err(Error::DType(msg)) => assert!(msg.contains(name), "{msg}"),
            other => panic!("code {code}: {other:?}"),
        }
    }
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn external(location: &str, extra: &[(&str, &str)]) -> TensorProto {
    let mut entries = vec![("location", location)];
    entries.extend_from_slice(extra);
    TensorProto {
        dims: vec![2],
        data_type: 6,
        name: "w".into(),
        data_location: 1,
        external_data: entries
            .into_iter()
            .map(|(k, v)| StringStringEntryProto {
                key: k.into(),
                value: v.into(),
            })
            .collect(),
        ..Default::default()
    }
}

#[test]
fn external_data_is_read_relative_to_the_model() {
    let dir = temp_dir("pb_external");
    std::fs::create_dir(dir.join("weights")).unwrap();
    // Four junk bytes, then int32 7 and -1.
    let file = [9, 9, 9, 9, 7, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 9];
    std::fs::write(dir.join("weights/w.bin"), file).unwrap();
    let expected = Tensor::I32(arr(&[2], &[7, -1]));

    let t = external("weights/w.bin", &[("offset", "4"), ("length", "8")]);
    assert_eq!(tensor_from_proto(&t, Some(&dir)).unwrap(), expected);
    let t = external("./weights/w.bin", &[("offset", "4")]);
    assert_eq!(tensor_from_proto(&t, Some(&dir)).unwrap(), expected);

    let err =
        |t: &TensorProto, base: Option<&Path>| tensor_from_proto(t, base).unwrap_err().to_string();
    let t = external("weights/w.bin", &[("offset", "4")]);
    assert!(err(&t, None).contains("directory is unknown"));
    let t = external("weights/w.bin", &[("offset", "6")]);
    assert!(err(&t, Some(&dir)).contains("at offset 6"));
    let t = external("weights/w.bin", &[("offset", "4"), ("length", "12")]);
    assert!(err(&t, Some(&dir)).contains("length 12"));
    let t = external("weights/w.bin", &[("offset", "-4")]);
    assert!(err(&t, Some(&dir)).contains("not a number"));
    let t = external("../pb_external/weights/w.bin", &[]);
    assert!(err(&t, Some(&dir.join("weights"))).contains("not a relative path inside"));
    let t = external(dir.join("weights/w.bin").to_str().unwrap(), &[]);
    assert!(err(&t, Some(&dir)).contains("not a relative path inside"));
    // A missing file is named with the tensor, so the model file is named where it is reported.
    let t = external("missing.bin", &[]);
    let e = err(&t, Some(&dir));
    assert!(
        e.contains("tensor 'w': external data file") && e.contains("missing.bin: No such file"),
        "{e}"
    );
}

#[cfg(unix)]
#[test]
fn external_data_through_a_symlink_out_of_the_directory_is_rejected() {
    let dir = temp_dir("pb_symlink");
    std::fs::create_dir(dir.join("model")).unwrap();
    std::fs::write(dir.join("secret.bin"), [0u8; 8]).unwrap();
    std::os::unix::fs::symlink(dir.join("secret.bin"), dir.join("model/w.bin")).unwrap();
    let t = external("w.bin", &[]);
    let msg = tensor_from_proto(&t, Some(&dir.join("model")))
        .unwrap_err()
        .to_string();
    assert!(msg.contains("resolves outside"), "{msg}");
}

#[test]
fn pb_files_round_trip() {
    let dir = temp_dir("pb_files");
    for (tensor, _, _) in cases() {
        let path = dir.join(format!("{}.pb", tensor.dtype()));
        write_pb(&path, &tensor).unwrap();
        assert_eq!(read_pb(&path).unwrap(), tensor);
    }
    let garbage = dir.join("garbage.pb");
    std::fs::write(&garbage, [0x0A, 0x05, 0x01]).unwrap();
    match read_pb(&garbage) {
        Err(Error::InFile { path, source }) => {
            assert_eq!(path, garbage);
            assert!(matches!(
                *source,
                Error::Malformed {
                    what: "TensorProto",
                    ..
                }
            ));
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        read_pb(&dir.join("absent.pb")),
        Err(Error::Io { .. })
    ));
}

#[test]
fn dtype_codes_match_onnx_proto() {
    for (dtype, code) in [
        (DType::F32, 1),
        (DType::U8, 2),
        (DType::I8, 3),
        (DType::I32, 6),
        (DType::I64, 7),
        (DType::Bool, 9),
        (DType::F16, 10),
        (DType::BF16, 16),
    ] {
        assert_eq!(
            tensor_to_proto(&Tensor::zeros(dtype, &[1]), "z").data_type,
            code
        );
    }
}
