//! `.npy` reading and writing against files built by hand from the NumPy format
//! specification (`numpy.lib.format`): magic, version, header length, dict header padded
//! with spaces and a newline so that the data starts on a 64-byte boundary.

use cdmsa::Error;
use cdmsa::tensor::npy::{decode_npy, encode_npy, read_npy, write_npy};
use cdmsa::tensor::{DType, Tensor};
use half::{bf16, f16};
use ndarray::{ArrayD, IxDyn};

fn arr<T: Clone>(shape: &[usize], v: &[T]) -> ArrayD<T> {
    ArrayD::from_shape_vec(IxDyn(shape), v.to_vec()).unwrap()
}

/// A version 1.0 file: the header padded to 118 bytes so that magic (6) + version (2) +
/// length (2) + header is 128, a multiple of 64.
fn v1(dict: &str, data: &[u8]) -> Vec<u8> {
    let mut header = dict.to_string();
    header.push_str(&" ".repeat(117 - dict.len()));
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    out
}

/// A version 2.0 or 3.0 file (u32 header length), header unpadded except for the newline.
fn v2(major: u8, dict: &str, data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x93, b'N', b'U', b'M', b'P', b'Y', major, 0];
    out.extend_from_slice(&(dict.len() as u32 + 1).to_le_bytes());
    out.extend_from_slice(dict.as_bytes());
    out.push(b'\n');
    out.extend_from_slice(data);
    out
}

/// `numpy.save(np.array([[1, -2, 3], [4, 5, -6]], dtype=np.int32))`: the dict, NumPy's 20
/// spaces of room for the first dimension to grow, padding to 128 bytes, then the data.
fn int32_2x3_file() -> Vec<u8> {
    let dict = "{'descr': '<i4', 'fortran_order': False, 'shape': (2, 3), }";
    let data: Vec<u8> = [1i32, -2, 3, 4, 5, -6]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    v1(dict, &data)
}

#[test]
fn reads_a_hand_written_file() {
    let t = decode_npy(&int32_2x3_file()).unwrap();
    assert_eq!(t, Tensor::I32(arr(&[2, 3], &[1, -2, 3, 4, 5, -6])));
}

#[test]
fn writes_what_numpy_writes() {
    let t = Tensor::I32(arr(&[2, 3], &[1, -2, 3, 4, 5, -6]));
    assert_eq!(encode_npy(&t), int32_2x3_file());
    // A scalar: shape (), no room for growth; 3.5 = 0x40600000.
    let dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (), }";
    let t = Tensor::F32(arr(&[], &[3.5]));
    assert_eq!(encode_npy(&t), v1(dict, &[0x00, 0x00, 0x60, 0x40]));
    // A one-dimensional bool array: "(3,)".
    let dict = "{'descr': '|b1', 'fortran_order': False, 'shape': (3,), }";
    let t = Tensor::Bool(arr(&[3], &[true, false, true]));
    assert_eq!(encode_npy(&t), v1(dict, &[1, 0, 1]));
}

#[test]
fn headers_too_long_for_a_u16_length_use_version_2() {
    // 22000 dimensions of size 1: "(1, 1, ..., 1)" alone is 66000 bytes.
    let t = Tensor::U8(ArrayD::zeros(IxDyn(&[1; 22000])));
    let bytes = encode_npy(&t);
    assert_eq!(&bytes[..8], b"\x93NUMPY\x02\x00");
    let header_len = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize;
    assert_eq!((12 + header_len) % 64, 0);
    assert_eq!(bytes[11 + header_len], b'\n');
    assert_eq!(bytes.len(), 12 + header_len + 1);
    assert_eq!(decode_npy(&bytes).unwrap(), t);
}

#[test]
fn reads_versions_2_and_3_and_python_literal_variants() {
    let data = [0x00, 0x3C, 0x00, 0xC0]; // fp16 1.0, -2.0
    let expected = Tensor::F16(arr(&[2, 1], &[f16::from_f32(1.0), f16::from_f32(-2.0)]));
    for file in [
        v2(
            2,
            "{'descr': '<f2', 'fortran_order': False, 'shape': (2, 1)}",
            &data,
        ),
        v2(
            3,
            "{\"shape\":(2,1),\"descr\":\"<f2\",\"fortran_order\":False,}",
            &data,
        ),
        v2(
            2,
            " { 'fortran_order' : False , 'descr' : '<f2' , 'shape' : ( 2L , 1L ) } ",
            &data,
        ),
    ] {
        assert_eq!(decode_npy(&file).unwrap(), expected);
    }
    // One-byte types may carry any byte-order mark.
    let file = v2(
        2,
        "{'descr': '<i1', 'fortran_order': False, 'shape': (2,)}",
        &[0xFF, 0x05],
    );
    assert_eq!(decode_npy(&file).unwrap(), Tensor::I8(arr(&[2], &[-1, 5])));
}

#[test]
fn round_trips_every_dtype() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("npy_round_trip");
    std::fs::create_dir_all(&dir).unwrap();
    let tensors = [
        Tensor::F32(arr(&[2, 2], &[1.0, -0.0, f32::INFINITY, 1e-40])),
        Tensor::F16(arr(&[1], &[f16::from_bits(0x0001)])),
        Tensor::I8(arr(&[3], &[-128, 0, 127])),
        Tensor::U8(arr(&[0], &[])),
        Tensor::I32(arr(&[1, 1, 2], &[i32::MIN, i32::MAX])),
        Tensor::I64(arr(&[], &[i64::MIN])),
        Tensor::Bool(arr(&[2], &[false, true])),
    ];
    for t in tensors {
        let path = dir.join(format!("{}.npy", t.dtype()));
        write_npy(&path, &t).unwrap();
        assert_eq!(read_npy(&path).unwrap(), t);
    }
}

#[test]
fn bfloat16_is_written_as_exact_float32() {
    let values = [
        bf16::from_f32(1.0),
        bf16::from_bits(0xC020),
        bf16::from_bits(0x0001),
    ];
    let t = Tensor::BF16(arr(&[3], &values));
    let back = decode_npy(&encode_npy(&t)).unwrap();
    assert_eq!(back.dtype(), DType::F32);
    // -2.5 and the smallest bf16 subnormal 2^-133 (0x00010000 as f32 bits).
    let expected = [1.0, -2.5, f32::from_bits(0x0001_0000)];
    assert_eq!(back, Tensor::F32(arr(&[3], &expected)));
}

fn malformed(bytes: &[u8]) -> String {
    match decode_npy(bytes) {
        Err(e @ Error::Malformed { what: ".npy", .. }) => e.to_string(),
        other => panic!("expected a malformed .npy error, got {other:?}"),
    }
}

#[test]
fn rejects_bad_files() {
    let good = "{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }";
    assert!(malformed(&v1(good, &[0; 7])).contains("7 data bytes, expected 8"));
    assert!(malformed(&v1(good, &[0; 9])).contains("9 data bytes"));
    assert!(malformed(b"\x93NUMPZ\x01\x00").contains("magic"));
    assert!(malformed(b"\x93NUMPY\x04\x00\x00\x00").contains("version 4.0"));
    let fortran = "{'descr': '<i4', 'fortran_order': True, 'shape': (2,), }";
    assert!(malformed(&v1(fortran, &[0; 8])).contains("fortran_order"));
    let extra = "{'descr': '<i4', 'fortran_order': False, 'shape': (2,), 'x': 1}";
    assert!(malformed(&v1(extra, &[0; 8])).contains("'x'"));
    let twice = "{'descr': '<i4', 'descr': '<i4', 'fortran_order': False, 'shape': (2,)}";
    assert!(malformed(&v1(twice, &[0; 8])).contains("twice"));
    let missing = "{'descr': '<i4', 'shape': (2,)}";
    assert!(malformed(&v1(missing, &[0; 8])).contains("fortran_order"));
    let not_tuple = "{'descr': '<i4', 'fortran_order': False, 'shape': (2)}";
    assert!(malformed(&v1(not_tuple, &[0; 8])).contains("trailing comma"));
    let structured = "{'descr': [('a', '<i4')], 'fortran_order': False, 'shape': (2,)}";
    assert!(malformed(&v1(structured, &[0; 8])).contains("structured"));
    let huge = "{'descr': '|u1', 'fortran_order': False, 'shape': (1000000, 1000000)}";
    assert!(malformed(&v1(huge, &[0; 30])).contains("elements"));
    let overflow = "{'descr': '|u1', 'fortran_order': False, 'shape': (99999999999999999999999,)}";
    assert!(malformed(&v1(overflow, &[])).contains("too large"));
    let bad_bool = "{'descr': '|b1', 'fortran_order': False, 'shape': (1,)}";
    assert!(malformed(&v1(bad_bool, &[7])).contains("bool byte 7"));
}

#[test]
fn unsupported_dtypes_are_dtype_errors() {
    for descr in ["<f8", ">f4", "<u2", "|O", "<c8", "f4"] {
        let dict = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': (1,)}}");
        match decode_npy(&v1(&dict, &[0; 8])) {
            Err(Error::DType(msg)) => assert!(msg.contains(descr), "{msg}"),
            other => panic!("{descr}: {other:?}"),
        }
    }
}

#[test]
fn truncated_and_corrupted_files_never_panic() {
    let file = int32_2x3_file();
    for len in 0..file.len() {
        assert!(
            decode_npy(&file[..len]).is_err(),
            "prefix of {len} bytes accepted"
        );
    }
    // Flip every header byte to each of a few values: an error or a tensor, never a panic.
    for i in 0..128 {
        for b in [0u8, b' ', b'\'', b'(', b')', b',', b'9', 0xFF] {
            let mut f = file.clone();
            f[i] = b;
            let _ = decode_npy(&f);
        }
    }
}
