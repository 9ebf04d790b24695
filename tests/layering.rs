//! DESIGN section 1: a module imports only from modules above it in the layer list.

use std::path::Path;

/// The layers, top (imported by everything) to bottom (imports anything).
const LAYERS: &[&str] = &[
    "error",
    "limits",
    "files",
    "units",
    "numeric",
    "proto",
    "tensor",
    "config",
    "ir",
    "onnx",
    "zoo",
    "reference",
    "kernel",
    "lower",
    "array",
    "exec",
    "pipeline",
    "workload",
    "sched",
    "sim",
    "verify",
    "report",
    "eval",
    "cli",
];

fn rank(module: &str) -> Option<usize> {
    LAYERS.iter().position(|m| *m == module)
}

fn visit(dir: &Path, files: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            visit(&p, files);
        } else if p.extension().is_some_and(|x| x == "rs") {
            files.push(p);
        }
    }
}

#[test]
fn no_module_imports_from_a_lower_layer() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    visit(&src, &mut files);
    let mut violations = Vec::new();
    for f in files {
        let rel = f.strip_prefix(&src).unwrap();
        let owner = rel
            .iter()
            .next()
            .unwrap()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_string();
        let Some(own) = rank(&owner) else { continue };
        let text = std::fs::read_to_string(&f).unwrap();
        for (i, line) in text.lines().enumerate() {
            for part in line.split("crate::").skip(1) {
                let used: String = part
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if let Some(r) = rank(&used)
                    && r > own
                {
                    violations.push(format!("{}:{}: {owner} uses {used}", rel.display(), i + 1));
                }
            }
        }
    }
    assert!(violations.is_empty(), "{violations:#?}");
}

#[test]
fn every_layer_is_a_module_of_the_crate() {
    let lib =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/lib.rs")).unwrap();
    for m in LAYERS {
        assert!(lib.contains(&format!("pub mod {m};")), "lib.rs lacks {m}");
    }
}

/// The modules `crate::` paths in `text` name first, braced lists (`crate::{a, b::c}`) read.
fn crate_modules(text: &str) -> Vec<String> {
    let ident = |s: &str| -> String {
        s.trim_start()
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect()
    };
    let mut used = Vec::new();
    for part in text.split("crate::").skip(1) {
        match part.strip_prefix('{') {
            Some(list) => {
                let mut depth = 0;
                let mut start = 0;
                for (i, c) in list.char_indices() {
                    match c {
                        '{' => depth += 1,
                        '}' if depth == 0 => {
                            used.push(ident(&list[start..i]));
                            break;
                        }
                        '}' => depth -= 1,
                        ',' if depth == 0 => {
                            used.push(ident(&list[start..i]));
                            start = i + 1;
                        }
                        _ => {}
                    }
                }
            }
            None => used.push(ident(part)),
        }
    }
    used
}

#[test]
fn commands_and_the_simulator_reach_models_only_through_the_pipeline() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    assert_eq!(
        crate_modules("use crate::{a, b::{c, d}, e};\nuse crate::f::g; crate::h"),
        ["a", "b", "e", "f", "h"]
    );
    let mut files = Vec::new();
    visit(&src.join("cli"), &mut files);
    visit(&src.join("sim"), &mut files);
    let mut violations = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        for m in crate_modules(&text) {
            if m == "onnx" || m == "lower" {
                violations.push(format!("{} uses {m}", f.display()));
            }
        }
    }
    assert!(violations.is_empty(), "{violations:#?}");
}
