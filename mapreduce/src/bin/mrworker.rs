//! `mrworker APP`: a MapReduce worker running application `APP` (`wc`, `indexer`, ...) in the
//! working directory, talking to the coordinator at `MR_SOCKET`.

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() != 1 || args[0] == "-h" || args[0] == "--help" {
        eprintln!(
            "usage: mrworker APP\n  APP: one of {}",
            mapreduce::BUILTIN_APPS.join(", ")
        );
        std::process::exit(2);
    }
    let result = mapreduce::real::Settings::from_env()
        .and_then(|settings| mapreduce::real::worker_main(&args[0], &settings));
    if let Err(message) = result {
        eprintln!("mrworker: {message}");
        std::process::exit(1);
    }
}
