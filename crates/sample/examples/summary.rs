//! Prints how many records of each resource a seed and scale give, how long generation took,
//! and optionally one resource's documents: `cargo run --example summary -- 300 [resource]`.

use std::time::Instant;

use fieldgate_catalog::Catalog;
use fieldgate_sample::{SampleOptions, generate};

fn main() {
    let mut args = std::env::args().skip(1);
    let scale = args.next().and_then(|s| s.parse().ok()).unwrap_or(300);
    let show = args.next();
    let catalog = Catalog::get();
    let options = SampleOptions {
        seed: 1,
        scale,
        // 2024-06-01T12:00:00Z.
        now_us: 1_717_243_200_000_000,
    };
    let started = Instant::now();
    let data = generate(catalog, &options, 1);
    let elapsed = started.elapsed();
    let mut total = 0;
    for (resource, records) in &data.resources {
        println!("{resource:40} {:6}", records.len());
        total += records.len();
    }
    println!("{:40} {total:6}  ({elapsed:?})", "total");
    if let Some(resource) = show {
        for record in data.resources.get(&resource).into_iter().flatten() {
            println!("{}", record.doc);
        }
    }
}
