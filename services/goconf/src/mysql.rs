//! MySQL DSNs in both forms an operator may write: the Go driver's form the seed uses
//! (`user:pass@(127.0.0.1:3306)/venus_auth?parseTime=true&loc=Local&…`, also `@tcp(…)` and
//! `@unix(…)`) and a `mysql://` URL.
//!
//! Go-driver parameters without an equivalent here are reported as warnings, by name.

use std::str::FromStr;
use std::time::Duration;

use sqlx::mysql::{MySqlConnectOptions, MySqlConnection};
use sqlx::{AssertSqlSafe, Connection};

use crate::duration::parse_go_duration;

/// A parsed DSN: connection options plus what the operator should know.
#[derive(Debug, Clone)]
pub struct MysqlTarget {
    pub options: MySqlConnectOptions,
    pub database: String,
    pub connect_timeout: Option<Duration>,
    pub warnings: Vec<String>,
}

pub fn parse_mysql_dsn(dsn: &str) -> Result<MysqlTarget, String> {
    let dsn = dsn.trim();
    if dsn.is_empty() {
        return Err("the MySQL DSN is empty".into());
    }
    if dsn.starts_with("mysql://") || dsn.starts_with("mariadb://") {
        return parse_url(dsn);
    }
    parse_go_dsn(dsn)
}

impl MysqlTarget {
    /// `host:port/database`, for messages (never the user or password).
    pub fn describe(&self) -> String {
        format!(
            "{}:{}/{}",
            self.options.get_host(),
            self.options.get_port(),
            self.database
        )
    }

    /// Waits until the server accepts a connection to the database, creating the database on
    /// a fresh server, retrying with back-off for at most `wait` (zero: one attempt). One plain
    /// connection rather than a pool: it fails fast with the cause, where a pool would retry
    /// until its own acquire timeout and hide it.
    pub async fn wait_until_reachable(&self, wait: Duration) -> Result<(), String> {
        let started = std::time::Instant::now();
        let mut delay = Duration::from_millis(500);
        let mut attempt = 1u32;
        loop {
            let err = match MySqlConnection::connect_with(&self.options).await {
                Ok(conn) => {
                    let _ = conn.close().await;
                    return Ok(());
                }
                Err(e)
                    if e.as_database_error()
                        .is_some_and(|d| d.message().contains("Unknown database")) =>
                {
                    match self.create_database().await {
                        Ok(()) => {
                            tracing::info!(database = %self.describe(), "created the MySQL database");
                            continue;
                        }
                        Err(e) => e,
                    }
                }
                Err(e) => e,
            };
            if started.elapsed() + delay > wait {
                return Err(format!(
                    "cannot connect to MySQL at {} after {attempt} attempt(s) in {:.0?}: {err}",
                    self.describe(),
                    started.elapsed()
                ));
            }
            tracing::warn!(database = %self.describe(), attempt, error = %err, "MySQL is not reachable, retrying in {delay:?}");
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(5));
            attempt += 1;
        }
    }

    async fn create_database(&self) -> Result<(), sqlx::Error> {
        let server = self.options.clone().database("information_schema");
        let mut admin = MySqlConnection::connect_with(&server).await?;
        let create = format!(
            "CREATE DATABASE IF NOT EXISTS `{}` CHARACTER SET utf8mb4",
            self.database.replace('`', "``")
        );
        sqlx::query(AssertSqlSafe(create))
            .execute(&mut admin)
            .await?;
        let _ = admin.close().await;
        Ok(())
    }
}

fn parse_url(dsn: &str) -> Result<MysqlTarget, String> {
    let url = url::Url::parse(&dsn.replacen("mariadb://", "mysql://", 1))
        .map_err(|e| format!("invalid MySQL URL: {e}"))?;
    let database = url.path().trim_start_matches('/').to_owned();
    if database.is_empty() {
        return Err(
            "the MySQL URL names no database (mysql://user:pass@host:port/<database>)".into(),
        );
    }
    let options = MySqlConnectOptions::from_str(url.as_str())
        .map_err(|e| format!("invalid MySQL URL: {e}"))?;
    Ok(MysqlTarget {
        options,
        database,
        connect_timeout: None,
        warnings: Vec::new(),
    })
}

fn parse_go_dsn(dsn: &str) -> Result<MysqlTarget, String> {
    // [user[:password]@][net[(addr)]]/dbname[?params]; the database name cannot hold '/'.
    let slash = dsn
        .rfind('/')
        .ok_or("invalid MySQL DSN: missing \"/<database>\"")?;
    let (head, tail) = dsn.split_at(slash);
    let tail = &tail[1..];
    let (database, params) = match tail.split_once('?') {
        Some((d, p)) => (d, p),
        None => (tail, ""),
    };
    if database.is_empty() {
        return Err("invalid MySQL DSN: no database name after \"/\"".into());
    }
    let (userinfo, netaddr) = match head.rfind('@') {
        Some(at) => (&head[..at], &head[at + 1..]),
        None => ("", head),
    };
    let (user, password) = match userinfo.split_once(':') {
        Some((u, p)) => (u, Some(p)),
        None => (userinfo, None),
    };
    let mut options = MySqlConnectOptions::new().database(database);
    if !user.is_empty() {
        options = options.username(user);
    }
    if let Some(p) = password {
        options = options.password(p);
    }
    let (net, addr) = match netaddr.find('(') {
        Some(open) if netaddr.ends_with(')') => {
            (&netaddr[..open], &netaddr[open + 1..netaddr.len() - 1])
        }
        Some(_) => {
            return Err(format!(
                "invalid MySQL DSN: unbalanced parenthesis in {netaddr:?}"
            ));
        }
        None => (netaddr, ""),
    };
    match net {
        "" | "tcp" | "tcp4" | "tcp6" => {
            let addr = if addr.is_empty() {
                "127.0.0.1:3306"
            } else {
                addr
            };
            let (host, port) = split_host_port(addr)?;
            options = options.host(host).port(port);
        }
        "unix" => options = options.socket(addr),
        other => {
            return Err(format!(
                "invalid MySQL DSN: network {other:?} is not tcp or unix"
            ));
        }
    }
    let mut warnings = Vec::new();
    let mut connect_timeout = None;
    for pair in params.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let value = url_decode(value);
        match key {
            // We store times as unix seconds: there is nothing to parse or localise.
            "parseTime" | "loc" => {}
            "charset" => {
                let first = value.split(',').next().unwrap_or_default();
                options = options.charset(first);
            }
            "collation" => options = options.collation(&value),
            "timeout" => {
                connect_timeout = Some(
                    parse_go_duration(&value).map_err(|e| format!("DSN parameter timeout: {e}"))?,
                );
            }
            "readTimeout" | "writeTimeout" => warnings.push(format!(
                "MySQL DSN parameter {key}={value} is not supported and is ignored (queries have no per-read/write timeout)"
            )),
            _ => warnings.push(format!("MySQL DSN parameter {key} is not supported and is ignored")),
        }
    }
    Ok(MysqlTarget {
        options,
        database: database.to_owned(),
        connect_timeout,
        warnings,
    })
}

fn split_host_port(addr: &str) -> Result<(&str, u16), String> {
    let (host, port) = match addr.rsplit_once(':') {
        Some((h, p)) if !p.contains(']') => (h, p),
        _ => return Ok((addr.trim_matches(|c| c == '[' || c == ']'), 3306)),
    };
    let port = port
        .parse()
        .map_err(|_| format!("invalid MySQL DSN: bad port {port:?}"))?;
    Ok((host.trim_matches(|c| c == '[' || c == ']'), port))
}

fn url_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("v={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED: &str = "root:secret@(127.0.0.1:3307)/venus_auth?parseTime=true&loc=Local&charset=utf8mb4&collation=utf8mb4_unicode_ci&readTimeout=10s&writeTimeout=10s";

    #[test]
    fn the_seed_dsn_parses_and_names_what_is_ignored() {
        let t = parse_mysql_dsn(SEED).unwrap();
        assert_eq!(t.database, "venus_auth");
        assert_eq!(t.options.get_host(), "127.0.0.1");
        assert_eq!(t.options.get_port(), 3307);
        assert_eq!(t.options.get_username(), "root");
        assert_eq!(t.warnings.len(), 2);
        assert!(t.warnings[0].contains("readTimeout"));
        assert!(t.warnings[1].contains("writeTimeout"));
    }

    #[test]
    fn tcp_unix_and_url_forms() {
        let t = parse_mysql_dsn("u@tcp(db.local)/x?timeout=5s").unwrap();
        assert_eq!(
            (t.options.get_host(), t.options.get_port()),
            ("db.local", 3306)
        );
        assert_eq!(t.connect_timeout, Some(Duration::from_secs(5)));
        let t = parse_mysql_dsn("u:p@unix(/run/mysqld.sock)/x").unwrap();
        assert_eq!(
            t.options
                .get_socket()
                .map(|p| p.display().to_string())
                .as_deref(),
            Some("/run/mysqld.sock")
        );
        let t = parse_mysql_dsn("mysql://root@127.0.0.1:4000/auth").unwrap();
        assert_eq!((t.database.as_str(), t.options.get_port()), ("auth", 4000));
        let t = parse_mysql_dsn("u:p@a@(h:1)/d").unwrap();
        assert_eq!(t.options.get_username(), "u");
    }

    #[test]
    fn bad_dsns_say_what_is_wrong() {
        assert!(parse_mysql_dsn("").unwrap_err().contains("empty"));
        assert!(
            parse_mysql_dsn("root@(127.0.0.1:3306)")
                .unwrap_err()
                .contains("database")
        );
        assert!(
            parse_mysql_dsn("root@(h:abc)/d")
                .unwrap_err()
                .contains("port")
        );
        assert!(
            parse_mysql_dsn("root@udp(h:1)/d")
                .unwrap_err()
                .contains("udp")
        );
        assert!(
            parse_mysql_dsn("mysql://h:1/")
                .unwrap_err()
                .contains("database")
        );
    }
}
