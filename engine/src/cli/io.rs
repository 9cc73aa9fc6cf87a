//! Where a command's output goes: the terminal, or — for a command the
//! command line handed to a running `marc serve` ([`super::control`]) — a
//! buffer sent back to it. Commands print through [`outln!`] and [`errln!`]
//! and read standard input through [`stdin_bytes`], never directly.

use std::cell::RefCell;
use std::io::{Read, Write};

/// A forwarded command's output, and the input the command line sent.
#[derive(Debug, Default)]
pub struct Captured {
    pub out: Vec<u8>,
    pub err: Vec<u8>,
    stdin: Option<Vec<u8>>,
}

thread_local! {
    static CAPTURE: RefCell<Option<Captured>> = const { RefCell::new(None) };
}

/// Runs `f` with its output captured and `stdin` as its input.
pub fn capture<T>(stdin: Option<Vec<u8>>, f: impl FnOnce() -> T) -> (T, Captured) {
    CAPTURE.with(|c| {
        *c.borrow_mut() = Some(Captured {
            stdin,
            ..Default::default()
        })
    });
    let r = f();
    let captured = CAPTURE.with(|c| c.borrow_mut().take()).unwrap_or_default();
    (r, captured)
}

/// Writes to standard output (or the capture).
pub fn out(s: &str) {
    let captured = CAPTURE.with(|c| match c.borrow_mut().as_mut() {
        Some(cap) => {
            cap.out.extend_from_slice(s.as_bytes());
            true
        }
        None => false,
    });
    if !captured {
        let mut o = std::io::stdout().lock();
        let _ = o.write_all(s.as_bytes()).and_then(|_| o.flush());
    }
}

/// Writes to standard error (or the capture).
pub fn err(s: &str) {
    let captured = CAPTURE.with(|c| match c.borrow_mut().as_mut() {
        Some(cap) => {
            cap.err.extend_from_slice(s.as_bytes());
            true
        }
        None => false,
    });
    if !captured {
        let _ = std::io::stderr().lock().write_all(s.as_bytes());
    }
}

/// All of standard input (or what the command line sent).
pub fn stdin_bytes() -> std::io::Result<Vec<u8>> {
    if let Some(b) = CAPTURE.with(|c| c.borrow_mut().as_mut().map(|cap| cap.stdin.take())) {
        return Ok(b.unwrap_or_default());
    }
    let mut v = Vec::new();
    std::io::stdin().read_to_end(&mut v)?;
    Ok(v)
}

/// A password: prompted for without echo (twice) when standard input is a
/// terminal, else read from standard input (or what the command line
/// sent), without its final line break.
pub fn read_password(what: &str) -> std::io::Result<String> {
    use std::io::IsTerminal;
    let captured = CAPTURE.with(|c| c.borrow().is_some());
    if !captured && std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password(format!("{what}: "))?;
        let again = rpassword::prompt_password(format!("{what} again: "))?;
        if first != again {
            return Err(std::io::Error::other("the two passwords differ"));
        }
        return Ok(first);
    }
    let bytes = stdin_bytes()?;
    let s = String::from_utf8(bytes)
        .map_err(|_| std::io::Error::other("standard input is not UTF-8 text"))?;
    Ok(s.strip_suffix('\n')
        .map(|t| t.strip_suffix('\r').unwrap_or(t))
        .unwrap_or(&s)
        .to_string())
}

/// `println!` through [`out`].
macro_rules! outln {
    () => { $crate::cli::io::out("\n") };
    ($($t:tt)*) => { $crate::cli::io::out(&format!("{}\n", format_args!($($t)*))) };
}

/// `print!` through [`out`].
macro_rules! outp {
    ($($t:tt)*) => { $crate::cli::io::out(&format!($($t)*)) };
}

/// `eprintln!` through [`err`].
macro_rules! errln {
    ($($t:tt)*) => { $crate::cli::io::err(&format!("{}\n", format_args!($($t)*))) };
}

pub(crate) use {errln, outln, outp};

#[cfg(test)]
mod tests {
    #[test]
    fn a_capture_takes_output_and_gives_input() {
        let ((), c) = super::capture(Some(b"secret".to_vec()), || {
            outln!("one {}", 1);
            errln!("two");
            assert_eq!(super::stdin_bytes().unwrap(), b"secret");
        });
        assert_eq!(c.out, b"one 1\n");
        assert_eq!(c.err, b"two\n");
    }
}
