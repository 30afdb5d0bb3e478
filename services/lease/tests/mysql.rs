//! The MySQL backend against the real MariaDB (VENUS_TEST_MYSQL_URL): two instances on one
//! lease row, with the default timings (8 s lease, 2 s renewal, 1 s retry).

mod common;

use std::time::{Duration, Instant};

use common::proxy::FreezingProxy;
use common::{
    fast_settings, fresh_database, mysql_instance, mysql_server, sample_exclusive, until_exclusive,
    via,
};
use sqlx::{MySqlPool, Row};
use venus_lease::test_support::{Exit, Instance, hand_over};

const LEASE: &str = "venus-messager";

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// (holder, live by the DB's clock, transitions) of the lease row.
fn row(url: &str) -> (String, bool, i64) {
    runtime().block_on(async {
        let pool = MySqlPool::connect(url).await.expect("connect");
        let r = sqlx::query(
            "SELECT holder, CAST(expires_at > NOW(6) AS SIGNED) AS live, transitions \
             FROM venus_leases WHERE name = ?",
        )
        .bind(LEASE)
        .fetch_one(&pool)
        .await
        .expect("lease row");
        let out = (
            r.get::<String, _>("holder"),
            r.get::<i64, _>("live") == 1,
            r.get::<i64, _>("transitions"),
        );
        pool.close().await;
        out
    })
}

/// A holds the lease (it started first), then B starts as standby.
fn a_then_b(url_a: &str, url_b: &str) -> (Instance, Instance) {
    let a = mysql_instance(url_a, LEASE, "a", fast_settings());
    let start = Instant::now();
    while !a.is_leader() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "a never acquired the free lease"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let b = mysql_instance(url_b, LEASE, "b", fast_settings());
    (a, b)
}

#[test]
fn exactly_one_leader_and_takeover_after_a_kill() {
    let Some(server) = mysql_server() else { return };
    let url = runtime().block_on(fresh_database(&server, "kill"));
    let (mut a, b) = a_then_b(&url, &url);

    let (samples, one) = sample_exclusive(&a, &b, Duration::from_secs(4));
    assert_eq!(one, samples, "a leader at every sample");
    assert!(
        a.is_leader() && !b.is_leader(),
        "the first instance keeps the lease"
    );
    assert_eq!(
        b.leadership.holder().as_deref(),
        Some("a"),
        "the standby sees the holder"
    );
    assert_eq!(row(&url), ("a".to_owned(), true, 0));

    let took = hand_over(&mut a, &b, Exit::Kill, Duration::from_secs(10));
    eprintln!("LEASE-TIMING mysql kill→takeover {took:?}");
    assert!(took < Duration::from_secs(10), "takeover took {took:?}");
    let (holder, live, transitions) = row(&url);
    assert_eq!((holder.as_str(), live, transitions), ("b", true, 1));
    assert!(
        b.metrics().contains("venus_test_lease_holder 1"),
        "{}",
        b.metrics()
    );
    assert!(b.metrics().contains("venus_test_lease_transitions_total 1"));
}

#[test]
fn graceful_shutdown_hands_over_at_once() {
    let Some(server) = mysql_server() else { return };
    let url = runtime().block_on(fresh_database(&server, "stop"));
    let (mut a, b) = a_then_b(&url, &url);
    sample_exclusive(&a, &b, Duration::from_secs(1));

    let took = hand_over(&mut a, &b, Exit::Release, Duration::from_secs(10));
    assert!(!a.is_leader());
    assert!(a.metrics().contains("venus_test_lease_holder 0"));
    eprintln!("LEASE-TIMING mysql release→takeover {took:?}");
    // Well under the 6 s a takeover after expiry would need at the least.
    assert!(
        took < Duration::from_secs(4),
        "takeover after release took {took:?}"
    );
    let (holder, live, transitions) = row(&url);
    assert_eq!((holder.as_str(), live, transitions), ("b", true, 1));
}

#[test]
fn a_hung_database_ends_the_term_before_the_lease_expires() {
    let Some(server) = mysql_server() else { return };
    let url = runtime().block_on(fresh_database(&server, "outage"));
    let parsed = url::Url::parse(&url).expect("url");
    let upstream = format!(
        "{}:{}",
        parsed.host_str().expect("host"),
        parsed.port().unwrap_or(3306)
    );
    let proxy = FreezingProxy::start(upstream);
    let (a, b) = a_then_b(&via(&url, proxy.port), &url);
    sample_exclusive(&a, &b, Duration::from_secs(1));

    proxy.freeze();
    let frozen = Instant::now();
    until_exclusive(&a, &b, Duration::from_secs(10), "a to step down", || {
        !a.is_leader()
    });
    let stepped_down = frozen.elapsed();
    // At that moment the lease is still a's and live at the database: nobody could have
    // taken it yet, so there was no moment with two primaries.
    let (holder, live, _) = row(&url);
    assert_eq!(
        (holder.as_str(), live),
        ("a", true),
        "a stepped down before its lease expired"
    );
    assert!(!b.is_leader());

    until_exclusive(&a, &b, Duration::from_secs(12), "b to take over", || {
        b.is_leader()
    });
    let took = frozen.elapsed();
    eprintln!(
        "LEASE-TIMING mysql outage: stepped down after {stepped_down:?}, b leads after {took:?}"
    );
    assert!(stepped_down < took);
    let (holder, live, transitions) = row(&url);
    assert_eq!((holder.as_str(), live, transitions), ("b", true, 1));
    // The loop of a is not frozen with its database: it still answers and stays standby.
    assert!(!a.is_leader());
    assert!(a.metrics().contains("venus_test_lease_holder 0"));
}

#[test]
fn renewals_keep_the_holder_and_count_no_transition() {
    let Some(server) = mysql_server() else { return };
    let url = runtime().block_on(fresh_database(&server, "renew"));
    let (a, b) = a_then_b(&url, &url);
    // Several renewals: expiry keeps moving, holder and transitions do not change.
    sample_exclusive(&a, &b, Duration::from_secs(5));
    let (holder, live, transitions) = row(&url);
    assert_eq!((holder.as_str(), live, transitions), ("a", true, 0));
    assert!(a.metrics().contains("venus_test_lease_transitions_total 1"));
}
