//! Polling until a condition holds, with a deadline and a description of what was awaited.

use std::future::Future;
use std::time::{Duration, Instant};

use anyhow::bail;

/// Polls `probe` every `every` until it returns `Ok(Some(value))`, up to `timeout`.
///
/// `Ok(None)` means "not yet"; the last `Err` (API hiccups are retried) or the last observed
/// state given by `probe` through `Ok(None)` is reported on timeout via `what`.
pub async fn until<T, F, Fut>(timeout: Duration, what: &str, mut probe: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<Option<T>>>,
{
    let start = Instant::now();
    let every = Duration::from_millis(100);
    let mut last_error = None;
    loop {
        match probe().await {
            Ok(Some(value)) => return Ok(value),
            Ok(None) => {}
            Err(e) => last_error = Some(e),
        }
        if start.elapsed() > timeout {
            match last_error {
                Some(e) => {
                    bail!("timed out after {timeout:?} waiting for {what}; last error: {e:#}")
                }
                None => bail!("timed out after {timeout:?} waiting for {what}"),
            }
        }
        tokio::time::sleep(every).await;
    }
}
