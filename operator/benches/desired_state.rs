//! Building and diffing the desired state of 100 ChainServices (the work one full resync
//! does before any API call): validate + build, and comparing against the previous desired
//! state object by object.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use venus_operator::ChainService;
use venus_operator::build::{DesiredState, build};
use venus_operator::validate::{Referenced, validate};

/// 100 ChainServices cycling through the four examples, each with its own name and uid.
fn chain_services() -> Vec<ChainService> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../manifests/examples");
    let mut templates = Vec::new();
    for name in [
        "devnet-small.yaml",
        "production-ha.yaml",
        "aws.yaml",
        "gcp.yaml",
    ] {
        let text = std::fs::read_to_string(dir.join(name)).expect("example exists");
        templates.push(serde_yaml_ng::from_str::<ChainService>(&text).expect("example parses"));
    }
    (0..100)
        .map(|i| {
            let mut cs = templates[i % templates.len()].clone();
            cs.metadata.name = Some(format!("cs-{i}"));
            cs.metadata.namespace = Some(format!("ns-{}", i % 10));
            cs.metadata.uid = Some(format!("00000000-0000-0000-0000-{i:012}"));
            cs
        })
        .collect()
}

fn build_all(list: &[ChainService]) -> Vec<DesiredState> {
    list.iter()
        .map(|cs| {
            let valid = validate(&cs.spec, &Referenced::default()).expect("valid");
            build(cs, &valid)
        })
        .collect()
}

/// Objects whose desired content changed between two desired states.
fn diff(old: &[DesiredState], new: &[DesiredState]) -> usize {
    let mut changed = 0;
    for (o, n) in old.iter().zip(new) {
        let before: BTreeMap<String, &serde_json::Value> =
            o.all().map(|d| (d.id(), &d.object)).collect();
        for d in n.all() {
            if before.get(&d.id()) != Some(&&d.object) {
                changed += 1;
            }
        }
    }
    changed
}

fn bench(c: &mut Criterion) {
    let list = chain_services();
    let baseline = build_all(&list);
    let objects: usize = baseline.iter().map(|s| s.all().count()).sum();
    eprintln!("100 ChainServices -> {objects} desired objects");

    c.bench_function("build 100 ChainServices", |b| {
        b.iter(|| build_all(black_box(&list)))
    });

    // An image bump on every ChainService: every StatefulSet changes.
    let mut bumped = list.clone();
    for cs in &mut bumped {
        cs.spec.image.tag = Some("9.9.9".into());
    }
    let new = build_all(&bumped);
    eprintln!("image bump changes {} objects", diff(&baseline, &new));
    c.bench_function("diff 100 ChainServices (image bump)", |b| {
        b.iter(|| diff(black_box(&baseline), black_box(&new)))
    });
    c.bench_function("build+diff 100 ChainServices (no change)", |b| {
        b.iter(|| diff(black_box(&baseline), &build_all(black_box(&list))))
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(std::time::Duration::from_secs(5));
    targets = bench
}
criterion_main!(benches);
