//! Choice files (a run as the list of its choices) and stories (a run told as numbered steps).

use super::driver::Taken;
use std::fmt::Write as _;

/// The first line of every choice file.
const HEADER: &str = "# labtest choice file v1";

/// A choice file: a header naming the test, then one label per choice point.
pub(super) fn choice_file(test: &str, seed: u64, taken: &[Taken]) -> String {
    let mut text = format!(
        "{HEADER}\n# test {test}\n# seed {seed}\n# Replay: LAB_CHOICES=<this file> cargo test \
         ... -- --exact {test}\n"
    );
    for t in taken {
        let _ = writeln!(text, "{}", t.label);
    }
    text
}

/// The seed and the labels of a choice file, checking that it is one and that it belongs to
/// `test`.
pub(super) fn parse(text: &str, test: &str) -> Result<(u64, Vec<String>), String> {
    let mut lines = text.lines();
    if lines.next().map(str::trim) != Some(HEADER) {
        return Err(format!(
            "not a choice file (its first line is not \"{HEADER}\")"
        ));
    }
    let mut labels = Vec::new();
    let mut seed = None;
    for line in lines {
        let line = line.trim();
        if let Some(number) = line.strip_prefix("# seed ") {
            seed = Some(
                number
                    .parse()
                    .map_err(|_| format!("\"# seed {number}\" is not a seed"))?,
            );
        } else if let Some(named) = line.strip_prefix("# test ") {
            if named != test {
                return Err(format!(
                    "the file was saved by test {named}, not {test}: run it with `-- --exact \
                     {named}`"
                ));
            }
        } else if !line.is_empty() && !line.starts_with('#') {
            labels.push(line.to_string());
        }
    }
    if labels.is_empty() {
        return Err("the file lists no choices".into());
    }
    let seed = seed.ok_or("the file names no seed (a \"# seed N\" line)")?;
    Ok((seed, labels))
}

/// The run as numbered steps: what each choice did (a default step is marked as such) and,
/// under it, each node whose state changed.
pub(super) fn tell(taken: &[Taken]) -> String {
    let mut story = String::new();
    let mut last: Vec<String> = Vec::new();
    let width = taken.len().to_string().len();
    let mut quiet = 0;
    for (i, t) in taken.iter().enumerate() {
        // A timer that fired by default and changed no node's state is not part of the story.
        let next_states = taken.get(i + 1).map(|n| &n.states);
        if t.default && t.label == "fire" && next_states.is_some_and(|n| *n == t.states) {
            quiet += 1;
            continue;
        }
        if quiet > 0 {
            let firings = if quiet == 1 { "firing" } else { "firings" };
            let _ = writeln!(
                story,
                "  {:>width$}  ({quiet} timer {firings} that changed nothing)",
                ""
            );
            quiet = 0;
        }
        print_changes(&mut story, &mut last, &t.states);
        let what = match t.label.as_str() {
            "fire" if t.pending > 0 => format!(
                "fire the next timer ({}) while {} message(s) wait",
                t.detail, t.pending
            ),
            "fire" => format!("fire the next timer ({})", t.detail),
            label => label.to_string(),
        };
        let mark = if t.default { "" } else { "   <- chosen" };
        let _ = writeln!(
            story,
            "  {:>width$}. {:>10} {what}{mark}",
            i + 1,
            t.at.to_string()
        );
    }
    story
}

fn print_changes(story: &mut String, last: &mut Vec<String>, states: &[String]) {
    if states.is_empty() {
        return;
    }
    for (i, state) in states.iter().enumerate() {
        if last.get(i) != Some(state) {
            let _ = writeln!(story, "        | {state}");
        }
    }
    *last = states.to_vec();
}
