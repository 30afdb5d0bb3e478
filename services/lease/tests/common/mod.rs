//! The test MariaDB, and MySQL-backed lease instances (venus_lease::test_support).
#![allow(dead_code)]
pub mod proxy;

use std::time::Duration;

use sqlx::MySqlPool;
use venus_lease::test_support::Instance;
pub use venus_lease::test_support::{sample_exclusive, until_exclusive};
use venus_lease::{LeaseBackend, LeaseSettings};

/// The test MariaDB server URL, or `None` to skip. Under `CI` a missing server is a failure.
pub fn mysql_server() -> Option<String> {
    match std::env::var("VENUS_TEST_MYSQL_URL") {
        Ok(u) if !u.is_empty() => Some(u),
        _ if std::env::var_os("CI").is_some() => {
            panic!("VENUS_TEST_MYSQL_URL is not set and CI is: the MariaDB tests cannot be skipped")
        }
        _ => {
            eprintln!(
                "note: VENUS_TEST_MYSQL_URL is not set; skipping a MariaDB test (run scripts/mariadb-test.sh start)"
            );
            None
        }
    }
}

/// Creates a fresh database on the server; returns its URL.
pub async fn fresh_database(server: &str, tag: &str) -> String {
    let db = format!(
        "venus_lease_{tag}_{}_{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0)
    );
    let admin = MySqlPool::connect(server)
        .await
        .expect("connect to the test server");
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {db}")))
        .execute(&admin)
        .await
        .expect("create database");
    admin.close().await;
    let mut url = url::Url::parse(server).expect("VENUS_TEST_MYSQL_URL is a URL");
    url.set_path(&db);
    url.to_string()
}

/// Replaces host:port of a mysql URL (to route it through a proxy).
pub fn via(url: &str, port: u16) -> String {
    let mut u = url::Url::parse(url).expect("URL");
    u.set_port(Some(port)).expect("port");
    u.to_string()
}

pub fn fast_settings() -> LeaseSettings {
    LeaseSettings::default()
}

/// A MySQL-backed instance named `identity` on lease `name` at `url`.
pub fn mysql_instance(url: &str, name: &str, identity: &str, settings: LeaseSettings) -> Instance {
    let (url, name, identity) = (url.to_owned(), name.to_owned(), identity.to_owned());
    Instance::spawn(move || async move {
        // A small pool of its own, so an outage of its route is an outage of this instance only.
        let pool = sqlx::mysql::MySqlPoolOptions::new()
            .max_connections(2)
            .acquire_timeout(Duration::from_secs(30))
            .connect(&url)
            .await
            .expect("connect");
        (
            LeaseBackend::MySql {
                pool,
                name,
                identity,
            },
            settings,
        )
    })
}
