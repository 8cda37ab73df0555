//! Child processes that are always reaped: a [`Guard`] kills its child when dropped.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// Spawns `cmd` with stderr (and stdout, unless `pipe_stdout`) appended to `log`.
pub fn spawn_logged(mut cmd: Command, log: &Path, pipe_stdout: bool) -> Child {
    let file = File::options().create(true).append(true).open(log).unwrap();
    cmd.stderr(file.try_clone().unwrap());
    cmd.stdout(if pipe_stdout { Stdio::piped() } else { Stdio::from(file) });
    cmd.spawn().unwrap_or_else(|e| panic!("cannot start {:?}: {e}", cmd.get_program()))
}

pub struct Guard {
    name: &'static str,
    child: Option<Child>,
    log: PathBuf,
}

impl Guard {
    pub fn new(name: &'static str, child: Child, log: PathBuf) -> Guard {
        Guard { name, child: Some(child), log }
    }

    pub fn child(&mut self) -> &mut Child {
        self.child.as_mut().unwrap()
    }

    pub fn log(&self) -> String {
        format!(
            "--- {} log ({}) ---\n{}",
            self.name,
            self.log.display(),
            std::fs::read_to_string(&self.log).unwrap_or_default()
        )
    }

    /// SIGTERM, then SIGKILL after 10 s; returns how it ended.
    pub fn terminate(&mut self) -> ExitStatus {
        let mut child = self.child.take().unwrap();
        // SAFETY: kill(2) on a pid we spawned and have not reaped yet.
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                return child.wait().unwrap();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn kill(&mut self) {
        let mut child = self.child.take().unwrap();
        let _ = child.kill();
        let _ = child.wait();
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if self.child.is_some() {
            self.terminate();
        }
    }
}
