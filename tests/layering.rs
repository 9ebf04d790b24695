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
    "array",
    "lower",
    "exec",
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
