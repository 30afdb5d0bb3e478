//! Running the command-line tools (kubectl, helm, the scripts) with useful errors.

use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};

use anyhow::{Context, bail};

/// Renders a command line for error messages.
pub fn describe(cmd: &Command) -> String {
    let mut line = cmd.get_program().to_string_lossy().into_owned();
    for arg in cmd.get_args() {
        line.push(' ');
        line.push_str(&arg.to_string_lossy());
    }
    line
}

fn output(cmd: &mut Command) -> anyhow::Result<Output> {
    cmd.output()
        .with_context(|| format!("cannot run `{}`", describe(cmd)))
}

/// Runs `cmd` and returns its stdout; a non-zero exit is an error carrying stderr.
pub fn run(cmd: &mut Command) -> anyhow::Result<String> {
    let out = output(cmd)?;
    if !out.status.success() {
        bail!(
            "`{}` failed ({}):\n{}{}",
            describe(cmd),
            out.status,
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Runs `cmd`, which must fail; returns its stderr (plus stdout) for the message checks.
pub fn run_expecting_failure(cmd: &mut Command) -> anyhow::Result<String> {
    let out = output(cmd)?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    if out.status.success() {
        bail!(
            "`{}` succeeded but was expected to fail:\n{text}",
            describe(cmd)
        );
    }
    Ok(text)
}

/// Runs `cmd` with `input` on stdin and returns stdout.
pub fn run_with_stdin(cmd: &mut Command, input: &str) -> anyhow::Result<String> {
    run_stdin(cmd, input, true)
}

/// Runs `cmd` with `input` on stdin; it must fail. Returns stderr + stdout.
pub fn run_with_stdin_expecting_failure(cmd: &mut Command, input: &str) -> anyhow::Result<String> {
    run_stdin(cmd, input, false)
}

fn run_stdin(cmd: &mut Command, input: &str, want_success: bool) -> anyhow::Result<String> {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot run `{}`", describe(cmd)))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(input.as_bytes())?;
    }
    let out = child.wait_with_output()?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    match (out.status.success(), want_success) {
        (true, true) => Ok(stdout),
        (false, false) => Ok(format!("{stderr}{stdout}")),
        (false, true) => bail!(
            "`{}` failed ({}):\n{stderr}{stdout}",
            describe(cmd),
            out.status
        ),
        (true, false) => bail!(
            "`{}` succeeded but was expected to fail:\n{stdout}",
            describe(cmd)
        ),
    }
}

/// A child process of a test, killed on drop, its stdout and stderr kept in a log file for
/// failure messages.
pub struct LoggedChild {
    pub child: Child,
    log: PathBuf,
}

impl LoggedChild {
    /// Starts `cmd` with its output going to `log`; panics (in the test) if it cannot start.
    #[allow(clippy::expect_used)]
    pub fn spawn(cmd: &mut Command, log: PathBuf) -> Self {
        let file = std::fs::File::create(&log).expect("log file");
        let child = cmd
            .stdout(Stdio::from(file.try_clone().expect("log")))
            .stderr(Stdio::from(file))
            .spawn()
            .expect("spawn");
        Self { child, log }
    }

    /// What the process has written so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for LoggedChild {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
