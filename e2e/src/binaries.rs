//! The workspace's service binaries (`venus-auth`, `venus-gateway`, `venus`, …) for tests that
//! run them as processes. `CARGO_BIN_EXE_*` exists only for a crate's own binaries, so they are
//! taken from the test's own target directory (`target/<profile>`), after a
//! `cargo build -p <package> --bin <bin>` that is a no-op when they are up to date
//! (`scripts/test.sh` builds every binary before the tests). `VENUS_SERVICE_BIN_DIR` points
//! at a directory of prebuilt binaries instead.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

use crate::command::run;
use crate::tools::repo_root;

/// Builds `(package, binary)` pairs in the test's profile and returns the directory that
/// holds them.
pub fn workspace_binaries(bins: &[(&str, &str)]) -> anyhow::Result<PathBuf> {
    let dir = match std::env::var_os("VENUS_SERVICE_BIN_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => {
            // target/<profile>/deps/<test binary> → target/<profile>
            let exe = std::env::current_exe()?;
            let profile_dir = exe
                .parent()
                .and_then(Path::parent)
                .context("test binary is not inside target/<profile>/deps")?
                .to_path_buf();
            let cargo = std::env::var_os("CARGO").unwrap_or_else(|| env!("CARGO").into());
            let mut cmd = Command::new(cargo);
            cmd.current_dir(repo_root()).args(["build", "--quiet"]);
            for (package, bin) in bins {
                cmd.args(["-p", package, "--bin", bin]);
            }
            if profile_dir.file_name().is_some_and(|n| n == "release") {
                cmd.arg("--release");
            }
            run(&mut cmd).context("building the service binaries")?;
            profile_dir
        }
    };
    for (_, bin) in bins {
        if !dir.join(bin).is_file() {
            bail!("{} is missing", dir.join(bin).display());
        }
    }
    Ok(dir)
}
