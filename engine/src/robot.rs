//! Robot manifests: `robots/<system>/robot.toml` says who the robot is in a
//! system, where the system is, what it may do there and which script it runs.

use serde::Deserialize;
use std::path::{Path, PathBuf};

/// How a robot reaches its system.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum DriverKind {
    /// A browser through WebDriver.
    #[default]
    Webdriver,
    /// A canvas in a browser page, read by OCR.
    ScreenCanvas,
    /// An X11 desktop, read by OCR.
    ScreenX11,
}

/// A robot manifest.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// System id; the folder name and the `system` of every document.
    pub system: String,
    /// Display name for people.
    pub name: String,
    pub base_url: String,
    /// Script path, relative to the scripts directory.
    pub script: String,
    /// Vault prefix of the robot's system user: secrets `<credential>.user`
    /// and `<credential>.password`. Never the secret itself.
    pub credential: String,
    #[serde(default)]
    pub driver: DriverKind,
    /// The departments (topics) whose cases the system holds; a request
    /// for other topics skips the system. Empty: unknown, always searched.
    #[serde(default)]
    pub departments: Vec<String>,
    /// Most robot sessions the system allows at once (old systems allow
    /// few); `marc serve` never runs more. Default 2.
    #[serde(default)]
    pub max_sessions: Option<u32>,
    /// The rights profile, enforced by the engine (see marc-rights); parsed
    /// from [`Manifest::raw`] so errors carry line and column.
    #[serde(default)]
    pub rights: toml::Table,
    /// The manifest's text and path, for error messages and the rights parser.
    #[serde(skip)]
    pub raw: String,
    #[serde(skip)]
    pub path: PathBuf,
    /// For screen robots: the program to start (`{url}` is replaced by the base URL).
    #[serde(default)]
    pub program: Option<Vec<String>>,
    /// For canvas robots: the CSS selector of the canvas that is the screen.
    #[serde(default)]
    pub canvas: Option<String>,
    /// For X11 robots: the title of the window that is the screen.
    #[serde(default)]
    pub window: Option<String>,
    /// How the robot logs in, and what an expired session and an error
    /// page look like (see [`crate::runtime::session`]).
    #[serde(default)]
    pub session: Option<crate::runtime::SessionRules>,
}

/// What is wrong with the robots directory or a manifest.
#[derive(Debug, thiserror::Error)]
pub enum RobotConfigError {
    #[error("cannot read the robots directory {dir}: {reason}; pass --robots DIR")]
    Dir { dir: String, reason: String },
    #[error("{file}: {reason}")]
    Manifest { file: String, reason: String },
    #[error("unknown system {name:?}; connected systems are: {known}")]
    UnknownSystem { name: String, known: String },
}

impl Manifest {
    pub fn load(file: &Path) -> Result<Manifest, RobotConfigError> {
        let text = std::fs::read_to_string(file).map_err(|e| RobotConfigError::Manifest {
            file: file.display().to_string(),
            reason: e.to_string(),
        })?;
        let mut m: Manifest = toml::from_str(&text).map_err(|e| RobotConfigError::Manifest {
            file: file.display().to_string(),
            reason: e.to_string().trim().to_string(),
        })?;
        m.raw = text;
        m.path = file.to_path_buf();
        Ok(m)
    }

    /// The rights profile with `$base` resolved against `base_url`.
    pub fn rights_profile(
        &self,
        base_url: &str,
    ) -> Result<marc_rights::RightsProfile, RobotConfigError> {
        let err = |reason: String| RobotConfigError::Manifest {
            file: self.path.display().to_string(),
            reason,
        };
        let p = marc_rights::parse_manifest_rights(&self.raw).map_err(|e| err(e.to_string()))?;
        let dir = self.path.parent().unwrap_or(Path::new("."));
        p.resolve(base_url)
            .and_then(|p| p.resolve_files(dir))
            .map_err(|e| err(e.to_string()))
    }
}

/// All robots under a directory, sorted by system id.
pub fn load_all(dir: &Path) -> Result<Vec<Manifest>, RobotConfigError> {
    let rd = std::fs::read_dir(dir).map_err(|e| RobotConfigError::Dir {
        dir: dir.display().to_string(),
        reason: e.to_string(),
    })?;
    let mut out = Vec::new();
    for entry in rd.flatten() {
        let f = entry.path().join("robot.toml");
        if f.is_file() {
            out.push(Manifest::load(&f)?);
        }
    }
    out.sort_by(|a, b| a.system.cmp(&b.system));
    Ok(out)
}

/// Picks the robots for `wanted` systems (all when empty); unknown names are an error.
pub fn select(all: Vec<Manifest>, wanted: &[String]) -> Result<Vec<Manifest>, RobotConfigError> {
    if wanted.is_empty() {
        return Ok(all);
    }
    let known: Vec<String> = all.iter().map(|m| m.system.clone()).collect();
    for w in wanted {
        if !known.contains(w) {
            return Err(RobotConfigError::UnknownSystem {
                name: w.clone(),
                known: known.join(", "),
            });
        }
    }
    Ok(all
        .into_iter()
        .filter(|m| wanted.contains(&m.system))
        .collect())
}

/// The project's default directories, found next to the working directory or
/// the binary, so `marc` works from a checkout without flags.
pub fn default_dir(name: &str) -> PathBuf {
    let cwd = PathBuf::from(name);
    if cwd.is_dir() {
        return cwd;
    }
    if let Ok(exe) = std::env::current_exe() {
        for anc in exe.ancestors().skip(1) {
            let p = anc.join(name);
            if p.is_dir() && anc.join("Cargo.toml").is_file() {
                return p;
            }
        }
    }
    let manifest_root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(name);
    if manifest_root.is_dir() {
        return manifest_root;
    }
    cwd
}
