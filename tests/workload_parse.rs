//! Workload files: every field, every default, every rejected value (named by its field).

use cdmsa::error::Error;
use cdmsa::units::TenantId;
use cdmsa::workload::{Arrival, Decode, MAX_TOKENS, Precision, Sla, Stop, Workload};
use cdmsa::zoo::ModelSource;
use std::path::{Path, PathBuf};

/// Two tenants using every arrival kind but traces; the error cases edit it.
const BASE: &str = r#"
seed = 7
requests = 10

[[tenants]]
name = "a"
model = "a.onnx"
sla_ms = 5.0
arrival = { kind = "poisson", rate_per_s = 100.0 }

[[tenants]]
name = "b"
model = "b.onnx"
sla_factor = 4.0
arrival = { kind = "periodic", period_ms = 2.0 }
"#;

/// `BASE` with one piece of text replaced (which must be there).
fn edit(from: &str, to: &str) -> String {
    assert!(BASE.contains(from), "BASE has no '{from}'");
    BASE.replacen(from, to, 1)
}

/// The field a `Config` error names; also checks that the message shows it.
fn bad_field(text: &str, base_dir: &Path) -> String {
    match Workload::from_toml(text, base_dir) {
        Err(e @ Error::Config { .. }) => {
            let shown = e.to_string();
            let Error::Config { field, .. } = e else {
                unreachable!()
            };
            assert!(shown.contains(&field), "'{shown}' does not name {field}");
            field
        }
        other => panic!("expected a Config error, got {other:?}"),
    }
}

/// The message of a `Malformed` (schema) error.
fn malformed(text: &str) -> String {
    match Workload::from_toml(text, Path::new("/w")) {
        Err(e @ Error::Malformed { .. }) => e.to_string(),
        other => panic!("expected a Malformed error, got {other:?}"),
    }
}

#[test]
fn every_field_is_read() {
    let text = r#"
seed = 42
duration_ms = 100.0
accel = "tiny"

[[tenants]]
name = "resnet"
model = "zoo:resnet50"
precision = "bf16"
batch = 4
priority = 9
weight = 2.5
sla_ms = 15
arrival = { kind = "poisson", rate_per_s = 100.0 }

[[tenants]]
name = "bert"
model = "/abs/bert.onnx"
precision = "int8"
priority = 3
sla_factor = 3.0
arrival = { kind = "periodic", period_ms = 10.0, offset_ms = 1.5 }
"#;
    let w = Workload::from_toml(text, Path::new("/w")).unwrap();
    assert_eq!(w.seed, 42);
    assert_eq!(w.stop, Stop::DurationMs(100.0));
    assert_eq!(w.accel.as_deref(), Some("tiny"));
    assert_eq!(w.base_dir, PathBuf::from("/w"));
    let [r, b] = &w.tenants[..] else {
        panic!("two tenants expected")
    };
    assert_eq!(r.id, TenantId(0));
    assert_eq!(r.name, "resnet");
    assert_eq!(r.model, ModelSource::Zoo("resnet50"));
    assert_eq!(r.precision, Precision::Bf16);
    assert_eq!(r.batch, 4);
    assert_eq!(r.priority, 9);
    assert_eq!(r.weight, 2.5);
    // An integer SLA is accepted as a number of milliseconds.
    assert_eq!(r.sla, Sla::Ms(15.0));
    assert_eq!(r.arrival, Arrival::Poisson { rate_per_s: 100.0 });
    assert_eq!(b.id, TenantId(1));
    // An absolute model path stays as it is.
    assert_eq!(b.model, ModelSource::File(PathBuf::from("/abs/bert.onnx")));
    assert_eq!(b.precision, Precision::Int8);
    assert_eq!(b.priority, 3);
    assert_eq!(b.sla, Sla::Factor(3.0));
    assert_eq!(
        b.arrival,
        Arrival::Periodic {
            period_ms: 10.0,
            offset_ms: 1.5
        }
    );
}

#[test]
fn omitted_fields_take_their_defaults() {
    let w = Workload::from_toml(BASE, Path::new("/w")).unwrap();
    assert_eq!(w.seed, 7);
    assert_eq!(w.stop, Stop::Requests(10));
    assert_eq!(w.accel, None);
    let b = &w.tenants[1];
    assert_eq!(b.precision, Precision::Native);
    assert_eq!(b.batch, 1);
    assert_eq!(b.priority, 1);
    assert_eq!(b.weight, 1.0);
    assert_eq!(
        b.arrival,
        Arrival::Periodic {
            period_ms: 2.0,
            offset_ms: 0.0
        }
    );
    let w = Workload::from_toml(&edit("seed = 7\n", ""), Path::new("/w")).unwrap();
    assert_eq!(w.seed, 0);
}

#[test]
fn every_precision_name_is_read() {
    for (name, want) in [
        ("native", Precision::Native),
        ("int8", Precision::Int8),
        ("fp16", Precision::Fp16),
        ("bf16", Precision::Bf16),
        ("fp32", Precision::Fp32),
    ] {
        let text = edit(
            "name = \"a\"",
            &format!("name = \"a\"\nprecision = \"{name}\""),
        );
        let w = Workload::from_toml(&text, Path::new("/w")).unwrap();
        assert_eq!(w.tenants[0].precision, want, "{name}");
    }
}

#[test]
fn bad_values_are_rejected_naming_the_field() {
    let cases = [
        (edit("requests = 10\n", ""), "requests"),
        (edit("requests = 10", "requests = 0"), "requests"),
        (edit("requests = 10", "requests = 1000001"), "requests"),
        (
            edit("requests = 10", "requests = 10\nduration_ms = 5.0"),
            "duration_ms",
        ),
        (edit("requests = 10", "duration_ms = -1.0"), "duration_ms"),
        (edit("requests = 10", "duration_ms = nan"), "duration_ms"),
        (edit("seed = 7", "seed = 7\naccel = \" \""), "accel"),
        (edit("name = \"b\"", "name = \"\""), "tenants[1].name"),
        (edit("name = \"b\"", "name = \"a\""), "tenants[1].name"),
        (
            edit("model = \"a.onnx\"", "model = \"\""),
            "tenants[0].model",
        ),
        (
            edit("name = \"a\"", "name = \"a\"\nbatch = 0"),
            "tenants[0].batch",
        ),
        (
            edit("name = \"a\"", "name = \"a\"\nbatch = 4097"),
            "tenants[0].batch",
        ),
        (
            edit("name = \"b\"", "name = \"b\"\npriority = 2"),
            "tenants[1].priority",
        ),
        (
            edit("name = \"a\"", "name = \"a\"\nweight = 0.0"),
            "tenants[0].weight",
        ),
        (
            edit("name = \"a\"", "name = \"a\"\nweight = inf"),
            "tenants[0].weight",
        ),
        (edit("sla_ms = 5.0", "sla_ms = -1.0"), "tenants[0].sla_ms"),
        (
            edit("sla_factor = 4.0", "sla_factor = 0"),
            "tenants[1].sla_factor",
        ),
        (
            edit("sla_factor = 4.0", "sla_factor = 4.0\nsla_ms = 3.0"),
            "tenants[1].sla_factor",
        ),
        (edit("sla_factor = 4.0\n", ""), "tenants[1].sla_ms"),
        (
            edit("rate_per_s = 100.0", "rate_per_s = 0.0"),
            "tenants[0].arrival.rate_per_s",
        ),
        (
            edit("period_ms = 2.0", "period_ms = -2.0"),
            "tenants[1].arrival.period_ms",
        ),
        (
            edit("period_ms = 2.0", "period_ms = 2.0, offset_ms = -0.5"),
            "tenants[1].arrival.offset_ms",
        ),
    ];
    for (text, field) in cases {
        assert_eq!(bad_field(&text, Path::new("/w")), field, "in\n{text}");
    }
    let no_tenants = "requests = 5\n";
    assert_eq!(bad_field(no_tenants, Path::new("/w")), "tenants");
}

#[test]
fn schema_errors_are_malformed_and_show_the_key() {
    let cases = [
        (edit("seed = 7", "seed = 7\nbogus = 1"), "bogus"),
        (edit("name = \"a\"", "name = \"a\"\nslo_ms = 3.0"), "slo_ms"),
        (
            edit("rate_per_s = 100.0", "rate_per_s = 100.0, period_ms = 1.0"),
            "period_ms",
        ),
        (edit("kind = \"poisson\"", "kind = \"bursty\""), "bursty"),
        (
            edit("name = \"a\"", "name = \"a\"\nprecision = \"int4\""),
            "int4",
        ),
        (edit("name = \"a\"\n", ""), "name"),
        (edit("seed = 7", "seed = -7"), "seed"),
        (
            edit("name = \"a\"", "name = \"a\"\npriority = 300"),
            "priority",
        ),
        ("requests = [".to_string(), "requests"),
    ];
    for (text, key) in cases {
        let msg = malformed(&text);
        assert!(msg.contains("workload TOML"), "{msg}");
        assert!(msg.contains(key), "'{msg}' does not show {key}");
    }
}

#[test]
fn trace_files_are_read_relative_to_the_base_dir() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("traces")).unwrap();
    std::fs::write(
        dir.path().join("traces/a.csv"),
        "# arrival times in ms\n0.5\n\n1.0  # two at once\n1.0\n7.25\n",
    )
    .unwrap();
    let text = edit(
        "{ kind = \"poisson\", rate_per_s = 100.0 }",
        "{ kind = \"trace\", file = \"traces/a.csv\" }",
    );
    let w = Workload::from_toml(&text, dir.path()).unwrap();
    assert_eq!(
        w.tenants[0].arrival,
        Arrival::Trace {
            times_ms: vec![0.5, 1.0, 1.0, 7.25],
            tokens: vec![]
        }
    );
}

#[test]
fn bad_trace_files_name_the_field_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let text = edit(
        "{ kind = \"poisson\", rate_per_s = 100.0 }",
        "{ kind = \"trace\", file = \"t.csv\" }",
    );
    // Missing file.
    assert_eq!(bad_field(&text, dir.path()), "tenants[0].arrival.file");
    for (content, line) in [
        ("1.0\n# c\nabc\n", "line 3"),
        ("1.0\n-2.0\n", "line 2"),
        ("1.0\n3.0\n2.0\n", "line 3"),
        ("inf\n", "line 1"),
    ] {
        std::fs::write(dir.path().join("t.csv"), content).unwrap();
        let err = Workload::from_toml(&text, dir.path())
            .unwrap_err()
            .to_string();
        assert!(err.contains("tenants[0].arrival.file"), "{err}");
        assert!(err.contains(line), "'{err}' does not name {line}");
    }
}

#[test]
fn load_resolves_paths_against_the_file_and_names_it_in_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.toml");
    std::fs::write(&path, BASE).unwrap();
    let w = Workload::load(&path).unwrap();
    assert_eq!(w.base_dir, dir.path());
    assert_eq!(
        w.tenants[0].model,
        ModelSource::File(dir.path().join("a.onnx"))
    );

    std::fs::write(&path, edit("sla_ms = 5.0", "sla_ms = 0.0")).unwrap();
    match Workload::load(&path) {
        Err(Error::InFile { path: p, source }) => {
            assert_eq!(p, path);
            assert!(
                matches!(*source, Error::Config { ref field, .. } if field == "tenants[0].sla_ms")
            );
        }
        other => panic!("expected an error naming the file, got {other:?}"),
    }
    let missing = dir.path().join("none.toml");
    assert!(
        Workload::load(&missing)
            .unwrap_err()
            .to_string()
            .contains("none.toml")
    );
}

#[test]
fn the_embedded_default_serves_three_digits_tenants_on_tiny() {
    let w = Workload::default_embedded();
    assert_eq!(w.stop, Stop::Requests(60));
    assert_eq!(w.accel.as_deref(), Some("tiny"));
    let priorities: Vec<u8> = w.tenants.iter().map(|t| t.priority).collect();
    assert_eq!(priorities, [9, 3, 1]);
    for (t, variant) in w.tenants.iter().zip(["int8_qop", "fp16", "fp32"]) {
        let ModelSource::File(model) = &t.model else {
            panic!("the default's tenants are files")
        };
        assert!(model.ends_with(format!("models/digits/{variant}/model.onnx")));
        assert!(model.is_file(), "{}", model.display());
        assert!(matches!(t.sla, Sla::Factor(f) if (3.0..=10.0).contains(&f)));
        assert!(matches!(t.arrival, Arrival::Poisson { .. }));
    }
    assert_eq!(w.accelerator().unwrap().name, "tiny");
}

#[test]
fn the_accelerator_is_a_preset_or_a_file_next_to_the_workload() {
    let w = Workload::from_toml(BASE, Path::new("/w")).unwrap();
    assert_eq!(w.accelerator().unwrap().name, "tpu-msa");

    let dir = tempfile::tempdir().unwrap();
    let tiny = cdmsa::config::PRESETS
        .iter()
        .find(|(name, _)| *name == "tiny")
        .unwrap()
        .1;
    std::fs::write(
        dir.path().join("mine.toml"),
        tiny.replace("name = \"tiny\"", "name = \"mine\""),
    )
    .unwrap();
    let text = edit("seed = 7", "seed = 7\naccel = \"mine.toml\"");
    let w = Workload::from_toml(&text, dir.path()).unwrap();
    assert_eq!(w.accelerator().unwrap().name, "mine");
}

/// A one-pass tenant and a decoder tenant; the decoder cases edit it.
const DECODER: &str = r#"
requests = 10

[[tenants]]
name = "cnn"
model = "a.onnx"
sla_ms = 5.0
arrival = { kind = "poisson", rate_per_s = 100.0 }

[[tenants]]
name = "chat"
model = "d.onnx"
decode = { prompt = 128, generate = 64 }
ttft_ms = 50.0
tpot_ms = 12.0
arrival = { kind = "poisson", rate_per_s = 10.0 }
"#;

/// `DECODER` with one piece of text replaced (which must be there).
fn edit_decoder(from: &str, to: &str) -> String {
    assert!(DECODER.contains(from), "DECODER has no '{from}'");
    DECODER.replacen(from, to, 1)
}

#[test]
fn a_decoder_tenant_reads_its_token_loop_and_token_goals() {
    let w = Workload::from_toml(DECODER, Path::new("/w")).unwrap();
    let [cnn, chat] = &w.tenants[..] else {
        panic!("two tenants expected")
    };
    assert_eq!(cnn.decode, None);
    assert_eq!(cnn.sla, Sla::Ms(5.0));
    assert_eq!(
        chat.decode,
        Some(Decode {
            prompt: 128,
            generate: 64,
            kv_block: 16
        })
    );
    assert_eq!(
        chat.sla,
        Sla::Tokens {
            ttft_ms: 50.0,
            tpot_ms: 12.0
        }
    );
    let text = edit_decoder("generate = 64 }", "generate = 1, kv_block = 1024 }");
    let w = Workload::from_toml(&text, Path::new("/w")).unwrap();
    assert_eq!(
        w.tenants[1].decode,
        Some(Decode {
            prompt: 128,
            generate: 1,
            kv_block: 1024
        })
    );
    let longest = edit_decoder("prompt = 128", &format!("prompt = {MAX_TOKENS}"));
    assert_eq!(
        Workload::from_toml(&longest, Path::new("/w"))
            .unwrap()
            .tenants[1]
            .decode
            .map(|d| d.prompt),
        Some(32_768)
    );
}

#[test]
fn bad_decoder_tenants_are_rejected_naming_the_field() {
    let cases = [
        (edit_decoder("ttft_ms = 50.0\n", ""), "tenants[1].ttft_ms"),
        (edit_decoder("tpot_ms = 12.0\n", ""), "tenants[1].tpot_ms"),
        (
            edit_decoder("ttft_ms = 50.0", "ttft_ms = 0.0"),
            "tenants[1].ttft_ms",
        ),
        (
            edit_decoder("tpot_ms = 12.0", "tpot_ms = inf"),
            "tenants[1].tpot_ms",
        ),
        (
            edit_decoder("tpot_ms = 12.0", "tpot_ms = 12.0\nsla_ms = 5.0"),
            "tenants[1].sla_ms",
        ),
        (
            edit_decoder("tpot_ms = 12.0", "tpot_ms = 12.0\nsla_factor = 3.0"),
            "tenants[1].sla_factor",
        ),
        (
            edit_decoder("sla_ms = 5.0", "sla_ms = 5.0\nttft_ms = 1.0"),
            "tenants[0].ttft_ms",
        ),
        (
            edit_decoder("sla_ms = 5.0", "sla_ms = 5.0\ntpot_ms = 1.0"),
            "tenants[0].tpot_ms",
        ),
        (
            edit_decoder("prompt = 128", "prompt = 0"),
            "tenants[1].decode.prompt",
        ),
        (
            edit_decoder("prompt = 128", "prompt = 32769"),
            "tenants[1].decode.prompt",
        ),
        (
            edit_decoder("generate = 64", "generate = 0"),
            "tenants[1].decode.generate",
        ),
        (
            edit_decoder("generate = 64", "generate = 32769"),
            "tenants[1].decode.generate",
        ),
        (
            edit_decoder("generate = 64", "generate = 64, kv_block = 0"),
            "tenants[1].decode.kv_block",
        ),
        (
            edit_decoder("generate = 64", "generate = 64, kv_block = 1025"),
            "tenants[1].decode.kv_block",
        ),
        (
            edit_decoder("name = \"chat\"", "name = \"chat\"\nbatch = 2"),
            "tenants[1].batch",
        ),
    ];
    for (text, field) in cases {
        assert_eq!(bad_field(&text, Path::new("/w")), field, "in\n{text}");
    }
    // The batch error says why.
    let err = Workload::from_toml(
        &edit_decoder("name = \"chat\"", "name = \"chat\"\nbatch = 2"),
        Path::new("/w"),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("must be 1 for a decoder tenant"), "{err}");
    let unknown = malformed(&edit_decoder("generate = 64", "generate = 64, beams = 2"));
    assert!(unknown.contains("beams"), "{unknown}");
}

/// `DECODER` with tenant `tenant` (0 or 1) arriving by the trace `t.csv`, whose content is
/// written into `dir`.
fn on_trace(dir: &Path, tenant: usize, content: &str) -> String {
    std::fs::write(dir.join("t.csv"), content).unwrap();
    let rate = ["rate_per_s = 100.0", "rate_per_s = 10.0"][tenant];
    edit_decoder(
        &format!("{{ kind = \"poisson\", {rate} }}"),
        "{ kind = \"trace\", file = \"t.csv\" }",
    )
}

#[test]
fn a_three_column_trace_gives_each_arrival_its_token_pair_after_the_header() {
    let dir = tempfile::tempdir().unwrap();
    let content = "# chat\ntimestamp_ms, context_tokens, generated_tokens\n\
                   0.5, 100, 7\n\n1.0,1,32768 # longest generation\n2.25 , 32768 , 1\n";
    let text = on_trace(dir.path(), 1, content);
    let w = Workload::from_toml(&text, dir.path()).unwrap();
    assert_eq!(
        w.tenants[1].arrival,
        Arrival::Trace {
            times_ms: vec![0.5, 1.0, 2.25],
            tokens: vec![(100, 7), (1, 32_768), (32_768, 1)],
        }
    );
    // A header on a times-only trace is skipped too.
    let text = on_trace(dir.path(), 0, "t_ms\n3.0\n4.0\n");
    let w = Workload::from_toml(&text, dir.path()).unwrap();
    assert_eq!(
        w.tenants[0].arrival,
        Arrival::Trace {
            times_ms: vec![3.0, 4.0],
            tokens: vec![],
        }
    );
}

#[test]
fn bad_token_traces_name_the_field_and_line() {
    let dir = tempfile::tempdir().unwrap();
    for (content, line) in [
        ("1.0,10,10\n2.0\n", "line 2"),
        ("1.0\n2.0,10,10\n", "line 2"),
        ("h\n1.0,10,10\n\n3.0,5\n", "line 4"),
        ("1.0,10\n", "line 1"),
        ("1.0,10,10,10\n", "line 1"),
        ("1.0,0,10\n", "line 1"),
        ("1.0,10,0\n", "line 1"),
        ("1.0,10,10\n2.0,32769,10\n", "line 2"),
        ("1.0,10,32769\n", "line 1"),
        ("1.0,10,-1\n", "line 1"),
        ("1.0,ten,10\n", "line 1"),
        ("1.0,1.5,10\n", "line 1"),
        ("h\nh\n1.0,1,1\n", "line 2"),
        ("1.0,1,1\nh\n", "line 2"),
        ("2.0,1,1\n1.0,1,1\n", "line 2"),
    ] {
        let text = on_trace(dir.path(), 1, content);
        let err = Workload::from_toml(&text, dir.path())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("tenants[1].arrival.file"),
            "{content:?}: {err}"
        );
        assert!(err.contains("t.csv"), "{content:?}: {err}");
        assert!(
            err.contains(line),
            "{content:?}: '{err}' does not name {line}"
        );
    }
    // Token columns on a tenant without a token loop.
    let text = on_trace(dir.path(), 0, "1.0,10,10\n");
    assert_eq!(bad_field(&text, dir.path()), "tenants[0].arrival.file");
}

#[test]
fn decoder_workloads_are_written_and_read_back_unchanged() {
    for text in [
        DECODER.to_string(),
        edit_decoder("generate = 64 }", "generate = 64, kv_block = 32 }"),
    ] {
        let w = Workload::from_toml(&text, Path::new("/w")).unwrap();
        let written = w.to_toml().unwrap();
        assert_eq!(Workload::from_toml(&written, Path::new("/w")).unwrap(), w);
        assert!(written.contains("ttft_ms = 50.0"), "{written}");
    }
    // A tenant without a token loop writes none of its keys.
    let one_pass = Workload::from_toml(BASE, Path::new("/w")).unwrap();
    let written = one_pass.to_toml().unwrap();
    for key in ["decode", "ttft_ms", "tpot_ms"] {
        assert!(!written.contains(key), "{written}");
    }
}

#[test]
fn the_committed_llm_chat_sample_is_a_valid_decoder_trace() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("workloads");
    let text = edit_decoder(
        "{ kind = \"poisson\", rate_per_s = 10.0 }",
        "{ kind = \"trace\", file = \"traces/llm-chat.csv\" }",
    );
    let w = Workload::from_toml(&text, &root).unwrap();
    let Arrival::Trace { times_ms, tokens } = &w.tenants[1].arrival else {
        panic!("a trace")
    };
    assert_eq!(times_ms.len(), 200);
    assert_eq!(tokens.len(), 200);
    // The first data line of the file, read by hand.
    assert_eq!((times_ms[0], tokens[0]), (9.013, (625, 62)));
    assert!(
        tokens
            .iter()
            .all(|&(c, g)| (16..=2048).contains(&c) && (8..=256).contains(&g))
    );
}
