//! Running the command-line tools (kubectl, helm, the scripts) with useful errors.

use std::process::{Command, Output};

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
