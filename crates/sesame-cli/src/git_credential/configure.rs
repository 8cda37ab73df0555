//! `configure` / `unconfigure`: the user's git config (`git config --global`, which honours
//! `GIT_CONFIG_GLOBAL`). `configure` adds `credential.helper = sesame` (for one host:
//! `credential.https://HOST.helper`, `http://` for a host on this machine, and `useHttpPath` there, so git sends the repository);
//! `unconfigure` removes exactly those values, and says what it did.

use std::process::Command;

use anyhow::{bail, Context};

/// The config value for git: a bare name runs `git credential-sesame`.
const HELPER: &str = "sesame";

/// The config section: `credential`, or for one host `credential.https://HOST` (plain
/// `http://` for a host on this machine, the only one the helper answers over http).
fn section(host: Option<&str>) -> String {
    match host {
        Some(h) if super::is_loopback(h) => format!("credential.http://{h}"),
        Some(h) => format!("credential.https://{h}"),
        None => "credential".into(),
    }
}

fn git(args: &[&str]) -> anyhow::Result<std::process::Output> {
    Command::new("git")
        .args(["config", "--global"])
        .args(args)
        .output()
        .context("cannot run git; is it installed and on PATH?")
}

fn values(key: &str) -> anyhow::Result<Vec<String>> {
    let out = git(&["--get-all", key])?;
    Ok(String::from_utf8_lossy(&out.stdout).lines().map(str::to_owned).collect())
}

fn check_host(host: Option<&str>) -> anyhow::Result<()> {
    if let Some(h) = host {
        if h.is_empty() || h.contains(['/', ' ', '\n']) {
            bail!(
                "--host takes a host as git names it (github.com, git.example.com:8443), not `{h}`"
            );
        }
    }
    Ok(())
}

fn set(key: &str, value: &str, add: bool) -> anyhow::Result<()> {
    let out = if add { git(&["--add", key, value])? } else { git(&[key, value])? };
    if !out.status.success() {
        bail!("git config {key} {value} failed: {}", String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(())
}

pub fn configure(host: Option<&str>) -> anyhow::Result<()> {
    check_host(host)?;
    let section = section(host);
    let helper = format!("{section}.helper");
    if values(&helper)?.iter().any(|v| v == HELPER) {
        println!("git already asks Sesame: {helper} = {HELPER} (nothing changed)");
    } else {
        set(&helper, HELPER, true)?;
        println!("added {helper} = {HELPER} to your global git config");
    }
    if host.is_some() {
        let path = format!("{section}.useHttpPath");
        set(&path, "true", false)?;
        println!("set {path} = true (git sends the repository, which the consent question shows)");
    }
    println!(
        "undo with `sesame git-credential unconfigure{}`",
        host.map(|h| format!(" --host {h}")).unwrap_or_default()
    );
    Ok(())
}

pub fn unconfigure(host: Option<&str>) -> anyhow::Result<()> {
    check_host(host)?;
    let section = section(host);
    let helper = format!("{section}.helper");
    if values(&helper)?.iter().any(|v| v == HELPER) {
        // The value is matched as a regular expression: only `sesame` itself.
        let out = git(&["--unset-all", &helper, &format!("^{HELPER}$")])?;
        if !out.status.success() {
            bail!(
                "git config --unset-all {helper} failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        println!("removed {helper} = {HELPER} from your global git config");
    } else {
        println!("{helper} does not name Sesame (nothing to remove)");
    }
    if host.is_some() {
        let path = format!("{section}.useHttpPath");
        if values(&path)?.iter().any(|v| v == "true") {
            git(&["--unset-all", &path])?;
            println!("removed {path}");
        }
    }
    Ok(())
}
