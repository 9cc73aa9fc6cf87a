//! The X11 backend: capture with `GetImage`, type and click with the XTEST extension, and an
//! [`Xvfb`] that marc can start itself (`--display auto`).
//!
//! Keys are sent as real key events (XTEST `FakeInput`), not `SendEvent`, because many
//! programs (xterm among them) ignore synthetic events. Characters are looked up in the
//! server's keyboard mapping; characters the mapping lacks (æ ø å under Xvfb's default US
//! map) get a spare keycode remapped to their keysym, as xdotool does. Remapped codes stay
//! mapped for the life of the connection (restored on drop), because a client re-reads the
//! mapping lazily and would otherwise see a code that was already reverted.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use image::RgbaImage;
use x11rb::connection::{Connection, RequestConnection};
use x11rb::errors::{ConnectionError, ReplyError};
use x11rb::protocol::xproto::{
    self, AtomEnum, ConnectionExt as _, ImageFormat, ImageOrder, InputFocus, MapState, Window,
};
use x11rb::protocol::xtest::ConnectionExt as _;
use x11rb::protocol::ErrorKind;
use x11rb::rust_connection::RustConnection;

use crate::error::ScreenError;
use crate::keys::Key;
use crate::Screen;

/// How long to wait for an X server to accept a connection before calling it absent.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

const XK_SHIFT_L: u32 = 0xffe1;

/// The keysym X uses for a key.
pub fn keysym_for(key: Key) -> u32 {
    match key {
        Key::Char(c) => char_keysym(c),
        Key::Enter => 0xff0d,
        Key::Tab => 0xff09,
        Key::Escape => 0xff1b,
        Key::Backspace => 0xff08,
        Key::F(n) => 0xffbe + u32::from(n.clamp(1, 35)) - 1,
        Key::PageUp => 0xff55,
        Key::PageDown => 0xff56,
        Key::Up => 0xff52,
        Key::Down => 0xff54,
        Key::Left => 0xff51,
        Key::Right => 0xff53,
        Key::Home => 0xff50,
        Key::End => 0xff57,
    }
}

/// Keysym of a character: Latin-1 maps directly, everything else through the Unicode range.
pub fn char_keysym(c: char) -> u32 {
    let u = c as u32;
    match c {
        '\n' | '\r' => 0xff0d,
        '\t' => 0xff09,
        _ if (0x20..=0x7e).contains(&u) || (0xa0..=0xff).contains(&u) => u,
        _ => 0x0100_0000 + u,
    }
}

/// Where a keysym sits in the keyboard mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct KeyPos {
    code: u8,
    shift: bool,
}

/// The keyboard mapping as read from the server, plus our remappings of spare codes.
#[derive(Debug, Default)]
struct KeyMap {
    per: u8,
    lookup: HashMap<u32, KeyPos>,
    spare: Vec<u8>,
    /// keysym → spare code it was remapped to, in order of use (for round-robin reuse).
    remapped: Vec<(u32, u8)>,
}

impl KeyMap {
    fn build(min: u8, per: u8, syms: &[u32]) -> KeyMap {
        let mut lookup = HashMap::new();
        let mut spare = Vec::new();
        let per_us = usize::from(per.max(1));
        for (i, chunk) in syms.chunks(per_us).enumerate() {
            let Ok(code) = u8::try_from(usize::from(min) + i) else {
                break;
            };
            if chunk.iter().all(|&s| s == 0) {
                spare.push(code);
                continue;
            }
            // Group 1 only: index 0 = plain, index 1 = shifted.
            if let Some(&s) = chunk.first() {
                if s != 0 {
                    lookup.entry(s).or_insert(KeyPos { code, shift: false });
                    // A lower-case letter with no explicit shifted symbol types its capital.
                    if chunk.get(1).copied().unwrap_or(0) == 0 {
                        if let Some(c) = char::from_u32(s).filter(|c| c.is_lowercase()) {
                            let up: Vec<char> = c.to_uppercase().collect();
                            if up.len() == 1 {
                                lookup
                                    .entry(char_keysym(up[0]))
                                    .or_insert(KeyPos { code, shift: true });
                            }
                        }
                    }
                }
            }
            if let Some(&s) = chunk.get(1) {
                if s != 0 {
                    lookup.entry(s).or_insert(KeyPos { code, shift: true });
                }
            }
        }
        // Use the highest spare codes first: low ones are more likely to be claimed by xkb.
        spare.reverse();
        KeyMap {
            per,
            lookup,
            spare,
            remapped: Vec::new(),
        }
    }
}

/// What a screen is bound to: the whole root window or one top-level window.
#[derive(Debug, Clone)]
struct Target {
    window: Window,
    name: String,
}

/// An X11 display a robot can look at and type into (root window, or one window by name).
pub struct X11Screen {
    conn: RustConnection,
    display: String,
    root: Window,
    width: u16,
    height: u16,
    target: Option<Target>,
    keymap: KeyMap,
    /// Pause after each key event pair; some programs drop keys that arrive in one burst.
    pub key_delay: Duration,
}

impl std::fmt::Debug for X11Screen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

fn x11_err(display: &str, e: impl std::fmt::Display) -> ScreenError {
    ScreenError::X11 {
        display: display.to_string(),
        reason: e.to_string(),
    }
}

/// Connect with a timeout, so an X server that accepts but never answers cannot hang a robot.
fn connect_with_timeout(display: &str) -> Result<(RustConnection, usize), ScreenError> {
    let (tx, rx) = mpsc::channel();
    let name = display.to_string();
    std::thread::Builder::new()
        .name("x11-connect".into())
        .spawn(move || {
            let _ = tx.send(x11rb::connect(Some(&name)));
        })
        .map_err(|e| x11_err(display, e))?;
    match rx.recv_timeout(CONNECT_TIMEOUT) {
        Ok(Ok(c)) => Ok(c),
        Ok(Err(e)) => Err(ScreenError::NoDisplay {
            display: display.into(),
            reason: e.to_string(),
        }),
        Err(_) => Err(ScreenError::NoDisplay {
            display: display.into(),
            reason: format!("no answer within {} s", CONNECT_TIMEOUT.as_secs()),
        }),
    }
}

impl X11Screen {
    /// Connect to a display such as `":99"`. Fails clearly (within [`CONNECT_TIMEOUT`]) when
    /// nothing listens there or the server lacks XTEST.
    pub fn connect(display: &str) -> Result<X11Screen, ScreenError> {
        if display.trim().is_empty() {
            return Err(ScreenError::NoDisplay {
                display: display.into(),
                reason: "empty display name (expected e.g. :99)".into(),
            });
        }
        let (conn, screen_num) = connect_with_timeout(display)?;
        let screen = conn
            .setup()
            .roots
            .get(screen_num)
            .ok_or_else(|| x11_err(display, format!("no screen {screen_num}")))?;
        let (root, width, height) = (screen.root, screen.width_in_pixels, screen.height_in_pixels);
        let has_xtest = conn
            .extension_information(x11rb::protocol::xtest::X11_EXTENSION_NAME)
            .map_err(|e| x11_err(display, e))?
            .is_some();
        if !has_xtest {
            return Err(ScreenError::MissingExtension {
                display: display.into(),
                extension: "XTEST",
                purpose: "send keys and clicks",
            });
        }
        let mut s = X11Screen {
            conn,
            display: display.to_string(),
            root,
            width,
            height,
            target: None,
            keymap: KeyMap::default(),
            key_delay: Duration::from_millis(2),
        };
        s.reload_keymap()?;
        Ok(s)
    }

    /// Connect and bind to the first window whose title or class contains `name`
    /// (case-insensitive), waiting up to `wait` for it to appear.
    pub fn connect_window(
        display: &str,
        name: &str,
        wait: Duration,
    ) -> Result<X11Screen, ScreenError> {
        let mut s = X11Screen::connect(display)?;
        s.bind_window(name, wait)?;
        Ok(s)
    }

    /// The display name this screen is connected to.
    pub fn display(&self) -> &str {
        &self.display
    }

    /// Size of the whole display.
    pub fn root_size(&self) -> (u32, u32) {
        (u32::from(self.width), u32::from(self.height))
    }

    /// Capture and type into one window from now on (found by title or class, waiting up
    /// to `wait`). Coordinates given to `click_at` are then relative to that window.
    pub fn bind_window(&mut self, name: &str, wait: Duration) -> Result<(), ScreenError> {
        let deadline = Instant::now() + wait;
        loop {
            let (found, seen) = self.find_window(name)?;
            if let Some(window) = found {
                self.target = Some(Target {
                    window,
                    name: name.to_string(),
                });
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(ScreenError::NoSuchWindow {
                    name: name.into(),
                    display: self.display.clone(),
                    seen: if seen.is_empty() {
                        "none".into()
                    } else {
                        seen.join(", ")
                    },
                });
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Go back to the whole display.
    pub fn unbind_window(&mut self) {
        self.target = None;
    }

    /// Titles of the viewable windows, for error messages and for choosing a window.
    pub fn window_titles(&self) -> Result<Vec<String>, ScreenError> {
        Ok(self.find_window("\u{0}")?.1)
    }

    fn find_window(&self, name: &str) -> Result<(Option<Window>, Vec<String>), ScreenError> {
        let needle = name.to_lowercase();
        let net_wm_name = self.atom(b"_NET_WM_NAME")?;
        let utf8 = self.atom(b"UTF8_STRING")?;
        let mut seen = Vec::new();
        let mut stack: Vec<(Window, u8)> = vec![(self.root, 0)];
        while let Some((w, depth)) = stack.pop() {
            if w != self.root {
                // A window can vanish while we walk: skip it.
                let Ok(Ok(attr)) = self.conn.get_window_attributes(w).map(|c| c.reply()) else {
                    continue;
                };
                if attr.map_state != MapState::VIEWABLE {
                    continue;
                }
                let mut names = Vec::new();
                for (prop, ty) in [
                    (net_wm_name, utf8),
                    (AtomEnum::WM_NAME.into(), AtomEnum::STRING.into()),
                    (AtomEnum::WM_CLASS.into(), AtomEnum::STRING.into()),
                ] {
                    if let Ok(Ok(r)) = self
                        .conn
                        .get_property(false, w, prop, ty, 0, 256)
                        .map(|c| c.reply())
                    {
                        let v = String::from_utf8_lossy(&r.value).replace('\0', " ");
                        let v = v.trim().to_string();
                        if !v.is_empty() {
                            names.push(v);
                        }
                    }
                }
                if let Some(first) = names.first() {
                    seen.push(first.clone());
                }
                if names.iter().any(|n| n.to_lowercase().contains(&needle)) {
                    return Ok((Some(w), seen));
                }
            }
            if depth < 3 {
                if let Ok(Ok(tree)) = self.conn.query_tree(w).map(|c| c.reply()) {
                    // Topmost last in the reply: push in order so the topmost is popped first.
                    for c in tree.children {
                        stack.push((c, depth + 1));
                    }
                }
            }
        }
        Ok((None, seen))
    }

    fn atom(&self, name: &[u8]) -> Result<u32, ScreenError> {
        Ok(self
            .conn
            .intern_atom(false, name)
            .map_err(|e| self.err(e))?
            .reply()
            .map_err(|e| self.err(e))?
            .atom)
    }

    fn err(&self, e: impl std::fmt::Display) -> ScreenError {
        x11_err(&self.display, e)
    }

    /// Map a reply error on the bound window to `WindowGone` when the window no longer exists.
    fn window_err(&self, e: ReplyError) -> ScreenError {
        if let (ReplyError::X11Error(x), Some(t)) = (&e, &self.target) {
            if matches!(
                x.error_kind,
                ErrorKind::Window | ErrorKind::Drawable | ErrorKind::Match
            ) {
                return ScreenError::WindowGone {
                    name: t.name.clone(),
                    id: t.window,
                };
            }
        }
        self.err(e)
    }

    fn reload_keymap(&mut self) -> Result<(), ScreenError> {
        let setup = self.conn.setup();
        let (min, max) = (setup.min_keycode, setup.max_keycode);
        let r = self
            .conn
            .get_keyboard_mapping(min, max - min + 1)
            .map_err(|e| self.err(e))?
            .reply()
            .map_err(|e| self.err(e))?;
        self.keymap = KeyMap::build(min, r.keysyms_per_keycode, &r.keysyms);
        Ok(())
    }

    /// The area of the bound window in root coordinates, or the whole root.
    fn area(&self) -> Result<(i16, i16, u16, u16), ScreenError> {
        let Some(t) = &self.target else {
            return Ok((0, 0, self.width, self.height));
        };
        let geo = self
            .conn
            .get_geometry(t.window)
            .map_err(|e| self.err(e))?
            .reply()
            .map_err(|e| self.window_err(e))?;
        let tr = self
            .conn
            .translate_coordinates(t.window, self.root, 0, 0)
            .map_err(|e| self.err(e))?
            .reply()
            .map_err(|e| self.window_err(e))?;
        // Clip to the root so GetImage does not fail with BadMatch for off-screen parts.
        let x0 = tr.dst_x.max(0);
        let y0 = tr.dst_y.max(0);
        let x1 = (i32::from(tr.dst_x) + i32::from(geo.width)).min(i32::from(self.width));
        let y1 = (i32::from(tr.dst_y) + i32::from(geo.height)).min(i32::from(self.height));
        if x1 <= i32::from(x0) || y1 <= i32::from(y0) {
            return Err(self.err(format!("window '{}' is off screen", t.name)));
        }
        Ok((
            x0,
            y0,
            (x1 - i32::from(x0)) as u16,
            (y1 - i32::from(y0)) as u16,
        ))
    }

    fn fake(&self, kind: u8, detail: u8, x: i16, y: i16) -> Result<(), ScreenError> {
        self.conn
            .xtest_fake_input(kind, detail, x11rb::CURRENT_TIME, self.root, x, y, 0)
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Round trip: makes sure the server has processed everything sent so far, and turns a
    /// dead connection into an error instead of a silent no-op.
    fn sync(&self) -> Result<(), ScreenError> {
        self.conn
            .get_input_focus()
            .map_err(|e| self.err(e))?
            .reply()
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Find or make a keycode for a keysym.
    fn position(&mut self, sym: u32, what: Key) -> Result<KeyPos, ScreenError> {
        if let Some(p) = self.keymap.lookup.get(&sym) {
            return Ok(*p);
        }
        if let Some((_, code)) = self.keymap.remapped.iter().find(|(s, _)| *s == sym) {
            return Ok(KeyPos {
                code: *code,
                shift: false,
            });
        }
        let code = if let Some(c) = self.keymap.spare.pop() {
            c
        } else if !self.keymap.remapped.is_empty() {
            // Reuse the least recently remapped code; make sure earlier keys were processed.
            self.sync()?;
            std::thread::sleep(Duration::from_millis(20));
            self.keymap.remapped.remove(0).1
        } else {
            return Err(match what {
                Key::Char(c) => ScreenError::Untypable(c),
                _ => self.err(format!("no keycode for key {}", what.name())),
            });
        };
        let per = self.keymap.per.max(1);
        let syms = vec![sym; usize::from(per).min(2)]
            .into_iter()
            .chain(std::iter::repeat(0))
            .take(usize::from(per))
            .collect::<Vec<u32>>();
        self.conn
            .change_keyboard_mapping(1, code, per, &syms)
            .map_err(|e| self.err(e))?;
        self.sync()?;
        self.keymap.remapped.push((sym, code));
        Ok(KeyPos { code, shift: false })
    }

    fn focus_target(&self) -> Result<(), ScreenError> {
        if let Some(t) = &self.target {
            self.conn
                .set_input_focus(InputFocus::PARENT, t.window, x11rb::CURRENT_TIME)
                .map_err(|e| self.err(e))?;
            // A BadWindow for a closed window arrives as an error event; check it now.
            self.conn
                .get_window_attributes(t.window)
                .map_err(|e| self.err(e))?
                .reply()
                .map_err(|e| self.window_err(e))?;
        }
        Ok(())
    }
}

impl Drop for X11Screen {
    fn drop(&mut self) {
        // Give clients a moment to consume the last keys before restoring the spare codes.
        if self.keymap.remapped.is_empty() {
            return;
        }
        let _ = self.sync();
        std::thread::sleep(Duration::from_millis(50));
        let per = self.keymap.per.max(1);
        let zeros = vec![0u32; usize::from(per)];
        for (_, code) in &self.keymap.remapped {
            let _ = self.conn.change_keyboard_mapping(1, *code, per, &zeros);
        }
        let _ = self.conn.flush();
    }
}

/// Decode a `GetImage` Z-pixmap reply into RGBA using the server's pixel format.
pub(crate) fn zpixmap_to_rgba(
    data: &[u8],
    width: u16,
    height: u16,
    bits_per_pixel: u8,
    scanline_pad: u8,
    lsb_first: bool,
    masks: (u32, u32, u32),
) -> Result<RgbaImage, ScreenError> {
    if bits_per_pixel != 32 && bits_per_pixel != 24 {
        return Err(ScreenError::PixelFormat(format!(
            "{bits_per_pixel} bits per pixel"
        )));
    }
    let bpp = usize::from(bits_per_pixel / 8);
    let pad = usize::from(scanline_pad.max(8) / 8);
    let row = (usize::from(width) * bpp).div_ceil(pad) * pad;
    let need = row * usize::from(height);
    if data.len() < need {
        return Err(ScreenError::PixelFormat(format!(
            "image data is {} bytes, expected {need}",
            data.len()
        )));
    }
    let shift_of = |m: u32| if m == 0 { 0 } else { m.trailing_zeros() };
    let scale_of = |m: u32| {
        let bits = m.count_ones();
        if bits == 0 || bits >= 8 {
            1
        } else {
            255 / ((1u32 << bits) - 1)
        }
    };
    let (rm, gm, bm) = masks;
    let mut out = RgbaImage::new(u32::from(width), u32::from(height));
    for y in 0..usize::from(height) {
        let line = &data[y * row..y * row + usize::from(width) * bpp];
        for (x, px) in line.chunks_exact(bpp).enumerate() {
            let mut v: u32 = 0;
            if lsb_first {
                for (i, b) in px.iter().enumerate() {
                    v |= u32::from(*b) << (8 * i);
                }
            } else {
                for b in px {
                    v = (v << 8) | u32::from(*b);
                }
            }
            let c = |m: u32| (((v & m) >> shift_of(m)) * scale_of(m)).min(255) as u8;
            out.put_pixel(x as u32, y as u32, image::Rgba([c(rm), c(gm), c(bm), 255]));
        }
    }
    Ok(out)
}

impl Screen for X11Screen {
    fn capture(&mut self) -> Result<RgbaImage, ScreenError> {
        let (x, y, w, h) = self.area()?;
        let reply = self
            .conn
            .get_image(ImageFormat::Z_PIXMAP, self.root, x, y, w, h, !0)
            .map_err(|e| self.err(e))?
            .reply()
            .map_err(|e| self.window_err(e))?;
        let setup = self.conn.setup();
        let fmt = setup
            .pixmap_formats
            .iter()
            .find(|f| f.depth == reply.depth)
            .ok_or_else(|| {
                ScreenError::PixelFormat(format!("no pixmap format for depth {}", reply.depth))
            })?;
        let visual = setup
            .roots
            .iter()
            .flat_map(|s| s.allowed_depths.iter())
            .flat_map(|d| d.visuals.iter())
            .find(|v| v.visual_id == reply.visual)
            .ok_or_else(|| {
                ScreenError::PixelFormat(format!("unknown visual 0x{:x}", reply.visual))
            })?;
        if visual.class != xproto::VisualClass::TRUE_COLOR
            && visual.class != xproto::VisualClass::DIRECT_COLOR
        {
            return Err(ScreenError::PixelFormat(format!(
                "visual class {:?}",
                visual.class
            )));
        }
        zpixmap_to_rgba(
            &reply.data,
            w,
            h,
            fmt.bits_per_pixel,
            fmt.scanline_pad,
            setup.image_byte_order == ImageOrder::LSB_FIRST,
            (visual.red_mask, visual.green_mask, visual.blue_mask),
        )
    }

    fn keys(&mut self, keys: &[Key]) -> Result<(), ScreenError> {
        self.focus_target()?;
        let shift = self
            .keymap
            .lookup
            .get(&XK_SHIFT_L)
            .map(|p| p.code)
            .ok_or_else(|| self.err("the keyboard mapping has no Shift_L"))?;
        for &k in keys {
            let pos = self.position(keysym_for(k), k)?;
            if pos.shift {
                self.fake(xproto::KEY_PRESS_EVENT, shift, 0, 0)?;
            }
            self.fake(xproto::KEY_PRESS_EVENT, pos.code, 0, 0)?;
            self.fake(xproto::KEY_RELEASE_EVENT, pos.code, 0, 0)?;
            if pos.shift {
                self.fake(xproto::KEY_RELEASE_EVENT, shift, 0, 0)?;
            }
            if !self.key_delay.is_zero() {
                self.conn
                    .flush()
                    .map_err(|e: ConnectionError| self.err(e))?;
                std::thread::sleep(self.key_delay);
            }
        }
        self.sync()
    }

    fn click_at(&mut self, x: i32, y: i32) -> Result<(), ScreenError> {
        let (ox, oy, w, h) = self.area()?;
        if x < 0 || y < 0 || x >= i32::from(w) || y >= i32::from(h) {
            return Err(self.err(format!(
                "click at ({x}, {y}) is outside the captured area {w}×{h}"
            )));
        }
        let rx = (i32::from(ox) + x) as i16;
        let ry = (i32::from(oy) + y) as i16;
        self.fake(xproto::MOTION_NOTIFY_EVENT, 0, rx, ry)?;
        self.fake(xproto::BUTTON_PRESS_EVENT, 1, 0, 0)?;
        self.fake(xproto::BUTTON_RELEASE_EVENT, 1, 0, 0)?;
        self.sync()
    }

    fn describe(&self) -> String {
        match &self.target {
            Some(t) => format!(
                "X11 display {} window '{}' (0x{:x})",
                self.display, t.name, t.window
            ),
            None => format!(
                "X11 display {} ({}×{})",
                self.display, self.width, self.height
            ),
        }
    }
}

/// An Xvfb server started by marc: picks a free display number, waits until it accepts
/// connections, and is stopped (SIGTERM, then SIGKILL) when dropped, or killed when the
/// thread that started it ends with its process.
pub struct Xvfb {
    child: Child,
    display: String,
    log: PathBuf,
}

impl Xvfb {
    /// Start a 1280×800×24 Xvfb on a free display.
    pub fn start() -> Result<Xvfb, ScreenError> {
        Xvfb::start_with_size(1280, 800)
    }

    /// Start an Xvfb of the given size on a free display.
    pub fn start_with_size(width: u32, height: u32) -> Result<Xvfb, ScreenError> {
        // One start at a time within this process, so two threads do not pick the same number.
        static STARTING: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let _guard = STARTING.lock().unwrap_or_else(|e| e.into_inner());
        let base = 100 + (std::process::id() % 300);
        let mut last = String::new();
        let mut tried = 0;
        for n in (base..base + 400).map(|n| 100 + n % 400) {
            if PathBuf::from(format!("/tmp/.X{n}-lock")).exists()
                || PathBuf::from(format!("/tmp/.X11-unix/X{n}")).exists()
            {
                continue;
            }
            tried += 1;
            match Xvfb::try_start(n, width, height) {
                Ok(x) => return Ok(x),
                Err(e @ ScreenError::XvfbMissing(_)) => return Err(e),
                Err(e) => last = e.to_string(),
            }
            if tried >= 5 {
                break;
            }
        }
        Err(ScreenError::XvfbStart(format!(
            "no free display found; last error: {last}"
        )))
    }

    fn try_start(n: u32, width: u32, height: u32) -> Result<Xvfb, ScreenError> {
        let display = format!(":{n}");
        let log = std::env::temp_dir().join(format!("marc-xvfb-{n}-{}.log", std::process::id()));
        let log_file = std::fs::File::create(&log)
            .map_err(|e| ScreenError::XvfbStart(format!("cannot create {}: {e}", log.display())))?;
        let mut cmd = Command::new("Xvfb");
        // SAFETY: prctl is async-signal-safe. The server dies with the thread
        // that started it, even if this process is killed outright.
        unsafe {
            use std::os::unix::process::CommandExt;
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let child = cmd
            .arg(&display)
            .args([
                "-screen",
                "0",
                &format!("{width}x{height}x24"),
                "-nolisten",
                "tcp",
                "-noreset",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log_file)
            .spawn()
            .map_err(|e| {
                if e.kind() == std::io::ErrorKind::NotFound {
                    ScreenError::XvfbMissing(e.to_string())
                } else {
                    ScreenError::XvfbStart(e.to_string())
                }
            })?;
        let mut x = Xvfb {
            child,
            display,
            log,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        let socket = PathBuf::from(format!("/tmp/.X11-unix/X{n}"));
        let lock = PathBuf::from(format!("/tmp/.X{n}-lock"));
        loop {
            if let Ok(Some(status)) = x.child.try_wait() {
                let msg = std::fs::read_to_string(&x.log).unwrap_or_default();
                return Err(ScreenError::XvfbStart(format!(
                    "Xvfb {} exited with {status}: {}",
                    x.display,
                    crate::error::excerpt(msg.trim(), 400)
                )));
            }
            // Ready when the lock file names *our* process (not a server that already held
            // this display) and the server accepts a connection.
            let ours = std::fs::read_to_string(&lock)
                .ok()
                .and_then(|s| s.trim().parse::<u32>().ok())
                == Some(x.child.id());
            if ours && socket.exists() && x11rb::connect(Some(&x.display)).is_ok() {
                return Ok(x);
            }
            if Instant::now() >= deadline {
                return Err(ScreenError::XvfbStart(format!(
                    "Xvfb {} did not accept connections within 10 s",
                    x.display
                )));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The display name, e.g. `":117"`, to pass to [`X11Screen::connect`] and as `DISPLAY`.
    pub fn display(&self) -> &str {
        &self.display
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Xvfb {
    fn drop(&mut self) {
        if let Ok(pid) = i32::try_from(self.child.id()) {
            // SAFETY: plain kill(2) on our own child's pid, which we have not reaped yet.
            unsafe {
                libc::kill(pid, libc::SIGTERM);
            }
        }
        let deadline = Instant::now() + Duration::from_secs(2);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                let _ = std::fs::remove_file(&self.log);
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keysyms() {
        assert_eq!(char_keysym('a'), 0x61);
        assert_eq!(char_keysym('æ'), 0xe6);
        assert_eq!(char_keysym('Ø'), 0xd8);
        assert_eq!(char_keysym('€'), 0x0100_20ac);
        assert_eq!(keysym_for(Key::F(8)), 0xffc5);
        assert_eq!(keysym_for(Key::Enter), 0xff0d);
    }

    #[test]
    fn keymap_finds_plain_shifted_and_spare_codes() {
        // codes 10..13, 2 syms each: [a A], [1 !], [none], [ø none]
        let syms = [0x61, 0x41, 0x31, 0x21, 0, 0, 0xf8, 0];
        let m = KeyMap::build(10, 2, &syms);
        assert_eq!(
            m.lookup[&0x61],
            KeyPos {
                code: 10,
                shift: false
            }
        );
        assert_eq!(
            m.lookup[&0x41],
            KeyPos {
                code: 10,
                shift: true
            }
        );
        assert_eq!(
            m.lookup[&0x21],
            KeyPos {
                code: 11,
                shift: true
            }
        );
        assert_eq!(
            m.lookup[&0xd8],
            KeyPos {
                code: 13,
                shift: true
            }
        );
        assert_eq!(m.spare, vec![12]);
    }

    #[test]
    fn decodes_bgrx_pixels() {
        // 2×1, 32 bpp LSB first: pixel 0 pure red, pixel 1 pure blue.
        let data = [0, 0, 255, 0, 255, 0, 0, 0];
        let img = zpixmap_to_rgba(&data, 2, 1, 32, 32, true, (0xff0000, 0xff00, 0xff)).unwrap();
        assert_eq!(img.get_pixel(0, 0).0, [255, 0, 0, 255]);
        assert_eq!(img.get_pixel(1, 0).0, [0, 0, 255, 255]);
        assert!(zpixmap_to_rgba(&data[..4], 2, 1, 32, 32, true, (0xff0000, 0xff00, 0xff)).is_err());
    }
}
