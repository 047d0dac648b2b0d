//! The original test script's checks of the timing applications' output, shared by the
//! simulated and the real-process suites. Each returns what is wrong, if anything.

/// `mtiming` with two workers: both ran map tasks (two `times-` keys), and at some point both
/// ran at once (a `parallel-*` value of 2).
pub fn map_parallelism(lines: &[String]) -> Result<(), String> {
    let times = lines.iter().filter(|l| l.starts_with("times-")).count();
    if times != 2 {
        return Err(format!(
            "expected both workers to run map tasks (2 times- keys), got {times}: {lines:?}"
        ));
    }
    if !lines
        .iter()
        .any(|l| l.starts_with("parallel") && l.contains(" 2"))
    {
        return Err(format!("map workers did not run in parallel: {lines:?}"));
    }
    Ok(())
}

/// `rtiming` with two workers: at least two reduce keys saw two workers reducing at once.
pub fn reduce_parallelism(lines: &[String]) -> Result<(), String> {
    let parallel = lines
        .iter()
        .filter(|l| {
            let b = l.as_bytes();
            b.len() >= 3 && b[0].is_ascii_lowercase() && &b[1..3] == b" 2"
        })
        .count();
    if parallel < 2 {
        return Err(format!(
            "too few parallel reduces ({parallel} lines \"<key> 2\"): {lines:?}"
        ));
    }
    Ok(())
}
