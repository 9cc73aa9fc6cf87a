//! The terminal case system as a pure state machine: keys in, 80×24 screens out.
//!
//! Both front ends (the HTML canvas and the real terminal program) drive one
//! [`TerminalApp`] per session, so the robot meets exactly the same screens in
//! the browser and in an X11 window. Nothing here does I/O except appending to
//! the [`RequestLog`], which is how tests see what the robot did.

use crate::server::{password_of, LogEntry, RequestLog};
use crate::world::{legacy_date, Case, TbDocument, World};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Rows of the screen.
pub const ROWS: usize = 24;
/// Columns of the screen.
pub const COLS: usize = 80;
/// Width the document text is wrapped to (it is drawn from column 1).
pub const TEXT_WIDTH: usize = 78;
/// The system name in every screen's header line.
pub const SYSTEM_NAME: &str = "SAGSYS/3270 – KOMMUNAL SAGSBEHANDLING";
/// The line that ends the last page of every document.
pub const END_MARKER: &str = "*** SLUT PÅ DOKUMENT ***";
/// The system id used in log entries and in [`World::cases_for`].
pub const SYSTEM: &str = "terminal";

/// Message after a failed login.
pub const MSG_BAD_LOGIN: &str = "FORKERT BRUGER ELLER ADGANGSKODE";
/// Message on the login screen when the session expired.
pub const MSG_EXPIRED: &str = "SESSION UDLØBET – LOG IND IGEN";
/// Message when a search finds no cases.
pub const MSG_NO_CASES: &str = "INGEN SAGER FUNDET";

/// First screen row of a document's text.
const DOC_TEXT_TOP: usize = 5;
/// Text rows per document page (rows 5..=21).
const DOC_TEXT_ROWS: usize = 17;
/// First row of a list's entries.
const LIST_TOP: usize = 4;
/// Row of the `VÆLG NR:` field.
const INPUT_ROW: usize = 21;
/// Row of the message line.
const MSG_ROW: usize = 22;
/// Row of the function-key footer.
const FOOTER_ROW: usize = 23;

/// A key the operator (or robot) presses. PageDown/PageUp act as PF8/PF7.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TermKey {
    /// A printable character (letters including æøå, digits, `-`, space …).
    Char(char),
    Enter,
    Tab,
    Backspace,
    /// F1–F12 (the PF keys of a 3270).
    F(u8),
    PageUp,
    PageDown,
    Escape,
}

impl TermKey {
    /// Parses a key name as the canvas page and robots send it: a single
    /// character, or `Enter`, `Tab`, `Backspace`, `Escape`, `PageUp`,
    /// `PageDown`, `F1`…`F12` (also `PF1`…`PF12`, case-insensitive).
    pub fn parse(name: &str) -> Option<TermKey> {
        let mut chars = name.chars();
        if let (Some(c), None) = (chars.next(), chars.next()) {
            return (!c.is_control()).then_some(TermKey::Char(c));
        }
        let lower = name.to_ascii_lowercase();
        Some(match lower.as_str() {
            "enter" | "return" => TermKey::Enter,
            "tab" => TermKey::Tab,
            "backspace" => TermKey::Backspace,
            "escape" | "esc" => TermKey::Escape,
            "pageup" => TermKey::PageUp,
            "pagedown" => TermKey::PageDown,
            _ => {
                let n = lower
                    .strip_prefix("pf")
                    .or_else(|| lower.strip_prefix('f'))?
                    .parse::<u8>()
                    .ok()?;
                if !(1..=12).contains(&n) {
                    return None;
                }
                TermKey::F(n)
            }
        })
    }
}

/// What the terminal shows: 24 lines of exactly 80 characters and the cursor.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Screen {
    pub lines: Vec<String>,
    /// `(row, col)`, both from 0.
    pub cursor: (usize, usize),
}

impl Screen {
    /// The screen as one string, lines joined with `\n` (for tests and logs).
    pub fn text(&self) -> String {
        self.lines.join("\n")
    }
}

/// How the terminal system behaves.
#[derive(Clone, Debug)]
pub struct TerminalConfig {
    /// The session expires after this many key events since login: the next
    /// Enter shows the login screen. 0 = never.
    pub expire_after: u32,
    /// Documents per page in a case's document list.
    pub list_page_size: usize,
    /// The date in the header, `DD.MM.YYYY` (fixed in tests for stable screens).
    pub date: String,
}

impl Default for TerminalConfig {
    fn default() -> Self {
        TerminalConfig {
            expire_after: 200,
            list_page_size: 5,
            date: chrono::Local::now().format("%d.%m.%Y").to_string(),
        }
    }
}

/// Which screen is up, with its input fields and position.
#[derive(Clone, Debug)]
enum View {
    Login {
        user: String,
        pass: String,
        on_pass: bool,
    },
    Menu {
        choice: String,
    },
    Search {
        cpr: String,
    },
    Cases {
        cpr: String,
        page: usize,
        nr: String,
    },
    DocList {
        cpr: String,
        case_id: String,
        page: usize,
        nr: String,
    },
    Document {
        cpr: String,
        case_id: String,
        list_page: usize,
        doc_id: String,
        page: usize,
    },
}

/// One session of the terminal system (one operator at one terminal).
pub struct TerminalApp {
    world: Arc<World>,
    cfg: TerminalConfig,
    view: View,
    message: String,
    user: Option<String>,
    keys_since_login: u32,
    log: RequestLog,
    exit: bool,
}

impl TerminalApp {
    /// A session at the login screen. Events go to an in-memory log until
    /// [`TerminalApp::with_log`] shares another.
    pub fn new(world: Arc<World>, cfg: TerminalConfig) -> TerminalApp {
        TerminalApp {
            world,
            cfg,
            view: login_view(),
            message: String::new(),
            user: None,
            keys_since_login: 0,
            log: RequestLog::default(),
            exit: false,
        }
    }

    /// Records events (logins, screens shown) in `log`, e.g. the testbed's.
    pub fn with_log(mut self, log: RequestLog) -> TerminalApp {
        self.log = log;
        self
    }

    /// The log this session writes to.
    pub fn log(&self) -> &RequestLog {
        &self.log
    }

    /// The logged-in user, if any.
    pub fn user(&self) -> Option<&str> {
        self.user.as_deref()
    }

    /// True after F3 on the menu: the terminal program exits, the canvas
    /// shows the login screen again.
    pub fn wants_exit(&self) -> bool {
        self.exit
    }

    /// Handles one key press.
    pub fn key(&mut self, k: TermKey) {
        let k = match k {
            TermKey::PageDown => TermKey::F(8),
            TermKey::PageUp => TermKey::F(7),
            k => k,
        };
        if self.user.is_some() {
            if k == TermKey::Enter
                && self.cfg.expire_after > 0
                && self.keys_since_login >= self.cfg.expire_after
            {
                self.user = None;
                self.view = login_view();
                self.message = MSG_EXPIRED.to_string();
                self.event("/login?expired=1", 200);
                return;
            }
            self.keys_since_login = self.keys_since_login.saturating_add(1);
        }
        self.message.clear();
        match k {
            TermKey::Char(c) => self.type_char(c),
            TermKey::Backspace => {
                if let Some(f) = self.field_mut() {
                    f.pop();
                }
            }
            TermKey::Escape => {
                if let Some(f) = self.field_mut() {
                    f.clear();
                }
            }
            TermKey::Tab => {
                if let View::Login { on_pass, .. } = &mut self.view {
                    *on_pass = !*on_pass;
                }
            }
            TermKey::Enter => self.enter(),
            TermKey::F(3) => self.back(),
            TermKey::F(1) => {
                self.message = "ENTER=VÆLG  PF7/PF8=BLA  F3=TILBAGE  ESC=RYD FELT".into()
            }
            TermKey::F(n @ (7 | 8)) => self.page(n == 8),
            TermKey::F(_) | TermKey::PageUp | TermKey::PageDown => {
                self.message = "FUNKTIONSTAST IKKE AKTIV".into()
            }
        }
    }

    /// Types a character into the current field, if any and if it fits.
    fn type_char(&mut self, c: char) {
        let max = self.field_len();
        let Some(f) = self.field_mut() else {
            self.message = "INGEN INDTASTNING PÅ DETTE BILLEDE".into();
            return;
        };
        if f.chars().count() >= max {
            self.message = "FELTET ER FULDT".into();
            return;
        }
        f.push(c);
        // User ids are upper case on this system, as on a real mainframe.
        if let View::Login {
            user,
            on_pass: false,
            ..
        } = &mut self.view
        {
            *user = user.to_uppercase();
        }
    }

    /// The input field the cursor is in.
    fn field_mut(&mut self) -> Option<&mut String> {
        match &mut self.view {
            View::Login {
                user,
                pass,
                on_pass,
            } => Some(if *on_pass { pass } else { user }),
            View::Menu { choice } => Some(choice),
            View::Search { cpr } => Some(cpr),
            View::Cases { nr, .. } | View::DocList { nr, .. } => Some(nr),
            View::Document { .. } => None,
        }
    }

    /// The length of the current field.
    fn field_len(&self) -> usize {
        match &self.view {
            View::Login { .. } => 10,
            View::Menu { .. } => 2,
            View::Search { .. } => 11,
            View::Cases { .. } | View::DocList { .. } => 3,
            View::Document { .. } => 0,
        }
    }

    fn enter(&mut self) {
        match self.view.clone() {
            View::Login { user, pass, .. } => {
                let ok = password_of(SYSTEM, &user) == Some(pass.as_str());
                self.log.push(LogEntry {
                    system: SYSTEM.into(),
                    method: "LOGIN".into(),
                    path: "/login".into(),
                    user: Some(user.clone()),
                    status: if ok { 200 } else { 401 },
                    forbidden: false,
                });
                if ok {
                    self.user = Some(user);
                    self.keys_since_login = 0;
                    self.show(View::Menu {
                        choice: String::new(),
                    });
                } else {
                    self.view = login_view();
                    self.message = MSG_BAD_LOGIN.into();
                }
            }
            View::Menu { choice } => match choice.trim() {
                "1" => self.show(View::Search { cpr: String::new() }),
                _ => {
                    self.message = "UGYLDIGT VALG – TAST 1".into();
                    self.view = View::Menu {
                        choice: String::new(),
                    };
                }
            },
            View::Search { cpr } => match normalise_cpr(&cpr) {
                None => self.message = "UGYLDIGT CPR-NR – BRUG DDMMÅÅ-LLLL".into(),
                Some(cpr) if self.cases(&cpr).is_empty() => self.message = MSG_NO_CASES.into(),
                Some(cpr) => self.show(View::Cases {
                    cpr,
                    page: 0,
                    nr: String::new(),
                }),
            },
            View::Cases { cpr, nr, page } => {
                let cases = self.cases(&cpr);
                let picked = pick(&nr, cases.len()).map(|i| cases[i].case_id.clone());
                match picked {
                    Some(case_id) => self.show(View::DocList {
                        cpr,
                        case_id,
                        page: 0,
                        nr: String::new(),
                    }),
                    None => self.bad_nr(View::Cases {
                        cpr,
                        page,
                        nr: String::new(),
                    }),
                }
            }
            View::DocList {
                cpr,
                case_id,
                page,
                nr,
            } => {
                let docs = self.docs(&case_id);
                let picked = pick(&nr, docs.len()).map(|i| docs[i].doc_id.clone());
                match picked {
                    Some(doc_id) => self.show(View::Document {
                        doc_id,
                        cpr,
                        case_id,
                        list_page: page,
                        page: 0,
                    }),
                    None => self.bad_nr(View::DocList {
                        cpr,
                        case_id,
                        page,
                        nr: String::new(),
                    }),
                }
            }
            View::Document { .. } => {
                self.message = "TAST PF8 FOR NÆSTE SIDE, F3 FOR TILBAGE".into()
            }
        }
    }

    fn bad_nr(&mut self, v: View) {
        self.view = v;
        self.message = "UGYLDIGT NR".into();
    }

    /// F3: one screen back; on the menu, sign off.
    fn back(&mut self) {
        let v = match self.view.clone() {
            View::Login { .. } => {
                self.message = "LOG IND MED BRUGER OG ADGANGSKODE".into();
                return;
            }
            View::Menu { .. } => {
                self.exit = true;
                self.user = None;
                self.view = login_view();
                self.message = "DU ER LOGGET AF".into();
                self.event("/logoff", 200);
                return;
            }
            View::Search { .. } => View::Menu {
                choice: String::new(),
            },
            View::Cases { .. } => View::Search { cpr: String::new() },
            View::DocList { cpr, .. } => View::Cases {
                cpr,
                page: 0,
                nr: String::new(),
            },
            View::Document {
                cpr,
                case_id,
                list_page,
                ..
            } => View::DocList {
                cpr,
                case_id,
                page: list_page,
                nr: String::new(),
            },
        };
        self.show(v);
    }

    /// PF8 (`forward`) / PF7 on a paged screen.
    fn page(&mut self, forward: bool) {
        let pages = self.pages();
        let page = match &mut self.view {
            View::Cases { page, .. } | View::DocList { page, .. } | View::Document { page, .. } => {
                page
            }
            _ => {
                self.message = "FUNKTIONSTAST IKKE AKTIV".into();
                return;
            }
        };
        if forward && *page + 1 >= pages {
            self.message = "SIDSTE SIDE".into();
        } else if !forward && *page == 0 {
            self.message = "FØRSTE SIDE".into();
        } else {
            if forward {
                *page += 1;
            } else {
                *page -= 1;
            }
            let v = self.view.clone();
            self.show(v);
        }
    }

    /// How many pages the current screen has.
    fn pages(&self) -> usize {
        let per = self.cfg.list_page_size.max(1);
        match &self.view {
            View::Cases { cpr, .. } => self.cases(cpr).len().div_ceil(LIST_ROWS).max(1),
            View::DocList { case_id, .. } => self.docs(case_id).len().div_ceil(per).max(1),
            View::Document { doc_id, .. } => self.world.document(doc_id).map_or(1, |d| {
                document_lines(d).len().div_ceil(DOC_TEXT_ROWS).max(1)
            }),
            _ => 1,
        }
    }

    /// Switches to `v` and logs the screen shown.
    fn show(&mut self, v: View) {
        let path = match &v {
            View::Login { .. } => "/login".to_string(),
            View::Menu { .. } => "/menu".to_string(),
            View::Search { .. } => "/search".to_string(),
            View::Cases { cpr, page, .. } => format!("/cases?cpr={cpr}&page={}", page + 1),
            View::DocList { case_id, page, .. } => format!("/case?id={case_id}&page={}", page + 1),
            View::Document { doc_id, page, .. } => format!("/doc?id={doc_id}&page={}", page + 1),
        };
        self.view = v;
        self.event(&path, 200);
    }

    fn event(&self, path: &str, status: u16) {
        self.log.push(LogEntry {
            system: SYSTEM.into(),
            method: "SCREEN".into(),
            path: path.into(),
            user: self.user.clone(),
            status,
            forbidden: false,
        });
    }

    fn cases<'a>(&'a self, cpr: &'a str) -> Vec<&'a Case> {
        self.world.cases_for(SYSTEM, cpr).collect()
    }

    fn docs<'a>(&'a self, case_id: &'a str) -> Vec<&'a TbDocument> {
        self.world
            .documents_of_case(case_id)
            .filter(|d| d.system == SYSTEM)
            .collect()
    }

    /// The screen as it looks now.
    pub fn screen(&self) -> Screen {
        let mut s = Canvas::new();
        s.put(0, 0, SYSTEM_NAME);
        s.put(0, COLS - self.cfg.date.chars().count(), &self.cfg.date);
        let cursor = match &self.view {
            View::Login {
                user,
                pass,
                on_pass,
            } => {
                s.put(2, 2, "LOG IND");
                s.put(5, 2, "BRUGER:");
                s.field(5, 16, user, 10);
                s.put(7, 2, "ADGANGSKODE:");
                s.field(7, 16, &"*".repeat(pass.chars().count()), 10);
                s.put(FOOTER_ROW, 0, "ENTER=LOG IND  TAB=NÆSTE FELT");
                if *on_pass {
                    (7, 16 + pass.chars().count().min(9))
                } else {
                    (5, 16 + user.chars().count().min(9))
                }
            }
            View::Menu { choice } => {
                s.put(2, 2, "HOVEDMENU");
                s.put(5, 4, "1 SØG BORGER");
                s.put(INPUT_ROW, 2, "VALG:");
                s.field(INPUT_ROW, 8, choice, 2);
                s.put(FOOTER_ROW, 0, "ENTER=VÆLG  F1=HJÆLP  F3=AFSLUT");
                (INPUT_ROW, 8 + choice.chars().count().min(1))
            }
            View::Search { cpr } => {
                s.put(2, 2, "SØG BORGER");
                s.put(5, 2, "CPR-NR:");
                s.field(5, 11, cpr, 11);
                s.put(7, 2, "FORMAT: DDMMÅÅ-LLLL ELLER 10 CIFRE");
                s.put(FOOTER_ROW, 0, "ENTER=SØG  F1=HJÆLP  F3=TILBAGE");
                (5, 11 + cpr.chars().count().min(10))
            }
            View::Cases { cpr, page, nr } => {
                let cases = self.cases(cpr);
                let name = self.world.citizen(cpr).map_or("", |c| c.name.as_str());
                s.put(2, 2, &format!("SAGER FOR {cpr}  {name}"));
                s.put(3, 0, "NR  SAGSNR      AFDELING         TITEL");
                let pages = cases.len().div_ceil(LIST_ROWS).max(1);
                for (i, c) in cases
                    .iter()
                    .enumerate()
                    .skip(page * LIST_ROWS)
                    .take(LIST_ROWS)
                {
                    let row = LIST_TOP + i - page * LIST_ROWS;
                    s.put(
                        row,
                        0,
                        &format!(
                            "{:<4}{:<12}{:<17}{}",
                            i + 1,
                            c.case_id,
                            c.department,
                            c.title
                        ),
                    );
                }
                self.list_footer(&mut s, nr, *page, pages)
            }
            View::DocList {
                case_id, page, nr, ..
            } => {
                let docs = self.docs(case_id);
                let title = self.world.case(case_id).map_or("", |c| c.title.as_str());
                s.put(2, 2, &format!("DOKUMENTER I SAG {case_id}  {title}"));
                s.put(3, 0, "NR  DOK-ID    DATO       TYPE          TITEL");
                let per = self.cfg.list_page_size.max(1);
                let pages = docs.len().div_ceil(per).max(1);
                for (i, d) in docs.iter().enumerate().skip(page * per).take(per) {
                    let row = LIST_TOP + i - page * per;
                    s.put(
                        row,
                        0,
                        &format!(
                            "{:<4}{:<10}{:<11}{:<14}{}",
                            i + 1,
                            d.doc_id,
                            legacy_date(&d.date),
                            d.kind,
                            d.title
                        ),
                    );
                }
                self.list_footer(&mut s, nr, *page, pages)
            }
            View::Document { doc_id, page, .. } => {
                let pages = self.pages();
                if let Some(d) = self.world.document(doc_id) {
                    s.put(
                        1,
                        0,
                        &format!(
                            "DOK-ID: {}   SAG: {}   DATO: {}",
                            d.doc_id,
                            d.case_id,
                            legacy_date(&d.date)
                        ),
                    );
                    s.put(
                        2,
                        0,
                        &format!("TYPE: {}   AFDELING: {}", d.kind, d.department),
                    );
                    s.put(3, 0, &format!("TITEL: {}", d.title));
                    for (i, l) in document_lines(d)
                        .iter()
                        .skip(page * DOC_TEXT_ROWS)
                        .take(DOC_TEXT_ROWS)
                        .enumerate()
                    {
                        s.put(DOC_TEXT_TOP + i, 1, l);
                    }
                }
                s.put(
                    FOOTER_ROW,
                    0,
                    &format!(
                        "PF7=FORRIGE  PF8=NÆSTE  F3=TILBAGE   SIDE {} AF {pages}",
                        page + 1
                    ),
                );
                (FOOTER_ROW, COLS - 1)
            }
        };
        s.put(MSG_ROW, 0, &self.message);
        Screen {
            lines: s.lines(),
            cursor,
        }
    }

    /// The `VÆLG NR:` field and paging footer of the two list screens.
    fn list_footer(&self, s: &mut Canvas, nr: &str, page: usize, pages: usize) -> (usize, usize) {
        s.put(INPUT_ROW, 0, "VÆLG NR:");
        s.field(INPUT_ROW, 9, nr, 3);
        s.put(
            FOOTER_ROW,
            0,
            &format!(
                "ENTER=VÆLG  PF7=FORRIGE SIDE  PF8=NÆSTE SIDE  F3=TILBAGE   SIDE {} AF {pages}",
                page + 1
            ),
        );
        (INPUT_ROW, 9 + nr.chars().count().min(2))
    }
}

/// Case rows per page of the case list.
const LIST_ROWS: usize = 16;

fn login_view() -> View {
    View::Login {
        user: String::new(),
        pass: String::new(),
        on_pass: false,
    }
}

/// The 1-based number `nr` as an index below `len`.
fn pick(nr: &str, len: usize) -> Option<usize> {
    let n: usize = nr.trim().parse().ok()?;
    (1..=len).contains(&n).then(|| n - 1)
}

/// `DDMMYY-SSSS` or ten digits → `DDMMYY-SSSS`; anything else → `None`.
pub fn normalise_cpr(s: &str) -> Option<String> {
    let s = s.trim();
    let digits: String = s.chars().filter(char::is_ascii_digit).collect();
    let shape_ok = match s.len() {
        10 => s.chars().all(|c| c.is_ascii_digit()),
        11 => s.as_bytes()[6] == b'-' && digits.len() == 10,
        _ => false,
    };
    shape_ok.then(|| format!("{}-{}", &digits[..6], &digits[6..]))
}

/// Word-wraps `text` (paragraphs separated by `"\n\n"`) to `width` columns:
/// greedy, one empty line between paragraphs. A word longer than `width` is
/// cut (the generated texts have none).
pub fn wrap_text(text: &str, width: usize) -> Vec<String> {
    let mut out = Vec::new();
    for (i, para) in text.split("\n\n").enumerate() {
        if i > 0 {
            out.push(String::new());
        }
        let mut line = String::new();
        for word in para.split_whitespace() {
            let mut word: Vec<char> = word.chars().collect();
            while word.len() > width {
                if !line.is_empty() {
                    out.push(std::mem::take(&mut line));
                }
                out.push(word.drain(..width).collect());
            }
            let n = line.chars().count();
            if n > 0 && n + 1 + word.len() > width {
                out.push(std::mem::take(&mut line));
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.extend(word);
        }
        if !line.is_empty() {
            out.push(line);
        }
    }
    out
}

/// The inverse of [`wrap_text`] as a robot does it: lines joined with single
/// spaces, an empty line starts a new paragraph (`"\n\n"`).
pub fn unwrap_text<S: AsRef<str>>(lines: &[S]) -> String {
    let mut paras: Vec<String> = Vec::new();
    let mut cur = String::new();
    for l in lines {
        let l = l.as_ref().trim();
        if l.is_empty() {
            if !cur.is_empty() {
                paras.push(std::mem::take(&mut cur));
            }
        } else {
            if !cur.is_empty() {
                cur.push(' ');
            }
            cur.push_str(l);
        }
    }
    if !cur.is_empty() {
        paras.push(cur);
    }
    paras.join("\n\n")
}

/// All text lines of a document's pages: the wrapped text, an empty line and
/// [`END_MARKER`].
fn document_lines(d: &TbDocument) -> Vec<String> {
    let mut lines = wrap_text(&d.text, TEXT_WIDTH);
    lines.push(String::new());
    lines.push(END_MARKER.to_string());
    lines
}

/// A 24×80 grid of characters being drawn.
struct Canvas(Vec<Vec<char>>);

impl Canvas {
    fn new() -> Canvas {
        Canvas(vec![vec![' '; COLS]; ROWS])
    }

    /// Writes `s` at (row, col), cut at the right edge.
    fn put(&mut self, row: usize, col: usize, s: &str) {
        if let Some(line) = self.0.get_mut(row) {
            for (cell, c) in line.iter_mut().skip(col).zip(s.chars()) {
                *cell = c;
            }
        }
    }

    /// An input field: its value, then underscores to its length.
    fn field(&mut self, row: usize, col: usize, value: &str, len: usize) {
        let n = value.chars().count();
        self.put(
            row,
            col,
            &format!("{value}{}", "_".repeat(len.saturating_sub(n))),
        );
    }

    fn lines(self) -> Vec<String> {
        self.0
            .into_iter()
            .map(|l| l.into_iter().collect())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::DEMO_SEED;

    fn app_with(expire_after: u32) -> TerminalApp {
        let cfg = TerminalConfig {
            expire_after,
            date: "23.11.2026".into(),
            ..TerminalConfig::default()
        };
        TerminalApp::new(Arc::new(World::generate(DEMO_SEED)), cfg)
    }

    fn typ(app: &mut TerminalApp, s: &str) {
        for c in s.chars() {
            app.key(TermKey::Char(c));
        }
    }

    fn login(app: &mut TerminalApp) {
        typ(app, "robot03");
        app.key(TermKey::Tab);
        typ(app, "TERM2018");
        app.key(TermKey::Enter);
    }

    fn has(app: &TerminalApp, s: &str) -> bool {
        app.screen().text().contains(s)
    }

    #[test]
    fn screens_are_24_by_80() {
        let mut app = app_with(0);
        let check = |app: &TerminalApp| {
            let s = app.screen();
            assert_eq!(s.lines.len(), ROWS);
            assert!(
                s.lines.iter().all(|l| l.chars().count() == COLS),
                "{}",
                s.text()
            );
            assert!(s.cursor.0 < ROWS && s.cursor.1 < COLS);
            assert!(s.lines[0].starts_with(SYSTEM_NAME) && s.lines[0].ends_with("23.11.2026"));
        };
        check(&app);
        login(&mut app);
        check(&app);
    }

    #[test]
    fn wrong_password_then_login() {
        let mut app = app_with(0);
        typ(&mut app, "ROBOT03");
        app.key(TermKey::Tab);
        typ(&mut app, "WRONG");
        assert!(
            has(&app, "*****_____") && !has(&app, "WRONG"),
            "password shown masked"
        );
        app.key(TermKey::Enter);
        assert!(has(&app, MSG_BAD_LOGIN) && has(&app, "ADGANGSKODE:"));
        assert_eq!(app.user(), None);
        login(&mut app);
        assert!(has(&app, "1 SØG BORGER") && has(&app, "F3=AFSLUT"));
        let logins: Vec<u16> = app
            .log()
            .entries()
            .iter()
            .filter(|e| e.method == "LOGIN")
            .map(|e| e.status)
            .collect();
        assert_eq!(logins, [401, 200]);
    }

    /// Logs in and opens the first case of the demo citizen.
    fn to_doclist(app: &mut TerminalApp) -> String {
        login(app);
        typ(app, "1");
        app.key(TermKey::Enter);
        assert!(has(app, "CPR-NR:"));
        let cpr = app.world.demo_citizen().cpr.clone();
        typ(app, &cpr.replace('-', ""));
        app.key(TermKey::Enter);
        assert!(
            has(app, "NR  SAGSNR      AFDELING         TITEL"),
            "{}",
            app.screen().text()
        );
        let case = app.cases(&cpr)[0].case_id.clone();
        assert!(app.screen().lines[LIST_TOP].starts_with(&format!("1   {case}")));
        typ(app, "1");
        app.key(TermKey::Enter);
        assert!(has(app, &format!("DOKUMENTER I SAG {case}")));
        case
    }

    #[test]
    fn navigate_and_read_every_page() {
        let mut app = app_with(0);
        let case = to_doclist(&mut app);
        let docs: Vec<TbDocument> = app.docs(&case).into_iter().cloned().collect();
        assert!(docs.len() >= 3);
        for (i, d) in docs.iter().enumerate() {
            typ(&mut app, &(i + 1).to_string());
            app.key(TermKey::Enter);
            assert!(has(&app, &format!("DOK-ID: {}", d.doc_id)));
            assert!(has(&app, &format!("TITEL: {}", d.title)));
            let mut lines = Vec::new();
            loop {
                let s = app.screen();
                lines.extend(
                    s.lines[DOC_TEXT_TOP..DOC_TEXT_TOP + DOC_TEXT_ROWS]
                        .iter()
                        .cloned(),
                );
                if s.text().contains(END_MARKER) {
                    break;
                }
                app.key(TermKey::PageDown);
                assert!(lines.len() < 20 * DOC_TEXT_ROWS, "no end marker");
            }
            app.key(TermKey::F(8));
            assert!(has(&app, "SIDSTE SIDE"));
            let text = unwrap_text(&lines);
            let text = text.strip_suffix(END_MARKER).unwrap_or(&text).trim_end();
            assert_eq!(text, d.text);
            app.key(TermKey::F(3));
            assert!(has(&app, "NR  DOK-ID"));
        }
        app.key(TermKey::F(3));
        app.key(TermKey::F(3));
        app.key(TermKey::F(3));
        assert!(has(&app, "HOVEDMENU"));
        app.key(TermKey::F(3));
        assert!(app.wants_exit() && has(&app, "LOG IND"));
    }

    #[test]
    fn multi_page_document_and_paged_doclist() {
        let mut app = app_with(0);
        login(&mut app);
        // A terminal document that needs three pages, and a case with more
        // documents than one list page holds.
        let w = app.world.clone();
        let d = w
            .documents
            .iter()
            .filter(|d| d.system == SYSTEM)
            .max_by_key(|d| document_lines(d).len())
            .cloned()
            .expect("terminal documents");
        assert!(document_lines(&d).len() > DOC_TEXT_ROWS);
        let docs = app.docs(&d.case_id);
        let idx = docs.iter().position(|x| x.doc_id == d.doc_id).unwrap_or(0);
        app.view = View::DocList {
            cpr: d.cpr.clone(),
            case_id: d.case_id.clone(),
            page: 0,
            nr: String::new(),
        };
        typ(&mut app, &(idx + 1).to_string());
        app.key(TermKey::Enter);
        let pages = app.pages();
        assert!(has(&app, &format!("SIDE 1 AF {pages}")) && pages >= 2);
        app.key(TermKey::F(7));
        assert!(has(&app, "FØRSTE SIDE"));
        for p in 2..=pages {
            app.key(TermKey::F(8));
            assert!(has(&app, &format!("SIDE {p} AF {pages}")));
        }
        assert!(has(&app, END_MARKER));
        app.key(TermKey::PageUp);
        assert!(!has(&app, END_MARKER));

        let big = w
            .cases
            .iter()
            .find(|c| c.system == SYSTEM && app.docs(&c.case_id).len() > 5)
            .expect("a case with more than 5 documents");
        app.view = View::DocList {
            cpr: big.cpr.clone(),
            case_id: big.case_id.clone(),
            page: 0,
            nr: String::new(),
        };
        assert!(has(&app, "SIDE 1 AF 2"));
        app.key(TermKey::F(8));
        assert!(app.screen().lines[LIST_TOP].starts_with("6   "));
    }

    #[test]
    fn session_expires_on_enter() {
        let mut app = app_with(30);
        to_doclist(&mut app);
        let mut n = 0;
        loop {
            typ(&mut app, "1");
            app.key(TermKey::Enter);
            if app.user().is_none() {
                break;
            }
            assert!(has(&app, "DOK-ID:"), "{}", app.screen().text());
            app.key(TermKey::F(3));
            n += 1;
            assert!(n < 30);
        }
        // 15 counted keys to reach the document list, then 3 per round: the
        // sixth round's Enter comes after 31 keys.
        assert_eq!(n, 5);
        assert!(has(&app, MSG_EXPIRED) && has(&app, "BRUGER:"));
        assert!(app
            .log()
            .entries()
            .iter()
            .any(|e| e.path == "/login?expired=1"));
        login(&mut app);
        assert!(has(&app, "HOVEDMENU"), "state lost: back at the menu");
    }

    #[test]
    fn search_errors() {
        let mut app = app_with(0);
        login(&mut app);
        typ(&mut app, "1");
        app.key(TermKey::Enter);
        typ(&mut app, "12345");
        app.key(TermKey::Enter);
        assert!(has(&app, "UGYLDIGT CPR-NR"));
        app.key(TermKey::Escape);
        typ(&mut app, "010101-0000");
        app.key(TermKey::Enter);
        assert!(has(&app, MSG_NO_CASES));
        typ(&mut app, "9");
        assert!(has(&app, "FELTET ER FULDT"));
    }

    #[test]
    fn wrap_round_trips() {
        let w = World::generate(DEMO_SEED);
        for d in w.documents.iter().filter(|d| d.system == SYSTEM) {
            let lines = wrap_text(&d.text, TEXT_WIDTH);
            assert!(lines.iter().all(|l| l.chars().count() <= TEXT_WIDTH));
            assert_eq!(unwrap_text(&lines), d.text);
        }
        assert_eq!(wrap_text("abcdef gh", 3), ["abc", "def", "gh"]);
    }

    #[test]
    fn key_names() {
        assert_eq!(TermKey::parse("ø"), Some(TermKey::Char('ø')));
        assert_eq!(TermKey::parse("PF8"), Some(TermKey::F(8)));
        assert_eq!(TermKey::parse("f12"), Some(TermKey::F(12)));
        assert_eq!(TermKey::parse("F13"), None);
        assert_eq!(TermKey::parse("PageDown"), Some(TermKey::PageDown));
        assert_eq!(TermKey::parse("Hyper"), None);
        assert_eq!(normalise_cpr("0101011234").as_deref(), Some("010101-1234"));
        assert_eq!(normalise_cpr("010101 1234"), None);
    }
}
