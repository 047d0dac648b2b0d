//! The shape of the tree, kept: no crate's modules import each other in a circle, and labrpc
//! (the simulation and the network) knows nothing of sockets, files or real processes.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The workspace root (this package lives in `labs/`).
fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace root")
        .to_path_buf()
}

/// Every `.rs` file under `dir`.
fn sources(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return files;
    };
    for entry in entries.filter_map(Result::ok) {
        let path = entry.path();
        if path.is_dir() {
            files.extend(sources(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files
}

/// The top-level modules of a crate's `src/` that each one names as `crate::module`.
fn module_imports(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut imports: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in sources(src) {
        let relative = file.strip_prefix(src).expect("under src");
        let first = relative
            .components()
            .next()
            .and_then(|c| c.as_os_str().to_str())
            .unwrap_or("");
        let module = first.trim_end_matches(".rs").to_string();
        if ["lib", "main", "bin"].contains(&module.as_str()) {
            continue;
        }
        let text = std::fs::read_to_string(&file).expect("a source file");
        let named = imports.entry(module.clone()).or_default();
        for (at, _) in text.match_indices("crate::") {
            let rest = &text[at + "crate::".len()..];
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            let other = &rest[..end];
            if !other.is_empty() && other != module {
                named.insert(other.to_string());
            }
        }
    }
    // Only imports of the crate's own top-level modules count.
    let modules: BTreeSet<String> = imports.keys().cloned().collect();
    for named in imports.values_mut() {
        named.retain(|m| modules.contains(m));
    }
    imports
}

/// A circle of imports, if there is one.
fn circle(imports: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        module: &str,
        imports: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|m| m == module) {
            let mut found = path[at..].to_vec();
            found.push(module.to_string());
            return Some(found);
        }
        if done.contains(module) {
            return None;
        }
        path.push(module.to_string());
        for next in imports.get(module).into_iter().flatten() {
            if let Some(found) = visit(next, imports, path, done) {
                return Some(found);
            }
        }
        path.pop();
        done.insert(module.to_string());
        None
    }
    let mut done = BTreeSet::new();
    imports
        .keys()
        .find_map(|m| visit(m, imports, &mut Vec::new(), &mut done))
}

#[test]
fn no_crate_imports_its_own_modules_in_a_circle() {
    let root = workspace();
    let mut checked = 0;
    for entry in std::fs::read_dir(&root).unwrap().filter_map(Result::ok) {
        let src = entry.path().join("src");
        if !entry.path().join("Cargo.toml").is_file() || !src.is_dir() {
            continue;
        }
        checked += 1;
        if let Some(found) = circle(&module_imports(&src)) {
            panic!(
                "{}: its modules import each other in a circle: {}",
                entry.path().display(),
                found.join(" -> ")
            );
        }
    }
    assert!(checked >= 10, "only {checked} crates found");
}

#[test]
fn a_circle_is_found() {
    let imports: BTreeMap<String, BTreeSet<String>> = [
        ("a", &["b"][..]),
        ("b", &["c"][..]),
        ("c", &["a"][..]),
        ("d", &[][..]),
    ]
    .into_iter()
    .map(|(m, named)| (m.to_string(), named.iter().map(|n| n.to_string()).collect()))
    .collect();
    assert_eq!(circle(&imports).unwrap().len(), 4);
}

#[test]
fn labrpc_knows_no_socket_file_or_real_process_code() {
    let root = workspace();
    let forbidden = [
        "std::net",
        "std::os::unix::net",
        "std::fs::File",
        "OpenOptions",
        "std::process",
        "realproc::",
    ];
    for file in sources(&root.join("labrpc").join("src")) {
        let text = std::fs::read_to_string(&file).unwrap();
        for word in forbidden {
            assert!(
                !text.contains(word),
                "{} uses {word}: real processes belong in realproc",
                file.display()
            );
        }
    }
    let manifest = std::fs::read_to_string(root.join("labrpc/Cargo.toml")).unwrap();
    assert!(!manifest.contains("realproc"), "labrpc depends on realproc");
}
