//! Takeover times of venus-lease with the default timings (8 s lease, 2 s renewal, 1 s retry):
//! kill → new leader (the holder's runtime dropped, no release) and graceful release → new
//! leader, over several rounds. Timing-bound, not CPU-bound, so the dev profile serves:
//!
//!     eval "$(bash scripts/mariadb-test.sh start)"
//!     cargo bench -p venus-lease --bench takeover --profile dev -- mysql [ROUNDS]
//!     KUBECONFIG=… cargo bench -p venus-lease --bench takeover --profile dev -- kube [ROUNDS]
//!
//! (for `kube`, a cluster from `bash e2e/cluster/cluster.sh up venus-lease-bench`).
#![allow(clippy::expect_used)]

use std::time::{Duration, Instant};

use venus_lease::test_support::{Exit, Instance, hand_over, sample_exclusive};
use venus_lease::{LeaseBackend, LeaseSettings};

const LEASE: &str = "venus-lease-bench";

#[derive(Clone)]
enum Target {
    MySql(String),
    Kube,
}

fn instance(target: &Target, identity: String) -> Instance {
    let target = target.clone();
    Instance::spawn(move || async move {
        let backend = match target {
            Target::MySql(url) => LeaseBackend::MySql {
                pool: sqlx::MySqlPool::connect(&url).await.expect("connect"),
                name: LEASE.into(),
                identity,
            },
            Target::Kube => LeaseBackend::Kubernetes {
                client: kube::Client::try_default().await.expect("KUBECONFIG"),
                namespace: "default".into(),
                name: LEASE.into(),
                identity,
            },
        };
        (backend, LeaseSettings::default())
    })
}

fn mysql_database(server: &str) -> String {
    let db = format!("venus_lease_bench_{}", std::process::id());
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(async {
            let admin = sqlx::MySqlPool::connect(server).await.expect("connect");
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {db}")))
                .execute(&admin)
                .await
                .expect("create database");
        });
    let mut url = url::Url::parse(server).expect("URL");
    url.set_path(&db);
    url.to_string()
}

fn summary(label: &str, mut v: Vec<Duration>) {
    v.sort();
    let ms = |d: &Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{label}: n={} min={:.0} ms median={:.0} ms max={:.0} ms",
        v.len(),
        v.first().map(ms).unwrap_or(0.0),
        v.get(v.len() / 2).map(ms).unwrap_or(0.0),
        v.last().map(ms).unwrap_or(0.0)
    );
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let kind = args.first().map(String::as_str).unwrap_or("mysql");
    let rounds: usize = args.get(1).and_then(|r| r.parse().ok()).unwrap_or(5);
    let target = match kind {
        "mysql" => {
            let Ok(server) = std::env::var("VENUS_TEST_MYSQL_URL") else {
                eprintln!("VENUS_TEST_MYSQL_URL is not set (scripts/mariadb-test.sh start)");
                std::process::exit(2);
            };
            Target::MySql(mysql_database(&server))
        }
        "kube" => Target::Kube,
        other => {
            eprintln!("unknown backend {other:?}: mysql or kube");
            std::process::exit(2);
        }
    };
    let mut n = 0;
    let mut next = |target: &Target| {
        n += 1;
        instance(target, format!("bench-{n}"))
    };
    let mut leader = next(&target);
    let start = Instant::now();
    while !leader.is_leader() {
        assert!(start.elapsed() < Duration::from_secs(30), "no first leader");
        std::thread::sleep(Duration::from_millis(5));
    }
    let (mut kills, mut releases) = (Vec::new(), Vec::new());
    for round in 0..rounds * 2 {
        let standby = next(&target);
        // Let the standby watch a few renewals first, as a long-running standby would have;
        // the jitter spreads the kill over the renewal and retry cycles.
        let watch = Duration::from_millis(3_000 + rand::random::<u64>() % 2_000);
        sample_exclusive(&leader, &standby, watch);
        let kill = round % 2 == 0;
        let exit = if kill { Exit::Kill } else { Exit::Release };
        let took = hand_over(&mut leader, &standby, exit, Duration::from_secs(20));
        println!(
            "round {round}: {} → takeover {took:?}",
            if kill { "kill" } else { "release" }
        );
        if kill {
            kills.push(took)
        } else {
            releases.push(took)
        }
        leader = standby;
    }
    summary(&format!("{kind} kill→takeover"), kills);
    summary(&format!("{kind} release→takeover"), releases);
}
