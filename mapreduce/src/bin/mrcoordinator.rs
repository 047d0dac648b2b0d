//! `mrcoordinator INPUTFILES...`: the coordinator of a MapReduce job (10 reduce tasks).
//! Listens at `MR_SOCKET` (default `/var/tmp/5840-mr-<uid>`); exits once the job is done.

fn main() {
    let inputs: Vec<String> = std::env::args().skip(1).collect();
    if inputs.is_empty() || inputs.iter().any(|a| a == "-h" || a == "--help") {
        eprintln!("usage: mrcoordinator INPUTFILES...");
        std::process::exit(2);
    }
    let result = mapreduce::real::Settings::from_env()
        .and_then(|settings| mapreduce::real::coordinator_main(&inputs, &settings));
    if let Err(message) = result {
        eprintln!("mrcoordinator: {message}");
        std::process::exit(1);
    }
}
