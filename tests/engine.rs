//! The native integration test binary: engine scenarios, Kafka's own cases as data,
//! and the tidy checks on the code base itself.
#![cfg(not(target_arch = "wasm32"))]

mod cases;
mod scenarios;

mod tidy {
    use std::fs;
    use std::path::{Path, PathBuf};

    /// Words that must never appear in engine code (outside comments and string literals):
    /// web APIs, wall clocks, OS randomness, the environment and hash-ordered collections
    /// would break purity or determinism.
    const FORBIDDEN_IN_ENGINE: &[&str] = &[
        "leptos",
        "web_sys",
        "js_sys",
        "wasm_bindgen",
        "gloo",
        "SystemTime",
        "Instant",
        "thread_rng",
        "getrandom",
        "RandomState",
        "std::env",
        "HashMap",
        "HashSet",
    ];

    fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in fs::read_dir(dir).expect("readable dir") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                rust_files(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }

    /// The code of a Rust source with comments and the contents of string and char
    /// literals blanked out (newlines kept, so line numbers stay right). Prose and
    /// strings may name what code may not use; code after a `"//"` in a string is still
    /// code.
    pub fn code_only(src: &str) -> String {
        let chars: Vec<char> = src.chars().collect();
        let mut out = String::with_capacity(src.len());
        let mut i = 0;
        let blank = |c: char| if c == '\n' { '\n' } else { ' ' };
        while i < chars.len() {
            let c = chars[i];
            let next = chars.get(i + 1).copied();
            if c == '/' && next == Some('/') {
                while i < chars.len() && chars[i] != '\n' {
                    out.push(' ');
                    i += 1;
                }
            } else if c == '/' && next == Some('*') {
                let mut depth = 0;
                while i < chars.len() {
                    if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                        depth += 1;
                        out.push_str("  ");
                        i += 2;
                    } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                        depth -= 1;
                        out.push_str("  ");
                        i += 2;
                        if depth == 0 {
                            break;
                        }
                    } else {
                        out.push(blank(chars[i]));
                        i += 1;
                    }
                }
            } else if c == 'r'
                && (next == Some('"') || next == Some('#'))
                && !ident_before(&chars, i)
            {
                // A raw string: r"..." or r#"..."#.
                let mut j = i + 1;
                let mut hashes = 0;
                while chars.get(j) == Some(&'#') {
                    hashes += 1;
                    j += 1;
                }
                if chars.get(j) != Some(&'"') {
                    out.push(c);
                    i += 1;
                    continue;
                }
                out.push('"');
                j += 1;
                loop {
                    match chars.get(j) {
                        None => break,
                        Some('"') if (1..=hashes).all(|k| chars.get(j + k) == Some(&'#')) => {
                            j += 1 + hashes;
                            break;
                        }
                        Some(&ch) => out.push(blank(ch)),
                    }
                    j += 1;
                }
                out.push('"');
                i = j;
            } else if c == '"' {
                out.push('"');
                i += 1;
                while i < chars.len() && chars[i] != '"' {
                    if chars[i] == '\\' {
                        out.push(' ');
                        i += 1;
                    }
                    if i < chars.len() {
                        out.push(blank(chars[i]));
                        i += 1;
                    }
                }
                out.push('"');
                i += 1;
            } else if c == '\'' && is_char_literal(&chars, i) {
                // '\'' or 'x' or '\n': blank the contents up to the closing quote.
                out.push('\'');
                i += 1;
                if chars.get(i) == Some(&'\\') {
                    // The backslash and the character it escapes (which may be a quote).
                    out.push_str("  ");
                    i += 2;
                }
                while i < chars.len() && chars[i] != '\'' {
                    out.push(' ');
                    i += 1;
                }
                out.push('\'');
                i += 1;
            } else {
                out.push(c);
                i += 1;
            }
        }
        out
    }

    fn ident_before(chars: &[char], i: usize) -> bool {
        i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_')
    }

    /// `'x'` or `'\n'` rather than a lifetime `'a`.
    fn is_char_literal(chars: &[char], i: usize) -> bool {
        matches!(
            (chars.get(i + 1), chars.get(i + 2)),
            (Some('\\'), _) | (Some(_), Some('\''))
        )
    }

    /// Every forbidden word in `src`'s code, as `(line, word)`.
    pub fn offences(src: &str, forbidden: &[&str]) -> Vec<(usize, String)> {
        let code = code_only(src);
        let mut found = Vec::new();
        for (n, line) in code.lines().enumerate() {
            for word in forbidden {
                if line.contains(word) {
                    found.push((n + 1, (*word).to_owned()));
                }
            }
        }
        found
    }

    #[test]
    fn engine_has_no_web_clock_env_or_os_randomness() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/engine");
        let mut files = Vec::new();
        rust_files(&root, &mut files);
        files.sort();
        assert!(
            files.len() >= 10,
            "too few engine files found under {}",
            root.display()
        );
        let mut report = Vec::new();
        for file in &files {
            let text = fs::read_to_string(file).expect("readable file");
            for (line, word) in offences(&text, FORBIDDEN_IN_ENGINE) {
                report.push(format!("{}:{line}: `{word}`", file.display()));
            }
        }
        assert!(
            report.is_empty(),
            "src/engine must stay pure and deterministic:\n{}",
            report.join("\n")
        );
    }

    /// The engine modules the UI may name: the read model, commands, scenarios and
    /// levels, and errors. Everything else in the engine is its own business.
    /// The engine modules the UI may name: the read model alone (the lab application,
    /// `crate::lab`, is its other door).
    const UI_MAY_IMPORT: &[&str] = &["view"];

    /// Every `engine::name` the code of `src` names, as `(line, name)`; a braced list
    /// (`engine::{a, b::c}`) yields each top-level name.
    pub fn engine_modules(src: &str) -> Vec<(usize, String)> {
        let code = code_only(src);
        let mut out = Vec::new();
        let needle = "engine::";
        let mut from = 0;
        while let Some(at) = code[from..].find(needle) {
            let start = from + at + needle.len();
            let line = code[..start].matches('\n').count() + 1;
            let rest = &code[start..];
            if let Some(list) = rest.strip_prefix('{') {
                let mut depth = 0;
                let mut item = String::new();
                for ch in list.chars() {
                    match ch {
                        '{' => depth += 1,
                        '}' if depth == 0 => break,
                        '}' => depth -= 1,
                        ',' if depth == 0 => {
                            out.push((line, first_segment(&item)));
                            item.clear();
                            continue;
                        }
                        _ => {}
                    }
                    item.push(ch);
                }
                if !item.trim().is_empty() {
                    out.push((line, first_segment(&item)));
                }
            } else {
                out.push((line, first_segment(rest)));
            }
            from = start;
        }
        out
    }

    fn first_segment(path: &str) -> String {
        path.trim()
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect()
    }

    #[test]
    fn the_ui_names_only_the_read_model_and_the_lab() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/ui");
        let mut files = Vec::new();
        rust_files(&root, &mut files);
        files.sort();
        assert!(
            files.len() >= 5,
            "too few UI files under {}",
            root.display()
        );
        let mut report = Vec::new();
        let mut seen = 0;
        for file in &files {
            let text = fs::read_to_string(file).expect("readable file");
            for (line, module) in engine_modules(&text) {
                seen += 1;
                if !UI_MAY_IMPORT.contains(&module.as_str()) {
                    report.push(format!("{}:{line}: engine::{module}", file.display()));
                }
            }
        }
        assert!(
            seen > 10,
            "the scan found only {seen} engine paths in src/ui"
        );
        assert!(
            report.is_empty(),
            "src/ui may name only engine::{{{}}}:\n{}",
            UI_MAY_IMPORT.join(", "),
            report.join("\n")
        );
    }

    /// What the application reads the engine through: the read model, never the actors'
    /// state (`.world()`) nor the tests' inspection door; the UI not the ledger either.
    const LAB_MAY_NOT: &[&str] = &[".world()", "inspect::"];
    const UI_MAY_NOT: &[&str] = &[".world()", "inspect::", ".ledger()"];

    #[test]
    fn the_lab_and_the_ui_read_through_the_read_model() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut report = Vec::new();
        for (dir, forbidden) in [
            ("lab", LAB_MAY_NOT),
            ("bin", LAB_MAY_NOT),
            ("ui", UI_MAY_NOT),
        ] {
            let mut files = Vec::new();
            rust_files(&root.join(dir), &mut files);
            assert!(!files.is_empty(), "no files under src/{dir}");
            for file in &files {
                let text = fs::read_to_string(file).expect("readable file");
                for (line, word) in offences(&text, forbidden) {
                    report.push(format!("{}:{line}: `{word}`", file.display()));
                }
            }
        }
        assert!(report.is_empty(), "{}", report.join("\n"));
        // The rule can fail: what the grader did before it measured through `view`.
        let before = "let world = sim.world();\nworld.brokers.iter().filter(|b| b.alive)";
        assert_eq!(
            offences(before, LAB_MAY_NOT),
            vec![(1, ".world()".to_owned())]
        );
    }

    /// The actors, which talk only through messages.
    const ACTORS: &[&str] = &[
        "broker",
        "controller",
        "consumer",
        "coordinator",
        "producer",
    ];

    /// The engine modules a module names, as a file or a folder: `super::x` and
    /// `crate::engine::x` from `x.rs` or `x/mod.rs`, full paths only from the files inside a
    /// folder (their `super::` is the folder itself).
    fn module_deps(files: &[(PathBuf, bool)], full: &str) -> std::collections::BTreeSet<String> {
        let mut deps = std::collections::BTreeSet::new();
        for (file, top) in files {
            let text = fs::read_to_string(file).expect("readable file");
            let found = if *top {
                siblings(&text, full)
            } else {
                full_paths(&text, full)
            };
            deps.extend(found);
        }
        deps
    }

    /// The modules under `dir`, each with its files (`true`: the module's own file, `x.rs`
    /// or `x/mod.rs`; `false`: a file inside its folder).
    fn modules(dir: &Path) -> std::collections::BTreeMap<String, Vec<(PathBuf, bool)>> {
        let mut out: std::collections::BTreeMap<String, Vec<(PathBuf, bool)>> = Default::default();
        for entry in fs::read_dir(dir).expect("readable dir") {
            let path = entry.expect("dir entry").path();
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            if path.is_dir() {
                let mut files = Vec::new();
                rust_files(&path, &mut files);
                files.sort();
                let mine = files
                    .into_iter()
                    .map(|f| {
                        let top = f.parent() == Some(path.as_path()) && f.ends_with("mod.rs");
                        (f, top)
                    })
                    .collect();
                out.insert(name, mine);
            } else if path.extension().is_some_and(|e| e == "rs") && name != "mod" {
                out.entry(name).or_default().push((path, true));
            }
        }
        out
    }

    /// The actors an actor's code names (`super::x` or `crate::engine::x`).
    fn actors_named(src: &str, me: &str) -> Vec<String> {
        siblings(src, "crate::engine::")
            .into_iter()
            .filter(|s| s != me && ACTORS.contains(&s.as_str()))
            .collect()
    }

    /// No actor imports another: they are peers that meet only in `msg.rs` (requests and
    /// responses) and `actor.rs` (what a handler may touch), never in each other's code.
    #[test]
    fn no_actor_imports_another() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/engine");
        let all = modules(&root);
        let mut report = Vec::new();
        for actor in ACTORS {
            let files = all.get(*actor).expect("an actor module");
            for other in module_deps(files, "crate::engine::") {
                if other != *actor && ACTORS.contains(&other.as_str()) {
                    report.push(format!("{actor} names {other}"));
                }
            }
        }
        assert!(report.is_empty(), "{}", report.join("\n"));
        // The rule can fail: what producer.rs named before `last_sequence` moved to msg.rs.
        assert_eq!(
            actors_named("let l = super::broker::last_sequence(b, n);", "producer"),
            vec!["broker".to_owned()]
        );
        // ...and from inside an actor's folder, where only a full path reaches out.
        assert_eq!(
            full_paths(
                "use super::*; crate::engine::broker::last_sequence(b, n);",
                "crate::engine::"
            )
            .into_iter()
            .collect::<Vec<_>>(),
            vec!["broker".to_owned()]
        );
    }

    /// The simulated Kafka knows nothing of the application around it: no file under
    /// `src/engine` names `crate::lab` (the lab drives the engine, never the reverse).
    #[test]
    fn the_engine_knows_nothing_of_the_lab() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/engine");
        let mut files = Vec::new();
        rust_files(&root, &mut files);
        let mut report = Vec::new();
        for file in &files {
            let code = code_only(&fs::read_to_string(file).expect("readable file"));
            for (i, line) in code.lines().enumerate() {
                if line.contains("crate::lab") || line.contains("kafka_lab::lab") {
                    report.push(format!("{}:{}", file.display(), i + 1));
                }
            }
        }
        assert!(files.len() > 20, "too few engine files");
        assert!(
            report.is_empty(),
            "the engine names the lab:\n{}",
            report.join("\n")
        );
    }

    #[test]
    fn the_import_scan_reads_paths_lists_and_ignores_prose() {
        let src = "use crate::engine::view::{self, Tp};\n// engine::ledger in prose\nuse crate::engine::{scenario::Scenario, ledger::Ledger};\nlet s = \"engine::sim\";\nfn f() { crate::engine::world::World::new(); }";
        let got = engine_modules(src);
        assert_eq!(
            got,
            vec![
                (1, "view".to_owned()),
                (3, "scenario".to_owned()),
                (3, "ledger".to_owned()),
                (5, "world".to_owned()),
            ]
        );
        // ...and the UI rule reports those past the read model.
        let refused: Vec<&str> = got
            .iter()
            .map(|(_, m)| m.as_str())
            .filter(|m| !UI_MAY_IMPORT.contains(m))
            .collect();
        assert_eq!(refused, vec!["scenario", "ledger", "world"]);
    }

    /// The sibling modules a file names (`super::name` or the full path), from its code
    /// only.
    fn siblings(src: &str, full: &str) -> std::collections::BTreeSet<String> {
        // `super::name` and the full path `crate::engine::name` alike: a circle hidden
        // behind a full path is still a circle.
        names_after(src, &["super::", full])
    }

    /// The modules a file names by full path only (`crate::engine::name`).
    fn full_paths(src: &str, full: &str) -> std::collections::BTreeSet<String> {
        names_after(src, &[full])
    }

    /// The first path segment after each needle, in code (a braced list gives each item).
    fn names_after(src: &str, needles: &[&str]) -> std::collections::BTreeSet<String> {
        let code = code_only(src);
        let mut out = std::collections::BTreeSet::new();
        for needle in needles {
            let mut from = 0;
            while let Some(at) = code[from..].find(needle) {
                let start = from + at + needle.len();
                let rest = &code[start..];
                if let Some(list) = rest.strip_prefix('{') {
                    let end = list.find('}').unwrap_or(list.len());
                    for item in list[..end].split(',') {
                        let name = first_segment(item);
                        if !name.is_empty() {
                            out.insert(name);
                        }
                    }
                } else {
                    let name = first_segment(rest);
                    if !name.is_empty() {
                        out.insert(name);
                    }
                }
                from = start;
            }
        }
        out
    }

    /// No module imports one that imports it back, directly or around a circle: the
    /// actors talk through messages, and the layers stack.
    #[test]
    fn no_module_imports_one_that_imports_it_back() {
        for (dir, full) in [
            ("src/engine", "crate::engine::"),
            ("src/ui", "crate::ui::"),
            ("src/lab", "crate::lab::"),
        ] {
            let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
            // A folder is one module: its files' paths out of it are its edges.
            let graph: Graph = modules(&root)
                .into_iter()
                .map(|(name, files)| {
                    let deps = module_deps(&files, full);
                    (name, deps)
                })
                .collect();
            assert!(graph.len() > 5, "{dir}");
            let circle = find_circle(&graph);
            assert!(
                circle.is_none(),
                "{dir}: import circle {}",
                circle.unwrap_or_default().join(" -> ")
            );
        }
    }

    /// A module graph: each module with the modules it names.
    type Graph = std::collections::BTreeMap<String, std::collections::BTreeSet<String>>;

    /// The first import circle in a graph, as the path around it.
    fn find_circle(graph: &Graph) -> Option<Vec<String>> {
        // Depth-first search with colours: grey (1) on the stack, black (2) done.
        fn visit(
            n: &str,
            g: &Graph,
            state: &mut std::collections::BTreeMap<String, u8>,
            path: &mut Vec<String>,
        ) -> Option<Vec<String>> {
            match state.get(n) {
                Some(2) => return None,
                Some(1) => {
                    let i = path.iter().position(|p| p == n)?;
                    let mut circle = path[i..].to_vec();
                    circle.push(n.to_owned());
                    return Some(circle);
                }
                _ => {}
            }
            state.insert(n.to_owned(), 1);
            path.push(n.to_owned());
            for d in g.get(n).into_iter().flatten() {
                if d != n && g.contains_key(d) {
                    if let Some(c) = visit(d, g, state, path) {
                        return Some(c);
                    }
                }
            }
            path.pop();
            state.insert(n.to_owned(), 2);
            None
        }
        let mut state = std::collections::BTreeMap::new();
        graph
            .keys()
            .find_map(|n| visit(n, graph, &mut state, &mut Vec::new()))
    }

    /// The rule can fail: the circle a full path hid (event → msg → record → event), read
    /// from the files' code as the scan reads it, and a folder's child naming its way out.
    #[test]
    fn the_circle_scan_finds_a_circle_behind_a_full_path() {
        let full = "crate::engine::";
        let files = [
            (
                "event",
                "use super::ids::Tp;\nfn f(e: crate::engine::msg::KafkaError) {}",
            ),
            ("msg", "use super::record::RecordInfo;"),
            ("record", "use super::event::Event;"),
            ("ids", ""),
        ];
        let graph: Graph = files
            .iter()
            .map(|(name, code)| ((*name).to_owned(), siblings(code, full)))
            .collect();
        assert_eq!(
            find_circle(&graph),
            Some(vec![
                "event".into(),
                "msg".into(),
                "record".into(),
                "event".into()
            ])
        );
        // Without the full path there is no circle: that is how it hid.
        let mut cut = graph.clone();
        cut.get_mut("event").unwrap().remove("msg");
        assert_eq!(find_circle(&cut), None);
    }

    #[test]
    fn the_sibling_scan_reads_paths_and_lists() {
        let full = "crate::engine::";
        let a = siblings(
            "use super::b::X;\nfn f() { super::c::g(); } // super::d",
            full,
        );
        assert_eq!(
            a.into_iter().collect::<Vec<_>>(),
            vec!["b".to_owned(), "c".to_owned()]
        );
        let list = siblings("use super::{b, c::D};", full);
        assert_eq!(list.len(), 2);
        // A full path counts as much as `super::` (the circle it hid is why).
        let hidden = siblings("fn f(e: crate::engine::msg::KafkaError) {}", full);
        assert_eq!(
            hidden.into_iter().collect::<Vec<_>>(),
            vec!["msg".to_owned()]
        );
    }

    /// The most code lines (neither blank nor only comment) one source file may hold.
    const MAX_FILE_CODE_LINES: usize = 1_000;
    /// The most lines an engine or lab function may span, signature to closing brace.
    const MAX_FN_LINES: usize = 70;
    /// The most lines a UI function (a component) may span.
    const MAX_UI_FN_LINES: usize = 200;
    /// Functions that were over their limit before it existed, with their length today.
    /// Each may only shrink: lower its number when it does, and drop it once it fits.
    const LONG_FUNCTIONS: &[(&str, usize)] = &[
        ("bin/kafka-lab-check.rs:check_level", 88),
        ("engine/assignor/sticky.rs:constrained", 96),
        ("engine/assignor/sticky.rs:general", 145),
        ("engine/checks.rs:check", 157),
        ("engine/explain/mod.rs:step", 87),
        ("lab/goal/mod.rs:compile_one", 173),
        ("lab/goal/measure.rs:metric", 88),
        ("lab/goal/monitor.rs:check", 94),
        ("lab/level.rs:validate", 87),
        ("lab/link.rs:decode", 80),
        ("lab/reproduce.rs:reproduce", 179),
    ];

    /// The code lines of a source: neither blank nor only a comment.
    pub fn code_lines(src: &str) -> usize {
        code_only(src)
            .lines()
            .filter(|l| !l.trim().is_empty())
            .count()
    }

    /// The name a line declares a function by (`pub(crate) const fn name...`).
    fn fn_name(line: &str) -> Option<String> {
        let mut rest = line.trim_start();
        let qualifiers = [
            "pub(crate) ",
            "pub(super) ",
            "pub ",
            "const ",
            "async ",
            "unsafe ",
        ];
        while let Some(q) = qualifiers.iter().find(|q| rest.starts_with(**q)) {
            rest = &rest[q.len()..];
        }
        let name = first_segment(rest.strip_prefix("fn ")?);
        (!name.is_empty()).then_some(name)
    }

    /// Every function with a body outside the test module, as `(name, line, lines)`.
    pub fn functions(src: &str) -> Vec<(String, usize, usize)> {
        let code = code_only(src);
        let lines: Vec<&str> = code.lines().collect();
        let end = lines
            .iter()
            .position(|l| l.starts_with("#[cfg(test)]"))
            .unwrap_or(lines.len());
        let mut out = Vec::new();
        for (i, line) in lines[..end].iter().enumerate() {
            let Some(name) = fn_name(line) else {
                continue;
            };
            // From the signature: a `;` outside brackets before the first `{` is a
            // declaration without a body.
            let (mut braces, mut brackets, mut last) = (0i32, 0i32, None);
            'scan: for (j, l) in lines[i..end].iter().enumerate() {
                for ch in l.chars() {
                    match ch {
                        '(' | '[' => brackets += 1,
                        ')' | ']' => brackets -= 1,
                        '{' => braces += 1,
                        '}' => {
                            braces -= 1;
                            if braces == 0 {
                                last = Some(i + j);
                                break 'scan;
                            }
                        }
                        ';' if braces == 0 && brackets == 0 => break 'scan,
                        _ => {}
                    }
                }
            }
            if let Some(last) = last {
                out.push((name, i + 1, last - i + 1));
            }
        }
        out
    }

    /// Every `.rs` file under `src/`, with its path from `src/`.
    fn source_files() -> Vec<(String, String)> {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        rust_files(&src, &mut files);
        files.sort();
        files
            .into_iter()
            .map(|f| {
                let name = f
                    .strip_prefix(&src)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                (name, fs::read_to_string(&f).expect("readable file"))
            })
            .collect()
    }

    /// No source file over [`MAX_FILE_CODE_LINES`]: a file that big holds more than one
    /// concern, and is split the way Kafka splits it.
    #[test]
    fn no_file_over_a_thousand_code_lines() {
        let files = source_files();
        assert!(files.len() > 50, "too few source files");
        let report: Vec<String> = files
            .iter()
            .map(|(name, text)| (name, code_lines(text)))
            .filter(|(_, n)| *n > MAX_FILE_CODE_LINES)
            .map(|(name, n)| format!("src/{name}: {n} code lines"))
            .collect();
        assert!(
            report.is_empty(),
            "over {MAX_FILE_CODE_LINES} code lines:\n{}",
            report.join("\n")
        );
        // The rule can fail: a file of 1,001 statements, with prose and blanks between.
        let big = "let x = 1;\n// prose\n\n".repeat(MAX_FILE_CODE_LINES + 1);
        assert_eq!(code_lines(&big), MAX_FILE_CODE_LINES + 1);
    }

    /// Functions over their limit, as `file:name` with their length, for the files given.
    fn long_functions(files: &[(String, String)]) -> Vec<(String, usize)> {
        let mut out = Vec::new();
        for (name, text) in files {
            let limit = if name.starts_with("ui/") {
                MAX_UI_FN_LINES
            } else {
                MAX_FN_LINES
            };
            for (f, _, lines) in functions(text) {
                if lines > limit {
                    out.push((format!("{name}:{f}"), lines));
                }
            }
        }
        out
    }

    /// No function over its limit (70 lines; a UI component 200), TigerBeetle's ratchet:
    /// the ones in [`LONG_FUNCTIONS`] were long before the rule and may only shrink.
    #[test]
    fn no_new_function_over_the_limit_and_old_ones_only_shrink() {
        let long = long_functions(&source_files());
        let mut report = Vec::new();
        for (key, lines) in &long {
            match LONG_FUNCTIONS.iter().find(|(k, _)| k == key) {
                None => report.push(format!("{key}: {lines} lines (new; split it)")),
                Some((_, was)) if lines > was => {
                    report.push(format!("{key}: grew from {was} to {lines} lines"))
                }
                Some((_, was)) if lines < was => report.push(format!(
                    "{key}: shrank to {lines}; lower its entry from {was}"
                )),
                _ => {}
            }
        }
        for (key, _) in LONG_FUNCTIONS {
            if !long.iter().any(|(k, _)| k == key) {
                report.push(format!("{key}: now fits (or is gone); drop its entry"));
            }
        }
        assert!(report.is_empty(), "{}", report.join("\n"));
    }

    #[test]
    fn the_function_scan_measures_bodies_and_skips_declarations_and_tests() {
        let body = (0..MAX_FN_LINES)
            .map(|i| format!("    let x{i} = {i};\n"))
            .collect::<String>();
        let src = format!(
            "pub(crate) fn long(a: [u8; 2]) -> u8 {{\n{body}    a[0]\n}}\ntrait T {{ fn decl(&self); }}\nfn short() {{ let s = \"}}\"; }}\n#[cfg(test)]\nmod tests {{ fn in_test() {{}} }}\n"
        );
        let found = functions(&src);
        assert_eq!(
            found,
            vec![
                ("long".to_owned(), 1, MAX_FN_LINES + 3),
                ("short".to_owned(), MAX_FN_LINES + 5, 1),
            ]
        );
        // ...and the rule fails on it, in the engine and not in the UI.
        let files = [
            ("engine/x.rs".to_owned(), src.clone()),
            ("ui/x.rs".to_owned(), src),
        ];
        assert_eq!(
            long_functions(&files),
            vec![("engine/x.rs:long".to_owned(), MAX_FN_LINES + 3)]
        );
    }

    /// The scanner itself, on fixtures: what it must catch and what it must ignore.
    #[test]
    fn the_scanner_catches_code_and_ignores_prose() {
        let cases: &[(&str, &[usize])] = &[
            ("let t = std::time::SystemTime::now();", &[1]),
            ("// SystemTime in a comment", &[]),
            ("/* a HashMap in a block comment */ let x = 1;", &[]),
            (
                "/* outer /* nested HashMap */ still comment */\nlet m = HashMap::new();",
                &[2],
            ),
            ("let s = \"HashMap in a string\";", &[]),
            ("let url = \"http://x\"; let t = Instant::now();", &[1]),
            (
                "let r = r#\"raw \" HashMap\"#; let e = std::env::var(\"X\");",
                &[1],
            ),
            ("let c = '\"'; let h = RandomState::new();", &[1]),
            ("fn f<'a>(x: &'a str) -> HashSet<u8> { todo!() }", &[1]),
            ("let q = '\\''; // thread_rng", &[]),
            ("let s = \"esc \\\" // not a comment\"; getrandom();", &[1]),
        ];
        for (src, lines) in cases {
            let got: Vec<usize> = offences(src, FORBIDDEN_IN_ENGINE)
                .into_iter()
                .map(|(l, _)| l)
                .collect();
            assert_eq!(&got, lines, "fixture: {src}");
        }
    }
}

/// One pinned run: the default scenario, a crash at 10 s, up to 60 s. Its trace hash is
/// stored in `tests/data/golden_trace.txt` and checked here natively and in the browser
/// tier (`tests/web.rs`), so wasm and native runs are the same run, bit for bit.
mod golden {
    use kafka_lab::engine::view::{Command, GroupId, MemberId};
    use kafka_lab::lab::scenario::Scenario;
    use kafka_lab::lab::Lab;

    /// The pinned hash, as stored.
    pub fn pinned() -> u64 {
        let text = include_str!("data/golden_trace.txt");
        let hex = text
            .lines()
            .find(|l| !l.starts_with('#'))
            .expect("a hash line");
        u64::from_str_radix(hex.trim(), 16).expect("hex")
    }

    /// The run.
    pub fn run() -> u64 {
        let mut lab = Lab::fresh(Scenario::default()).expect("default scenario");
        lab.advance_to(10_000);
        lab.command(Command::CrashConsumer {
            group: GroupId(0),
            consumer: MemberId(0),
        })
        .expect("crash");
        lab.advance_to(60_000);
        lab.sim().trace_hash()
    }

    #[test]
    fn the_pinned_run_has_the_pinned_trace_hash() {
        let got = run();
        assert_eq!(
            got,
            pinned(),
            "the default run's trace changed: {got:016x}. If on purpose, update tests/data/golden_trace.txt"
        );
    }
}

mod slice {
    use kafka_lab::engine::ids::{TopicId, Tp};
    use kafka_lab::engine::partitioner::{java_partition, murmur2};
    use kafka_lab::engine::Sim;

    #[test]
    fn random_orders_land_by_murmur2() {
        let mut sim = Sim::with_topic("orders", 6, 123).unwrap();
        for i in 0..200 {
            let key = format!("order-{}", (i * 37) % 100);
            let a = sim.produce(TopicId(0), Some(&key), "").unwrap();
            assert_eq!(a.partition, java_partition(key.as_bytes(), 6));
        }
        let total: u64 = (0..6)
            .map(|p| sim.log(Tp::new(TopicId(0), p)).unwrap().log_end_offset())
            .sum();
        assert_eq!(total, 200);
        assert_eq!(murmur2(b"order-42"), 501153024);
    }
}

/// Every shipped level: it parses, its reference solution solves it, doing nothing does
/// not, and the embedded list is the directory's.
mod levels {
    use kafka_lab::lab::level::{parse_run, Level};
    use kafka_lab::lab::levels;
    use std::path::Path;
    use std::process::Command;

    #[test]
    fn the_embedded_list_is_the_level_directory() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/lab/levels");
        let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
            .expect("src/lab/levels")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".json"))
            .collect();
        on_disk.sort();
        let mut listed: Vec<String> = levels::FILES.iter().map(|(n, _)| (*n).to_owned()).collect();
        listed.sort();
        assert_eq!(
            listed, on_disk,
            "src/lab/levels.rs must list every level file"
        );
        for (name, json) in levels::FILES {
            let on_disk = std::fs::read_to_string(dir.join(name)).expect("readable");
            assert_eq!(*json, on_disk, "{name}");
        }
    }

    #[test]
    fn every_solution_solves_its_level_and_the_untouched_start_does_not() {
        let all = levels::all().expect("every shipped level parses");
        assert!(!all.is_empty());
        let mut ids: Vec<&str> = all.iter().map(|l| l.id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), all.len(), "level ids are unique");
        for level in &all {
            let solved = level
                .grade(&level.solution_session().expect("solution builds"))
                .expect("solution grades");
            assert!(solved.solved(), "{}: {}", level.id, solved.line());
            let start = level.start_session().expect("start builds");
            let untouched = level.grade(&start).expect("start grades");
            assert!(
                level.wrong_answer_for(&start, &untouched).is_none(),
                "{}: doing nothing gets no wrong answer's feedback",
                level.id
            );
            assert!(
                !untouched.solved(),
                "{}: the untouched start meets the goal",
                level.id
            );
            // The untouched start fails for the reason the level teaches: the goals it
            // names, none of which an allowed action moves by itself.
            assert!(
                !level.untouched_fails.is_empty(),
                "{}: name the goal the untouched start fails",
                level.id
            );
            let failed = level.failed_goals(&untouched);
            for name in &level.untouched_fails {
                assert!(
                    failed.contains(name),
                    "{}: the untouched start should fail `{name}`; it fails {failed:?}",
                    level.id
                );
                let goal = level.goal.iter().find(|g| g.name() == name).unwrap();
                if goal.partition.is_some() {
                    continue; // where a record lands is the partitioner's doing
                }
                for kind in level.allowed.iter().filter(|a| !a.starts_with("config:")) {
                    assert!(
                        !moved_by(kind).contains(&goal.what.as_str()),
                        "{}: `{name}` counts what {kind} does by itself, not the behaviour",
                        level.id
                    );
                }
                assert!(
                    !level.allowed.contains(&goal.what),
                    "{}: `{name}` is a setting the learner may change",
                    level.id
                );
            }
            for w in &level.wrong_answers {
                let run = level.wrong_answer_session(w).expect("wrong answer builds");
                let v = level.grade(&run).expect("wrong answer grades");
                assert_eq!(
                    level.wrong_answer_for(&run, &v).map(|m| m.name.as_str()),
                    Some(w.name.as_str()),
                    "{}: the page shows this wrong answer's feedback",
                    level.id
                );
                let mut failed = level.failed_goals(&v);
                failed.sort();
                let mut expected = w.fails.clone();
                expected.sort();
                assert!(
                    !v.solved(),
                    "{}: wrong answer \"{}\" solves it",
                    level.id,
                    w.name
                );
                assert_eq!(
                    failed, expected,
                    "{}: wrong answer \"{}\"",
                    level.id, w.name
                );
                assert!(
                    !w.why.is_empty() && !w.feedback.is_empty(),
                    "{}: \"{}\" says why and what the page shows",
                    level.id,
                    w.name
                );
            }
            if level.kind == kafka_lab::lab::level::Kind::Challenge {
                assert!(
                    level.wrong_answers.len() >= 2,
                    "{}: a challenge lists at least two wrong answers",
                    level.id
                );
            }
        }
    }

    /// The measures an action moves by itself: a goal on one of these would be met by
    /// doing the action, whatever the engine's behaviour.
    fn moved_by(kind: &str) -> &'static [&'static str] {
        match kind {
            "AddConsumer" | "RestartConsumer" => &["members", "event:MemberJoined"],
            "CrashConsumer" => &["event:ConsumerCrashed", "members"],
            "CloseConsumer" => &["event:LeaveGroup", "members"],
            "AddPartitions" => &["partitions", "event:PartitionsAdded"],
            "Produce" => &["event:RecordAppended", "produced"],
            "Send" | "SetWorkload" | "ProduceRandomOrders" => &["produced", "event:Sent"],
            "KillBroker" | "RestartBroker" => &["brokers_alive", "event:BrokerKilled"],
            "Seek" => &["skipped", "event:Seek"],
            "NetPartition" | "NetHold" | "NetRelease" | "NetHeal" => &["event:Net"],
            "InjectProduceFault" => &["event:Retrying"],
            _ => &[],
        }
    }

    /// A run saved before the lab started on three brokers carries no cluster: it is graded
    /// from the level's start on the one broker it was recorded on, not refused for
    /// "changing" brokers.
    #[test]
    fn a_run_recorded_on_one_broker_is_graded_on_one_broker() {
        use kafka_lab::engine::replication::ReplicationConfig;
        let all = levels::all().expect("every shipped level parses");
        for id in ["L13", "C06", "C16"] {
            let level = all.iter().find(|l| l.id == id).expect("shipped");
            let mut run = level.solution_session().expect("solution builds");
            let json = serde_json::to_string(&run).unwrap();
            // What a run file from before looks like: no `cluster` at all.
            let mut value: serde_json::Value = serde_json::from_str(&json).unwrap();
            value["scenario"].as_object_mut().unwrap().remove("cluster");
            let legacy: kafka_lab::lab::history::Session = serde_json::from_value(value).unwrap();
            assert_eq!(legacy.scenario.cluster, ReplicationConfig::default());
            // (C16 sets its own three brokers; it allows every setting, so a one-broker
            // run is graded too, as a run that changed them.)
            let verdict = level.grade(&legacy);
            assert!(verdict.is_ok(), "{id}: {:?}", verdict.err());
            run.scenario.cluster.brokers = 3;
            assert!(level.grade(&run).is_ok(), "{id}");
        }
    }

    /// A run that the grader would have to replay for hours of heavy traffic is refused
    /// with the bound, before any replay (a teacher's level may check late; a learner may
    /// turn the rate up).
    #[test]
    fn a_run_too_heavy_to_grade_is_refused_with_the_bound() {
        let (_, json) = levels::FILES
            .iter()
            .find(|(name, _)| name.starts_with("C01"))
            .expect("C01 exists");
        let mut level: serde_json::Value = serde_json::from_str(json).unwrap();
        level["check_at_ms"] = serde_json::json!(86_400_000u64);
        let level = Level::parse(&level.to_string()).unwrap();
        let mut run = level.start_session().unwrap();
        run.scenario.set("rate", "10000").unwrap();
        let started = std::time::Instant::now();
        let e = level.grade(&run).unwrap_err().to_string();
        assert!(
            e.contains("864000") && e.contains("by the check time"),
            "{e}"
        );
        assert!(started.elapsed().as_secs() < 5, "refused before replay");
    }

    /// A learner who changes one allowed setting gets a verdict, not "another start", even
    /// when the setting implies others (commit.mode → enable.auto.commit; acks →
    /// enable.idempotence).
    #[test]
    fn one_allowed_setting_at_a_time_always_grades() {
        let mut tried = 0;
        for level in levels::all().unwrap() {
            for (name, value) in &level.solution.config {
                let mut run = level.start_session().unwrap();
                // Alone, a setting may be one Kafka refuses (idempotence without acks=all).
                if run.scenario.set(name, value).is_err() {
                    continue;
                }
                let verdict = level.grade(&run);
                assert!(
                    verdict.is_ok(),
                    "{} with only {name}={value}: {:?}",
                    level.id,
                    verdict.err()
                );
                tried += 1;
            }
            let mut run = level.start_session().unwrap();
            if run.scenario.set("producer.acks", "all").is_ok()
                && level.allows_setting("producer.acks")
            {
                assert!(level.grade(&run).is_ok(), "{} with acks=all", level.id);
            }
        }
        assert!(tried > 5, "only {tried} settings tried");
    }

    #[test]
    fn a_run_with_a_forbidden_action_or_setting_is_refused_with_its_name() {
        let level = levels::all()
            .unwrap()
            .into_iter()
            .find(|l| l.id == "L13")
            .unwrap();
        let mut run = level.start_session().unwrap();
        run.record(
            1_000,
            kafka_lab::engine::Command::AddPartitions {
                total: 4,
                topic: Default::default(),
            },
        )
        .unwrap();
        let err = level
            .grade(&run)
            .expect_err("AddPartitions is not allowed in L13");
        assert!(err.to_string().contains("AddPartitions"), "{err}");
        let mut run = level.start_session().unwrap();
        run.scenario.set("session.timeout.ms", "12000").unwrap();
        let err = level
            .grade(&run)
            .expect_err("session.timeout.ms is not allowed in L13");
        assert!(err.to_string().contains("session.timeout.ms"), "{err}");
    }

    #[test]
    fn malformed_levels_are_refused_with_the_field_named() {
        let good = levels::FILES[0].1;
        let cases: &[(&str, &str)] = &[
            ("{", "not a Kafka Lab level"),
            (&good.replace("\"format\": 1", "\"format\": 9"), "format 9"),
            (
                &good.replace("\"check_at_ms\":", "\"check_at_ms\": 0, \"x\":"),
                "unknown field",
            ),
        ];
        for (json, want) in cases {
            let err = Level::parse(json).expect_err("refused");
            assert!(err.to_string().contains(want), "{err}");
        }
        let mut v: serde_json::Value = serde_json::from_str(good).unwrap();
        v["goal"][0]["what"] = "happiness".into();
        let err = Level::parse(&v.to_string()).expect_err("refused");
        assert!(err.to_string().contains("happiness"), "{err}");
        v = serde_json::from_str(good).unwrap();
        v["hints"] = serde_json::json!(["one"]);
        assert!(Level::parse(&v.to_string()).is_err());
    }

    fn check(args: &[&Path]) -> (i32, String) {
        let out = Command::new(env!("CARGO_BIN_EXE_kafka-lab-check"))
            .args(args)
            .output()
            .expect("the checker runs");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.code().expect("exit code"), text)
    }

    #[test]
    fn the_checker_command_grades_a_class_and_explains_what_failed() {
        let dir = std::env::temp_dir().join(format!("kafka-lab-check-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (name, json) = levels::FILES[0];
        let level = Level::parse(json).unwrap();
        let level_path = dir.join(name);
        std::fs::write(&level_path, json).unwrap();
        let solved = dir.join("solved.json");
        std::fs::write(
            &solved,
            serde_json::to_string(&level.solution_session().unwrap()).unwrap(),
        )
        .unwrap();
        let idle = dir.join("idle.json");
        std::fs::write(
            &idle,
            serde_json::to_string(&level.start_session().unwrap()).unwrap(),
        )
        .unwrap();
        let broken = dir.join("broken.json");
        std::fs::write(&broken, "{\"scenario\": 7}").unwrap();

        let (code, text) = check(&[&level_path]);
        assert_eq!(code, 0, "{text}");
        assert!(text.contains("solved"), "{text}");
        let (code, text) = check(&[&level_path, &solved]);
        assert_eq!((code, text.lines().count()), (0, 1), "{text}");
        let (code, text) = check(&[&level_path, &solved, &idle]);
        assert_eq!(code, 1, "{text}");
        assert!(
            text.contains("idle.json: not solved:") && text.contains("got "),
            "{text}"
        );
        // A share link saved as text grades like the run it carries.
        let link = dir.join("link.txt");
        let fragment =
            kafka_lab::lab::link::encode(Some(&level), &level.solution_session().unwrap()).unwrap();
        std::fs::write(&link, format!("https://lab.example/#run={fragment}\n")).unwrap();
        let (code, text) = check(&[&level_path, &link]);
        assert_eq!(code, 0, "{text}");
        assert!(text.contains("link.txt: solved"), "{text}");
        let (code, text) = check(&[&level_path, &broken]);
        assert_eq!(code, 2, "{text}");
        assert!(text.contains("cannot grade"), "{text}");
        let (code, text) = check(&[&broken]);
        assert_eq!(code, 2, "{text}");
        assert!(text.contains("not a Kafka Lab level"), "{text}");
        assert!(parse_run("{\"scenario\": 7}").is_err());
        std::fs::remove_dir_all(&dir).ok();
    }
}
