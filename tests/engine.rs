//! The native integration test binary: engine scenarios, Kafka's own cases as data,
//! and the tidy checks on the code base itself.
#![cfg(not(target_arch = "wasm32"))]

mod cases;
mod scenarios;

mod tidy {
    use std::fs;
    use std::path::Path;

    /// Words that must never appear in engine code (outside comments): web APIs,
    /// wall clocks and OS randomness would break purity or determinism.
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
        "HashMap",
        "HashSet",
    ];

    fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in fs::read_dir(dir).expect("readable dir") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                rust_files(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }

    /// Drops `//` comments so prose may name what code may not use.
    fn code_only(line: &str) -> &str {
        line.split("//").next().unwrap_or("")
    }

    #[test]
    fn engine_has_no_web_clock_or_os_randomness() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/engine");
        let mut files = Vec::new();
        rust_files(&root, &mut files);
        files.sort();
        assert!(
            !files.is_empty(),
            "no engine files found under {}",
            root.display()
        );
        let mut offences = Vec::new();
        for file in &files {
            let text = fs::read_to_string(file).expect("readable file");
            for (n, line) in text.lines().enumerate() {
                let code = code_only(line);
                for word in FORBIDDEN_IN_ENGINE {
                    if code.contains(word) {
                        offences.push(format!(
                            "{}:{}: `{word}` in: {}",
                            file.display(),
                            n + 1,
                            line.trim()
                        ));
                    }
                }
            }
        }
        assert!(
            offences.is_empty(),
            "src/engine must stay pure and deterministic:\n{}",
            offences.join("\n")
        );
    }

    #[test]
    fn tidy_catches_an_offence() {
        // The check above must be able to fail: feed it a line it has to reject.
        let line = "let t = std::time::SystemTime::now(); // wall clock";
        assert!(FORBIDDEN_IN_ENGINE
            .iter()
            .any(|w| code_only(line).contains(w)));
        assert!(!FORBIDDEN_IN_ENGINE
            .iter()
            .any(|w| code_only("// SystemTime in a comment").contains(w)));
    }
}

mod slice {
    use kafka_lab::engine::partitioner::{java_partition, murmur2};
    use kafka_lab::engine::Sim;

    #[test]
    fn random_orders_land_by_murmur2() {
        let mut sim = Sim::new("orders", 6, 123).unwrap();
        for _ in 0..200 {
            let key = sim.random_order_key();
            let a = sim.produce(Some(&key), "").unwrap();
            assert_eq!(a.partition, java_partition(key.as_bytes(), 6));
        }
        let total: u64 = sim
            .topic()
            .partitions()
            .iter()
            .map(|p| p.log_end_offset())
            .sum();
        assert_eq!(total, 200);
        assert_eq!(murmur2(b"order-42"), 501153024);
    }
}
