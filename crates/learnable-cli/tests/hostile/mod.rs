//! The hostile-input generator: deterministic (seeded, no network) inputs that a careless or
//! malicious user could give each subcommand (CSV files, flag values, model directories), and a
//! runner that gives each to the real `learnable` binary with a timeout and a memory limit and
//! classifies what happened. `tests/hostile_inputs.rs` runs a bounded subset;
//! `scripts/hostile_inputs.sh N` runs N cases (the core list plus seeded random mutations).
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Seconds a case may run before it is killed and counted as a hang.
pub const TIMEOUT: Duration = Duration::from_secs(20);
/// Address-space limit of each run, so that an input asking for a huge allocation fails (abort
/// or clean error) instead of pushing the machine into swap or the OOM killer.
pub const MEMORY_LIMIT: u64 = 4 << 30;

/// SplitMix64: a tiny, dependency-free seeded generator (same sequence on every machine).
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x9e37_79b9_7f4a_7c15)
    }
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    pub fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
}

/// What a run did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Outcome {
    /// Exit 0.
    Accepted,
    /// Exit 0, but the output shows NaN or infinite results.
    Suspicious,
    /// Non-zero exit (not 101), an error message on stderr, no panic text.
    CleanError,
    /// Non-zero exit with nothing on stderr.
    SilentError,
    /// Exit 101 or "panicked" in the output.
    Panic,
    /// Killed by a signal (SIGABRT from an allocation failure, SIGSEGV from a stack overflow ...).
    Abort,
    /// Still running after [`TIMEOUT`]; killed.
    Hang,
    /// Still running after [`TIMEOUT`] on a case that asked for a long run (e.g. 4 billion
    /// epochs): what the user asked for, not a bug. Counted apart from hangs.
    LongRun,
}

impl Outcome {
    pub fn is_failure(self) -> bool {
        matches!(
            self,
            Outcome::Panic | Outcome::Abort | Outcome::Hang | Outcome::SilentError
        )
    }
}

/// One hostile input: a category (for the stratified bounded subset and the report), a name and
/// the arguments of the binary (paths absolute).
#[derive(Clone, Debug)]
pub struct Case {
    pub category: &'static str,
    pub name: String,
    pub args: Vec<String>,
    /// A timeout is [`Outcome::LongRun`], not [`Outcome::Hang`].
    pub may_run_long: bool,
}

/// The result of one case.
#[derive(Clone, Debug)]
pub struct Run {
    pub case: Case,
    pub outcome: Outcome,
    pub code: Option<i32>,
    pub signal: Option<i32>,
    pub seconds: f64,
    pub excerpt: String,
}

/// The working directory of a campaign: base models and the files of every case.
pub struct Lab {
    pub root: PathBuf,
    pub bin: PathBuf,
    /// An iris MLP (bundled dataset), the base of the model-directory corruptions.
    pub iris: PathBuf,
    /// An MLP trained on `garden.csv` (flowers plus a categorical `soil` column, target
    /// `species`), for the hostile CSV files.
    pub garden: PathBuf,
    /// Rows of garden.csv, header first.
    pub rows: Vec<Vec<String>>,
    counter: AtomicUsize,
}

fn s(x: &str) -> String {
    x.to_string()
}

fn strs(xs: &[&str]) -> Vec<String> {
    xs.iter().map(|x| x.to_string()).collect()
}

/// Flowers rows (10 per class) with a categorical column `soil` before the target.
fn garden_rows() -> Vec<Vec<String>> {
    let flowers = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/flowers.csv"),
    )
    .unwrap();
    let lines: Vec<&str> = flowers.lines().collect();
    let mut rows = Vec::new();
    let mut header: Vec<String> = lines[0].split(',').map(s).collect();
    header.insert(4, s("soil"));
    rows.push(header);
    for (k, i) in (1..11).chain(51..61).chain(101..111).enumerate() {
        let mut r: Vec<String> = lines[i].split(',').map(s).collect();
        r.insert(4, s(["clay", "sand", "loam"][k % 3]));
        rows.push(r);
    }
    rows
}

fn join(rows: &[Vec<String>]) -> String {
    let mut t = String::new();
    for r in rows {
        t.push_str(&r.join(","));
        t.push('\n');
    }
    t
}

impl Lab {
    /// Creates the lab in `root` and trains the two base models (a second each).
    pub fn new(root: &Path) -> Lab {
        let bin = PathBuf::from(env!("CARGO_BIN_EXE_learnable"));
        let rows = garden_rows();
        std::fs::write(root.join("garden.csv"), join(&rows)).unwrap();
        let train = |args: &[&str]| {
            let o = crate::common::learnable(root).args(args).output().unwrap();
            assert!(o.status.success(), "{}", crate::common::out_str(&o));
        };
        train(&[
            "train",
            "--dataset",
            "iris",
            "--hidden",
            "8",
            "--epochs",
            "1",
            "--quiet",
            "--out",
            "iris",
        ]);
        train(&[
            "train",
            "--data",
            "garden.csv",
            "--target",
            "species",
            "--hidden",
            "8",
            "--epochs",
            "1",
            "--quiet",
            "--out",
            "garden",
        ]);
        for d in ["csv", "models", "out"] {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        Lab {
            root: root.to_path_buf(),
            bin,
            iris: root.join("iris"),
            garden: root.join("garden"),
            rows,
            counter: AtomicUsize::new(0),
        }
    }

    fn fresh(&self, sub: &str, ext: &str) -> PathBuf {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        self.root.join(sub).join(format!("{n:05}{ext}"))
    }

    fn p(path: &Path) -> String {
        path.display().to_string()
    }

    fn iris_s(&self) -> String {
        Lab::p(&self.iris)
    }

    fn garden_s(&self) -> String {
        Lab::p(&self.garden)
    }

    /// A fresh, not yet existing `--out` directory.
    fn out(&self) -> String {
        Lab::p(&self.fresh("out", ""))
    }

    /// Writes a CSV file and returns its path.
    fn csv(&self, bytes: &[u8]) -> String {
        let path = self.fresh("csv", ".csv");
        std::fs::write(&path, bytes).unwrap();
        Lab::p(&path)
    }

    /// The four commands that read a CSV file: train on it, and eval/predict/logits with the
    /// garden model.
    fn csv_commands(&self, cat: &'static str, name: &str, file: &str, target: &str) -> Vec<Case> {
        let mk = |sub: &str, args: Vec<String>| Case {
            category: cat,
            name: format!("{name} [{sub}]"),
            args,
            may_run_long: false,
        };
        vec![
            mk(
                "train",
                vec![
                    s("train"),
                    s("--data"),
                    s(file),
                    s("--target"),
                    s(target),
                    s("--hidden"),
                    s("8"),
                    s("--epochs"),
                    s("1"),
                    s("--quiet"),
                    s("--out"),
                    self.out(),
                ],
            ),
            mk(
                "eval",
                strs(&["eval", "--model", &self.garden_s(), "--data", file]),
            ),
            mk(
                "predict",
                strs(&["predict", "--model", &self.garden_s(), "--data", file]),
            ),
            mk(
                "logits",
                strs(&[
                    "logits",
                    "--model",
                    &self.garden_s(),
                    "--data",
                    file,
                    "--row",
                    "0",
                ]),
            ),
        ]
    }

    /// Copies the iris model into a fresh directory and returns it.
    fn model_copy(&self) -> PathBuf {
        let dir = self.fresh("models", "");
        copy_dir(&self.iris, &dir);
        dir
    }

    /// The commands that load a model directory (or a file in it for `params`).
    fn model_commands(&self, cat: &'static str, name: &str, dir: &Path) -> Vec<Case> {
        let d = Lab::p(dir);
        let mk = |sub: &str, args: Vec<String>| Case {
            category: cat,
            name: format!("{name} [{sub}]"),
            args,
            may_run_long: false,
        };
        vec![
            mk("eval", strs(&["eval", "--model", &d, "--dataset", "iris"])),
            mk(
                "predict",
                strs(&["predict", "--model", &d, "--dataset", "iris"]),
            ),
            mk(
                "logits",
                strs(&["logits", "--model", &d, "--dataset", "iris", "--row", "1"]),
            ),
            mk("params", strs(&["params", &d])),
        ]
    }

    /// The hostile CSV files: (name, bytes, target column).
    fn hostile_csvs(&self) -> Vec<(String, Vec<u8>, String)> {
        let rows = &self.rows;
        let base = join(rows);
        let header = rows[0].join(",");
        let tgt = s("species");
        let mut v: Vec<(String, Vec<u8>, String)> = Vec::new();
        let mut add = |name: &str, bytes: Vec<u8>| v.push((s(name), bytes, tgt.clone()));
        add("empty file", vec![]);
        add("only newlines", b"\n\n\n".to_vec());
        add("header only", format!("{header}\n").into_bytes());
        add("header without newline", header.clone().into_bytes());
        add("one row", join(&rows[..2]).into_bytes());
        add("two rows", join(&rows[..3]).into_bytes());
        let mut ragged = rows.clone();
        ragged[3].truncate(2);
        ragged[5].push(s("9.9"));
        ragged[7].push(s(""));
        add("ragged rows", join(&ragged).into_bytes());
        for (tok, label) in [
            ("NaN", "NaN cell"),
            ("nan", "lowercase nan cell"),
            ("inf", "inf cell"),
            ("-inf", "-inf cell"),
            ("Infinity", "Infinity cell"),
            ("1e39", "1e39 cell (overflows f32)"),
            ("-1e400", "-1e400 cell (overflows f64)"),
            ("1e-400", "1e-400 cell (underflow)"),
            ("3.4028236e38", "just above f32::MAX"),
            ("1e99999999999", "huge exponent"),
            ("0x1F", "hex number"),
            ("1_000", "underscore number"),
            (" 5.1 ", "padded number"),
            ("", "empty cell"),
            ("\"\"", "quoted empty cell"),
            ("-", "lone minus"),
            ("١٢", "arabic digits"),
        ] {
            let mut r = rows.clone();
            r[4][0] = s(tok);
            add(label, join(&r).into_bytes());
        }
        let mut all_nan = rows.clone();
        for r in all_nan.iter_mut().skip(1) {
            r[1] = s("NaN");
        }
        add("a whole column NaN", join(&all_nan).into_bytes());
        let mut all_inf = rows.clone();
        for r in all_inf.iter_mut().skip(1) {
            r[0] = s("1e39");
        }
        add("a whole column 1e39", join(&all_inf).into_bytes());
        let mut nan_target = rows.clone();
        nan_target[2][5] = s("NaN");
        add("NaN in the target", join(&nan_target).into_bytes());
        let mut equal = rows.clone();
        for r in equal.iter_mut().skip(1) {
            r[5] = s("setosa");
        }
        add("target all equal", join(&equal).into_bytes());
        let mut constant = rows.clone();
        for r in constant.iter_mut().skip(1) {
            r[0] = s("1");
            r[1] = s("1");
            r[2] = s("1");
            r[3] = s("1");
        }
        add(
            "features all equal (zero std)",
            join(&constant).into_bytes(),
        );
        let mut dup = rows.clone();
        dup[0][1] = dup[0][0].clone();
        add("duplicate header names", join(&dup).into_bytes());
        let mut dup_t = rows.clone();
        dup_t[0][0] = s("species");
        add("target name twice", join(&dup_t).into_bytes());
        let mut empty_names = rows.clone();
        empty_names[0][0] = s("");
        empty_names[0][1] = s("");
        add("empty header names", join(&empty_names).into_bytes());
        let mut bom = vec![0xEF, 0xBB, 0xBF];
        bom.extend_from_slice(base.as_bytes());
        add("UTF-8 BOM", bom);
        add("CRLF line ends", base.replace('\n', "\r\n").into_bytes());
        add("CR-only line ends", base.replace('\n', "\r").into_bytes());
        let mut unclosed = rows.clone();
        unclosed[3][4] = s("\"clay");
        add("unclosed quote", join(&unclosed).into_bytes());
        add(
            "unclosed quote in header",
            base.replacen("soil", "\"soil", 1).into_bytes(),
        );
        let mut nul = base.clone().into_bytes();
        nul[base.len() / 2] = 0;
        add("NUL byte mid-file", nul);
        let mut nul_hdr = rows.clone();
        nul_hdr[0][0] = s("sepal\0length");
        add("NUL in a header name", join(&nul_hdr).into_bytes());
        let mut long_line = format!("{header}\n").into_bytes();
        long_line.extend(std::iter::repeat_n(b'1', 2_000_000));
        long_line.push(b'\n');
        add("2 MB line without commas", long_line);
        let mut wide = String::new();
        for i in 0..20_000 {
            wide.push_str(&format!("c{i},"));
        }
        wide.push_str("species\n");
        for _ in 0..3 {
            wide.push_str(&"1,".repeat(20_000));
            wide.push_str("a\n");
        }
        add("20,000 columns", wide.into_bytes());
        let big = "x".repeat(70_000);
        let mut big_cell = rows.clone();
        big_cell[2][4] = big.clone();
        add("70,000-char categorical cell", join(&big_cell).into_bytes());
        let mut big_label = rows.clone();
        big_label[2][5] = big.clone();
        add("70,000-char class label", join(&big_label).into_bytes());
        let mut big_header = rows.clone();
        big_header[0][0] = big.clone();
        add("70,000-char header name", join(&big_header).into_bytes());
        let mut id = rows.clone();
        id[0].insert(0, s("id"));
        for (i, r) in id.iter_mut().enumerate().skip(1) {
            r.insert(0, format!("user-{i:04}-{}", i * 7919));
        }
        add("ID column distinct per row", join(&id).into_bytes());
        let mut utf8 = base.clone().into_bytes();
        let at = base.find("clay").unwrap();
        utf8[at] = 0xFF;
        utf8[at + 1] = 0xFE;
        add("non-UTF-8 bytes in a cell", utf8);
        let mut utf8h = base.clone().into_bytes();
        utf8h[0] = 0xC3;
        add("non-UTF-8 byte in the header", utf8h);
        add(
            "UTF-16 file",
            base.encode_utf16().flat_map(|u| u.to_le_bytes()).collect(),
        );
        add("semicolon separated", base.replace(',', ";").into_bytes());
        add("tabs", base.replace(',', "\t").into_bytes());
        let mut unseen = rows.clone();
        unseen[1][4] = s("granite");
        add("unseen category", join(&unseen).into_bytes());
        let mut unseen_class = rows.clone();
        unseen_class[1][5] = s("rose");
        add("unseen class", join(&unseen_class).into_bytes());
        let mut many = join(&rows[..1]);
        for i in 0..3000 {
            many.push_str(&format!("5.1,3.5,1.4,0.2,soil{i},species{i}\n"));
        }
        add("3,000 distinct classes and categories", many.into_bytes());
        add(
            "binary garbage",
            (0..4096u32)
                .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
                .collect(),
        );
        add("quotes everywhere", base.replace(',', "\",\"").into_bytes());
        add(
            "blank lines between rows",
            base.replace('\n', "\n\n").into_bytes(),
        );
        add(
            "trailing comma on every line",
            base.replace('\n', ",\n").into_bytes(),
        );
        v.push((
            s("target column missing"),
            base.clone().into_bytes(),
            s("colour"),
        ));
        v.push((s("empty target name"), base.clone().into_bytes(), s("")));
        v.push((
            s("target is a feature column"),
            base.clone().into_bytes(),
            s("sepal length (cm)"),
        ));
        v.push((
            s("only the target column"),
            b"species\na\nb\na\nb\n".to_vec(),
            tgt.clone(),
        ));
        v
    }

    /// Special paths given as the data file.
    fn hostile_paths(&self) -> Vec<(String, String)> {
        let dir = self.fresh("csv", ".dir");
        std::fs::create_dir_all(&dir).unwrap();
        vec![
            (s("a directory as the file"), Lab::p(&dir)),
            (s("/dev/null as the file"), s("/dev/null")),
            (s("/dev/zero as the file (endless)"), s("/dev/zero")),
            (s("/dev/urandom as the file (endless)"), s("/dev/urandom")),
            (
                s("nonexistent path"),
                Lab::p(&self.root.join("no/such/file.csv")),
            ),
            (s("empty path"), s("")),
        ]
    }

    /// Every flag's hostile values: (subcommand prefix, flag, values). The prefix makes the rest
    /// of the command valid, so each case tests one flag.
    fn flag_cases(&self) -> Vec<Case> {
        let out = || self.out();
        let train = |flag: &str, v: &str| {
            let mut a = strs(&["train", "--dataset", "iris", "--hidden", "8", "--quiet"]);
            if flag != "--epochs" {
                a.extend(strs(&["--epochs", "1"]));
            }
            a.extend(strs(&[flag, v, "--out"]));
            a.push(out());
            a
        };
        let numeric = [
            "-1",
            "0",
            "-0",
            "1e30",
            "18446744073709551616",
            "4294967296",
            "abc",
            "NaN",
            "inf",
            "",
            "0.5",
        ];
        let mut cases = Vec::new();
        let mut push = |cat: &'static str, name: String, args: Vec<String>, long: bool| {
            cases.push(Case {
                category: cat,
                name,
                args,
                may_run_long: long,
            })
        };
        for flag in [
            "--epochs",
            "--batch-size",
            "--learning-rate",
            "--hidden",
            "--dropout",
            "--seed",
            "--val-size",
            "--test-size",
            "--val-fraction",
            "--test-fraction",
            "--weight-decay",
            "--momentum",
            "--warmup-steps",
            "--max-grad-norm",
            "--label-smoothing",
            "--patience",
            "--max-categories",
        ] {
            for v in numeric {
                // A huge epoch count is a (very) long run the user asked for.
                let long = flag == "--epochs" && (v == "4294967296");
                push(
                    "flags: train",
                    format!("train {flag} {v:?}"),
                    train(flag, v),
                    long,
                );
            }
        }
        for v in [
            "0,0",
            "8,0",
            "1000000000",
            "100000,100000",
            "8,,8",
            ",",
            "8;8",
            "-8",
        ] {
            push(
                "flags: train",
                format!("train --hidden {v:?}"),
                train("--hidden", v),
                false,
            );
        }
        for v in ["1e30", "-1", "0", "NaN"] {
            for flag in ["--alpha", "--C"] {
                let mut a = strs(&[
                    "train",
                    "--dataset",
                    "iris",
                    "--model",
                    if flag == "--C" { "softmax" } else { "ridge" },
                    "--quiet",
                    flag,
                    v,
                    "--out",
                ]);
                a.push(out());
                push("flags: train", format!("train {flag} {v:?}"), a, false);
            }
        }
        for (flag, v) in [
            ("--dataset", "nosuch"),
            ("--dataset", ""),
            ("--dataset", "../../etc/passwd"),
            ("--model", "transformer"),
            ("--solver", "magic"),
            ("--activation", "sigmoidish"),
            ("--optimizer", "rmsprop2"),
            ("--schedule", "zigzag"),
            ("--task", "clustering"),
            ("--impute", "mode"),
        ] {
            let mut a = strs(&["train", "--epochs", "1", "--quiet", flag, v]);
            if flag != "--dataset" {
                a.extend(strs(&["--dataset", "iris"]));
            }
            a.push(s("--out"));
            a.push(out());
            push("flags: train", format!("train {flag} {v:?}"), a, false);
        }
        let garden_csv = Lab::p(&self.root.join("garden.csv"));
        for (flag, v) in [
            ("--target", "nosuch"),
            ("--features", "nosuch"),
            ("--features", "sepal length (cm),sepal length (cm)"),
            ("--features", "species"),
            ("--features", ""),
            ("--drop", "nosuch"),
            (
                "--drop",
                "sepal length (cm),sepal width (cm),petal length (cm),petal width (cm),soil",
            ),
            ("--drop", "species"),
            ("--categorical", "nosuch"),
            ("--categorical", "species"),
            ("--categorical", "sepal length (cm)"),
            ("--numeric", "soil"),
            ("--numeric", "species"),
            ("--numeric", "nosuch"),
        ] {
            let mut a = strs(&["train", "--data", &garden_csv, "--epochs", "1", "--quiet"]);
            if flag != "--target" {
                a.extend(strs(&["--target", "species"]));
            }
            a.extend(strs(&[flag, v, "--out"]));
            a.push(out());
            push("flags: columns", format!("train {flag} {v:?}"), a, false);
        }
        let iris = self.iris_s();
        for flag in ["--temperature", "--top-k", "--top-p", "--min-p", "--seed"] {
            for v in numeric.iter().chain(&["1.5", "-0.5", "1e-320"]) {
                let mut a = strs(&["predict", "--model", &iris, "--dataset", "iris"]);
                if flag != "--temperature" {
                    a.push(s("--sample"));
                }
                a.extend(strs(&[flag, v]));
                push("flags: predict", format!("predict {flag} {v:?}"), a, false);
            }
        }
        for flag in [
            "--temperature",
            "--top-k",
            "--top-p",
            "--min-p",
            "--typical-p",
            "--epsilon",
            "--repetition-penalty",
            "--min-tokens-to-keep",
            "--seed",
            "--draw",
        ] {
            for v in numeric.iter().chain(&["1.5", "1e-320"]) {
                let long = flag == "--draw" && ["4294967296", "18446744073709551616"].contains(v);
                push(
                    "flags: logits",
                    format!("logits {flag} {v:?}"),
                    strs(&["logits", "--values", "4.2,2.1,-1.3", flag, v]),
                    long,
                );
            }
        }
        let many: Vec<String> = (0..30_000).map(|i| format!("{}", i % 97)).collect();
        let many = many.join(",");
        for v in [
            "",
            ",",
            "nan",
            "NaN,1",
            "inf,-inf",
            "1e39,0",
            "-1e400,1",
            "1,,2",
            "a,b",
            "1e308,1e308",
            "0",
            many.as_str(),
        ] {
            push(
                "flags: logits",
                format!("logits --values {:?}", &v[..v.len().min(20)]),
                strs(&["logits", "--values", v]),
                false,
            );
        }
        for (flags, name) in [
            (vec!["--context", "0,1,99999999999"], "context out of range"),
            (vec!["--context", "-1"], "negative context"),
            (vec!["--labels", "a,b"], "too few labels"),
            (vec!["--labels", "a,a,a"], "duplicate labels"),
            (vec!["--temperature", "0.5,2,-1"], "temperature list"),
            (vec!["--json", "--draw", "3"], "json draw"),
        ] {
            let mut a = strs(&["logits", "--values", "4.2,2.1,-1.3"]);
            a.extend(strs(&flags));
            push("flags: logits", format!("logits {name}"), a, false);
        }
        for v in ["-1", "150", "30", "18446744073709551616", "abc"] {
            push(
                "flags: logits",
                format!("logits --row {v}"),
                strs(&["logits", "--model", &iris, "--dataset", "iris", "--row", v]),
                false,
            );
        }
        for (flags, name) in [
            (
                vec!["--dataset", "digits"],
                "eval on another dataset's columns",
            ),
            (vec!["--dataset", "nosuch"], "unknown dataset"),
            (vec!["--dataset", "diabetes"], "regression dataset"),
            (vec!["--dataset", "mnist"], "mnist (784 columns)"),
        ] {
            for sub in ["eval", "predict"] {
                let mut a = strs(&[sub, "--model", &iris]);
                a.extend(strs(&flags));
                push("flags: eval/predict", format!("{sub} {name}"), a, false);
            }
        }
        for (args, name) in [
            (vec!["params", "nosuch-preset"], "unknown preset"),
            (vec!["params", ""], "empty target"),
            (vec!["params", "/dev/null"], "/dev/null"),
            (vec!["params", "/dev/zero"], "/dev/zero"),
            (
                vec!["params", "gpt2", "--batch-size", "18446744073709551615"],
                "huge batch",
            ),
            (
                vec!["params", "gpt2", "--seq-len", "18446744073709551615"],
                "huge seq-len",
            ),
            (
                vec![
                    "params",
                    "gpt2",
                    "--batch-size",
                    "4294967296",
                    "--seq-len",
                    "4294967296",
                ],
                "batch x seq overflow",
            ),
            (
                vec!["params", "gpt2", "--batch-size", "-1"],
                "negative batch",
            ),
            (vec!["params", "gpt2", "--dtype", "fp7"], "unknown dtype"),
            (vec!["params", "gpt2", "--dtype", ""], "empty dtype"),
            (
                vec!["datasets", "--json", "extra"],
                "datasets extra argument",
            ),
            (vec!["datasets", "--nosuch"], "datasets unknown flag"),
            (vec!["nosuch"], "unknown subcommand"),
            (vec![], "no arguments"),
        ] {
            push(
                "flags: params/datasets",
                format!("{name}"),
                strs(&args),
                false,
            );
        }
        cases
    }

    /// The hostile model directories (iris model copies, corrupted).
    fn model_cases(&self) -> Vec<Case> {
        let mut cases = Vec::new();
        let mut add = |name: &str, dir: &Path| {
            cases.extend(self.model_commands("model dirs", name, dir));
        };
        add("missing directory", &self.root.join("no/such/model"));
        let empty = self.fresh("models", "");
        std::fs::create_dir_all(&empty).unwrap();
        add("empty directory", &empty);
        let file = self.fresh("models", ".file");
        std::fs::write(&file, b"not a directory").unwrap();
        add("a file as the model directory", &file);
        add("/dev/null as the model directory", Path::new("/dev/null"));

        let config_text = std::fs::read_to_string(self.iris.join("config.json")).unwrap();
        let config: serde_json::Value = serde_json::from_str(&config_text).unwrap();
        let with_config = |name: &str, text: Vec<u8>, add: &mut dyn FnMut(&str, &Path)| {
            let d = self.model_copy();
            std::fs::write(d.join("config.json"), text).unwrap();
            add(name, &d);
        };
        with_config(
            "config.json truncated",
            config_text.as_bytes()[..config_text.len() / 2].to_vec(),
            &mut add,
        );
        with_config("config.json empty", vec![], &mut add);
        with_config("config.json not JSON", b"hello, world".to_vec(), &mut add);
        for j in ["{}", "[]", "null", "42", "\"x\""] {
            with_config(&format!("config.json is {j}"), j.into(), &mut add);
        }
        with_config(
            "config.json 100,000 nested arrays",
            "[".repeat(100_000).into_bytes(),
            &mut add,
        );
        with_config(
            "config.json 20 MB of spaces",
            vec![b' '; 20 << 20],
            &mut add,
        );
        let edits: Vec<(&str, &str, serde_json::Value)> = vec![
            (
                "hidden is a string",
                "/architecture/mlp/hidden",
                "abc".into(),
            ),
            (
                "hidden negative",
                "/architecture/mlp/hidden",
                serde_json::json!([-8]),
            ),
            (
                "hidden zero",
                "/architecture/mlp/hidden",
                serde_json::json!([0]),
            ),
            (
                "hidden empty",
                "/architecture/mlp/hidden",
                serde_json::json!([]),
            ),
            (
                "hidden huge",
                "/architecture/mlp/hidden",
                serde_json::json!([1_000_000_000_000u64]),
            ),
            (
                "hidden 2^32",
                "/architecture/mlp/hidden",
                serde_json::json!([4294967296u64]),
            ),
            (
                "hidden float",
                "/architecture/mlp/hidden",
                serde_json::json!([8.5]),
            ),
            (
                "input_dim huge",
                "/architecture/mlp/input_dim",
                serde_json::json!(u64::MAX),
            ),
            (
                "input_dim zero",
                "/architecture/mlp/input_dim",
                serde_json::json!(0),
            ),
            (
                "output_dim zero",
                "/architecture/mlp/output_dim",
                serde_json::json!(0),
            ),
            (
                "output_dim huge",
                "/architecture/mlp/output_dim",
                serde_json::json!(1u64 << 40),
            ),
            (
                "dropout 2",
                "/architecture/mlp/dropout",
                serde_json::json!(2.0),
            ),
            (
                "activation unknown",
                "/architecture/mlp/activation",
                "swish9".into(),
            ),
            ("classes empty", "/classes", serde_json::json!([])),
            (
                "classes too many",
                "/classes",
                serde_json::json!(["a", "b", "c", "d"]),
            ),
            (
                "classes duplicated",
                "/classes",
                serde_json::json!(["a", "a", "a"]),
            ),
            (
                "classes not strings",
                "/classes",
                serde_json::json!([1, 2, 3]),
            ),
            (
                "feature_names empty",
                "/feature_names",
                serde_json::json!([]),
            ),
            ("version 999", "/version", serde_json::json!(999)),
            ("version negative", "/version", serde_json::json!(-1)),
            ("kind unknown", "/kind", "quantum".into()),
            ("task unknown", "/task", "clustering".into()),
            ("format wrong", "/format", "pytorch".into()),
            (
                "architecture null",
                "/architecture",
                serde_json::Value::Null,
            ),
            (
                "preprocessing null",
                "/preprocessing",
                serde_json::Value::Null,
            ),
            (
                "encoder columns empty",
                "/preprocessing/encoder/columns",
                serde_json::json!([]),
            ),
            (
                "scaler std zero",
                "/preprocessing/scaler/std",
                serde_json::json!([0.0, 0.0, 0.0, 0.0]),
            ),
            (
                "scaler std short",
                "/preprocessing/scaler/std",
                serde_json::json!([1.0]),
            ),
            (
                "scaler mean huge",
                "/preprocessing/scaler/mean",
                serde_json::json!([1e308, 1e308, 1e308, 1e308]),
            ),
            (
                "scaler not numbers",
                "/preprocessing/scaler/mean",
                serde_json::json!(["a", "b", "c", "d"]),
            ),
            ("weights_sha256 wrong", "/weights_sha256", "00".into()),
            ("seed negative", "/seed", serde_json::json!(-5)),
            (
                "metrics NaN string",
                "/metrics",
                serde_json::json!({"accuracy": "NaN"}),
            ),
        ];
        for (name, ptr, value) in edits {
            let mut c = config.clone();
            set_pointer(&mut c, ptr, value);
            with_config(
                &format!("config.json {name}"),
                serde_json::to_vec_pretty(&c).unwrap(),
                &mut add,
            );
        }
        let mut no_arch = config.clone();
        no_arch.as_object_mut().unwrap().remove("architecture");
        with_config(
            "config.json without architecture",
            serde_json::to_vec(&no_arch).unwrap(),
            &mut add,
        );

        // Weights: corrupted with the SHA-256 removed from config.json, so that the reader (not
        // the checksum) meets the corruption; and some with the checksum kept.
        let weights = std::fs::read(self.iris.join("model.safetensors")).unwrap();
        let mut unchecked = config.clone();
        unchecked.as_object_mut().unwrap().remove("weights_sha256");
        let unchecked = serde_json::to_vec_pretty(&unchecked).unwrap();
        let with_weights =
            |name: &str, bytes: &[u8], checked: bool, add: &mut dyn FnMut(&str, &Path)| {
                let d = self.model_copy();
                std::fs::write(d.join("model.safetensors"), bytes).unwrap();
                if !checked {
                    std::fs::write(d.join("config.json"), &unchecked).unwrap();
                }
                add(name, &d);
            };
        let hlen = u64::from_le_bytes(weights[..8].try_into().unwrap()) as usize;
        let header: serde_json::Value = serde_json::from_slice(&weights[8..8 + hlen]).unwrap();
        let data = &weights[8 + hlen..];
        for (name, bytes) in [
            ("empty", vec![]),
            ("7 bytes", weights[..7].to_vec()),
            ("header only", weights[..8 + hlen].to_vec()),
            ("truncated at half", weights[..weights.len() / 2].to_vec()),
            (
                "truncated by one byte",
                weights[..weights.len() - 1].to_vec(),
            ),
            ("one extra byte", [weights.as_slice(), &[0]].concat()),
        ] {
            with_weights(&format!("safetensors {name}"), &bytes, false, &mut add);
        }
        for n in [u64::MAX, 1 << 40, (weights.len() as u64), 0, 1] {
            let mut b = weights.clone();
            b[..8].copy_from_slice(&n.to_le_bytes());
            with_weights(
                &format!("safetensors header length {n}"),
                &b,
                false,
                &mut add,
            );
        }
        let tensor0 = header
            .as_object()
            .unwrap()
            .keys()
            .find(|k| *k != "__metadata__")
            .unwrap()
            .clone();
        let header_edits: Vec<(String, serde_json::Value)> = vec![
            (s("dtype F64"), serde_json::json!("F64")),
            (s("dtype I8"), serde_json::json!("I8")),
            (s("dtype BF16"), serde_json::json!("BF16")),
            (s("dtype unknown"), serde_json::json!("Q4")),
        ];
        for (name, dtype) in header_edits {
            let mut h = header.clone();
            h[&tensor0]["dtype"] = dtype;
            with_weights(
                &format!("safetensors {name}"),
                &safetensors(&h, data),
                false,
                &mut add,
            );
        }
        for (name, field, value) in [
            ("shape wrong", "shape", serde_json::json!([3, 3])),
            ("shape huge", "shape", serde_json::json!([u64::MAX, 2])),
            (
                "shape overflow product",
                "shape",
                serde_json::json!([1u64 << 32, 1u64 << 32]),
            ),
            ("shape negative", "shape", serde_json::json!([-1, 4])),
            (
                "offsets out of range",
                "data_offsets",
                serde_json::json!([0, 1u64 << 40]),
            ),
            (
                "offsets reversed",
                "data_offsets",
                serde_json::json!([64, 0]),
            ),
            (
                "offsets u64::MAX",
                "data_offsets",
                serde_json::json!([u64::MAX - 1, u64::MAX]),
            ),
            (
                "offsets overlapping",
                "data_offsets",
                serde_json::json!([0, 4]),
            ),
        ] {
            let mut h = header.clone();
            h[&tensor0][field] = value;
            with_weights(
                &format!("safetensors {name}"),
                &safetensors(&h, data),
                false,
                &mut add,
            );
        }
        let mut h = header.clone();
        h.as_object_mut().unwrap().remove(&tensor0);
        with_weights(
            "safetensors tensor missing",
            &safetensors(&h, data),
            false,
            &mut add,
        );
        let mut h = header.clone();
        h["extra.weight"] =
            serde_json::json!({"dtype": "F32", "shape": [1], "data_offsets": [0, 4]});
        with_weights(
            "safetensors extra tensor",
            &safetensors(&h, data),
            false,
            &mut add,
        );
        with_weights(
            "safetensors header not JSON",
            &[&(5u64).to_le_bytes()[..], b"hello", data].concat(),
            false,
            &mut add,
        );
        for (name, value) in [("NaN", f32::NAN), ("inf", f32::INFINITY), ("1e38", 1e38)] {
            let mut d = data.to_vec();
            for chunk in d.chunks_exact_mut(4).step_by(3) {
                chunk.copy_from_slice(&value.to_le_bytes());
            }
            with_weights(
                &format!("safetensors {name} weights"),
                &safetensors(&header, &d),
                false,
                &mut add,
            );
        }
        let mut rng = Rng::new(7);
        for i in 0..4 {
            let mut b = weights.clone();
            let at = rng.below(b.len());
            b[at] ^= 1 << rng.below(8);
            with_weights(
                &format!("safetensors bit flip {i} at {at}"),
                &b,
                i % 2 == 0,
                &mut add,
            );
        }
        let d = self.model_copy();
        std::fs::remove_file(d.join("model.safetensors")).unwrap();
        add("model.safetensors missing", &d);
        let d = self.model_copy();
        std::fs::remove_file(d.join("model.safetensors")).unwrap();
        std::fs::create_dir(d.join("model.safetensors")).unwrap();
        add("model.safetensors is a directory", &d);
        let d = self.model_copy();
        std::fs::remove_file(d.join("config.json")).unwrap();
        std::fs::create_dir(d.join("config.json")).unwrap();
        add("config.json is a directory", &d);
        let d = self.model_copy();
        std::fs::remove_file(d.join("config.json")).unwrap();
        std::fs::remove_file(d.join("model.safetensors")).unwrap();
        add("checkpoint-only directory", &d);
        let d = self.model_copy();
        std::os::unix::fs::symlink("/dev/zero", d.join("model.safetensors.tmp")).ok();
        std::fs::remove_file(d.join("model.safetensors")).unwrap();
        std::os::unix::fs::symlink("/dev/zero", d.join("model.safetensors")).unwrap();
        std::fs::write(d.join("config.json"), &unchecked).unwrap();
        add("model.safetensors -> /dev/zero", &d);
        let d = self.model_copy();
        std::fs::remove_file(d.join("config.json")).unwrap();
        std::os::unix::fs::symlink("/dev/zero", d.join("config.json")).unwrap();
        add("config.json -> /dev/zero", &d);

        // Resume from a damaged checkpoint.
        for (name, file, bytes) in [
            ("state.json not JSON", "state.json", b"{{{".to_vec()),
            ("state.json empty", "state.json", vec![]),
            (
                "optimizer truncated",
                "optimizer.safetensors",
                weights[..100].to_vec(),
            ),
            ("manifest missing", "manifest.json", vec![]),
            ("model NaN", "model.safetensors", {
                let mut d = data.to_vec();
                d[..4].copy_from_slice(&f32::NAN.to_le_bytes());
                safetensors(&header, &d)
            }),
        ] {
            let d = self.model_copy();
            let path = d.join("checkpoint").join(file);
            if name == "manifest missing" {
                std::fs::remove_file(&path).unwrap();
            } else {
                std::fs::write(&path, bytes).unwrap();
            }
            cases.push(Case {
                category: "model dirs",
                name: format!("checkpoint {name} [train --resume]"),
                args: strs(&[
                    "train",
                    "--dataset",
                    "iris",
                    "--hidden",
                    "8",
                    "--epochs",
                    "2",
                    "--quiet",
                    "--resume",
                    "--out",
                    &Lab::p(&d),
                ]),
                may_run_long: false,
            });
        }
        cases
    }

    /// The core list: every category, fixed.
    pub fn core_cases(&self) -> Vec<Case> {
        let mut cases = Vec::new();
        for (name, bytes, target) in self.hostile_csvs() {
            let f = self.csv(&bytes);
            cases.extend(self.csv_commands("csv files", &name, &f, &target));
        }
        for (name, path) in self.hostile_paths() {
            cases.extend(self.csv_commands("csv paths", &name, &path, "species"));
        }
        cases.extend(self.flag_cases());
        cases.extend(self.model_cases());
        cases
    }

    /// One seeded random case: a mutated CSV file, a random flag value, or random byte flips in
    /// a model's weights or config.
    pub fn random_case(&self, rng: &mut Rng) -> Case {
        match rng.below(4) {
            0 => {
                let mut bytes = join(&self.rows).into_bytes();
                for _ in 0..1 + rng.below(4) {
                    mutate_text(&mut bytes, rng);
                }
                let f = self.csv(&bytes);
                let mut cs = self.csv_commands("random csv", "mutated CSV", &f, "species");
                let i = rng.below(cs.len());
                let mut c = cs.swap_remove(i);
                c.name = format!("{} ({} bytes)", c.name, bytes.len());
                c
            }
            1 => {
                let v = random_number_text(rng);
                let (args, name) = match rng.below(3) {
                    0 => {
                        let flag = *rng.pick(&[
                            "--batch-size",
                            "--learning-rate",
                            "--hidden",
                            "--dropout",
                            "--seed",
                            "--val-size",
                            "--test-size",
                            "--weight-decay",
                            "--momentum",
                            "--warmup-steps",
                            "--max-grad-norm",
                            "--label-smoothing",
                            "--patience",
                        ]);
                        let mut a = strs(&[
                            "train",
                            "--dataset",
                            "iris",
                            "--epochs",
                            "1",
                            "--hidden",
                            "8",
                            "--quiet",
                            flag,
                            &v,
                            "--out",
                        ]);
                        a.push(self.out());
                        (a, format!("train {flag} {v:?}"))
                    }
                    1 => {
                        let flag = *rng.pick(&[
                            "--temperature",
                            "--top-k",
                            "--top-p",
                            "--min-p",
                            "--seed",
                        ]);
                        (
                            strs(&[
                                "predict",
                                "--model",
                                &self.iris_s(),
                                "--dataset",
                                "iris",
                                "--sample",
                                flag,
                                &v,
                            ]),
                            format!("predict --sample {flag} {v:?}"),
                        )
                    }
                    _ => {
                        let flag = *rng.pick(&[
                            "--temperature",
                            "--top-k",
                            "--top-p",
                            "--min-p",
                            "--typical-p",
                            "--epsilon",
                            "--repetition-penalty",
                            "--min-tokens-to-keep",
                            "--values",
                        ]);
                        (
                            strs(&[
                                "logits",
                                "--values",
                                "4.2,2.1,-1.3",
                                "--draw",
                                "10",
                                flag,
                                &v,
                            ]),
                            format!("logits {flag} {v:?}"),
                        )
                    }
                };
                Case {
                    category: "random flags",
                    name,
                    args,
                    may_run_long: false,
                }
            }
            k => {
                let d = self.model_copy();
                let file = if k == 2 {
                    "model.safetensors"
                } else {
                    "config.json"
                };
                let path = d.join(file);
                let mut b = std::fs::read(&path).unwrap();
                let flips = 1 + rng.below(4);
                let mut at = Vec::new();
                for _ in 0..flips {
                    let i = rng.below(b.len());
                    b[i] ^= 1 << rng.below(8);
                    at.push(i);
                }
                if rng.below(4) == 0 {
                    let cut = rng.below(b.len());
                    b.truncate(cut);
                    at.push(cut);
                }
                std::fs::write(&path, &b).unwrap();
                if k == 2 && rng.below(5) != 0 {
                    // Without the checksum, so the safetensors reader meets the damage.
                    let cpath = d.join("config.json");
                    let mut c: serde_json::Value =
                        serde_json::from_slice(&std::fs::read(&cpath).unwrap()).unwrap();
                    c.as_object_mut().unwrap().remove("weights_sha256");
                    std::fs::write(&cpath, serde_json::to_vec(&c).unwrap()).unwrap();
                }
                let mut cs =
                    self.model_commands("random model bytes", &format!("{file} flips {at:?}"), &d);
                let i = rng.below(cs.len());
                cs.swap_remove(i)
            }
        }
    }

    /// `n` cases for `seed`: with `n` at most the core list, a stratified subset of it (round
    /// robin over categories, each category's order shuffled by the seed); above it, the whole
    /// core list and then seeded random cases.
    pub fn cases(&self, n: usize, seed: u64) -> Vec<Case> {
        let core = self.core_cases();
        println!(
            "hostile inputs: {} core cases; running {n} (seed {seed})",
            core.len()
        );
        let mut rng = Rng::new(seed);
        if n <= core.len() {
            let mut groups: BTreeMap<&'static str, Vec<Case>> = BTreeMap::new();
            // A long run the user asked for costs the whole timeout: not in the subset.
            for c in core.into_iter().filter(|c| !c.may_run_long) {
                groups.entry(c.category).or_default().push(c);
            }
            for g in groups.values_mut() {
                for i in (1..g.len()).rev() {
                    let j = rng.below(i + 1);
                    g.swap(i, j);
                }
            }
            let n = n.min(groups.values().map(Vec::len).sum());
            let mut out = Vec::new();
            let mut iters: Vec<_> = groups.into_values().map(|g| g.into_iter()).collect();
            while out.len() < n {
                for it in iters.iter_mut() {
                    if out.len() < n {
                        if let Some(c) = it.next() {
                            out.push(c);
                        }
                    }
                }
            }
            out
        } else {
            let mut out = core;
            while out.len() < n {
                out.push(self.random_case(&mut rng));
            }
            out
        }
    }

    /// Runs one case: stdout and stderr into files, stdin closed, [`TIMEOUT`] and
    /// [`MEMORY_LIMIT`].
    pub fn run(&self, case: &Case) -> Run {
        run_case(&self.bin, &self.fresh("out", ".log"), TIMEOUT, case)
    }

    /// Runs the cases on `threads` threads, in order of the list in the result.
    pub fn run_all(&self, cases: &[Case], threads: usize) -> Vec<Run> {
        let next = AtomicUsize::new(0);
        let results: Mutex<Vec<Option<Run>>> = Mutex::new(vec![None; cases.len()]);
        std::thread::scope(|sc| {
            for _ in 0..threads.max(1) {
                sc.spawn(|| {
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= cases.len() {
                            break;
                        }
                        let r = self.run(&cases[i]);
                        results.lock().unwrap()[i] = Some(r);
                    }
                });
            }
        });
        results
            .into_inner()
            .unwrap()
            .into_iter()
            .map(Option::unwrap)
            .collect()
    }
}

/// Runs `bin` with `case.args` in the folder of `log` (stdout and stderr into `log`'s
/// `.stdout`/`.stderr` siblings, stdin closed, [`MEMORY_LIMIT`]) and classifies the result; a
/// run longer than `timeout` is killed.
pub fn run_case(bin: &Path, log: &Path, timeout: Duration, case: &Case) -> Run {
    use std::os::unix::process::{CommandExt, ExitStatusExt};
    let out_path = log.with_extension("stdout");
    let err_path = log.with_extension("stderr");
    let mut cmd = Command::new(bin);
    cmd.args(&case.args)
        .current_dir(log.parent().unwrap())
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .env_remove("RUST_BACKTRACE")
        .env("RAYON_NUM_THREADS", "1");
    unsafe {
        cmd.pre_exec(|| {
            let lim = libc::rlimit {
                rlim_cur: MEMORY_LIMIT,
                rlim_max: MEMORY_LIMIT,
            };
            libc::setrlimit(libc::RLIMIT_AS, &lim);
            Ok(())
        });
    }
    let start = Instant::now();
    let mut child = cmd.spawn().unwrap();
    let (status, timed_out) = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break (Some(st), false);
        }
        if start.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            break (None, true);
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let seconds = start.elapsed().as_secs_f64();
    let stdout = head(&out_path, 1 << 20);
    let stderr = head(&err_path, 1 << 16);
    let _ = std::fs::remove_file(&out_path);
    let _ = std::fs::remove_file(&err_path);
    let all = format!("{stdout}{stderr}");
    let code = status.and_then(|s| s.code());
    let signal = status.and_then(|s| s.signal());
    let outcome = if timed_out {
        if case.may_run_long {
            Outcome::LongRun
        } else {
            Outcome::Hang
        }
    } else if code == Some(101) || all.contains("panicked") || all.contains("RUST_BACKTRACE") {
        Outcome::Panic
    } else if signal.is_some() {
        Outcome::Abort
    } else if code == Some(0) {
        if shows_non_finite(&all) {
            Outcome::Suspicious
        } else {
            Outcome::Accepted
        }
    } else if stderr.trim().is_empty() {
        Outcome::SilentError
    } else {
        Outcome::CleanError
    };
    let excerpt: String = stderr.trim().chars().take(300).collect();
    Run {
        case: case.clone(),
        outcome,
        code,
        signal,
        seconds,
        excerpt,
    }
}

/// Counts per outcome and the report text: a summary table, then every panic, abort, hang,
/// silent error and suspicious success with its arguments and stderr.
pub fn report(runs: &[Run], seconds: f64) -> (BTreeMap<Outcome, usize>, String) {
    use std::fmt::Write;
    let mut counts: BTreeMap<Outcome, usize> = BTreeMap::new();
    for r in runs {
        *counts.entry(r.outcome).or_default() += 1;
    }
    let c = |o| counts.get(&o).copied().unwrap_or(0);
    let mut t = String::new();
    writeln!(t, "hostile inputs: {} tried in {seconds:.1} s", runs.len()).unwrap();
    let mut by_cat: BTreeMap<&str, BTreeMap<Outcome, usize>> = BTreeMap::new();
    for r in runs {
        *by_cat
            .entry(r.case.category)
            .or_default()
            .entry(r.outcome)
            .or_default() += 1;
    }
    writeln!(
        t,
        "{:<24} {:>6} {:>8} {:>6} {:>6} {:>7} {:>6} {:>6} {:>6} {:>10}",
        "category",
        "tried",
        "accepted",
        "clean",
        "silent",
        "panics",
        "aborts",
        "hangs",
        "long",
        "suspicious"
    )
    .unwrap();
    let line = |t: &mut String, name: &str, m: &BTreeMap<Outcome, usize>| {
        let g = |o| m.get(&o).copied().unwrap_or(0);
        let total: usize = m.values().sum();
        writeln!(
            t,
            "{:<24} {:>6} {:>8} {:>6} {:>6} {:>7} {:>6} {:>6} {:>6} {:>10}",
            name,
            total,
            g(Outcome::Accepted),
            g(Outcome::CleanError),
            g(Outcome::SilentError),
            g(Outcome::Panic),
            g(Outcome::Abort),
            g(Outcome::Hang),
            g(Outcome::LongRun),
            g(Outcome::Suspicious)
        )
        .unwrap();
    };
    for (cat, m) in &by_cat {
        line(&mut t, cat, m);
    }
    line(&mut t, "TOTAL", &counts);
    writeln!(
        t,
        "tried {}, accepted {}, clean errors {}, silent errors {}, panics {}, aborts {}, hangs {}, long runs (asked for) {}, suspicious successes {}",
        runs.len(),
        c(Outcome::Accepted),
        c(Outcome::CleanError),
        c(Outcome::SilentError),
        c(Outcome::Panic),
        c(Outcome::Abort),
        c(Outcome::Hang),
        c(Outcome::LongRun),
        c(Outcome::Suspicious)
    )
    .unwrap();
    for r in runs {
        if r.outcome.is_failure() || r.outcome == Outcome::Suspicious {
            let args: Vec<String> = r
                .case
                .args
                .iter()
                .map(|a| {
                    let short: String = a.chars().take(80).collect();
                    format!("{short:?}")
                })
                .collect();
            writeln!(
                t,
                "{:?}: {} (exit {:?}, signal {:?}, {:.1} s)\n  learnable {}\n  {}",
                r.outcome,
                r.case.name,
                r.code,
                r.signal,
                r.seconds,
                args.join(" "),
                r.excerpt.replace('\n', "\n  ")
            )
            .unwrap();
        }
    }
    (counts, t)
}

/// True when a word of the output is NaN or an infinity (as a printed number).
fn shows_non_finite(text: &str) -> bool {
    text.split(|c: char| !(c.is_alphanumeric() || c == '-' || c == '.' || c == '+'))
        .any(|w| {
            let w = w.trim_matches('.');
            // `-inf` is how `logits` shows a class removed by truncation (as Hugging Face
            // masks it), and a typed -1e400 is -inf: not a broken result.
            matches!(w, "NaN" | "nan" | "-nan" | "inf" | "+inf" | "Infinity")
        })
}

fn head(path: &Path, max: u64) -> String {
    let mut b = Vec::new();
    if let Ok(f) = std::fs::File::open(path) {
        let _ = f.take(max).read_to_end(&mut b);
    }
    String::from_utf8_lossy(&b).into_owned()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let t = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &t);
        } else {
            std::fs::copy(e.path(), t).unwrap();
        }
    }
}

fn set_pointer(v: &mut serde_json::Value, ptr: &str, value: serde_json::Value) {
    match v.pointer_mut(ptr) {
        Some(slot) => *slot = value,
        None => {
            let (parent, key) = ptr.rsplit_once('/').unwrap();
            if let Some(obj) = v.pointer_mut(parent).and_then(|p| p.as_object_mut()) {
                obj.insert(key.to_string(), value);
            }
        }
    }
}

/// A safetensors file from a header value and the data bytes.
fn safetensors(header: &serde_json::Value, data: &[u8]) -> Vec<u8> {
    let h = serde_json::to_vec(header).unwrap();
    let mut b = (h.len() as u64).to_le_bytes().to_vec();
    b.extend_from_slice(&h);
    b.extend_from_slice(data);
    b
}

/// Hostile tokens for random text mutations and flag values.
const TOKENS: &[&str] = &[
    "NaN",
    "nan",
    "inf",
    "-inf",
    "1e39",
    "-1e400",
    "",
    "\"",
    "\"\"",
    ",",
    "\n",
    "\r\n",
    "\0",
    "\u{feff}",
    "\u{202e}",
    "é",
    "😀",
    "0",
    "-0",
    "1e-400",
    "9999999999999999999999",
    "a,b",
    "species",
    "soil",
];

fn mutate_text(b: &mut Vec<u8>, rng: &mut Rng) {
    if b.is_empty() {
        b.extend_from_slice(rng.pick(TOKENS).as_bytes());
        return;
    }
    let at = rng.below(b.len());
    match rng.below(6) {
        0 => {
            let tok = rng.pick(TOKENS).as_bytes().to_vec();
            let end = (at + 1 + rng.below(6)).min(b.len());
            b.splice(at..end, tok);
        }
        1 => {
            b.remove(at);
        }
        2 => b.insert(at, rng.next() as u8),
        3 => b[at] ^= 1 << rng.below(8),
        4 => {
            // Duplicate a stretch (a line or part of one).
            let end = (at + 1 + rng.below(200)).min(b.len());
            let piece = b[at..end].to_vec();
            b.splice(at..at, piece);
        }
        _ => b.truncate(at),
    }
}

fn random_number_text(rng: &mut Rng) -> String {
    match rng.below(8) {
        0 => (rng.next() as i64).to_string(),
        1 => (rng.next() % 1000).to_string(),
        2 => format!("-{}", rng.next() % 1000),
        3 => format!("{}e{}", rng.below(10), rng.below(700) as i64 - 350),
        4 => format!("{:.3}", (rng.next() % 4000) as f64 / 1000.0 - 2.0),
        5 => rng.pick(TOKENS).to_string(),
        6 => format!("{}", 1u128 << rng.below(128)),
        _ => rng
            .pick(&[
                "0x10",
                "1_000",
                " 1",
                "1 ",
                "1,2",
                "١",
                "\u{2212}1",
                "+1",
                ".5",
                "5.",
                "1e",
                "e5",
            ])
            .to_string(),
    }
}

/// One line per run: outcome, exit code or signal, seconds, category, name, stderr's first line.
pub fn listing(runs: &[Run]) -> String {
    let mut t = String::new();
    for r in runs {
        t.push_str(&format!(
            "{:?}\t{}\t{:.2}\t{}\t{}\t{}\n",
            r.outcome,
            match (r.code, r.signal) {
                (Some(c), _) => format!("exit {c}"),
                (None, Some(s)) => format!("signal {s}"),
                _ => "killed".to_string(),
            },
            r.seconds,
            r.case.category,
            r.case.name,
            r.excerpt.lines().next().unwrap_or("")
        ));
    }
    t
}
