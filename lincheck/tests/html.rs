//! The HTML report, rendered in a real headless browser (Debian's `chromium`) when present.

use std::path::{Path, PathBuf};
use std::process::Command;

use lincheck::models::{KvInput, KvModel, KvOutput};
use lincheck::{History, Operation, Options, check, html};

const CHROMIUM: &str = "/usr/bin/chromium";

fn failing_history() -> History<KvInput, KvOutput> {
    let put = |v: &str| KvInput::Put {
        key: "k".into(),
        value: v.into(),
    };
    let get = KvInput::Get { key: "k".into() };
    History::from_operations(vec![
        Operation::completed(0, 0, 10, put("a"), KvOutput::default()),
        Operation::completed(1, 12, 20, put("b"), KvOutput::default()),
        Operation::completed(2, 22, 30, get.clone(), KvOutput { value: "a".into() }),
        Operation::completed(
            0,
            11,
            40,
            KvInput::Get {
                key: "other</script>".into(),
            },
            KvOutput::default(),
        ),
        Operation::unknown(3, 5, put("c")),
    ])
    .unwrap()
}

fn report() -> String {
    let h = failing_history();
    let r = check(
        &KvModel,
        &h,
        &Options {
            stop_on_failure: false,
            ..Options::default()
        },
    );
    html::render(&KvModel, &h, &r, "test report <&>")
}

fn write_report(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("lincheck-html-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, report()).unwrap();
    p
}

fn chromium(args: &[&str], page: &Path) -> Option<String> {
    if !Path::new(CHROMIUM).exists() {
        // Past the test harness's output capture: a passing test's stderr is never shown,
        // and a skip must be seen.
        use std::io::Write as _;
        let _ = writeln!(
            std::io::stderr().lock(),
            "NOTE: {CHROMIUM} not found: the browser test was SKIPPED (install it with lincheck/ci/install-chromium.sh)"
        );
        return None;
    }
    // A fresh profile per run (two browsers cannot share one).
    let profile = std::env::temp_dir().join(format!(
        "lincheck-chromium-{}-{}",
        std::process::id(),
        page.file_stem().and_then(|s| s.to_str()).unwrap_or("page")
    ));
    // Output goes to files, and the browser gets a deadline: a hung browser fails the test
    // instead of hanging the suite.
    let stdout_path = profile.with_extension("stdout");
    let stderr_path = profile.with_extension("stderr");
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
        .stdout(std::fs::File::create(&stdout_path).expect("create chromium stdout file"))
        .stderr(std::fs::File::create(&stderr_path).expect("create chromium stderr file"))
        .spawn()
        .expect("run chromium");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for chromium") {
            break Some(status);
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let stdout = std::fs::read_to_string(&stdout_path).unwrap_or_default();
    let stderr = std::fs::read_to_string(&stderr_path).unwrap_or_default();
    for path in [&stdout_path, &stderr_path] {
        let _ = std::fs::remove_file(path);
    }
    let _ = std::fs::remove_dir_all(&profile);
    let status = status.unwrap_or_else(|| panic!("chromium did not finish in 120 s: {stderr}"));
    assert!(status.success(), "chromium failed: {stderr}");
    Some(stdout)
}

#[test]
fn report_is_self_contained() {
    let page = report();
    assert!(page.starts_with("<!DOCTYPE html>"));
    // Offline: no external resources.
    for bad in ["http://", "https://", "src=\"", "<link"] {
        assert!(!page.contains(bad), "report references {bad}");
    }
    // The embedded JSON cannot close the script element early.
    assert_eq!(page.matches("</script>").count(), 2);
    assert!(page.contains("test report &lt;&amp;&gt;"));
}

#[test]
fn browser_renders_the_report() {
    let page = write_report("report.html");
    let Some(dom) = chromium(&["--dump-dom"], &page) else {
        return;
    };
    assert!(
        dom.contains("data-rendered=\"yes\""),
        "script did not run:\n{dom}"
    );
    // Verdict, client rows, partitions.
    assert!(
        dom.contains("id=\"verdict\">not linearizable<"),
        "verdict missing"
    );
    for c in 0..4 {
        assert!(
            dom.contains(&format!("id=\"client-{c}\"")),
            "row of client {c} missing"
        );
    }
    assert!(dom.contains("class=\"partition p-not-linearizable\""));
    assert!(dom.contains("class=\"partition p-linearizable\""));
    // The get that could not come next is marked, and explained.
    assert!(
        dom.contains("class=\"op op-stuck\" id=\"op-2\""),
        "stuck operation not marked"
    );
    assert!(dom.contains("its result is impossible in state"));
    // The prefix operations and the unknown-outcome operation.
    assert!(dom.contains("class=\"op op-prefix\" id=\"op-0\""));
    assert!(dom.contains("op-unknown-outcome\" id=\"op-4\""));
    assert!(dom.contains("get(\"k\") -&gt; \"a\""));
    assert!(dom.contains("Longest linearizable prefix (3 of 4 operations)"));
}

#[test]
fn browser_screenshot() {
    let page = write_report("shot.html");
    let shot = page.with_extension("png");
    let arg = format!("--screenshot={}", shot.display());
    if chromium(&[&arg, "--window-size=1400,900"], &page).is_none() {
        return;
    }
    let png = std::fs::read(&shot).expect("screenshot written");
    assert!(png.starts_with(b"\x89PNG"), "not a PNG");
    assert!(png.len() > 5_000, "suspiciously small screenshot");
}
