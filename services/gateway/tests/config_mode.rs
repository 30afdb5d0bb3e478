//! `<repo>/config.toml` holds the venus-auth token: only its owner may read it.

#![allow(clippy::unwrap_used)]

#[cfg(unix)]
#[test]
fn the_written_config_is_private() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    // An older, world-readable file is replaced by a private one.
    std::fs::write(&path, "").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    venus_gateway::config::Config::default()
        .save(dir.path())
        .unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert!(venus_gateway::config::Config::load_file(&path).is_ok());
}
