//! The grading report: one record per submission × test × seed, the scores computed from
//! them with the course's points, and its formats (text, JSON, JUnit XML, Gradescope's
//! `results.json`). A report can be a part of a run (`--partition K/N`); [`merge`] joins the
//! parts into the report a one-machine run gives.

use crate::course::FlakyCredit;
use lincheck::html::escape;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// The format named in every JSON report.
pub const REPORT_FORMAT: &str = "labs-grade/1";

/// What the report was graded against.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct CourseSummary {
    /// The course file.
    pub file: String,
    /// The edition graded.
    pub edition: String,
    /// Seeds per test.
    pub seeds: u64,
    /// The first seed.
    pub first_seed: u64,
    /// How flaky tests are credited.
    pub flaky_credit: FlakyCredit,
    /// Points per lab and part, for the labs graded.
    pub points: BTreeMap<String, BTreeMap<String, f64>>,
    /// The labs graded, in the course's order.
    pub labs: Vec<String>,
}

/// Which part of a run a report is.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Partition {
    /// This part, from 1.
    pub index: usize,
    /// How many parts.
    pub count: usize,
}

/// A submission's build.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct SubmissionInfo {
    /// The submission's name.
    pub name: String,
    /// Its directory (or the course checkout's, when grading the checkout itself).
    pub path: String,
    /// Per lab: did its suites build, and if not, why.
    pub builds: BTreeMap<String, BuildInfo>,
    /// Student files missing from the submission (the skeleton's were used).
    pub missing: Vec<String>,
}

/// One lab's build for one submission.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct BuildInfo {
    /// The build succeeded.
    pub ok: bool,
    /// The first error, if not.
    pub error: Option<String>,
    /// Real time of the build (cargo), seconds.
    pub secs: f64,
}

/// A run's verdict (the harness's own type): passed only if the harness recorded a passed run.
pub use labtest::record::Verdict;

/// One run: a submission's test with one seed.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Record {
    /// Its index among every run of the whole grading (all parts): the report's order.
    pub unit: usize,
    /// The submission.
    pub submission: String,
    /// The lab (package).
    pub lab: String,
    /// The test target.
    pub target: String,
    /// The table row it belongs to.
    pub row: String,
    /// Its part (`3A`), from its name.
    pub part: String,
    /// Whether it counts toward the score (the kit's own checks do not).
    pub scored: bool,
    /// The test.
    pub test: String,
    /// The seed (none for a test of real processes).
    pub seed: Option<u64>,
    /// The verdict.
    pub verdict: Verdict,
    /// Why it failed.
    pub reason: Option<String>,
    /// Virtual time of the run, seconds.
    pub virtual_secs: Option<f64>,
    /// Real time of the run, seconds.
    pub wall_secs: f64,
    /// The teacher's command that reruns it with full logs.
    pub replay: String,
    /// The teacher's command that draws its timeline (simulated runs).
    pub trace: Option<String>,
    /// The command a student runs in their own repository.
    pub student_replay: String,
}

/// A grading report (or a part of one).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Report {
    /// [`REPORT_FORMAT`].
    pub format: String,
    /// What was graded against.
    pub course: CourseSummary,
    /// Which part of the run this is (none: the whole run).
    pub partition: Option<Partition>,
    /// Runs in the whole grading.
    pub units_total: usize,
    /// The submissions with runs in this report.
    pub submissions: Vec<SubmissionInfo>,
    /// The runs, in unit order.
    pub records: Vec<Record>,
}

/// Joins the JSON reports of the parts of one grading into the whole run's report; an error
/// if they are of different gradings, overlap, or leave runs out.
pub fn merge(parts: Vec<Report>) -> Result<Report, String> {
    let Some(first) = parts.first() else {
        return Err("nothing to merge".into());
    };
    let (course, total) = (first.course.clone(), first.units_total);
    let mut submissions: BTreeMap<String, SubmissionInfo> = BTreeMap::new();
    let mut records: Vec<Record> = Vec::new();
    for (i, part) in parts.into_iter().enumerate() {
        if part.format != REPORT_FORMAT {
            return Err(format!(
                "report {}: format {:?}, expected {REPORT_FORMAT}",
                i + 1,
                part.format
            ));
        }
        if part.course != course || part.units_total != total {
            return Err(format!(
                "report {} is of another grading (other course settings or runs): merge the \
                 parts of one `labs grade` command",
                i + 1
            ));
        }
        for info in part.submissions {
            match submissions.get_mut(&info.name) {
                Some(known) => {
                    for (lab, build) in info.builds {
                        known.builds.entry(lab).or_insert(build);
                    }
                }
                None => {
                    submissions.insert(info.name.clone(), info);
                }
            }
        }
        records.extend(part.records);
    }
    records.sort_by_key(|r| r.unit);
    if let Some(pair) = records.windows(2).find(|w| w[0].unit == w[1].unit) {
        return Err(format!(
            "run {} ({} {} seed {:?}) is in two reports: merge each part once",
            pair[0].unit, pair[0].submission, pair[0].test, pair[0].seed
        ));
    }
    if records.len() != total {
        let have: std::collections::BTreeSet<usize> = records.iter().map(|r| r.unit).collect();
        let missing = (0..total).filter(|u| !have.contains(u)).count();
        return Err(format!(
            "{missing} of {total} runs are in none of the reports: merge every part (1/N to N/N)"
        ));
    }
    Ok(Report {
        format: REPORT_FORMAT.into(),
        course,
        partition: None,
        units_total: total,
        submissions: submissions.into_values().collect(),
        records,
    })
}

/// How one test (all its seeds) of one submission went.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct TestOutcome {
    /// The test.
    pub test: String,
    /// Its row and part.
    pub row: String,
    /// Its part.
    pub part: String,
    /// Whether it is scored.
    pub scored: bool,
    /// `passed` (every seed), `failed` (every seed) or `flaky` (some).
    pub status: &'static str,
    /// Runs passed and in all.
    pub passed_runs: usize,
    /// Runs in all.
    pub runs: usize,
    /// The seeds that failed.
    pub failing_seeds: Vec<u64>,
    /// The first failure's reason.
    pub reason: Option<String>,
    /// Points earned and possible.
    pub points: f64,
    /// Points possible.
    pub max_points: f64,
    /// The first failure's teacher commands and the student's.
    pub replay: Option<String>,
    /// The `labs trace` command of the first failure.
    pub trace: Option<String>,
    /// The command a student runs for the first failure.
    pub student_replay: Option<String>,
    /// Virtual seconds over all runs.
    pub virtual_secs: Option<f64>,
    /// Real seconds over all runs.
    pub wall_secs: f64,
}

/// One submission's scores.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct SubmissionScore {
    /// The submission.
    pub submission: String,
    /// Points earned.
    pub points: f64,
    /// Points possible.
    pub max_points: f64,
    /// Points by lab and part: (earned, possible).
    pub parts: BTreeMap<String, BTreeMap<String, (f64, f64)>>,
    /// Each test, in report order.
    pub tests: Vec<TestOutcome>,
}

/// The scores of every submission in `report`, with the course's points: a part's points are
/// split equally among its scored tests.
pub fn scores(report: &Report) -> Vec<SubmissionScore> {
    // (submission, test) in first-run order.
    let mut grouped: BTreeMap<&str, Vec<(&str, Vec<&Record>)>> = BTreeMap::new();
    for record in &report.records {
        let tests = grouped.entry(&record.submission).or_default();
        match tests
            .iter_mut()
            .find(|(key, runs)| *key == record.test && runs[0].target == record.target)
        {
            Some((_, runs)) => runs.push(record),
            None => tests.push((&record.test, vec![record])),
        }
    }
    grouped
        .into_iter()
        .map(|(submission, tests)| {
            // Tests per (lab, part), to split the part's points.
            let mut per_part: BTreeMap<(&str, &str), usize> = BTreeMap::new();
            for (_, runs) in &tests {
                if runs[0].scored {
                    *per_part.entry((&runs[0].lab, &runs[0].part)).or_default() += 1;
                }
            }
            let mut parts: BTreeMap<String, BTreeMap<String, (f64, f64)>> = BTreeMap::new();
            let outcomes: Vec<TestOutcome> = tests
                .iter()
                .map(|(test, runs)| {
                    let first = runs[0];
                    let passed_runs = runs.iter().filter(|r| r.verdict == Verdict::Passed).count();
                    let failed: Vec<&&Record> = runs
                        .iter()
                        .filter(|r| r.verdict == Verdict::Failed)
                        .collect();
                    let status = match (passed_runs, failed.len()) {
                        (_, 0) => "passed",
                        (0, _) => "failed",
                        _ => "flaky",
                    };
                    let part_points = report
                        .course
                        .points
                        .get(&first.lab)
                        .and_then(|p| p.get(&first.part))
                        .copied()
                        .unwrap_or(0.0);
                    let max_points = if first.scored {
                        part_points / per_part[&(first.lab.as_str(), first.part.as_str())] as f64
                    } else {
                        0.0
                    };
                    let share = match (status, report.course.flaky_credit) {
                        ("passed", _) => 1.0,
                        ("flaky", FlakyCredit::Proportional) => {
                            passed_runs as f64 / runs.len() as f64
                        }
                        _ => 0.0,
                    };
                    let points = max_points * share;
                    if first.scored {
                        let entry = parts
                            .entry(first.lab.clone())
                            .or_default()
                            .entry(first.part.clone())
                            .or_default();
                        entry.0 += points;
                        entry.1 += max_points;
                    }
                    let virtual_secs = runs
                        .iter()
                        .filter_map(|r| r.virtual_secs)
                        .fold(None, |sum: Option<f64>, s| Some(sum.unwrap_or(0.0) + s));
                    TestOutcome {
                        test: test.to_string(),
                        row: first.row.clone(),
                        part: first.part.clone(),
                        scored: first.scored,
                        status,
                        passed_runs,
                        runs: runs.len(),
                        failing_seeds: failed.iter().filter_map(|r| r.seed).collect(),
                        reason: failed.first().and_then(|r| r.reason.clone()),
                        points,
                        max_points,
                        replay: failed.first().map(|r| r.replay.clone()),
                        trace: failed.first().and_then(|r| r.trace.clone()),
                        student_replay: failed.first().map(|r| r.student_replay.clone()),
                        virtual_secs,
                        wall_secs: runs.iter().map(|r| r.wall_secs).sum(),
                    }
                })
                .collect();
            let points = parts.values().flat_map(|p| p.values()).map(|p| p.0).sum();
            let max_points = parts.values().flat_map(|p| p.values()).map(|p| p.1).sum();
            SubmissionScore {
                submission: submission.to_string(),
                points,
                max_points,
                parts,
                tests: outcomes,
            }
        })
        .collect()
}

/// The JSON report: the records (what `labs merge` reads) and, for convenience, the scores.
pub fn json(report: &Report) -> String {
    #[derive(Serialize)]
    struct WithScores<'a> {
        #[serde(flatten)]
        report: &'a Report,
        scores: Vec<SubmissionScore>,
    }
    let mut text = serde_json::to_string_pretty(&WithScores {
        report,
        scores: scores(report),
    })
    .expect("a report encodes");
    text.push('\n');
    text
}

/// Reads a JSON report (the scores in it are recomputed, not read).
pub fn from_json(text: &str) -> Result<Report, String> {
    serde_json::from_str(text).map_err(|e| e.to_string())
}

/// The text report: per submission, a table per row and part, the score, then each test that
/// failed or is flaky with its reason, failing seeds and commands.
pub fn text(report: &Report) -> String {
    let mut out = String::new();
    if let Some(p) = report.partition {
        let _ = writeln!(
            out,
            "(part {} of {}: {} of {} runs; `labs merge` joins the parts' JSON reports)",
            p.index,
            p.count,
            report.records.len(),
            report.units_total
        );
    }
    let seeds = report.course.seeds;
    for score in scores(report) {
        let _ = writeln!(out, "\n== {} ==", score.submission);
        if let Some(info) = report
            .submissions
            .iter()
            .find(|s| s.name == score.submission)
        {
            for (lab, build) in &info.builds {
                if !build.ok {
                    let _ = writeln!(
                        out,
                        "build of {lab} FAILED: {}",
                        build.error.as_deref().unwrap_or("?")
                    );
                }
            }
            if !info.missing.is_empty() {
                let _ = writeln!(
                    out,
                    "not handed in (the skeleton's version was graded): {}",
                    info.missing.join(", ")
                );
            }
        }
        let header = format!(
            "{:<34} {:>4} {:>6} {:>7} {:>6} {:>7} {:>14} {:>10} {:>8}",
            "", "part", "tests", "passed", "flaky", "failed", "points", "virtual s", "wall s"
        );
        for scored in [true, false] {
            let tests: Vec<&TestOutcome> =
                score.tests.iter().filter(|t| t.scored == scored).collect();
            if tests.is_empty() {
                continue;
            }
            let _ = writeln!(
                out,
                "{}",
                if scored {
                    "Your code"
                } else {
                    "The kit's own checks (not scored: they test code you do not write)"
                }
            );
            let _ = writeln!(out, "{header}");
            let mut rows: Vec<(&str, &str)> = Vec::new();
            for t in &tests {
                if !rows.contains(&(t.row.as_str(), t.part.as_str())) {
                    rows.push((&t.row, &t.part));
                }
            }
            let mut last_row = "";
            for (row, part) in rows {
                let in_row: Vec<&&TestOutcome> = tests
                    .iter()
                    .filter(|t| t.row == row && t.part == part)
                    .collect();
                let count = |s: &str| in_row.iter().filter(|t| t.status == s).count();
                let points: f64 = in_row.iter().map(|t| t.points).sum();
                let max: f64 = in_row.iter().map(|t| t.max_points).sum();
                let virtual_secs: Option<f64> = in_row
                    .iter()
                    .filter_map(|t| t.virtual_secs)
                    .fold(None, |s, v| Some(s.unwrap_or(0.0) + v));
                let wall: f64 = in_row.iter().map(|t| t.wall_secs).sum();
                let title = if row == last_row { "" } else { row };
                last_row = row;
                let _ = writeln!(
                    out,
                    "{:<34} {:>4} {:>6} {:>7} {:>6} {:>7} {:>14} {:>10} {:>8.1}",
                    title,
                    part,
                    in_row.len(),
                    count("passed"),
                    count("flaky"),
                    count("failed"),
                    if scored {
                        format!("{points:.1} / {max:.1}")
                    } else {
                        "-".into()
                    },
                    virtual_secs.map_or("-".into(), |v| format!("{v:.1}")),
                    wall
                );
            }
            if scored {
                let _ = writeln!(
                    out,
                    "{:<34} {:>4} {:>6} {:>7} {:>6} {:>7} {:>14}   ({} seed{} per test)",
                    "score",
                    "",
                    tests.len(),
                    tests.iter().filter(|t| t.status == "passed").count(),
                    tests.iter().filter(|t| t.status == "flaky").count(),
                    tests.iter().filter(|t| t.status == "failed").count(),
                    format!("{:.1} / {:.1}", score.points, score.max_points),
                    seeds,
                    if seeds == 1 { "" } else { "s" }
                );
            }
        }
        let failing: Vec<&TestOutcome> = score
            .tests
            .iter()
            .filter(|t| t.status != "passed")
            .collect();
        if !failing.is_empty() {
            let _ = writeln!(out, "Failed and flaky tests");
            for t in failing {
                let seeds = if t.failing_seeds.is_empty() {
                    String::new()
                } else {
                    let list: Vec<String> = t.failing_seeds.iter().map(u64::to_string).collect();
                    format!(" on seed{} {}", plural(list.len()), list.join(" "))
                };
                let _ = writeln!(
                    out,
                    "  {} {}: {}{} ({} of {} runs passed)",
                    t.test.as_str(),
                    if t.status == "flaky" {
                        "FLAKY"
                    } else {
                        "FAILED"
                    },
                    t.reason.as_deref().unwrap_or("failed"),
                    seeds,
                    t.passed_runs,
                    t.runs
                );
                if let Some(replay) = &t.replay {
                    let _ = writeln!(out, "    replay: {replay}");
                }
                if let Some(trace) = &t.trace {
                    let _ = writeln!(out, "    trace:  {trace}");
                }
            }
        }
    }
    out
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// JUnit XML: a `<testsuite>` per submission and test target, a `<testcase>` per run (test
/// and seed), a `<failure>` with the reason and the replay commands.
pub fn junit(report: &Report) -> String {
    let mut suites: Vec<((&str, &str), Vec<&Record>)> = Vec::new();
    for record in &report.records {
        let key = (record.submission.as_str(), record.target.as_str());
        match suites.iter_mut().find(|(k, _)| *k == key) {
            Some((_, runs)) => runs.push(record),
            None => suites.push((key, vec![record])),
        }
    }
    let failures = |runs: &[&Record]| runs.iter().filter(|r| r.verdict == Verdict::Failed).count();
    let time = |runs: &[&Record]| runs.iter().map(|r| r.wall_secs).sum::<f64>();
    let all: Vec<&Record> = report.records.iter().collect();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"labs grade\" tests=\"{}\" failures=\"{}\" errors=\"0\" time=\"{:.3}\">",
        all.len(),
        failures(&all),
        time(&all)
    );
    for ((submission, target), runs) in &suites {
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"0\" time=\"{:.3}\">",
            escape(&format!("{submission}: {}", runs[0].row)),
            runs.len(),
            failures(runs),
            time(runs)
        );
        for r in runs {
            let name = match r.seed {
                Some(seed) => format!("{} (seed {seed})", r.test),
                None => r.test.clone(),
            };
            let classname = format!("{submission}.{}.{target}", r.lab);
            let _ = write!(
                out,
                "    <testcase classname=\"{}\" name=\"{}\" time=\"{:.3}\"",
                escape(&classname),
                escape(&name),
                r.wall_secs
            );
            match r.verdict {
                Verdict::Passed => out.push_str("/>\n"),
                Verdict::Failed => {
                    let reason = r.reason.as_deref().unwrap_or("failed");
                    let mut body = format!("{reason}\nreplay: {}\n", r.replay);
                    if let Some(trace) = &r.trace {
                        let _ = writeln!(body, "trace: {trace}");
                    }
                    let _ = writeln!(
                        out,
                        ">\n      <failure message=\"{}\" type=\"failed\">{}</failure>\n    </testcase>",
                        escape(reason),
                        escape(&body)
                    );
                }
            }
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

/// Gradescope's `results.json` for one submission: a test per graded test (its points, its
/// status, and for a failure the reason, the failing seeds and the command to replay it in the
/// student's own repository).
pub fn gradescope(report: &Report, submission: &str) -> Result<String, String> {
    let score = scores(report)
        .into_iter()
        .find(|s| s.submission == submission)
        .ok_or_else(|| format!("no runs of submission {submission:?} in the report"))?;
    let info = report.submissions.iter().find(|s| s.name == submission);
    let mut output = format!(
        "Graded with {} seed{} per test (edition {}).\n",
        report.course.seeds,
        plural(report.course.seeds as usize),
        report.course.edition
    );
    if let Some(info) = info {
        for (lab, build) in &info.builds {
            if !build.ok {
                let _ = writeln!(
                    output,
                    "The {lab} suites did not build: {}",
                    build.error.as_deref().unwrap_or("?")
                );
            }
        }
        if !info.missing.is_empty() {
            let _ = writeln!(
                output,
                "Not handed in (the skeleton's version was graded): {}",
                info.missing.join(", ")
            );
        }
    }
    let tests: Vec<serde_json::Value> = score
        .tests
        .iter()
        .filter(|t| t.scored)
        .map(|t| {
            let mut text = match t.status {
                "passed" => format!("passed on all {} runs", t.runs),
                _ => format!(
                    "{} {} of {} runs: {}",
                    if t.status == "flaky" {
                        "flaky: failed"
                    } else {
                        "failed"
                    },
                    t.runs - t.passed_runs,
                    t.runs,
                    t.reason.as_deref().unwrap_or("failed")
                ),
            };
            if !t.failing_seeds.is_empty() {
                let seeds: Vec<String> = t.failing_seeds.iter().map(u64::to_string).collect();
                let _ = write!(text, "\nfailing seeds: {}", seeds.join(" "));
            }
            if let Some(replay) = &t.student_replay {
                let _ = write!(text, "\nreplay it in your repository:\n  {replay}");
            }
            serde_json::json!({
                "name": format!("{} {}", t.row, t.test),
                "number": t.part,
                "score": round2(t.points),
                "max_score": round2(t.max_points),
                "status": if t.status == "passed" { "passed" } else { "failed" },
                "output": text,
                "tags": [t.part.clone()],
                "visibility": "visible",
            })
        })
        .collect();
    let results = serde_json::json!({
        "score": round2(score.points),
        "execution_time": score.tests.iter().map(|t| t.wall_secs).sum::<f64>().round(),
        "output": output,
        "output_format": "text",
        "test_output_format": "text",
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": tests,
    });
    let mut text = serde_json::to_string_pretty(&results).expect("results encode");
    text.push('\n');
    Ok(text)
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Parses `K/N` (1 ≤ K ≤ N).
pub(crate) fn parse_partition(text: &str) -> Result<(usize, usize), String> {
    let bad = || {
        format!(
            "--partition {text:?}: write K/N with 1 <= K <= N, such as 2/3 (the second of \
             three parts)"
        )
    };
    let (k, n) = text.split_once('/').ok_or_else(bad)?;
    let k: usize = k.trim().parse().map_err(|_| bad())?;
    let n: usize = n.trim().parse().map_err(|_| bad())?;
    if k == 0 || n == 0 || k > n {
        return Err(bad());
    }
    Ok((k, n))
}

/// The runs of part `k` of `n` among `total`: the k-th of n contiguous slices whose sizes
/// differ by at most one.
pub(crate) fn partition_range(total: usize, k: usize, n: usize) -> std::ops::Range<usize> {
    (total * (k - 1) / n)..(total * k / n)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A small report: two submissions, a flaky test, a failed one, a kit check.
    pub(crate) fn sample() -> Report {
        let mut points = BTreeMap::new();
        points.insert(
            "raft".to_string(),
            BTreeMap::from([("3A".to_string(), 30.0), ("3B".to_string(), 70.0)]),
        );
        let course = CourseSummary {
            file: "labs/course.toml".into(),
            edition: "2024".into(),
            seeds: 2,
            first_seed: 1,
            flaky_credit: FlakyCredit::None,
            points,
            labs: vec!["raft".into()],
        };
        let mut records = Vec::new();
        let mut unit = 0;
        for submission in ["alice", "bob"] {
            for (test, part) in [
                ("initial_election_3a", "3A"),
                ("re_election_3a", "3A"),
                ("basic_agree_3b", "3B"),
            ] {
                for seed in 1..=2 {
                    let failed = submission == "bob"
                        && (test == "basic_agree_3b" || (test == "re_election_3a" && seed == 2));
                    records.push(Record {
                        unit,
                        submission: submission.into(),
                        lab: "raft".into(),
                        target: "raft".into(),
                        row: "Lab 3: Raft".into(),
                        part: part.into(),
                        scored: true,
                        test: test.into(),
                        seed: Some(seed),
                        verdict: if failed {
                            Verdict::Failed
                        } else {
                            Verdict::Passed
                        },
                        reason: failed.then(|| "FAILED with seed 2: <no leader> & \"x\"".into()),
                        virtual_secs: Some(1.5),
                        wall_secs: 0.01,
                        replay: format!("labs replay {test} --seed {seed}"),
                        trace: Some(format!("labs trace {test} --seed {seed} --html t.html")),
                        student_replay: format!("LAB_SEED={seed} cargo test -- --exact {test}"),
                    });
                    unit += 1;
                }
            }
        }
        Report {
            format: REPORT_FORMAT.into(),
            course,
            partition: None,
            units_total: records.len(),
            submissions: ["alice", "bob"]
                .iter()
                .map(|n| SubmissionInfo {
                    name: n.to_string(),
                    path: format!("/s/{n}"),
                    builds: BTreeMap::new(),
                    missing: vec![],
                })
                .collect(),
            records,
        }
    }

    #[test]
    fn scores_split_part_points_and_flaky_tests_show_their_seeds() {
        let report = sample();
        let all = scores(&report);
        assert_eq!(all[0].submission, "alice");
        assert_eq!(all[0].points, 100.0);
        let bob = &all[1];
        assert_eq!(bob.points, 15.0);
        let flaky = bob
            .tests
            .iter()
            .find(|t| t.test == "re_election_3a")
            .unwrap();
        assert_eq!(flaky.status, "flaky");
        assert_eq!(flaky.failing_seeds, [2]);
        let text = text(&report);
        assert!(text.contains("re_election_3a FLAKY"), "{text}");
        assert!(text.contains("on seed 2 (1 of 2 runs passed)"), "{text}");
        assert!(text.contains("basic_agree_3b FAILED"), "{text}");
        assert!(text.contains("trace:  labs trace basic_agree_3b"), "{text}");
        assert!(text.contains("15.0 / 100.0"), "{text}");
        let mut proportional = report.clone();
        proportional.course.flaky_credit = FlakyCredit::Proportional;
        assert_eq!(scores(&proportional)[1].points, 22.5);
    }

    #[test]
    fn parts_merge_into_the_whole_and_bad_merges_are_refused() {
        let whole = sample();
        for count in 1..=3 {
            let parts: Vec<Report> = (0..count)
                .map(|k| {
                    let mut part = whole.clone();
                    part.partition = Some(Partition {
                        index: k + 1,
                        count,
                    });
                    let range = partition_range(whole.units_total, k + 1, count);
                    part.records.retain(|r| range.contains(&r.unit));
                    part
                })
                .rev()
                .collect();
            assert_eq!(merge(parts).unwrap(), whole);
        }
        let mut half = whole.clone();
        half.records.truncate(3);
        assert!(merge(vec![half.clone()]).unwrap_err().contains("in none"));
        assert!(
            merge(vec![whole.clone(), half])
                .unwrap_err()
                .contains("two reports")
        );
        let mut other = whole.clone();
        other.course.seeds = 5;
        assert!(
            merge(vec![whole, other])
                .unwrap_err()
                .contains("another grading")
        );
        assert!(merge(vec![]).is_err());
    }

    #[test]
    fn json_round_trips() {
        let report = sample();
        let text = json(&report);
        assert!(text.contains("\"scores\""));
        assert_eq!(from_json(&text).unwrap(), report);
    }

    #[test]
    fn junit_escapes_and_counts() {
        let xml = junit(&sample());
        assert!(xml.contains("tests=\"12\" failures=\"3\""), "{xml}");
        assert!(
            xml.contains("&lt;no leader&gt; &amp; &quot;x&quot;"),
            "{xml}"
        );
        assert!(xml.contains("name=\"basic_agree_3b (seed 1)\""), "{xml}");
    }
}
