//! The same seed, options and first id give the same records, byte for byte.

mod common;

use fieldgate_catalog::Catalog;
use fieldgate_sample::{SampleData, generate};

use common::{FIRST_ID, options, sample};

/// One line per record holding every field, so equality means byte-identical output.
fn flatten(data: &SampleData) -> Vec<String> {
    data.resources
        .iter()
        .flat_map(|(resource, records)| {
            records.iter().map(move |r| {
                format!(
                    "{resource} {} {:?} {} {} {} {}",
                    r.id, r.parent_id, r.created_us, r.modified_us, r.active, r.doc
                )
            })
        })
        .collect()
}

#[test]
fn same_inputs_give_identical_records() {
    let a = sample(42, 30);
    let b = sample(42, 30);
    assert_eq!(a.next_id, b.next_id);
    assert_eq!(flatten(&a), flatten(&b));
}

#[test]
fn another_seed_gives_other_records() {
    let a = sample(42, 30);
    let b = sample(43, 30);
    let docs = |d: &SampleData| -> Vec<String> {
        d.resources
            .values()
            .flatten()
            .map(|r| r.doc.clone())
            .collect()
    };
    let (docs_a, docs_b) = (docs(&a), docs(&b));
    let same = docs_a.iter().zip(&docs_b).filter(|(x, y)| x == y).count();
    assert!(
        same * 10 < docs_a.len(),
        "{same} of {} docs are unchanged",
        docs_a.len()
    );
}

#[test]
fn first_id_only_moves_the_ids() {
    let catalog = Catalog::get();
    let a = generate(catalog, &options(42, 20), FIRST_ID);
    let b = generate(catalog, &options(42, 20), FIRST_ID + 500);
    assert_eq!(b.next_id - a.next_id, 500);
    for (resource, records) in &a.resources {
        let others = &b.resources[resource];
        assert_eq!(records.len(), others.len(), "{resource}");
        for (x, y) in records.iter().zip(others) {
            assert_eq!(y.id - x.id, 500);
            assert_eq!(
                (x.created_us, x.modified_us, x.active),
                (y.created_us, y.modified_us, y.active)
            );
        }
    }
}
