//! The green-screen case system as a pure state machine: keys in, an 80×24 screen out.
//! Both front ends (ANSI terminal, HTML canvas) only draw [`Terminal::view`] and forward keys
//! to [`Terminal::input`], so a robot meets exactly the same screens on either.
//!
//! Screens: KS001 login → KS002 menu (PF2 = CPR-søgning) → KS100 CPR search → KS110 case
//! list → KS120 document list → KS130 document pages (PF8 = næste side, PF7 = forrige side);
//! PF3 = tilbage everywhere. Text is laid out with spaces around `=` because OCR reads
//! `PF8=Næste` as `PF8=Neste` but `PF8 = Næste` correctly.

use std::sync::Arc;

use marc_testbed::world::legacy_date;
use marc_testbed::World;
use serde::{Deserialize, Serialize};

/// Columns of the screen.
pub const COLS: usize = 80;
/// Rows of the screen.
pub const ROWS: usize = 24;
/// Body lines per document page.
pub const DOC_LINES: usize = 16;
/// Width documents are wrapped to.
pub const WRAP: usize = 76;
/// Rows per page in the case and document lists.
pub const LIST_ROWS: usize = 12;

/// A key the system understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Input {
    Char(char),
    Enter,
    Tab,
    Backspace,
    Escape,
    /// PF1–PF12.
    F(u8),
    PageUp,
    PageDown,
}

impl Input {
    /// Parse a key name as sent by the canvas page (`KeyboardEvent.key`) or a test:
    /// a single character, or `Enter`, `Tab`, `Backspace`, `Escape`, `F1`–`F12`, `PageUp`,
    /// `PageDown`. Unknown names are `None` (and ignored by the system, as a terminal would).
    pub fn from_name(name: &str) -> Option<Input> {
        let mut chars = name.chars();
        if let (Some(c), None) = (chars.next(), chars.clone().next()) {
            return (!c.is_control()).then_some(Input::Char(c));
        }
        Some(match name {
            "Enter" => Input::Enter,
            "Tab" => Input::Tab,
            "Backspace" => Input::Backspace,
            "Escape" => Input::Escape,
            "PageUp" => Input::PageUp,
            "PageDown" => Input::PageDown,
            _ => {
                let n: u8 = name.strip_prefix('F')?.parse().ok()?;
                if !(1..=12).contains(&n) {
                    return None;
                }
                Input::F(n)
            }
        })
    }
}

/// What is on the screen: exactly [`ROWS`] lines of at most [`COLS`] characters, and where the
/// cursor is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScreenView {
    pub lines: Vec<String>,
    /// (row, column), 0-based.
    pub cursor: (usize, usize),
    /// Screen id such as `KS130`, also shown on row 0.
    pub screen: String,
}

#[derive(Debug, Clone, PartialEq)]
enum Page {
    Login {
        user: String,
        pass: String,
        on_pass: bool,
    },
    Menu,
    Search {
        cpr: String,
    },
    Cases {
        cpr: String,
        page: usize,
        choice: String,
    },
    Docs {
        cpr: String,
        case_id: String,
        page: usize,
        choice: String,
    },
    Doc {
        cpr: String,
        case_id: String,
        doc_id: String,
        page: usize,
    },
    Closed,
}

/// One terminal session (one logged-in user).
#[derive(Debug, Clone)]
pub struct Terminal {
    world: Arc<World>,
    page: Page,
    message: String,
    user: Option<String>,
}

/// Word-wrap a document's text (paragraphs separated by `\n\n`) to `width` columns, with an
/// empty line between paragraphs. Words longer than the width are cut.
pub fn wrap_text(text: &str, width: usize) -> Vec<String> {
    let mut out = Vec::new();
    for (i, para) in text.split("\n\n").enumerate() {
        if i > 0 {
            out.push(String::new());
        }
        let mut line = String::new();
        for word in para.split_whitespace() {
            let mut word: String = word.to_string();
            while word.chars().count() > width {
                if !line.is_empty() {
                    out.push(std::mem::take(&mut line));
                }
                let head: String = word.chars().take(width).collect();
                word = word.chars().skip(width).collect();
                out.push(head);
            }
            let len = line.chars().count();
            if len > 0 && len + 1 + word.chars().count() > width {
                out.push(std::mem::take(&mut line));
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(&word);
        }
        if !line.is_empty() {
            out.push(line);
        }
    }
    out
}

fn digits(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

fn fit(s: &str, w: usize) -> String {
    let n = s.chars().count();
    if n <= w {
        format!("{s:<w$}")
    } else {
        let mut t: String = s.chars().take(w.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

/// A numbered list screen (case list, document list): the title with a page
/// counter, a sub-header on row 2, column heads on row 4, one page of rows
/// from row 5, and the choice field.
struct ListScreen<'a> {
    id: &'a str,
    title: &'a str,
    subheader: &'a str,
    heads: &'a str,
}

impl ListScreen<'_> {
    /// `rows` yields every item's line in order (`None`: nothing to show
    /// for it); only those on `page` are drawn.
    fn view(
        &self,
        total: usize,
        page: usize,
        rows: impl Iterator<Item = Option<String>>,
        choice: &str,
        msg: &str,
    ) -> ScreenView {
        let pages = total.div_ceil(LIST_ROWS).max(1);
        let mut c = Canvas::new(
            self.id,
            self.title,
            &format!("Side {} af {pages}", page + 1),
        );
        c.set(2, self.subheader);
        c.set(4, self.heads);
        for (i, line) in rows.enumerate().skip(page * LIST_ROWS).take(LIST_ROWS) {
            if let Some(line) = line {
                c.set(5 + i - page * LIST_ROWS, &line);
            }
        }
        c.field(19, "Vælg nr:  ", choice);
        c.finish(
            self.id,
            msg,
            "Enter = Vælg   PF3 = Tilbage   PF7 = Forrige side   PF8 = Næste side",
        )
    }
}

/// Builds a screen line by line.
struct Canvas {
    lines: Vec<String>,
    cursor: (usize, usize),
}

impl Canvas {
    fn new(id: &str, title: &str, right: &str) -> Canvas {
        let mut c = Canvas {
            lines: vec![String::new(); ROWS],
            cursor: (0, 0),
        };
        let left = format!("{id}  {title}");
        let pad = COLS
            .saturating_sub(left.chars().count() + right.chars().count())
            .max(1);
        c.set(0, &format!("{left}{}{right}", " ".repeat(pad)));
        c
    }
    fn set(&mut self, row: usize, text: &str) {
        if row < ROWS {
            self.lines[row] = text.chars().take(COLS).collect();
        }
    }
    fn field(&mut self, row: usize, label: &str, value: &str) {
        self.set(row, &format!("{label}{value}"));
        self.cursor = (
            row,
            (label.chars().count() + value.chars().count()).min(COLS - 1),
        );
    }
    fn finish(mut self, id: &str, message: &str, keys: &str) -> ScreenView {
        self.set(ROWS - 2, message);
        self.set(ROWS - 1, keys);
        for l in &mut self.lines {
            let t = l.trim_end().to_string();
            *l = t;
        }
        ScreenView {
            lines: self.lines,
            cursor: self.cursor,
            screen: id.to_string(),
        }
    }
}

impl Terminal {
    /// A new session at the login screen.
    pub fn new(world: Arc<World>) -> Terminal {
        Terminal {
            world,
            page: Page::Login {
                user: String::new(),
                pass: String::new(),
                on_pass: false,
            },
            message: String::new(),
            user: None,
        }
    }

    /// True after PF3 on the login screen (the ANSI program exits then).
    pub fn closed(&self) -> bool {
        self.page == Page::Closed
    }

    /// The logged-in user, if any.
    pub fn user(&self) -> Option<&str> {
        self.user.as_deref()
    }

    /// Apply one key.
    pub fn input(&mut self, key: Input) {
        self.message.clear();
        let page = std::mem::replace(&mut self.page, Page::Closed);
        self.page = self.step(page, key);
    }

    /// Apply several keys in order.
    pub fn inputs(&mut self, keys: impl IntoIterator<Item = Input>) {
        for k in keys {
            self.input(k);
        }
    }

    fn case_ids(&self, cpr: &str) -> Vec<String> {
        self.world
            .cases_for("terminal", cpr)
            .map(|c| c.case_id.clone())
            .collect()
    }

    fn doc_ids(&self, case_id: &str) -> Vec<String> {
        let mut docs: Vec<_> = self.world.documents_of_case(case_id).collect();
        docs.sort_by(|a, b| a.date.cmp(&b.date).then(a.doc_id.cmp(&b.doc_id)));
        docs.into_iter().map(|d| d.doc_id.clone()).collect()
    }

    fn doc_pages(&self, doc_id: &str) -> usize {
        self.world
            .document(doc_id)
            .map(|d| wrap_text(&d.text, WRAP).len().div_ceil(DOC_LINES).max(1))
            .unwrap_or(1)
    }

    fn step(&mut self, page: Page, key: Input) -> Page {
        use Input::*;
        match page {
            Page::Closed => Page::Closed,
            Page::Login {
                mut user,
                mut pass,
                mut on_pass,
            } => {
                match key {
                    F(3) => return Page::Closed,
                    Tab => on_pass = !on_pass,
                    Backspace => {
                        if on_pass {
                            pass.pop()
                        } else {
                            user.pop()
                        };
                    }
                    Char(c) if !on_pass && user.chars().count() < 10 => {
                        user.push(c.to_ascii_uppercase())
                    }
                    Char(c) if on_pass && pass.chars().count() < 16 => pass.push(c),
                    Enter if !on_pass && pass.is_empty() => on_pass = true,
                    Enter => {
                        if marc_testbed::server::password_of("terminal", &user)
                            == Some(pass.as_str())
                        {
                            self.user = Some(user);
                            return Page::Menu;
                        }
                        self.message = "Forkert bruger eller adgangskode. Prøv igen.".into();
                        return Page::Login {
                            user,
                            pass: String::new(),
                            on_pass: true,
                        };
                    }
                    _ => {}
                }
                Page::Login {
                    user,
                    pass,
                    on_pass,
                }
            }
            Page::Menu => match key {
                F(2) => Page::Search { cpr: String::new() },
                F(3) => {
                    self.user = None;
                    self.message = "Du er logget af.".into();
                    Page::Login {
                        user: String::new(),
                        pass: String::new(),
                        on_pass: false,
                    }
                }
                _ => {
                    self.message = "Vælg med en PF-tast.".into();
                    Page::Menu
                }
            },
            Page::Search { mut cpr } => match key {
                F(3) => Page::Menu,
                Backspace => {
                    cpr.pop();
                    Page::Search { cpr }
                }
                Char(c) if (c.is_ascii_digit() || c == '-') && cpr.len() < 11 => {
                    cpr.push(c);
                    Page::Search { cpr }
                }
                Enter => {
                    let d = digits(&cpr);
                    if d.len() != 10 {
                        self.message = "CPR-nummer skal have 10 cifre (DDMMÅÅ-LLLL).".into();
                        Page::Search { cpr }
                    } else if self.case_ids(&d).is_empty() {
                        self.message =
                            format!("Ingen sager fundet for CPR {}-{}.", &d[..6], &d[6..]);
                        Page::Search { cpr }
                    } else {
                        Page::Cases {
                            cpr: d,
                            page: 0,
                            choice: String::new(),
                        }
                    }
                }
                _ => Page::Search { cpr },
            },
            Page::Cases {
                cpr,
                mut page,
                mut choice,
            } => {
                let n = self.case_ids(&cpr).len();
                let pages = n.div_ceil(LIST_ROWS).max(1);
                match key {
                    F(3) => return Page::Search { cpr: String::new() },
                    F(8) | PageDown if page + 1 < pages => page += 1,
                    F(7) | PageUp if page > 0 => page -= 1,
                    F(8) | PageDown => self.message = "Der er ikke flere sider.".into(),
                    F(7) | PageUp => self.message = "Du er på første side.".into(),
                    Backspace => {
                        choice.pop();
                    }
                    Char(c) if c.is_ascii_digit() && choice.len() < 3 => choice.push(c),
                    Enter => match choice.parse::<usize>() {
                        Ok(i) if (1..=n).contains(&i) => {
                            let case_id = self.case_ids(&cpr)[i - 1].clone();
                            return Page::Docs {
                                cpr,
                                case_id,
                                page: 0,
                                choice: String::new(),
                            };
                        }
                        _ => {
                            self.message = format!("Skriv et nummer fra 1 til {n} og tryk Enter.");
                            choice.clear();
                        }
                    },
                    _ => {}
                }
                Page::Cases { cpr, page, choice }
            }
            Page::Docs {
                cpr,
                case_id,
                mut page,
                mut choice,
            } => {
                let ids = self.doc_ids(&case_id);
                let pages = ids.len().div_ceil(LIST_ROWS).max(1);
                match key {
                    F(3) => {
                        return Page::Cases {
                            cpr,
                            page: 0,
                            choice: String::new(),
                        }
                    }
                    F(8) | PageDown if page + 1 < pages => page += 1,
                    F(7) | PageUp if page > 0 => page -= 1,
                    F(8) | PageDown => self.message = "Der er ikke flere sider.".into(),
                    F(7) | PageUp => self.message = "Du er på første side.".into(),
                    Backspace => {
                        choice.pop();
                    }
                    Char(c) if c.is_ascii_digit() && choice.len() < 3 => choice.push(c),
                    Enter => match choice.parse::<usize>() {
                        Ok(i) if (1..=ids.len()).contains(&i) => {
                            return Page::Doc {
                                cpr,
                                case_id,
                                doc_id: ids[i - 1].clone(),
                                page: 0,
                            }
                        }
                        _ => {
                            self.message =
                                format!("Skriv et nummer fra 1 til {} og tryk Enter.", ids.len());
                            choice.clear();
                        }
                    },
                    _ => {}
                }
                Page::Docs {
                    cpr,
                    case_id,
                    page,
                    choice,
                }
            }
            Page::Doc {
                cpr,
                case_id,
                doc_id,
                mut page,
            } => {
                let pages = self.doc_pages(&doc_id);
                match key {
                    F(3) => {
                        return Page::Docs {
                            cpr,
                            case_id,
                            page: 0,
                            choice: String::new(),
                        }
                    }
                    F(8) | PageDown if page + 1 < pages => page += 1,
                    F(7) | PageUp if page > 0 => page -= 1,
                    F(8) | PageDown => self.message = "Sidste side af dokumentet.".into(),
                    F(7) | PageUp => self.message = "Første side af dokumentet.".into(),
                    _ => {}
                }
                Page::Doc {
                    cpr,
                    case_id,
                    doc_id,
                    page,
                }
            }
        }
    }

    /// The current screen.
    pub fn view(&self) -> ScreenView {
        let msg = self.message.as_str();
        match &self.page {
            Page::Closed => Canvas::new("KS000", "SESSION AFSLUTTET", "").finish("KS000", msg, ""),
            Page::Login {
                user,
                pass,
                on_pass,
            } => {
                let mut c = Canvas::new("KS001", "KOMMUNENS SAGSSYSTEM", "Log på");
                c.set(3, "Log på med din bruger og adgangskode.");
                c.set(5, &format!("Bruger:       {user}"));
                c.set(
                    6,
                    &format!("Adgangskode:  {}", "*".repeat(pass.chars().count())),
                );
                if *on_pass {
                    c.cursor = (6, 14 + pass.chars().count());
                } else {
                    c.cursor = (5, 14 + user.chars().count());
                }
                c.finish(
                    "KS001",
                    msg,
                    "Enter = Log på   Tab = Skift felt   PF3 = Afslut",
                )
            }
            Page::Menu => {
                let mut c = Canvas::new("KS002", "HOVEDMENU", self.user.as_deref().unwrap_or(""));
                c.set(3, "Vælg en funktion med en PF-tast:");
                c.set(5, "PF2 = CPR-søgning");
                c.set(6, "PF3 = Log af");
                c.finish("KS002", msg, "PF2 = CPR-søgning   PF3 = Log af")
            }
            Page::Search { cpr } => {
                let mut c = Canvas::new("KS100", "CPR-SØGNING", self.user.as_deref().unwrap_or(""));
                c.set(3, "Skriv borgerens CPR-nummer og tryk Enter.");
                c.field(5, "CPR-nummer:  ", cpr);
                c.finish("KS100", msg, "Enter = Søg   PF3 = Tilbage")
            }
            Page::Cases { cpr, page, choice } => self.view_cases(cpr, *page, choice, msg),
            Page::Docs {
                case_id,
                page,
                choice,
                ..
            } => self.view_docs(case_id, *page, choice, msg),
            Page::Doc { doc_id, page, .. } => self.view_doc(doc_id, *page, msg),
        }
    }

    fn view_cases(&self, cpr: &str, page: usize, choice: &str, msg: &str) -> ScreenView {
        let cases: Vec<_> = self.world.cases_for("terminal", cpr).collect();
        let name = self
            .world
            .citizen(cpr)
            .map(|p| p.name.as_str())
            .unwrap_or("");
        let rows = cases.iter().enumerate().map(|(i, case)| {
            Some(format!(
                "{:>2}  {}  {}  {}  {}",
                i + 1,
                fit(&case.case_id, 10),
                legacy_date(&case.opened),
                fit(&case.department, 15),
                fit(&case.title, 80 - 48)
            ))
        });
        ListScreen {
            id: "KS110",
            title: "SAGSLISTE",
            subheader: &format!("Borger: {name}   CPR: {}-{}", &cpr[..6], &cpr[6..]),
            heads: "Nr  Sagsnr      Oprettet    Afdeling         Titel",
        }
        .view(cases.len(), page, rows, choice, msg)
    }

    fn view_docs(&self, case_id: &str, page: usize, choice: &str, msg: &str) -> ScreenView {
        let ids = self.doc_ids(case_id);
        let title = self
            .world
            .case(case_id)
            .map(|k| k.title.as_str())
            .unwrap_or("");
        let rows = ids.iter().enumerate().map(|(i, id)| {
            self.world.document(id).map(|d| {
                format!(
                    "{:>2}  {}  {}  {}  {}",
                    i + 1,
                    fit(&d.doc_id, 8),
                    legacy_date(&d.date),
                    fit(&d.kind, 12),
                    fit(&d.title, 80 - 40)
                )
            })
        });
        ListScreen {
            id: "KS120",
            title: "DOKUMENTLISTE",
            subheader: &format!("Sag: {case_id}   {}", fit(title, 60).trim_end()),
            heads: "Nr  Dok-id    Dato        Art           Titel",
        }
        .view(ids.len(), page, rows, choice, msg)
    }

    fn view_doc(&self, doc_id: &str, page: usize, msg: &str) -> ScreenView {
        let Some(d) = self.world.document(doc_id) else {
            return Canvas::new("KS130", "DOKUMENT", "").finish(
                "KS130",
                "Dokumentet findes ikke.",
                "PF3 = Tilbage",
            );
        };
        let body = wrap_text(&d.text, WRAP);
        let pages = body.len().div_ceil(DOC_LINES).max(1);
        let mut c = Canvas::new(
            "KS130",
            &format!("DOKUMENT {}", d.doc_id),
            &format!("Side {} af {pages}", page + 1),
        );
        c.set(
            1,
            &format!(
                "Sag: {}   Dato: {}   Art: {}",
                d.case_id,
                legacy_date(&d.date),
                d.kind
            ),
        );
        c.set(2, &format!("Afdeling: {}", d.department));
        c.set(3, &format!("Titel: {}", d.title));
        for (i, line) in body
            .iter()
            .skip(page * DOC_LINES)
            .take(DOC_LINES)
            .enumerate()
        {
            c.set(5 + i, line);
        }
        c.finish(
            "KS130",
            msg,
            "PF3 = Tilbage   PF7 = Forrige side   PF8 = Næste side",
        )
    }
}
