//! DESIGN section 1, enforced: every module of the crate has a rank, a module imports only from
//! modules ranked above it, and the design's "never" rules hold. Sources are parsed with `syn`,
//! so braced `use crate::{a, b::c}` trees, `super::` paths and paths written inline in code all
//! count as imports.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use syn::visit::Visit;

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
    "kernel",
    "ir",
    "onnx",
    "zoo",
    "reference",
    "array",
    "lower",
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

/// DESIGN's "never" column, as imports: (module, what it must not import, why). Names are the
/// crate's top-level modules or external crates.
const NEVER: &[(&str, &str, &str)] = &[
    ("numeric", "tensor", "numeric knows no tensors"),
    ("tensor", "ir", "tensor knows no graphs"),
    ("ir", "proto", "ir knows no ONNX protobuf"),
    ("ir", "prost", "ir knows no ONNX protobuf"),
    ("onnx", "array", "onnx knows no arrays"),
    (
        "reference",
        "lower",
        "reference uses neither lower nor array",
    ),
    (
        "reference",
        "array",
        "reference uses neither lower nor array",
    ),
    ("kernel", "ir", "kernel is plain data"),
    ("array", "ir", "array knows no graphs"),
    ("array", "workload", "array knows no tenants"),
    ("array", "sched", "array knows no tenants"),
    ("array", "sim", "array knows no tenants"),
    ("sched", "exec", "sched computes no values"),
    ("sched", "array", "sched computes no values"),
    ("sched", "tensor", "sched computes no values"),
    (
        "cli",
        "onnx",
        "commands reach models only through the pipeline",
    ),
    (
        "cli",
        "lower",
        "commands reach models only through the pipeline",
    ),
    (
        "sim",
        "onnx",
        "the simulator reaches models only through the pipeline",
    ),
    (
        "sim",
        "lower",
        "the simulator reaches models only through the pipeline",
    ),
];

/// Arrows the design forbids that the code still has, each to be removed; the test fails when
/// one of them no longer exists, so this list only shrinks.
const KNOWN: &[(&str, &str)] = &[];

fn rank(module: &str) -> Option<usize> {
    LAYERS.iter().position(|m| *m == module)
}

/// One import: the file and line it is on, the importing module and the imported name (a
/// top-level module of the crate, or an external crate).
#[derive(Debug)]
struct Import {
    at: String,
    owner: String,
    used: String,
}

/// Collects the first segment a path reaches outside its own module tree.
struct Imports<'a> {
    /// The module path of the item being visited (file path plus inline `mod`s).
    module: Vec<String>,
    at: &'a str,
    found: Vec<(usize, String)>,
}

impl Imports<'_> {
    /// The top-level module or crate a path starting with `segments` names, if it leaves
    /// `self.module`'s own top-level module.
    fn resolve(&self, segments: &[String]) -> Option<String> {
        let (first, rest) = segments.split_first()?;
        match first.as_str() {
            "crate" => rest.first().cloned(),
            "super" | "self" => {
                let mut here = self.module.clone();
                let mut rest = segments;
                while let Some((s, tail)) = rest.split_first() {
                    match s.as_str() {
                        "super" => {
                            here.pop();
                        }
                        "self" => {}
                        _ => break,
                    }
                    rest = tail;
                }
                match here.first() {
                    Some(top) => Some(top.clone()),
                    None => rest.first().cloned(),
                }
            }
            _ => Some(first.clone()),
        }
    }

    fn record(&mut self, line: usize, segments: &[String]) {
        if let Some(used) = self.resolve(segments) {
            self.found.push((line, used));
        }
    }

    /// Walks a `use` tree, recording every leaf's full path.
    fn use_tree(&mut self, prefix: &mut Vec<String>, tree: &syn::UseTree) {
        match tree {
            syn::UseTree::Path(p) => {
                prefix.push(p.ident.to_string());
                self.use_tree(prefix, &p.tree);
                prefix.pop();
            }
            syn::UseTree::Name(n) => {
                prefix.push(n.ident.to_string());
                self.record(n.ident.span().start().line, prefix);
                prefix.pop();
            }
            syn::UseTree::Rename(r) => {
                prefix.push(r.ident.to_string());
                self.record(r.ident.span().start().line, prefix);
                prefix.pop();
            }
            syn::UseTree::Glob(g) => {
                prefix.push("*".into());
                self.record(g.star_token.spans[0].start().line, prefix);
                prefix.pop();
            }
            syn::UseTree::Group(g) => {
                for t in &g.items {
                    self.use_tree(prefix, t);
                }
            }
        }
    }
}

impl<'ast> Visit<'ast> for Imports<'_> {
    fn visit_item_use(&mut self, u: &'ast syn::ItemUse) {
        self.use_tree(&mut Vec::new(), &u.tree);
    }

    fn visit_item_mod(&mut self, m: &'ast syn::ItemMod) {
        self.module.push(m.ident.to_string());
        syn::visit::visit_item_mod(self, m);
        self.module.pop();
    }

    fn visit_path(&mut self, p: &'ast syn::Path) {
        if p.segments.len() > 1 {
            let segments: Vec<String> = p.segments.iter().map(|s| s.ident.to_string()).collect();
            let line = p.segments[0].ident.span().start().line;
            self.record(line, &segments);
        }
        syn::visit::visit_path(self, p);
    }

    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        // Macro bodies are token streams; read the `crate::…` paths in them.
        let tokens: Vec<String> = m
            .tokens
            .clone()
            .into_iter()
            .map(|t| t.to_string())
            .collect();
        for (i, t) in tokens.iter().enumerate() {
            if t == "crate"
                && tokens.get(i + 1).is_some_and(|c| c == ":")
                && let Some(name) = tokens.get(i + 3)
            {
                let line = m.path.segments[0].ident.span().start().line;
                self.found.push((line, name.clone()));
            }
        }
        syn::visit::visit_macro(self, m);
    }
}

fn sources(dir: &Path, files: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).expect("src is readable") {
        let p = e.expect("directory entry").path();
        if p.is_dir() {
            sources(&p, files);
        } else if p.extension().is_some_and(|x| x == "rs") {
            files.push(p);
        }
    }
}

/// The module path of a source file: `src/a/b.rs` and `src/a/b/mod.rs` are `[a, b]`.
fn module_path(rel: &Path) -> Vec<String> {
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_string())
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The crate's top-level modules, from `lib.rs`.
fn crate_modules() -> BTreeSet<String> {
    let lib = std::fs::read_to_string(src().join("lib.rs")).expect("lib.rs");
    let file = syn::parse_file(&lib).expect("lib.rs parses");
    file.items
        .iter()
        .filter_map(|i| match i {
            syn::Item::Mod(m) => Some(m.ident.to_string()),
            _ => None,
        })
        .collect()
}

/// Every import from one top-level module of the crate into another module or crate.
fn imports() -> Vec<Import> {
    let root = src();
    let mut files = Vec::new();
    sources(&root, &mut files);
    files.sort();
    let mut all = Vec::new();
    for f in files {
        let rel = f.strip_prefix(&root).expect("under src").to_path_buf();
        let module = module_path(&rel);
        let Some(owner) = module.first().cloned() else {
            continue;
        };
        if owner == "lib" || owner == "main" {
            continue;
        }
        let text = std::fs::read_to_string(&f).expect("source is readable");
        let file = syn::parse_file(&text).unwrap_or_else(|e| panic!("{}: {e}", rel.display()));
        let at = rel.display().to_string();
        let mut v = Imports {
            module,
            at: &at,
            found: Vec::new(),
        };
        v.visit_file(&file);
        for (line, used) in v.found {
            if used != owner {
                all.push(Import {
                    at: format!("{}:{line}", v.at),
                    owner: owner.clone(),
                    used,
                });
            }
        }
    }
    all
}

#[test]
fn every_module_of_the_crate_is_ranked_and_every_rank_is_a_module() {
    let modules = crate_modules();
    let ranked: BTreeSet<String> = LAYERS.iter().map(|s| s.to_string()).collect();
    let unranked: Vec<_> = modules.difference(&ranked).collect();
    let missing: Vec<_> = ranked.difference(&modules).collect();
    assert!(
        unranked.is_empty() && missing.is_empty(),
        "modules without a layer: {unranked:?}; layers that are not modules: {missing:?}"
    );
}

#[test]
fn no_module_imports_from_a_lower_layer() {
    let violations: Vec<String> = imports()
        .into_iter()
        .filter_map(|i| {
            let (own, used) = (rank(&i.owner)?, rank(&i.used)?);
            (used > own).then(|| format!("{}: {} uses {}", i.at, i.owner, i.used))
        })
        .collect();
    assert!(violations.is_empty(), "{violations:#?}");
}

#[test]
fn the_designs_never_rules_hold() {
    let all = imports();
    let mut violations = Vec::new();
    for &(owner, used, why) in NEVER {
        let found: Vec<&Import> = all
            .iter()
            .filter(|i| i.owner == owner && i.used == used)
            .collect();
        let known = KNOWN.contains(&(owner, used));
        if known && found.is_empty() {
            violations.push(format!("{owner} → {used} is gone: remove it from KNOWN"));
        }
        if !known {
            violations.extend(
                found
                    .iter()
                    .map(|i| format!("{}: {owner} uses {used}: {why}", i.at)),
            );
        }
    }
    assert!(violations.is_empty(), "{violations:#?}");
}

/// The checker itself: braced trees, `super` paths and inline paths are all seen.
#[test]
fn imports_are_read_from_braced_trees_super_paths_and_code() {
    let text = "use crate::{a::X, b::{c, d}};\n\
                mod inner { use super::super::e::Y; }\n\
                fn f() { crate::g::h(); let _ = super::k::Z; }\n";
    let file = syn::parse_file(text).expect("parses");
    let mut v = Imports {
        module: vec!["m".into(), "n".into()],
        at: "x",
        found: Vec::new(),
    };
    v.visit_file(&file);
    let used: BTreeSet<&str> = v.found.iter().map(|(_, u)| u.as_str()).collect();
    // `super::super::e` from `m::n::inner` is `m::e`: inside m itself, reported as `m`.
    assert_eq!(used, BTreeSet::from(["a", "b", "g", "m"]));
}
