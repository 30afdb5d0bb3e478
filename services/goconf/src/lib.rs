//! The Go originals' configuration values, read the way their users write them: go-sql-driver
//! MySQL DSNs (and `mysql://` URLs) with a connect that waits for the server, and
//! `time.Duration` strings. Shared by venus-auth, venus-messager and venus-miner.

#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod duration;
pub mod mysql;

pub use duration::parse_go_duration;
pub use mysql::{MysqlTarget, parse_mysql_dsn};
