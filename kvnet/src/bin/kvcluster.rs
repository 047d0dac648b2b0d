//! `kvcluster start N | status | kill I | restart I | stop`: a cluster of `kvserver` processes
//! on loopback (see `kvnet::cluster`).

use clap::Parser;
use kvnet::cluster::{ClusterArgs, run};

fn main() {
    let args = ClusterArgs::parse();
    if let Err(message) = run(&args) {
        eprintln!("kvcluster: {message}");
        std::process::exit(1);
    }
}
