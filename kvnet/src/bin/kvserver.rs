//! `kvserver --id I --peers ADDR,ADDR,... [--data DIR] [--maxraftstate N] [--resp PORT]`: one
//! server of the Lab 4 key/value service as a process (see `kvnet::server`).

use clap::Parser;
use kvnet::server::{ServerArgs, ServerConfig, run};

fn main() {
    let args = ServerArgs::parse();
    let config = match ServerConfig::from_args(&args) {
        Ok(config) => config,
        Err(message) => {
            eprintln!("kvserver: {message}");
            std::process::exit(2);
        }
    };
    labtest::logger::init();
    if let Err(message) = run(&config) {
        eprintln!("kvserver {}: {message}", config.id);
        std::process::exit(1);
    }
}
