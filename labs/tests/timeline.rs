//! `labs trace`'s timeline page in a real headless browser (Debian's `chromium`, when
//! present): the real trace of a broken Raft (`fixtures/broken-raft-trace.json`, written by
//! `labs trace initial_election_3a --seed 1 --submission <bug-never-votes> --json ...`; `make
//! trace-fixture` writes it again) draws its lanes, roles, arrows, dropped RPCs and the failure
//! marker, and a screenshot is taken; a synthetic run of 30,000 events renders too, and both
//! print the page's load time.

use labtest::record::{DropReason, FailurePoint, TraceEvent, TraceFile, TraceWhat};
use std::path::{Path, PathBuf};
use std::process::Command;

const CHROMIUM: &str = "/usr/bin/chromium";

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("labs-timeline-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn note(text: &str) {
    // Past the test harness's output capture: a passing test's output is never shown.
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr().lock(), "{text}");
}

/// Renders `trace` (JSON) to a page with `labs trace`'s renderer, through `labs`' hidden
/// render command.
fn page_of(trace: &Path, dir: &Path) -> PathBuf {
    let page = dir.join("timeline.html");
    let output = Command::new(env!("CARGO_BIN_EXE_labs"))
        .args(["render-trace", trace.to_str().unwrap(), "--html"])
        .arg(&page)
        .output()
        .expect("run labs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    page
}

/// Runs headless chromium on `page` with `args`; its standard output, or None if there is no
/// chromium (the test says it was skipped).
fn chromium(args: &[&str], page: &Path, profile: &Path) -> Option<String> {
    if !Path::new(CHROMIUM).exists() {
        note(&format!(
            "NOTE: {CHROMIUM} not found: the timeline's browser test was SKIPPED (install it \
             with lincheck/ci/install-chromium.sh)"
        ));
        return None;
    }
    let out = profile.with_extension("out");
    let err = profile.with_extension("err");
    let mut child = Command::new(CHROMIUM)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap())
        .spawn()
        .expect("run chromium");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(180);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish in 180 s");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let stdout = std::fs::read_to_string(&out).unwrap_or_default();
    assert!(
        status.success(),
        "chromium failed: {}",
        std::fs::read_to_string(&err).unwrap_or_default()
    );
    Some(stdout)
}

fn load_ms(dom: &str) -> String {
    dom.split("data-load-ms=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or("?")
        .to_string()
}

#[test]
fn the_broken_raft_timeline_renders_in_a_browser() {
    let trace = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/broken-raft-trace.json");
    let data = TraceFile::from_json(&std::fs::read_to_string(&trace).unwrap()).unwrap();
    // What the fixture is: a failed run of a Raft whose servers never vote.
    assert!(data.failure.unwrap().message.contains("FAILED with seed"));
    let dir = scratch("raft");
    let page = page_of(&trace, &dir);
    let Some(dom) = chromium(&["--dump-dom"], &page, &dir.join("profile")) else {
        return;
    };
    assert!(
        dom.contains("data-rendered=\"yes\""),
        "the script did not run"
    );
    for server in ["s0", "s1", "s2"] {
        assert!(
            dom.contains(&format!("id=\"lane-{server}\"")),
            "no lane for {server}"
        );
    }
    assert!(dom.contains("class=\"arrow request\""), "no request arrows");
    assert!(dom.contains("class=\"arrow reply\""), "no reply arrows");
    assert!(
        dom.contains("class=\"role role-candidate\""),
        "no candidate spans"
    );
    assert!(dom.contains("id=\"failure-marker\""), "no failure marker");
    assert!(dom.contains("tester: "), "no tester notes");
    note(&format!(
        "timeline of the broken Raft ({} events): loaded in {} ms",
        data.events.len(),
        load_ms(&dom)
    ));
    let shot = dir.join("timeline.png");
    let arg = format!("--screenshot={}", shot.display());
    chromium(
        &[&arg, "--window-size=1400,700"],
        &page,
        &dir.join("profile2"),
    );
    let png = std::fs::read(&shot).expect("a screenshot");
    assert!(png.starts_with(b"\x89PNG"));
    assert!(png.len() > 10_000, "a suspiciously small screenshot");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A run of 30,000 events: five servers exchanging RPCs (some dropped), timers, persists,
/// role annotations, a crash and a failure.
fn big_trace() -> String {
    let event = |at_ns: u64, node: u32, what: TraceWhat| TraceEvent { at_ns, node, what };
    let mut events = Vec::new();
    let mut t: u64 = 0;
    let mut rpc = 0;
    while events.len() < 30_000 {
        t += 1_000_000;
        let from = 1 + (rpc % 5) as u32;
        let to = 1 + ((rpc + 1) % 5) as u32;
        let send = TraceWhat::Send {
            rpc,
            method: "Raft.AppendEntries".into(),
            to: Some(to),
            bytes: 100,
        };
        events.push(event(t, from, send));
        if rpc % 10 == 3 {
            let why = DropReason::RequestLost;
            events.push(event(t + 300_000, from, TraceWhat::Drop { rpc, why }));
        } else {
            events.push(event(t + 200_000, to, TraceWhat::Deliver { rpc }));
            let reply = TraceWhat::Reply { rpc, bytes: 20 };
            events.push(event(t + 400_000, from, reply));
        }
        events.push(event(t + 500_000, from, TraceWhat::Timer));
        if rpc % 50 == 0 {
            let role = TraceWhat::Annotation {
                kind: "raft".into(),
                text: format!("term {} leader", rpc / 50),
            };
            events.push(event(t + 600_000, from, role));
            let persist = TraceWhat::Persist {
                state_bytes: 300,
                snapshot_bytes: 0,
            };
            events.push(event(t + 600_000, to, persist));
        }
        rpc += 1;
    }
    events.push(event(t + 1, 3, TraceWhat::Crash));
    let note = TraceWhat::Note {
        text: "tester: crash server 2".into(),
    };
    events.push(event(t + 2, 0, note));
    let trace = TraceFile {
        format: labtest::record::TRACE_FORMAT.to_string(),
        test: "synthetic".into(),
        seed: 1,
        nodes: ["test", "s0", "s1", "s2", "s3", "s4"]
            .map(String::from)
            .to_vec(),
        virtual_secs: (t + 10) as f64 / 1e9,
        events_total: events.len() as u64,
        failure: Some(FailurePoint {
            at_ns: t + 5,
            message: "FAILED with seed 1: synthetic".into(),
        }),
        missing: None,
        events,
    };
    serde_json::to_string(&trace).unwrap()
}

#[test]
fn a_run_of_30000_events_renders() {
    let dir = scratch("big");
    let trace = dir.join("big.json");
    std::fs::write(&trace, big_trace()).unwrap();
    let page = page_of(&trace, &dir);
    let Some(dom) = chromium(&["--dump-dom"], &page, &dir.join("profile")) else {
        return;
    };
    assert!(
        dom.contains("data-rendered=\"yes\""),
        "the script did not run"
    );
    assert!(dom.contains("id=\"failure-marker\""));
    assert!(dom.contains("class=\"arrow dropped\""));
    assert!(dom.contains("id=\"lane-s4\""));
    note(&format!(
        "timeline of 30,000 events: loaded in {} ms",
        load_ms(&dom)
    ));
    let _ = std::fs::remove_dir_all(&dir);
}
