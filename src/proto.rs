//! The subset of the ONNX protobuf schema (`onnx/onnx.proto`, IR version 10) that cdmsa reads,
//! declared directly with `prost` derives: no code generation, no build script.
//!
//! Field numbers are those of `onnx.proto`. Only the fields the importer reads (and those
//! needed to write a [`TensorProto`] and a model the official checker accepts) are declared; prost skips every other field while
//! decoding. Scalar fields use proto3-style defaults (absent = zero/empty), which is how the
//! importer treats them; repeated scalars that `onnx.proto` (proto2) leaves unpacked are
//! declared `packed = "false"` so that written messages match the official encoding.
//! Types the importer only has to recognise in order to reject them (sequence, map, optional,
//! sparse tensor and opaque types; sparse initializers) are declared without their contents.

/// A whole `.onnx` file: the graph and the operator sets it was written against.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ModelProto {
    /// The version of the IR the model is written against.
    #[prost(int64, tag = "1")]
    pub ir_version: i64,
    /// The tool that wrote the model.
    #[prost(string, tag = "2")]
    pub producer_name: String,
    /// Free-form documentation.
    #[prost(string, tag = "6")]
    pub doc_string: String,
    /// The computation graph.
    #[prost(message, optional, tag = "7")]
    pub graph: Option<GraphProto>,
    /// The operator sets (domain and version) the nodes bind to.
    #[prost(message, repeated, tag = "8")]
    pub opset_import: Vec<OperatorSetIdProto>,
}

/// One `(domain, version)` operator set import.
#[derive(Clone, PartialEq, prost::Message)]
pub struct OperatorSetIdProto {
    /// The domain; `""` (or `"ai.onnx"`) is the default ONNX domain.
    #[prost(string, tag = "1")]
    pub domain: String,
    /// The opset version.
    #[prost(int64, tag = "2")]
    pub version: i64,
}

/// A graph: nodes over named values, with constant initializers and typed inputs/outputs.
#[derive(Clone, PartialEq, prost::Message)]
pub struct GraphProto {
    /// The nodes (the standard asks for topological order; the importer does not rely on it).
    #[prost(message, repeated, tag = "1")]
    pub node: Vec<NodeProto>,
    /// The graph's name.
    #[prost(string, tag = "2")]
    pub name: String,
    /// Named constant tensors.
    #[prost(message, repeated, tag = "5")]
    pub initializer: Vec<TensorProto>,
    /// The graph inputs (may include initializer names).
    #[prost(message, repeated, tag = "11")]
    pub input: Vec<ValueInfoProto>,
    /// The graph outputs.
    #[prost(message, repeated, tag = "12")]
    pub output: Vec<ValueInfoProto>,
    /// Optional type and shape information for intermediate values.
    #[prost(message, repeated, tag = "13")]
    pub value_info: Vec<ValueInfoProto>,
    /// Sparse initializers (`SparseTensorProto`), kept as undecoded bytes: only their
    /// presence is checked, to reject them.
    #[prost(bytes = "vec", repeated, tag = "15")]
    pub sparse_initializer: Vec<Vec<u8>>,
}

/// One operator application.
#[derive(Clone, PartialEq, prost::Message)]
pub struct NodeProto {
    /// Input value names; `""` marks an omitted optional input.
    #[prost(string, repeated, tag = "1")]
    pub input: Vec<String>,
    /// Output value names; `""` marks an unused optional output.
    #[prost(string, repeated, tag = "2")]
    pub output: Vec<String>,
    /// The node's name (optional).
    #[prost(string, tag = "3")]
    pub name: String,
    /// The operator, e.g. `"Conv"`.
    #[prost(string, tag = "4")]
    pub op_type: String,
    /// Named attributes.
    #[prost(message, repeated, tag = "5")]
    pub attribute: Vec<AttributeProto>,
    /// The operator's domain; `""` (or `"ai.onnx"`) is the default ONNX domain.
    #[prost(string, tag = "7")]
    pub domain: String,
}

/// A named attribute of a node; `type` says which value field is in use.
#[derive(Clone, PartialEq, prost::Message)]
pub struct AttributeProto {
    /// The attribute's name.
    #[prost(string, tag = "1")]
    pub name: String,
    /// A single float.
    #[prost(float, tag = "2")]
    pub f: f32,
    /// A single integer.
    #[prost(int64, tag = "3")]
    pub i: i64,
    /// A single (UTF-8) string.
    #[prost(bytes = "vec", tag = "4")]
    pub s: Vec<u8>,
    /// A tensor.
    #[prost(message, optional, tag = "5")]
    pub t: Option<TensorProto>,
    /// A list of floats.
    #[prost(float, repeated, packed = "false", tag = "7")]
    pub floats: Vec<f32>,
    /// A list of integers.
    #[prost(int64, repeated, packed = "false", tag = "8")]
    pub ints: Vec<i64>,
    /// A list of (UTF-8) strings.
    #[prost(bytes = "vec", repeated, tag = "9")]
    pub strings: Vec<Vec<u8>>,
    /// Which of the value fields is in use ([`attribute_proto::AttributeType`]).
    #[prost(enumeration = "attribute_proto::AttributeType", tag = "20")]
    pub r#type: i32,
}

/// Nested types of [`AttributeProto`].
pub mod attribute_proto {
    /// The kind of value an attribute holds.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
    #[repr(i32)]
    pub enum AttributeType {
        /// Not set.
        Undefined = 0,
        /// `f`.
        Float = 1,
        /// `i`.
        Int = 2,
        /// `s`.
        String = 3,
        /// `t`.
        Tensor = 4,
        /// `g` (a subgraph).
        Graph = 5,
        /// `floats`.
        Floats = 6,
        /// `ints`.
        Ints = 7,
        /// `strings`.
        Strings = 8,
        /// `tensors`.
        Tensors = 9,
        /// `graphs`.
        Graphs = 10,
        /// `sparse_tensor`.
        SparseTensor = 11,
        /// `sparse_tensors`.
        SparseTensors = 12,
        /// `tp` (a type).
        TypeProto = 13,
        /// `type_protos`.
        TypeProtos = 14,
    }
}

/// A serialized tensor: its shape, element type and data (inline or external).
#[derive(Clone, PartialEq, prost::Message)]
pub struct TensorProto {
    /// The dimensions.
    #[prost(int64, repeated, packed = "false", tag = "1")]
    pub dims: Vec<i64>,
    /// The element type (`TensorProto.DataType` code).
    #[prost(int32, tag = "2")]
    pub data_type: i32,
    /// float32 values.
    #[prost(float, repeated, tag = "4")]
    pub float_data: Vec<f32>,
    /// int32 values, and the values or bit patterns of the narrower types
    /// (int8, uint8, int16, uint16, bool, float16, bfloat16).
    #[prost(int32, repeated, tag = "5")]
    pub int32_data: Vec<i32>,
    /// int64 values.
    #[prost(int64, repeated, tag = "7")]
    pub int64_data: Vec<i64>,
    /// The tensor's name.
    #[prost(string, tag = "8")]
    pub name: String,
    /// The elements as fixed-width little-endian bytes (a slice of the decoded buffer when
    /// decoded from [`bytes::Bytes`]: no copy).
    #[prost(bytes = "bytes", tag = "9")]
    pub raw_data: bytes::Bytes,
    /// Where external data lives: `location`, `offset`, `length`, `checksum`.
    #[prost(message, repeated, tag = "13")]
    pub external_data: Vec<StringStringEntryProto>,
    /// Whether the data is inline or external ([`tensor_proto::DataLocation`]).
    #[prost(enumeration = "tensor_proto::DataLocation", tag = "14")]
    pub data_location: i32,
}

/// Nested types of [`TensorProto`].
pub mod tensor_proto {
    /// Where a tensor's data is stored.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
    #[repr(i32)]
    pub enum DataLocation {
        /// In the message (`raw_data` or a typed field).
        Default = 0,
        /// In a file named by `external_data`.
        External = 1,
    }
}

/// A key-value pair (ONNX's stand-in for a protobuf map).
#[derive(Clone, PartialEq, prost::Message)]
pub struct StringStringEntryProto {
    /// The key.
    #[prost(string, tag = "1")]
    pub key: String,
    /// The value.
    #[prost(string, tag = "2")]
    pub value: String,
}

/// A named value with its (optional) type.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ValueInfoProto {
    /// The value's name.
    #[prost(string, tag = "1")]
    pub name: String,
    /// Its type.
    #[prost(message, optional, tag = "2")]
    pub r#type: Option<TypeProto>,
}

/// The type of a value.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TypeProto {
    /// Which kind of type (tensor, sequence, ...); `None` when unset.
    #[prost(oneof = "type_proto::Value", tags = "1, 4, 5, 7, 8, 9")]
    pub value: Option<type_proto::Value>,
}

/// Nested types of [`TypeProto`].
pub mod type_proto {
    /// A dense tensor type: element type and optional shape.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Tensor {
        /// The element type (`TensorProto.DataType` code).
        #[prost(int32, tag = "1")]
        pub elem_type: i32,
        /// The shape; `None` when the rank is unknown.
        #[prost(message, optional, tag = "2")]
        pub shape: Option<super::TensorShapeProto>,
    }

    /// A sequence type (contents not read).
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Sequence {}

    /// A map type (contents not read).
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Map {}

    /// An opaque type (contents not read).
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Opaque {}

    /// A sparse tensor type (contents not read).
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct SparseTensor {}

    /// An optional type (contents not read).
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Optional {}

    /// The kinds of type.
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum Value {
        /// A dense tensor.
        #[prost(message, tag = "1")]
        TensorType(Tensor),
        /// A sequence.
        #[prost(message, tag = "4")]
        SequenceType(Sequence),
        /// A map.
        #[prost(message, tag = "5")]
        MapType(Map),
        /// An opaque type.
        #[prost(message, tag = "7")]
        OpaqueType(Opaque),
        /// A sparse tensor.
        #[prost(message, tag = "8")]
        SparseTensorType(SparseTensor),
        /// An optional.
        #[prost(message, tag = "9")]
        OptionalType(Optional),
    }
}

/// A tensor shape: one entry per dimension.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TensorShapeProto {
    /// The dimensions.
    #[prost(message, repeated, tag = "1")]
    pub dim: Vec<tensor_shape_proto::Dimension>,
}

/// Nested types of [`TensorShapeProto`].
pub mod tensor_shape_proto {
    /// One dimension: a size, a symbolic name, or neither (unknown).
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Dimension {
        /// The size or name; `None` when unknown.
        #[prost(oneof = "dimension::Value", tags = "1, 2")]
        pub value: Option<dimension::Value>,
    }

    /// Nested types of [`Dimension`].
    pub mod dimension {
        /// A dimension's size or name.
        #[derive(Clone, PartialEq, prost::Oneof)]
        pub enum Value {
            /// A fixed size.
            #[prost(int64, tag = "1")]
            DimValue(i64),
            /// A symbolic name.
            #[prost(string, tag = "2")]
            DimParam(String),
        }
    }
}
