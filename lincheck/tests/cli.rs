//! The `lincheck` command line and the parsers: verdict lines, exit codes, errors naming the
//! line, and no panic on malformed input.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::porcupine_data;
use lincheck::formats::{Format, parse_etcd, parse_jsonl, parse_porcupine_kv, to_jsonl};
use lincheck::generate::{KvHistorySpec, kv_history};
use lincheck::models::{KvInput, KvOutput, RegisterInput, RegisterOutput};
use lincheck::{History, Operation};
use proptest::prelude::*;

fn tmp(name: &str, content: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("lincheck-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, content).unwrap();
    p
}

/// Runs lincheck; returns (exit code, stdout, stderr).
fn lincheck(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_lincheck"))
        .args(args)
        .output()
        .expect("run lincheck");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn last_line(s: &str) -> &str {
    s.lines().last().unwrap_or("")
}

#[test]
fn cli_verdicts_and_exit_codes_on_data() {
    let Some(dir) = porcupine_data() else { return };
    for (file, expect_code, expect_line, extra) in [
        ("kv/c10-ok.txt", 0, "linearizable", None),
        ("kv/c10-bad.txt", 1, "not linearizable", None),
        (
            "kv/c01-bad.txt",
            1,
            "not linearizable",
            Some("--no-partition"),
        ),
        ("jepsen/etcd_002.log", 0, "linearizable", None),
        ("jepsen/etcd_000.log", 1, "not linearizable", None),
        ("jepsen/etcd_100.log", 0, "linearizable", None),
    ] {
        let path = dir.join(file);
        let mut args = vec![path.to_str().unwrap()];
        if let Some(e) = extra {
            args.push(e);
        }
        let (code, out, err) = lincheck(&args);
        assert_eq!(code, expect_code, "{file}: {out}{err}");
        assert_eq!(last_line(&out), expect_line, "{file}");
    }
    // Explicit format and model.
    let p = dir.join("jepsen/etcd_002.log");
    let (code, out, _) = lincheck(&[
        "--format",
        "etcd",
        "--model",
        "register",
        p.to_str().unwrap(),
    ]);
    assert_eq!((code, last_line(&out)), (0, "linearizable"));
    // Wrong combination: usage error, exit 3.
    let (code, _, err) = lincheck(&["--format", "etcd", "--model", "kv", p.to_str().unwrap()]);
    assert_eq!(code, 3, "{err}");
}

#[test]
fn cli_jsonl_round_trip_and_unknown() {
    let h = History::from_operations(kv_history(&KvHistorySpec {
        seed: 5,
        clients: 4,
        ops: 300,
        keys: 3,
        max_latency: 10,
    }))
    .unwrap();
    let p = tmp("gen.jsonl", &to_jsonl(Some("kv"), &h));
    let (code, out, err) = lincheck(&[p.to_str().unwrap()]);
    assert_eq!((code, last_line(&out)), (0, "linearizable"), "{err}");
    // Exponential history + tiny timeout: unknown, exit 2.
    let p = tmp("hard.jsonl", &hard_jsonl());
    let (code, out, _) = lincheck(&["--timeout", "0.05", p.to_str().unwrap()]);
    assert_eq!((code, last_line(&out)), (2, "unknown"));
    assert!(out.contains("gave up (timeout)"), "{out}");
}

/// A jsonl history only the general search can decide, in exponential time: concurrent
/// appends of repeated values, then a read no order explains.
fn hard_jsonl() -> String {
    let mut lines = vec![r#"{"model":"kv"}"#.to_string()];
    for i in 0..24 {
        let value = if i % 2 == 0 { "a" } else { "b" };
        lines.push(format!(
            r#"{{"client":{i},"call":0,"return":100,"input":{{"op":"append","key":"k","value":"{value}"}},"output":{{}}}}"#
        ));
    }
    lines.push(r#"{"client":99,"call":101,"return":102,"input":{"op":"get","key":"k"},"output":{"value":"c"}}"#.into());
    lines.join("\n")
}

#[test]
fn cli_budgets_give_unknown_with_the_reason() {
    let p = tmp("budget.jsonl", &hard_jsonl());
    let (code, out, err) = lincheck(&["--memory-budget", "8", p.to_str().unwrap()]);
    assert_eq!((code, last_line(&out)), (2, "unknown"), "{err}");
    assert!(out.contains("gave up (memory budget reached)"), "{out}");
    let (code, out, err) = lincheck(&["--max-steps", "5000", p.to_str().unwrap()]);
    assert_eq!((code, last_line(&out)), (2, "unknown"), "{err}");
    assert!(out.contains("gave up (step budget used up)"), "{out}");
    assert!(out.contains("5000 model steps"), "{out}");
    for bad in [
        ["--memory-budget", "0"],
        ["--max-steps", "0"],
        ["--memory-budget", "lots"],
    ] {
        let (code, _, err) = lincheck(&[bad[0], bad[1], p.to_str().unwrap()]);
        assert_eq!(code, 3, "{bad:?}: {err}");
    }
}

#[test]
fn cli_verbose_says_what_decided() {
    // Unique values: the log analysis; a repeated value: the general search, and why.
    let unique = r#"{"client":0,"call":0,"return":10,"input":{"op":"append","key":"k","value":"x 0 0 y"},"output":{}}
{"client":1,"call":2,"return":12,"input":{"op":"append","key":"k","value":"x 1 0 y"},"output":{}}
{"client":2,"call":20,"return":30,"input":{"op":"get","key":"k"},"output":{"value":"x 1 0 yx 0 0 y"}}
"#;
    let p = tmp("unique.jsonl", unique);
    let (code, out, err) = lincheck(&["-v", p.to_str().unwrap()]);
    assert_eq!((code, last_line(&out)), (0, "linearizable"), "{err}");
    assert!(
        out.contains("decided by: log analysis 1 partition(s), general search 0"),
        "{out}"
    );
    assert!(
        out.contains("decided by the log analysis: 1 epoch(s), 1 reads fix the state, 2 appends ordered by them"),
        "{out}"
    );
    let repeated = unique.replace("x 1 0 y", "x 0 0 y");
    let p = tmp("repeated.jsonl", &repeated);
    let (code, out, _) = lincheck(&["-v", p.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("decided by the general search; no log analysis:")
            && out.contains("write the same value"),
        "{out}"
    );
    // A refutation names what the analysis found.
    let lost = r#"{"client":0,"call":0,"return":10,"input":{"op":"append","key":"k","value":"x 0 0 y"},"output":{}}
{"client":1,"call":2,"return":12,"input":{"op":"append","key":"k","value":"x 1 0 y"},"output":{}}
{"client":2,"call":20,"return":30,"input":{"op":"get","key":"k"},"output":{"value":"x 1 0 y"}}
"#;
    let p = tmp("lost.jsonl", lost);
    let (code, out, _) = lincheck(&["-v", p.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("proof:") && out.contains("no read sees append(\"k\", \"x 0 0 y\")"),
        "{out}"
    );
    let (code, out, _) = lincheck(&["-v", "--no-log-analysis", p.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("decided by the general search\n"), "{out}");
}

#[test]
fn cli_register_and_versioned_jsonl_events() {
    let text = r#"{"model":"register"}
{"event":"call","id":1,"client":0,"input":{"op":"write","value":3}}
{"event":"call","id":2,"client":1,"input":{"op":"read"}}
{"event":"return","id":1,"output":{"op":"write"}}
{"event":"return","id":2,"output":{"op":"read","value":3}}
{"event":"call","id":3,"client":2,"input":{"op":"cas","from":3,"to":4}}
{"event":"unknown","id":3}
"#;
    let p = tmp("reg.jsonl", text);
    let (code, out, err) = lincheck(&[p.to_str().unwrap()]);
    assert_eq!((code, last_line(&out)), (0, "linearizable"), "{err}");
    let text = r#"{"model":"versioned-kv"}
{"client":0,"call":0,"return":1,"input":{"op":"put","key":"k","value":"a","version":0},"output":{"result":"ok"}}
{"client":1,"call":2,"return":3,"input":{"op":"get","key":"k"},"output":{"result":"value","value":"a","version":2}}
"#;
    let p = tmp("vkv.jsonl", text);
    let (code, out, err) = lincheck(&[p.to_str().unwrap()]);
    assert_eq!((code, last_line(&out)), (1, "not linearizable"), "{err}");
}

#[test]
fn cli_writes_html_report() {
    let text = "INFO  jepsen.util - 0\t:invoke\t:write\t1\n\
                INFO  jepsen.util - 0\t:ok\t:write\t1\n\
                INFO  jepsen.util - 1\t:invoke\t:read\tnil\n\
                INFO  jepsen.util - 1\t:ok\t:read\t2\n";
    let p = tmp("tiny.log", text);
    let out_html = p.with_extension("html");
    let (code, out, err) = lincheck(&["--html", out_html.to_str().unwrap(), p.to_str().unwrap()]);
    assert_eq!((code, last_line(&out)), (1, "not linearizable"), "{err}");
    assert!(out.contains("report written to"));
    let page = std::fs::read_to_string(&out_html).unwrap();
    assert!(page.contains("\"verdict\":\"not linearizable\""));
    assert!(page.contains("read() -> 2"));
    // Verbose statistics.
    let (_, out, _) = lincheck(&["-v", p.to_str().unwrap()]);
    assert!(out.contains("partition 0: 2 operations"), "{out}");
}

#[test]
fn cli_malformed_input_names_the_line() {
    let p = tmp(
        "bad.txt",
        "{:process 0, :type :invoke, :f :get, :key \"1\", :value nil}\n{:process 0, :type :ok, :f :get, :key \"1\", :value oops}\n",
    );
    let (code, out, err) = lincheck(&[p.to_str().unwrap()]);
    assert_eq!(code, 3, "{out}");
    assert!(err.contains("bad.txt:2:"), "{err}");
    let p = tmp("bad.jsonl", "{\"model\":\"kv\"}\n{\"client\":0}\n");
    let (code, _, err) = lincheck(&[p.to_str().unwrap()]);
    assert_eq!(code, 3);
    assert!(err.contains("bad.jsonl:2:"), "{err}");
    let p = tmp(
        "bad.log",
        "INFO  jepsen.util - 0\t:invoke\t:read\tnil\nINFO  jepsen.util - 1\t:ok\t:read\t3\n",
    );
    let (code, _, err) = lincheck(&[p.to_str().unwrap()]);
    assert_eq!(code, 3);
    assert!(
        err.contains("bad.log:2:") && err.contains("never invoked"),
        "{err}"
    );
    let (code, _, err) = lincheck(&["/nonexistent/history.txt"]);
    assert_eq!(code, 3);
    assert!(err.contains("cannot read"), "{err}");
    let p = tmp("bin.txt", "");
    std::fs::write(&p, [b'{', b'\n', 0xff, 0xfe]).unwrap();
    let (code, _, err) = lincheck(&[p.to_str().unwrap()]);
    assert_eq!(code, 3);
    assert!(err.contains(":2: not valid UTF-8"), "{err}");
    let (code, _, _) = lincheck(&["--no-such-flag", "x"]);
    assert_eq!(code, 3);
}

#[test]
fn cli_rejects_unknown_jsonl_fields_naming_the_line() {
    let header = r#"{"model":"kv"}"#;
    let put = r#"{"client":0,"call":0,"return":1,"input":{"op":"put","key":"k","value":"a"},"output":{}}"#;
    for (bad, field) in [
        // The misspelling that used to turn a wrong read into an unknown one.
        (
            r#"{"client":1,"call":2,"return":3,"input":{"op":"get","key":"k"},"outptu":{"value":"b"}}"#,
            "outptu",
        ),
        (
            r#"{"client":1,"call":2,"return":3,"input":{"op":"get","key":"k","vale":"b"},"output":{"value":"a"}}"#,
            "vale",
        ),
        (
            r#"{"client":1,"call":2,"return":3,"input":{"op":"get","key":"k"},"output":{"valeu":"a"}}"#,
            "valeu",
        ),
        (
            r#"{"client":1,"call":2,"retrun":3,"input":{"op":"get","key":"k"},"output":{"value":"a"}}"#,
            "retrun",
        ),
    ] {
        let p = tmp("fields.jsonl", &format!("{header}\n{put}\n{bad}\n"));
        let (code, out, err) = lincheck(&[p.to_str().unwrap()]);
        assert_eq!(code, 3, "{bad}: {out}");
        assert!(
            err.contains("fields.jsonl:3:") && err.contains(&format!("unknown field \"{field}\"")),
            "{bad}: {err}"
        );
    }
    // In the header, in events, and inside a register's input without fields.
    for (text, line) in [
        ("{\"model\":\"kv\",\"mode\":1}\n", 1),
        (
            "{\"event\":\"call\",\"id\":1,\"client\":0,\"input\":{\"op\":\"get\",\"key\":\"k\"}}\n{\"event\":\"return\",\"id\":1,\"client\":0,\"output\":{\"value\":\"\"}}\n",
            2,
        ),
        (
            "{\"model\":\"register\"}\n{\"client\":0,\"call\":0,\"return\":1,\"input\":{\"op\":\"read\",\"value\":3},\"output\":{\"op\":\"read\",\"value\":null}}\n",
            2,
        ),
    ] {
        let p = tmp("fields2.jsonl", text);
        let (code, _, err) = lincheck(&[p.to_str().unwrap()]);
        assert_eq!(code, 3, "{text}");
        assert!(
            err.contains(&format!("fields2.jsonl:{line}:")) && err.contains("unknown field"),
            "{text}: {err}"
        );
    }
    let e = parse_jsonl::<KvInput, KvOutput>(
        "{\"client\":0,\"call\":0,\"return\":1,\"input\":{\"op\":\"get\",\"key\":\"k\"},\"outptu\":{\"value\":\"b\"}}\n",
    )
    .unwrap_err();
    assert_eq!(e.line, 1);
    assert!(e.message.contains("unknown field \"outptu\""), "{e}");
}

#[test]
fn cli_history_without_operations_is_bad_input() {
    for (name, text) in [
        ("empty.jsonl", ""),
        ("blank.jsonl", "\n  \n\t\n"),
        ("header.jsonl", "{\"model\":\"register\"}\n"),
        ("empty.log", ""),
        // Only an operation that did not happen.
        (
            "failed.txt",
            "{:process 0, :type :invoke, :f :put, :key \"1\", :value \"a\"}\n{:process 0, :type :fail, :f :put, :key \"1\", :value \"a\"}\n",
        ),
    ] {
        let p = tmp(name, text);
        let (code, out, err) = lincheck(&[p.to_str().unwrap()]);
        assert_eq!(code, 3, "{name}: {out}");
        assert!(err.contains("no operations"), "{name}: {err}");
        assert!(!out.contains("linearizable"), "{name}: {out}");
    }
    let (code, _, err) = lincheck(&["--format", "etcd", tmp("empty2.log", "").to_str().unwrap()]);
    assert_eq!(code, 3, "{err}");
}

#[test]
fn cli_timeout_must_be_positive_and_has_a_default() {
    let p = tmp(
        "one.jsonl",
        r#"{"client":0,"call":0,"return":1,"input":{"op":"put","key":"k","value":"a"},"output":{}}"#,
    );
    for bad in ["0", "0.0", "-1", "nan", "inf", "soon"] {
        let (code, out, err) = lincheck(&["--timeout", bad, p.to_str().unwrap()]);
        assert_eq!(code, 3, "--timeout {bad}: {out}");
        assert!(err.contains("--timeout"), "--timeout {bad}: {err}");
    }
    let (code, out, _) = lincheck(&["--timeout", "2.5", p.to_str().unwrap()]);
    assert_eq!((code, last_line(&out)), (0, "linearizable"));
    let (code, out, _) = lincheck(&["--help"]);
    assert_eq!(code, 0);
    assert!(out.contains("[default: 60]"), "{out}");
}

#[test]
fn cli_errors_use_command_line_names() {
    let p = tmp(
        "names.log",
        "INFO  jepsen.util - 0\t:invoke\t:write\t1\nINFO  jepsen.util - 0\t:ok\t:write\t1\n",
    );
    let (code, _, err) = lincheck(&["--model", "kv", p.to_str().unwrap()]);
    assert_eq!(code, 3);
    assert!(
        err.contains("the etcd format") && err.contains("the kv model"),
        "{err}"
    );
    let p = tmp(
        "names.txt",
        "{:process 0, :type :invoke, :f :get, :key \"1\", :value nil}\n",
    );
    let (code, _, err) = lincheck(&["--model", "versioned-kv", p.to_str().unwrap()]);
    assert_eq!(code, 3);
    assert!(
        err.contains("the porcupine-kv format") && err.contains("the versioned-kv model"),
        "{err}"
    );
    let p = tmp(
        "names2.txt",
        "{:process 0, :type :invoke, :f :get, :key \"1\", :value nil}\n{:process 0, :type :ok, :f :put, :key \"1\", :value \"a\"}\n",
    );
    let (code, _, err) = lincheck(&[p.to_str().unwrap()]);
    assert_eq!(code, 3);
    assert!(err.contains("(:get \"1\")"), "{err}");
    let p = tmp(
        "names3.log",
        "INFO  jepsen.util - 0\t:invoke\t:cas\t[1 2]\nINFO  jepsen.util - 0\t:ok\t:read\t1\n",
    );
    let (code, _, err) = lincheck(&[p.to_str().unwrap()]);
    assert_eq!(code, 3);
    assert!(err.contains("(:cas [1 2])"), "{err}");
    for (_, _, err) in [
        lincheck(&[
            "--model",
            "kv",
            tmp("n.log", "INFO  jepsen.util - 0\t:invoke\t:read\tnil\n")
                .to_str()
                .unwrap(),
        ]),
        lincheck(&[p.to_str().unwrap()]),
    ] {
        for internal in [
            "PorcupineKv",
            "Register",
            "Etcd",
            "Jsonl",
            "VersionedKv",
            "Cas {",
            "Get {",
        ] {
            assert!(!err.contains(internal), "{internal} in {err}");
        }
    }
}

#[test]
fn parse_errors_name_lines() {
    let e = parse_porcupine_kv(
        "{:process 0, :type :invoke, :f :put, :key \"1\", :value \"a\"}\n\n{:process 0, :type :invoke, :f :get, :key \"1\", :value nil}\n",
    )
    .unwrap_err();
    assert_eq!(e.line, 3, "{e}");
    let e = parse_porcupine_kv("{:process 0, :type :invoke, :f :get, :key \"1\", :value nil}\n")
        .unwrap_err();
    assert_eq!(e.line, 1);
    assert!(e.message.contains("never completes"));
    let e = parse_etcd("INFO  jepsen.util - 0\t:invoke\t:cas\t[1 x]\n").unwrap_err();
    assert_eq!(e.line, 1);
    let e = parse_jsonl::<KvInput, KvOutput>(
        "{\"event\":\"call\",\"id\":1,\"client\":0,\"input\":{\"op\":\"get\",\"key\":\"k\"}}\n{\"event\":\"return\",\"id\":2}\n",
    )
    .unwrap_err();
    assert_eq!(e.line, 2, "{e}");
    assert!(e.message.contains("without a matching call"), "{e}");
    let e = parse_jsonl::<KvInput, KvOutput>(
        "{\"client\":0,\"call\":5,\"return\":4,\"input\":{\"op\":\"get\",\"key\":\"k\"}}\n",
    )
    .unwrap_err();
    assert_eq!(e.line, 1);
}

#[test]
fn etcd_semantics() {
    let h = parse_etcd(
        "INFO  jepsen.util - 0\t:invoke\t:cas\t[1 2]\n\
         INFO  jepsen.util - 1\t:invoke\t:write\t4\n\
         INFO  jepsen.util - 0\t:fail\t:cas\t[1 2]\n\
         INFO  jepsen.util - 1\t:info\t:write\t:timed-out\n\
         INFO  jepsen.util - 2   :invoke :read   nil\n\
         INFO  jepsen.util - 2   :fail   :read   :timed-out\n",
    )
    .unwrap();
    let ops = h.operations();
    assert_eq!(ops.len(), 3);
    assert_eq!(ops[0].output, Some(RegisterOutput::Cas { ok: false }));
    assert_eq!(ops[1].input, RegisterInput::Write { value: 4 });
    assert_eq!(ops[1].ret, None);
    assert_eq!(ops[2].ret, Some(6));
    assert_eq!(ops[2].output, None);
}

#[test]
fn format_detection() {
    assert_eq!(
        Format::detect("\n{:process 0, ...}"),
        Some(Format::PorcupineKv)
    );
    assert_eq!(Format::detect("INFO  jepsen.util - 1"), Some(Format::Etcd));
    assert_eq!(Format::detect("{\"model\":\"kv\"}"), Some(Format::Jsonl));
    assert_eq!(Format::detect("  \n"), None);
}

#[test]
fn jsonl_round_trip() {
    let ops = vec![
        Operation::completed(
            0,
            0,
            5,
            KvInput::Put {
                key: "k".into(),
                value: "v\"</script>".into(),
            },
            KvOutput::default(),
        ),
        Operation::unknown(1, 2, KvInput::Get { key: "k".into() }),
    ];
    let h = History::from_operations(ops).unwrap();
    let back = parse_jsonl::<KvInput, KvOutput>(&to_jsonl(None, &h)).unwrap();
    assert_eq!(back, h);
}

fn kv_line() -> impl Strategy<Value = String> {
    prop_oneof![
        "\\PC{0,80}",
        (
            0u64..4,
            prop_oneof![
                Just("invoke"),
                Just("ok"),
                Just("info"),
                Just("fail"),
                Just("bogus")
            ],
            prop_oneof![Just("get"), Just("put"), Just("append"), Just("x")],
            "[0-2]",
            prop_oneof![Just("nil".to_string()), "\"[a-c ]{0,4}\"", "\\PC{0,6}"]
        )
            .prop_map(|(p, t, f, k, v)| format!(
                "{{:process {p}, :type :{t}, :f :{f}, :key \"{k}\", :value {v}}}"
            )),
    ]
}

fn etcd_line() -> impl Strategy<Value = String> {
    prop_oneof![
        "\\PC{0,80}",
        (
            0u64..4,
            prop_oneof![
                Just(":invoke"),
                Just(":ok"),
                Just(":info"),
                Just(":fail"),
                Just(":x")
            ],
            prop_oneof![Just(":read"), Just(":write"), Just(":cas"), Just(":y")],
            prop_oneof![
                Just("nil".to_string()),
                "-?[0-9]{1,3}",
                "\\[[0-9] [0-9x]\\]",
                Just(":timed-out".to_string()),
                "\\PC{0,5}"
            ]
        )
            .prop_map(|(p, t, f, v)| format!("INFO  jepsen.util - {p}\t{t}\t{f}\t{v}")),
    ]
}

fn jsonl_line() -> impl Strategy<Value = String> {
    prop_oneof![
        "\\PC{0,60}",
        (0u64..3, 0u64..20, proptest::option::of(0u64..20), prop_oneof![Just(r#"{"op":"get","key":"k"}"#), Just(r#"{"op":"append","key":"k","value":"a"}"#), Just("3"), Just("null")], prop_oneof![Just(r#"{"value":"a"}"#), Just("null"), Just("[]")])
            .prop_map(|(c, t, r, i, o)| format!(r#"{{"client":{c},"call":{t},"return":{},"input":{i},"output":{o}}}"#, r.map_or("null".to_string(), |r| r.to_string()))),
        (0u64..4, prop_oneof![Just("call"), Just("return"), Just("unknown"), Just("what")])
            .prop_map(|(id, e)| format!(r#"{{"event":"{e}","id":{id},"client":0,"input":{{"op":"get","key":"k"}},"output":{{"value":""}}}}"#)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn parsers_never_panic_on_random_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let text = String::from_utf8_lossy(&bytes);
        let _ = parse_porcupine_kv(&text);
        let _ = parse_etcd(&text);
        let _ = parse_jsonl::<KvInput, KvOutput>(&text);
        let _ = parse_jsonl::<RegisterInput, RegisterOutput>(&text);
        let _ = Format::detect(&text);
    }

    #[test]
    fn parsers_never_panic_on_random_lines(
        kv in proptest::collection::vec(kv_line(), 0..12),
        etcd in proptest::collection::vec(etcd_line(), 0..12),
        js in proptest::collection::vec(jsonl_line(), 0..12),
    ) {
        use lincheck::{check, Options};
        use lincheck::models::{KvModel, RegisterModel};
        if let Ok(h) = parse_porcupine_kv(&kv.join("\n")) {
            let _ = check(&KvModel, &h, &Options::default());
        }
        if let Ok(h) = parse_etcd(&etcd.join("\n")) {
            let _ = check(&RegisterModel, &h, &Options::default());
        }
        if let Ok(h) = parse_jsonl::<KvInput, KvOutput>(&js.join("\n")) {
            let _ = check(&KvModel, &h, &Options::default());
        }
    }
}
