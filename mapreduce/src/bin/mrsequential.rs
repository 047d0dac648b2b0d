//! `mrsequential APP INPUTFILES...`: the sequential reference. Runs application `APP` over the
//! inputs in one process and writes every output line to `mr-out-0`.

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 2 || args.iter().any(|a| a == "-h" || a == "--help") {
        eprintln!(
            "usage: mrsequential APP INPUTFILES...\n  APP: one of {}",
            mapreduce::BUILTIN_APPS.join(", ")
        );
        std::process::exit(2);
    }
    let result = mapreduce::real::Settings::from_env()
        .and_then(|settings| mapreduce::real::sequential_main(&args[0], &args[1..], &settings));
    if let Err(message) = result {
        eprintln!("mrsequential: {message}");
        std::process::exit(1);
    }
}
