//! Locating the cluster toolchain, and the skip-or-fail rule when it is missing.

use std::path::{Path, PathBuf};

/// Binaries `cluster.sh` needs from the cache, plus the kwok stage definitions.
const CLUSTER_BINARIES: [&str; 7] = [
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "etcd",
    "kwok",
    "kwokctl",
    "helm",
];

/// The built toolchain in the cache (`${VENUS_E2E_CACHE:-$HOME/.cache/venus-e2e}`).
#[derive(Debug, Clone)]
pub struct Tools {
    /// `bin/current` inside the cache: symlinks to the versioned binaries.
    pub bin: PathBuf,
    /// The cache root (passed on to the scripts).
    pub cache: PathBuf,
}

impl Tools {
    /// Finds the toolchain, or says what is missing.
    pub fn locate() -> Result<Self, String> {
        let cache = cache_dir()?;
        let bin = cache.join("bin").join("current");
        let missing: Vec<&str> = CLUSTER_BINARIES
            .iter()
            .copied()
            .filter(|b| !is_executable(&bin.join(b)))
            .collect();
        if !missing.is_empty() {
            return Err(format!(
                "cluster tools missing in {} ({}); build them with e2e/cluster/build-tools.sh",
                bin.display(),
                missing.join(", ")
            ));
        }
        if !bin.join("stage").is_dir() {
            return Err(format!("kwok stages missing in {}/stage", bin.display()));
        }
        if find_on_path("kubectl").is_none() {
            return Err("kubectl not found on PATH".to_owned());
        }
        Ok(Self { bin, cache })
    }

    pub fn helm(&self) -> PathBuf {
        self.bin.join("helm")
    }
}

fn cache_dir() -> Result<PathBuf, String> {
    if let Some(dir) = std::env::var_os("VENUS_E2E_CACHE") {
        return Ok(PathBuf::from(dir));
    }
    let home = std::env::var_os("HOME").ok_or("neither VENUS_E2E_CACHE nor HOME is set")?;
    Ok(PathBuf::from(home).join(".cache").join("venus-e2e"))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

pub fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| is_executable(p))
}

/// Whether this run is CI (`CI` set to anything but empty/"false"/"0").
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// The toolchain, or `None` after printing why `test` is skipped.
///
/// Under CI a missing toolchain is a failure, not a skip: CI must exercise the real cluster.
pub fn require_tools(test: &str) -> Option<Tools> {
    match Tools::locate() {
        Ok(tools) => Some(tools),
        Err(why) if in_ci() => {
            panic!("{test}: CI is set and the cluster tools are unusable: {why}")
        }
        Err(why) => {
            eprintln!("SKIP {test}: {why} (CI is unset, so this is a skip, not a failure)");
            None
        }
    }
}

/// The repository root (parent of the `e2e` crate).
pub fn repo_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}
