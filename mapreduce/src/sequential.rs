//! The sequential reference: one process maps every input, sorts, and reduces, writing all of
//! the output to one file. The graded tests compare the distributed output with its.

use crate::apps::{App, KeyValue, reduce_sorted};
use crate::env::Env;
use crate::worker::WorkerError;

/// Runs `app` over `inputs` sequentially and writes every `key value` line to `output`
/// (`mrsequential` writes `mr-out-0`).
pub async fn sequential(
    env: &dyn Env,
    app: &dyn App,
    inputs: &[String],
    output: &str,
) -> Result<(), WorkerError> {
    let mut pairs: Vec<KeyValue> = Vec::new();
    for file in inputs {
        let bytes = env.read_file(file).map_err(|error| WorkerError::Input {
            file: file.clone(),
            error,
        })?;
        let contents = String::from_utf8_lossy(&bytes);
        pairs.extend(app.map(env, file, &contents).await);
    }
    let text = reduce_sorted(env, app, pairs).await;
    env.write_file(output, text.as_bytes())
        .map_err(|error| WorkerError::Io {
            what: format!("cannot write {output}"),
            error,
        })
}

/// The lines of every file whose name starts with `mr-out`, without empty lines, sorted: what
/// the original test script compares (`sort mr-out* | grep .`).
pub fn sorted_output_lines(env: &dyn Env) -> std::io::Result<Vec<String>> {
    let mut lines = Vec::new();
    for name in env.list_files()? {
        if name.starts_with("mr-out") {
            let bytes = env.read_file(&name)?;
            lines.extend(
                String::from_utf8_lossy(&bytes)
                    .lines()
                    .filter(|line| !line.is_empty())
                    .map(str::to_string),
            );
        }
    }
    lines.sort();
    Ok(lines)
}

/// What differs between two sorted outputs, if anything: `got_label` names `got` ("the wc
/// output"), `want_label` names `want` ("the sequential reference"); the answer names both,
/// the line counts and the first line that differs.
pub fn output_difference(
    got: &[String],
    want: &[String],
    got_label: &str,
    want_label: &str,
) -> Option<String> {
    if got == want {
        return None;
    }
    let first = got
        .iter()
        .zip(want)
        .position(|(a, b)| a != b)
        .unwrap_or(got.len().min(want.len()));
    Some(format!(
        "{got_label} differs from {want_label} ({} lines, expected {}); first difference at \
         sorted line {first}: got {:?}, expected {:?}",
        got.len(),
        want.len(),
        got.get(first),
        want.get(first)
    ))
}
