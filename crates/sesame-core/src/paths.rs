//! Where Sesame keeps things, from the environment (XDG base directories).

use std::path::PathBuf;

#[derive(Debug, Clone)]
pub struct Paths {
    /// `$SESAME_CONFIG`, else `$XDG_CONFIG_HOME/sesame/config.toml`.
    pub config_file: PathBuf,
    /// `$SESAME_DATA_DIR`, else `$XDG_DATA_HOME/sesame`: the SQLite file.
    pub data_dir: PathBuf,
    /// `$SESAME_SOCKET`, else `$XDG_RUNTIME_DIR/sesame/sesame.sock`.
    pub socket: PathBuf,
}

#[derive(Debug, thiserror::Error)]
#[error("cannot tell where {what} goes: set {var} (or HOME)")]
pub struct PathsError {
    what: &'static str,
    var: &'static str,
}

impl Paths {
    pub fn from_env() -> Result<Paths, PathsError> {
        Self::from_lookup(|k| std::env::var_os(k).filter(|v| !v.is_empty()).map(PathBuf::from))
    }

    fn from_lookup(var: impl Fn(&str) -> Option<PathBuf>) -> Result<Paths, PathsError> {
        let home = var("HOME");
        let config_file = match var("SESAME_CONFIG") {
            Some(p) => p,
            None => var("XDG_CONFIG_HOME")
                .or_else(|| home.as_ref().map(|h| h.join(".config")))
                .ok_or(PathsError {
                    what: "the config file",
                    var: "SESAME_CONFIG or XDG_CONFIG_HOME",
                })?
                .join("sesame/config.toml"),
        };
        let data_dir = match var("SESAME_DATA_DIR") {
            Some(p) => p,
            None => var("XDG_DATA_HOME")
                .or_else(|| home.as_ref().map(|h| h.join(".local/share")))
                .ok_or(PathsError {
                    what: "the data directory",
                    var: "SESAME_DATA_DIR or XDG_DATA_HOME",
                })?
                .join("sesame"),
        };
        // No fallback to /tmp for the socket: a shared directory is where squatting happens.
        let socket = match var("SESAME_SOCKET") {
            Some(p) => p,
            None => var("XDG_RUNTIME_DIR")
                .ok_or(PathsError { what: "the socket", var: "SESAME_SOCKET or XDG_RUNTIME_DIR" })?
                .join("sesame/sesame.sock"),
        };
        Ok(Paths { config_file, data_dir, socket })
    }

    pub fn database(&self) -> PathBuf {
        self.data_dir.join("sesame.db")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xdg_defaults_and_overrides() {
        let p = Paths::from_lookup(|k| match k {
            "HOME" => Some("/h".into()),
            "XDG_RUNTIME_DIR" => Some("/run/user/1".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(p.config_file, PathBuf::from("/h/.config/sesame/config.toml"));
        assert_eq!(p.database(), PathBuf::from("/h/.local/share/sesame/sesame.db"));
        assert_eq!(p.socket, PathBuf::from("/run/user/1/sesame/sesame.sock"));
        let p = Paths::from_lookup(|k| match k {
            "SESAME_SOCKET" => Some("/s.sock".into()),
            "SESAME_CONFIG" => Some("/c.toml".into()),
            "SESAME_DATA_DIR" => Some("/d".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(
            (p.socket, p.config_file, p.data_dir),
            ("/s.sock".into(), "/c.toml".into(), "/d".into())
        );
        assert!(
            Paths::from_lookup(|k| (k == "HOME").then(|| "/h".into())).is_err(),
            "no runtime dir, no socket"
        );
    }
}
