//! Line breaking and pagination into a simple display list. Nothing here
//! writes PDF; `render` turns the display list into krilla calls. Redacted
//! spans arrive as boxes that carry no text at all, so their glyphs cannot
//! reach the file.

use marc_model::MarkKind;

use crate::fonts::{sanitize, Face, Fonts};

pub(crate) const PAGE_W: f32 = 595.28;
pub(crate) const PAGE_H: f32 = 841.89;
pub(crate) const MARGIN_X: f32 = 56.7;
pub(crate) const MARGIN_TOP: f32 = 56.7;
/// Space kept free at the bottom for the footer.
pub(crate) const MARGIN_BOTTOM: f32 = 62.0;
pub(crate) const TEXT_W: f32 = PAGE_W - 2.0 * MARGIN_X;

/// A piece of a paragraph: text to draw, or a redacted span (only its
/// measured width survives).
#[derive(Debug, Clone)]
pub(crate) enum Seg {
    Text(String),
    Redacted { width_of: String, kind: MarkKind },
}

/// Text style.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Style {
    pub(crate) size: f32,
    pub(crate) bold: bool,
    pub(crate) leading: f32,
}

impl Style {
    pub(crate) const fn new(size: f32, bold: bool) -> Style {
        Style {
            size,
            bold,
            leading: size * 1.4,
        }
    }
}

pub(crate) const BODY: Style = Style::new(10.0, false);
pub(crate) const BODY_BOLD: Style = Style::new(10.0, true);
pub(crate) const SMALL: Style = Style::new(8.0, false);
pub(crate) const SMALL_BOLD: Style = Style::new(8.0, true);
pub(crate) const H1: Style = Style::new(26.0, true);
pub(crate) const H2: Style = Style::new(13.0, true);
pub(crate) const H3: Style = Style::new(11.0, true);

/// One drawing operation on a page (krilla coordinates: origin top left).
#[derive(Debug, Clone)]
pub(crate) enum Op {
    /// Sanitised text at a baseline. `trusted` text comes from configuration
    /// and fixed wording, never from a document; the leak check allows marked
    /// strings only as often as they occur in trusted text.
    Text {
        x: f32,
        y: f32,
        size: f32,
        bold: bool,
        white: bool,
        text: String,
        trusted: bool,
        block: u32,
    },
    Rect {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        gray: u8,
    },
    /// A link area pointing at a document's first page.
    Link {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        doc: usize,
    },
}

/// What a block of text is, for the tag tree (tagged PDF).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BlockKind {
    P,
    H(u16),
}

/// Block id of text that is not content (footers): tagged as an artifact.
pub(crate) const ARTIFACT_BLOCK: u32 = u32::MAX;

#[derive(Default)]
pub(crate) struct PageOut {
    pub(crate) ops: Vec<Op>,
}

#[derive(Debug, Clone)]
enum Item {
    Text(String, f32),
    Space(f32),
    Boxed(f32, MarkKind),
}

impl Item {
    fn width(&self) -> f32 {
        match self {
            Item::Text(_, w) | Item::Space(w) | Item::Boxed(w, _) => *w,
        }
    }
}

/// The labels drawn in redaction boxes, longest first; the longest that fits
/// is used.
pub(crate) fn box_labels(kind: MarkKind) -> &'static [&'static str] {
    crate::kinds::text(kind).labels
}

/// Breaks segments into lines of at most `width`. Breaks happen at spaces;
/// a word (or a box) wider than a line is cut.
fn break_lines(segs: &[Seg], face: &Face, style: Style, width: f32) -> Vec<Vec<Item>> {
    // 1. items, grouped into unbreakable words separated by spaces
    let mut groups: Vec<(f32, Vec<Item>)> = Vec::new(); // (space before, items)
    let mut pending_space = 0.0f32;
    let mut cur: Vec<Item> = Vec::new();
    let space_w = face.char_width(' ', style.size);
    let flush = |groups: &mut Vec<(f32, Vec<Item>)>, cur: &mut Vec<Item>, pending: &mut f32| {
        if !cur.is_empty() {
            groups.push((*pending, std::mem::take(cur)));
            *pending = 0.0;
        }
    };
    for seg in segs {
        match seg {
            Seg::Text(t) => {
                let t = sanitize(t, face);
                let mut word = String::new();
                for c in t.chars() {
                    if c == ' ' {
                        if !word.is_empty() {
                            let w = face.width(&word, style.size);
                            cur.push(Item::Text(std::mem::take(&mut word), w));
                        }
                        flush(&mut groups, &mut cur, &mut pending_space);
                        pending_space += space_w;
                    } else {
                        word.push(c);
                    }
                }
                if !word.is_empty() {
                    let w = face.width(&word, style.size);
                    cur.push(Item::Text(word, w));
                }
            }
            Seg::Redacted { width_of, kind } => {
                let w = face
                    .width(&sanitize(width_of, face), style.size)
                    .max(style.size * 1.5);
                cur.push(Item::Boxed(w, *kind));
            }
        }
    }
    flush(&mut groups, &mut cur, &mut pending_space);

    // 2. greedy fill
    let mut lines: Vec<Vec<Item>> = Vec::new();
    let mut line: Vec<Item> = Vec::new();
    let mut lw = 0.0f32;
    for (space, items) in groups {
        let gw: f32 = items.iter().map(Item::width).sum();
        let sp = if line.is_empty() { 0.0 } else { space };
        if lw + sp + gw <= width {
            if sp > 0.0 {
                line.push(Item::Space(sp));
            }
            lw += sp + gw;
            line.extend(items);
            continue;
        }
        if gw <= width {
            lines.push(std::mem::take(&mut line));
            lw = gw;
            line.extend(items);
            continue;
        }
        // hard wrap an over-long word
        if sp > 0.0 && lw + sp < width {
            line.push(Item::Space(sp));
            lw += sp;
        }
        for item in items {
            match item {
                Item::Boxed(w, k) => {
                    let w = w.min(width);
                    if lw + w > width && !line.is_empty() {
                        lines.push(std::mem::take(&mut line));
                        lw = 0.0;
                    }
                    line.push(Item::Boxed(w, k));
                    lw += w;
                }
                Item::Text(t, _) => {
                    let mut piece = String::new();
                    let mut pw = 0.0f32;
                    for c in t.chars() {
                        let cw = face.char_width(c, style.size);
                        if lw + pw + cw > width && !(line.is_empty() && piece.is_empty()) {
                            if !piece.is_empty() {
                                line.push(Item::Text(std::mem::take(&mut piece), pw));
                            }
                            lines.push(std::mem::take(&mut line));
                            lw = 0.0;
                            pw = 0.0;
                        }
                        piece.push(c);
                        pw += cw;
                    }
                    if !piece.is_empty() {
                        line.push(Item::Text(piece, pw));
                        lw += pw;
                    }
                }
                Item::Space(w) => {
                    line.push(Item::Space(w));
                    lw += w;
                }
            }
        }
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

/// A page position: page index and y of the top of a block.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Anchor {
    pub(crate) page: usize,
    pub(crate) y: f32,
}

/// Lays text out into pages.
pub(crate) struct Layout<'f> {
    pub(crate) fonts: &'f Fonts,
    pub(crate) pages: Vec<PageOut>,
    pub(crate) y: f32,
    /// Kind of each text block (index = block id).
    pub(crate) blocks: Vec<BlockKind>,
}

impl<'f> Layout<'f> {
    pub(crate) fn new(fonts: &'f Fonts) -> Layout<'f> {
        Layout {
            fonts,
            pages: vec![PageOut::default()],
            y: MARGIN_TOP,
            blocks: Vec::new(),
        }
    }

    pub(crate) fn new_page(&mut self) {
        self.pages.push(PageOut::default());
        self.y = MARGIN_TOP;
    }

    pub(crate) fn anchor(&self) -> Anchor {
        Anchor {
            page: self.pages.len() - 1,
            y: self.y,
        }
    }

    fn page(&mut self) -> &mut PageOut {
        // `pages` is never empty: created with one page, only ever pushed to.
        let last = self.pages.len() - 1;
        &mut self.pages[last]
    }

    /// Makes sure `h` points fit on the current page.
    pub(crate) fn ensure(&mut self, h: f32) {
        if self.y + h > PAGE_H - MARGIN_BOTTOM && self.y > MARGIN_TOP {
            self.new_page();
        }
    }

    pub(crate) fn space(&mut self, h: f32) {
        self.y += h;
        if self.y > PAGE_H - MARGIN_BOTTOM {
            self.new_page();
        }
    }

    pub(crate) fn rule(&mut self) {
        self.ensure(6.0);
        let y = self.y + 2.0;
        self.page().ops.push(Op::Rect {
            x: MARGIN_X,
            y,
            w: TEXT_W,
            h: 0.6,
            gray: 120,
        });
        self.y += 6.0;
    }

    /// A paragraph of trusted (fixed or configured) text.
    pub(crate) fn trusted(&mut self, text: &str, style: Style) {
        self.para_at(
            &[Seg::Text(text.to_string())],
            style,
            MARGIN_X,
            TEXT_W,
            true,
        );
    }

    /// A paragraph of document-derived text with redaction boxes.
    pub(crate) fn untrusted(&mut self, segs: &[Seg], style: Style) {
        self.para_at(segs, style, MARGIN_X, TEXT_W, false);
    }

    /// A labelled line: bold trusted label, then a value at a tab stop.
    pub(crate) fn field(&mut self, label: &str, value: &[Seg], value_trusted: bool, style: Style) {
        let tab = if style.size < 9.0 { 80.0 } else { 120.0 };
        let start = self.anchor();
        self.para_at(
            &[Seg::Text(label.to_string())],
            Style {
                bold: true,
                ..style
            },
            MARGIN_X,
            tab - 6.0,
            true,
        );
        let after_label = self.anchor();
        // draw the value beside the label, on the label's first line
        if after_label.page == start.page {
            self.y = start.y;
        }
        self.para_at(value, style, MARGIN_X + tab, TEXT_W - tab, value_trusted);
        if after_label.page == start.page && after_label.y > self.y {
            self.y = after_label.y;
        }
    }

    /// Lays out a paragraph in the column [x, x+width].
    pub(crate) fn para_at(
        &mut self,
        segs: &[Seg],
        style: Style,
        x: f32,
        width: f32,
        trusted: bool,
    ) {
        let lines = self.lines(segs, style, width);
        let block = self.new_block(style);
        for line in &lines {
            self.ensure(style.leading);
            let baseline = self.y + style.size * 1.0;
            self.emit_line(line, style, x, baseline, trusted, block);
            self.y += style.leading;
        }
    }

    /// A new text block; big bold styles are headings.
    fn new_block(&mut self, style: Style) -> u32 {
        let kind = match (style.bold, style.size) {
            (true, s) if s >= 18.0 => BlockKind::H(1),
            (true, s) if s >= 12.0 => BlockKind::H(2),
            (true, s) if s >= 11.0 => BlockKind::H(3),
            _ => BlockKind::P,
        };
        self.blocks.push(kind);
        (self.blocks.len() - 1) as u32
    }

    fn lines(&self, segs: &[Seg], style: Style, width: f32) -> Vec<Vec<Item>> {
        break_lines(segs, self.fonts.face(style.bold), style, width)
    }

    /// Height a paragraph would take in a column of `width`.
    pub(crate) fn measure(&self, segs: &[Seg], style: Style, width: f32) -> f32 {
        self.lines(segs, style, width).len() as f32 * style.leading
    }

    /// Draws a paragraph at a fixed position without moving the cursor
    /// (table cells). Returns the height used.
    pub(crate) fn cell(
        &mut self,
        segs: &[Seg],
        style: Style,
        x: f32,
        y: f32,
        width: f32,
        trusted: bool,
    ) -> f32 {
        let lines = self.lines(segs, style, width);
        let block = self.new_block(Style {
            bold: false,
            ..style
        });
        for (i, line) in lines.iter().enumerate() {
            let baseline = y + style.size + i as f32 * style.leading;
            self.emit_line(line, style, x, baseline, trusted, block);
        }
        lines.len() as f32 * style.leading
    }

    pub(crate) fn push_op(&mut self, op: Op) {
        self.page().ops.push(op);
    }

    fn emit_line(
        &mut self,
        line: &[Item],
        style: Style,
        x0: f32,
        baseline: f32,
        trusted: bool,
        block: u32,
    ) {
        let face = self.fonts.face(style.bold);
        let (ascent, descent) = (face.ascent, face.descent);
        let mut x = x0;
        let mut run = String::new();
        let mut run_x = x0;
        let mut ops = Vec::new();
        let flush_run = |ops: &mut Vec<Op>, run: &mut String, run_x: f32| {
            let t = run.trim_end().to_string();
            if !t.trim().is_empty() {
                ops.push(Op::Text {
                    x: run_x,
                    y: baseline,
                    size: style.size,
                    bold: style.bold,
                    white: false,
                    text: t,
                    trusted,
                    block,
                });
            }
            run.clear();
        };
        for item in line {
            match item {
                Item::Text(t, w) => {
                    if run.is_empty() {
                        run_x = x;
                    }
                    run.push_str(t);
                    x += w;
                }
                Item::Space(w) => {
                    if !run.is_empty() {
                        run.push(' ');
                        // a space glyph may differ from the stretched width
                        let sw = face.char_width(' ', style.size);
                        if (sw - w).abs() > 0.01 {
                            flush_run(&mut ops, &mut run, run_x);
                        }
                    }
                    x += w;
                }
                Item::Boxed(w, kind) => {
                    flush_run(&mut ops, &mut run, run_x);
                    let top = baseline - ascent * style.size;
                    let h = (ascent + descent) * style.size;
                    ops.push(Op::Rect {
                        x,
                        y: top,
                        w: *w,
                        h,
                        gray: 0,
                    });
                    let lsize = (style.size * 0.62).min(7.0);
                    let lface = self.fonts.face(false);
                    let pad = 1.5;
                    if let Some(label) = box_labels(*kind)
                        .iter()
                        .find(|l| lface.width(l, lsize) + 2.0 * pad <= *w)
                    {
                        ops.push(Op::Text {
                            x: x + pad,
                            y: top + h / 2.0 + lsize * 0.35,
                            size: lsize,
                            bold: false,
                            white: true,
                            text: (*label).to_string(),
                            trusted: true,
                            block,
                        });
                    }
                    x += w;
                }
            }
        }
        flush_run(&mut ops, &mut run, run_x);
        self.page().ops.extend(ops);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fonts() -> Fonts {
        Fonts::system().expect("DejaVu fonts (fonts-dejavu-core)")
    }

    #[test]
    fn long_words_and_boxes_fit_the_line() {
        let f = fonts();
        let face = f.face(false);
        let segs = vec![
            Seg::Text("kort ".into()),
            Seg::Text("x".repeat(5000)),
            Seg::Text(" og ".into()),
            Seg::Redacted {
                width_of: "y".repeat(500),
                kind: MarkKind::Name,
            },
            Seg::Text(" slut".into()),
        ];
        let lines = break_lines(&segs, face, BODY, 200.0);
        assert!(lines.len() > 10);
        for l in &lines {
            let w: f32 = l.iter().map(Item::width).sum();
            assert!(w <= 200.0 + 0.01, "line too wide: {w}");
        }
        let text: String = lines
            .iter()
            .flatten()
            .filter_map(|i| {
                if let Item::Text(t, _) = i {
                    Some(t.as_str())
                } else {
                    None
                }
            })
            .collect();
        assert_eq!(
            text.matches('x').count(),
            5000,
            "hard wrap must not lose characters"
        );
        assert!(lines.iter().flatten().any(|i| matches!(i, Item::Boxed(..))));
    }

    #[test]
    fn box_sticks_to_punctuation() {
        let f = fonts();
        let segs = vec![
            Seg::Text("(".into()),
            Seg::Redacted {
                width_of: "Jens".into(),
                kind: MarkKind::Name,
            },
            Seg::Text(").".into()),
        ];
        let lines = break_lines(&segs, f.face(false), BODY, 400.0);
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0].len(), 3);
    }
}
