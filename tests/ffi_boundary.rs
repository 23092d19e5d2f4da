//! Every export of the C ABI runs its whole body behind the panic boundary (issue 11).
//!
//! A panic that unwinds out of an `extern "C"` function aborts the host process, so each
//! export in `src/ffi` must be one call of `boundary(on_panic, || ...)` or
//! `status_boundary(err, || ...)` and nothing else. Making an export panic on purpose would
//! need a test-only hook in the shipped library, so this checks the source instead: it reads
//! every `extern "C" fn` in `src/ffi`, checks that its body is exactly one boundary call, and
//! checks that the exports it read are exactly the functions `include/flyteauth.h` declares
//! (so a new file, or a signature the reader misparses, cannot slip past it).

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

const BOUNDARIES: [&str; 2] = ["boundary(", "status_boundary("];

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The `.rs` files under `src/ffi`, recursively, sorted.
fn ffi_sources() -> Vec<PathBuf> {
    fn walk(dir: &Path, files: &mut Vec<PathBuf>) {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, files);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(&root().join("src/ffi"), &mut files);
    files.sort();
    assert!(!files.is_empty(), "no sources under src/ffi");
    files
}

/// `source` with every `//` comment (doc comments included) blanked out, so that prose
/// mentioning `extern "C" fn` is not read as code. Byte offsets are kept.
fn strip_comments(source: &str) -> String {
    source
        .lines()
        .map(|line| {
            let code = code_part(line);
            format!("{code}{}\n", " ".repeat(line.len() - code.len()))
        })
        .collect()
}

/// The part of `line` before a `//` that is not inside a string literal.
fn code_part(line: &str) -> &str {
    let bytes = line.as_bytes();
    let mut in_string = false;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if in_string => i += 1,
            b'"' => in_string = !in_string,
            b'/' if !in_string && bytes.get(i + 1) == Some(&b'/') => return &line[..i],
            _ => {}
        }
        i += 1;
    }
    line
}

/// The index just past the bracket that closes the one at `open` (`(` or `{`), skipping
/// string literals.
fn matching_close(code: &[u8], open: usize) -> usize {
    let (left, right) = match code[open] {
        b'(' => (b'(', b')'),
        b'{' => (b'{', b'}'),
        other => panic!("not an opening bracket: {}", other as char),
    };
    let mut depth = 0usize;
    let mut in_string = false;
    let mut i = open;
    while i < code.len() {
        let c = code[i];
        if in_string {
            match c {
                b'\\' => i += 1,
                b'"' => in_string = false,
                _ => {}
            }
        } else if c == b'"' {
            in_string = true;
        } else if c == left {
            depth += 1;
        } else if c == right {
            depth -= 1;
            if depth == 0 {
                return i + 1;
            }
        }
        i += 1;
    }
    panic!("unbalanced brackets from byte {open}");
}

struct Export {
    name: String,
    file: PathBuf,
    body: String,
}

/// Every named `extern "C" fn` in `code` with its body (between the braces, trimmed).
/// Function-pointer types (`extern "C" fn(...)`) have no name and are skipped.
fn exports_in(file: &Path, code: &str) -> Vec<Export> {
    const MARK: &str = "extern \"C\" fn ";
    let bytes = code.as_bytes();
    let mut exports = Vec::new();
    let mut from = 0;
    while let Some(found) = code[from..].find(MARK) {
        let name_start = from + found + MARK.len();
        let name: String = code[name_start..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        assert!(!name.is_empty(), "{}: unnamed extern fn", file.display());
        let params = name_start + code[name_start..].find('(').unwrap();
        let after_params = matching_close(bytes, params);
        let open = after_params + code[after_params..].find(['{', ';']).unwrap();
        assert_eq!(
            bytes[open],
            b'{',
            "{}: `{name}` is declared, not defined",
            file.display()
        );
        let close = matching_close(bytes, open);
        exports.push(Export {
            name,
            file: file.to_path_buf(),
            body: code[open + 1..close - 1].trim().to_string(),
        });
        from = close;
    }
    exports
}

fn all_exports() -> Vec<Export> {
    ffi_sources()
        .iter()
        .flat_map(|file| exports_in(file, &strip_comments(&fs::read_to_string(file).unwrap())))
        .collect()
}

/// Whether `body` is one call of a boundary helper and nothing else.
fn is_one_boundary_call(body: &str) -> bool {
    let Some(helper) = BOUNDARIES.iter().find(|b| body.starts_with(*b)) else {
        return false;
    };
    let open = helper.len() - 1;
    matching_close(body.as_bytes(), open) == body.len()
}

#[test]
fn every_export_is_one_boundary_call() {
    let exports = all_exports();
    let bare: Vec<String> = exports
        .iter()
        .filter(|e| !is_one_boundary_call(&e.body))
        .map(|e| {
            let first = e.body.lines().next().unwrap_or("");
            format!("{} ({}): starts with `{first}`", e.name, e.file.display())
        })
        .collect();
    assert!(
        bare.is_empty(),
        "these exports are not one `boundary(..)`/`status_boundary(..)` call:\n{}",
        bare.join("\n")
    );
}

#[test]
fn the_exports_read_are_the_functions_the_header_declares() {
    let exports: BTreeSet<String> = all_exports().into_iter().map(|e| e.name).collect();
    let header = fs::read_to_string(root().join("include/flyteauth.h")).unwrap();
    let mut declared = BTreeSet::new();
    for line in header.lines() {
        let line = line.trim_start();
        if line.starts_with('*') || line.starts_with("/*") || line.starts_with('#') {
            continue;
        }
        // A declaration: `<type> flyteauth_name(<params>);` (typedefs of function pointers
        // have `(*name)(` and are skipped).
        let Some(open) = line.find('(') else { continue };
        let name = line[..open]
            .rsplit(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .next()
            .unwrap();
        if name.starts_with("flyteauth_") {
            declared.insert(name.to_string());
        }
    }
    assert!(
        declared.len() >= 20,
        "read too few declarations from the header: {declared:?}"
    );
    assert_eq!(exports, declared, "src/ffi exports vs include/flyteauth.h");
}

/// The one `catch_unwind` of the C ABI is inside `boundary`: no export rolls its own.
#[test]
fn catch_unwind_is_called_in_one_place() {
    let calls: Vec<String> = ffi_sources()
        .iter()
        .flat_map(|file| {
            let code = strip_comments(&fs::read_to_string(file).unwrap());
            code.lines()
                .filter(|l| l.contains("catch_unwind("))
                .map(|l| format!("{}: {}", file.display(), l.trim()))
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(calls.len(), 1, "catch_unwind calls in src/ffi: {calls:#?}");
}

#[test]
fn the_reader_sees_a_bare_export() {
    let code = strip_comments(
        "/// `extern \"C\" fn doc(x)` in a comment is not code\n\
         #[no_mangle]\n\
         pub extern \"C\" fn good(m: *const u8) -> usize {\n    boundary(0, || { len(\"}\") })\n}\n\
         pub type cb = Option<extern \"C\" fn(x: i32)>;\n\
         pub extern \"C\" fn bare(m: *const u8) -> usize {\n    boundary(0, || 1);\n    2\n}\n",
    );
    let exports = exports_in(Path::new("example.rs"), &code);
    let names: Vec<&str> = exports.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["good", "bare"]);
    assert!(is_one_boundary_call(&exports[0].body));
    assert!(!is_one_boundary_call(&exports[1].body));
}
