//! Files a script holds — screenshots, downloads — as handles: the bytes
//! stay in the engine, so a screenshot of a whole window or a large PDF
//! does not trip the sandbox's size limits, and `ocr`, `pdf_text`,
//! `attachment_text` and `emit` take the handle as it is.

use std::sync::{Arc, Mutex, Weak};

/// A file held by a robot (the Rhai type `File`).
#[derive(Clone, Debug)]
pub struct FileHandle(Arc<FileData>);

/// What a [`FileHandle`] holds.
#[derive(Debug)]
pub struct FileData {
    pub name: String,
    pub mime: String,
    /// Where it came from (a URL, or `screenshot`).
    pub url: String,
    pub bytes: Vec<u8>,
}

impl FileHandle {
    pub fn data(&self) -> &FileData {
        &self.0
    }

    pub fn is_pdf(&self) -> bool {
        self.0.mime.contains("pdf") || self.0.bytes.starts_with(b"%PDF")
    }

    pub fn is_image(&self) -> bool {
        self.0.mime.starts_with("image/")
            || self.0.bytes.starts_with(b"\x89PNG")
            || self.0.bytes.starts_with(b"\xff\xd8")
    }

    /// How the handle shows in a log line or a recording.
    pub fn describe(&self) -> String {
        format!(
            "File({}, {}, {} bytes)",
            self.0.name,
            self.0.mime,
            self.0.bytes.len()
        )
    }
}

/// The files a run holds, so their total size stays bounded: a handle is
/// cheap for the sandbox to hold, so the engine counts what is behind it.
pub struct FileRegistry {
    live: Mutex<Vec<Weak<FileData>>>,
    limit: usize,
}

impl Default for FileRegistry {
    fn default() -> Self {
        FileRegistry {
            live: Mutex::default(),
            limit: MAX_LIVE_BYTES,
        }
    }
}

/// How much file data one robot may hold at once.
pub const MAX_LIVE_BYTES: usize = 512 * 1024 * 1024;

impl FileRegistry {
    /// A new handle, unless the robot would then hold more than its limit
    /// ([`MAX_LIVE_BYTES`]) in files still in use.
    pub fn register(&self, data: FileData) -> Result<FileHandle, String> {
        let mut live = self.live.lock().map_err(|_| "the file registry failed")?;
        live.retain(|w| w.strong_count() > 0);
        let held: usize = live
            .iter()
            .filter_map(Weak::upgrade)
            .map(|d| d.bytes.len())
            .sum();
        if held + data.bytes.len() > self.limit {
            return Err(format!(
                "the robot holds {} MB of files already; at most {} MB at once",
                held >> 20,
                self.limit >> 20
            ));
        }
        let a = Arc::new(data);
        live.push(Arc::downgrade(&a));
        Ok(FileHandle(a))
    }
}

/// Registers the `File` type and its properties into `engine`.
pub fn register_type(engine: &mut rhai::Engine) {
    engine
        .register_type_with_name::<FileHandle>("File")
        .register_get("name", |f: &mut FileHandle| f.0.name.clone())
        .register_get("mime", |f: &mut FileHandle| f.0.mime.clone())
        .register_get("url", |f: &mut FileHandle| f.0.url.clone())
        .register_get("size", |f: &mut FileHandle| f.0.bytes.len() as i64)
        .register_get("bytes", |f: &mut FileHandle| {
            rhai::Dynamic::from_blob(f.0.bytes.clone())
        })
        .register_fn("to_string", |f: &mut FileHandle| f.describe())
        .register_fn("to_debug", |f: &mut FileHandle| f.describe());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_files_are_bounded_and_freed_ones_are_not_counted() {
        let r = FileRegistry {
            limit: 1000,
            ..Default::default()
        };
        let big = |n| FileData {
            name: "x".into(),
            mime: "image/png".into(),
            url: String::new(),
            bytes: vec![0; n],
        };
        let a = r.register(big(990)).unwrap();
        assert!(r.register(big(20)).unwrap_err().contains("at most"));
        drop(a);
        r.register(big(20)).unwrap();
    }
}
