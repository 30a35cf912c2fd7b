//! Sample data at scale: `fieldgate seed` fills a dataset with a consistent dataset around N
//! customers, made in chunks on two threads and written into a new generation that replaces the
//! dataset in one switch when complete.

use std::sync::Arc;

use fieldgate_catalog::Catalog;
use fieldgate_sample::{Chunked, SampleOptions};
use fieldgate_store::{Dataset, Store};

/// Customers per chunk: enough to amortise a write, small enough to keep memory flat.
const CHUNK: usize = 2000;
/// Threads making chunks; the writer takes the rest of the machine.
const MAKERS: usize = 2;

/// What a seed wrote.
#[derive(Debug, Clone, Copy)]
pub struct Seeded {
    pub records: u64,
    pub generation: i64,
}

/// Replaces `dataset` with generated data around `customers` customers; `progress` is told
/// (customers done, customers in all, records written).
pub async fn seed_scaled(
    store: &dyn Store,
    dataset: Dataset,
    seed: u64,
    customers: usize,
    progress: impl Fn(u64, u64, u64),
) -> anyhow::Result<Seeded> {
    let (staged, _) = store
        .stage_dataset(dataset, None, Arc::new(|_, _| {}))
        .await?;
    let result = fill(store, staged, seed, customers, &progress).await;
    match result {
        Ok((records, next_id)) => {
            store.publish_staged(&staged, next_id).await?;
            Ok(Seeded {
                records,
                generation: staged.generation,
            })
        }
        Err(e) => {
            let _ = store.discard_staged(&staged).await;
            Err(e)
        }
    }
}

async fn fill(
    store: &dyn Store,
    staged: fieldgate_store::Staged,
    seed: u64,
    customers: usize,
    progress: &impl Fn(u64, u64, u64),
) -> anyhow::Result<(u64, i64)> {
    // Past every id the dataset handed out before, so ids already seen by clients stay unique.
    let first = store.allocate_ids(staged.target, 1).await? + 1;
    let options = SampleOptions {
        seed,
        scale: customers,
        now_us: chrono::Utc::now().timestamp_micros(),
    };
    let catalog = Catalog::get();
    let (chunked, reference) = Chunked::new(catalog, &options, first);
    let mut records = 0u64;
    for (resource, rows) in &reference.resources {
        store.staged_put(&staged, resource, rows).await?;
        records += rows.len() as u64;
    }
    let base = reference.next_id;
    let chunks = customers.div_ceil(CHUNK);
    let span = CHUNK as i64 * Chunked::IDS_PER_CUSTOMER;
    let chunked = Arc::new(chunked);

    let (tx, mut rx) = tokio::sync::mpsc::channel(MAKERS * 2);
    let mut makers = Vec::new();
    for t in 0..MAKERS {
        let (tx, chunked) = (tx.clone(), chunked.clone());
        makers.push(std::thread::spawn(move || {
            for c in (t..chunks).step_by(MAKERS) {
                let size = CHUNK.min(customers - c * CHUNK);
                let first = base + c as i64 * span;
                let data = chunked.chunk(c as u64, first, size);
                let fits = data.next_id <= first + span;
                if tx.blocking_send((size, fits, data)).is_err() {
                    return;
                }
            }
        }));
    }
    drop(tx);
    let mut done = 0u64;
    while let Some((size, fits, data)) = rx.recv().await {
        anyhow::ensure!(fits, "a chunk of sample data outgrew its reserved ids");
        for (resource, rows) in &data.resources {
            store.staged_put(&staged, resource, rows).await?;
            records += rows.len() as u64;
        }
        done += size as u64;
        progress(done, customers as u64, records);
    }
    for maker in makers {
        maker
            .join()
            .map_err(|_| anyhow::anyhow!("a sample-data thread panicked"))?;
    }
    Ok((records, base + chunks as i64 * span))
}
