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
        match (chars.get(i + 1), chars.get(i + 2)) {
            (Some('\\'), _) => true,
            (Some(_), Some('\'')) => true,
            _ => false,
        }
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
