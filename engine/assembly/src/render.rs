//! Writes the display list with krilla: PDF/A-2b, embedded subset fonts,
//! outline, internal links, Danish language and metadata.

use chrono::Datelike;
use krilla::annotation::{Annotation, LinkAnnotation, Target};
use krilla::color::luma;
use krilla::configure::{Archival, ConfigurationBuilder};
use krilla::destination::{Destination, XyzDestination};
use krilla::geom::{PathBuilder, Point, Rect};
use krilla::metadata::{DateTime, Metadata};
use krilla::num::NormalizedF32;
use krilla::outline::{Outline, OutlineNode};
use krilla::page::PageSettings;
use krilla::paint::Fill;
use krilla::{Document, SerializeSettings};

use crate::content::{Built, ONode};
use crate::fonts::{sanitize, Fonts};
use crate::layout::{Op, PAGE_H, PAGE_W};
use crate::AssemblyError;


fn fill(gray: u8) -> Fill {
    Fill { paint: luma::Color::new(gray).into(), opacity: NormalizedF32::ONE, rule: Default::default() }
}

fn xyz(page: usize, y: f32) -> XyzDestination {
    XyzDestination::new(page, Point::from_xy(0.0, (y - 12.0).max(0.0)))
}

fn outline_node(n: &ONode) -> OutlineNode {
    let mut node = OutlineNode::new(n.title.clone(), xyz(n.dest.page, n.dest.y));
    for c in &n.children {
        node.push_child(outline_node(c));
    }
    node
}

pub(crate) fn render(built: &Built, fonts: &Fonts, created: chrono::NaiveDate) -> Result<Vec<u8>, AssemblyError> {
    let configuration = ConfigurationBuilder::new()
        .with_archival_validator(Archival::A2_B)
        .finish()
        .map_err(|e| AssemblyError::Pdf(format!("PDF/A-2b configuration rejected: {e:?}")))?;
    let settings = SerializeSettings { configuration, enable_tagging: false, ..Default::default() };
    let mut doc = Document::new_with(settings);
    let page_settings =
        PageSettings::from_wh(PAGE_W, PAGE_H).ok_or_else(|| AssemblyError::Pdf("invalid page size".into()))?;
    for p in &built.pages {
        let mut page = doc.start_page_with(page_settings.clone());
        let mut links = Vec::new();
        {
            let mut s = page.surface();
            for op in &p.ops {
                match op {
                    Op::Rect { x, y, w, h, gray } => {
                        let mut pb = PathBuilder::new();
                        if let Some(r) = Rect::from_xywh(*x, *y, w.max(0.1), h.max(0.1)) {
                            pb.push_rect(r);
                            if let Some(path) = pb.finish() {
                                s.set_fill(Some(fill(*gray)));
                                s.draw_path(&path);
                            }
                        }
                    }
                    Op::Text { x, y, size, bold, white, text, .. } => {
                        let face = fonts.face(*bold);
                        let text = sanitize(text, face);
                        if text.is_empty() {
                            continue;
                        }
                        let glyphs = face.glyphs(&text);
                        s.set_fill(Some(fill(if *white { 255 } else { 0 })));
                        s.draw_glyphs(Point::from_xy(*x, *y), &glyphs, face.font.clone(), &text, *size, false);
                    }
                    Op::Link { x, y, w, h, doc } => links.push((*x, *y, *w, *h, *doc)),
                }
            }
            s.finish();
        }
        for (x, y, w, h, d) in links {
            let Some(Some(anchor)) = built.doc_anchor.get(d) else { continue };
            let Some(rect) = Rect::from_xywh(x, y, w, h) else { continue };
            let target = Target::Destination(Destination::Xyz(xyz(anchor.page, anchor.y)));
            page.add_annotation(Annotation::new_link(LinkAnnotation::new(rect, target), Some("Gå til akten".into())));
        }
        page.finish();
    }
    let mut outline = Outline::new();
    for n in &built.outline {
        outline.push_child(outline_node(n));
    }
    doc.set_outline(outline);
    let date = DateTime::new(u16::try_from(created.year()).unwrap_or(2000))
        .month(created.month() as u8)
        .day(created.day() as u8);
    doc.set_metadata(
        Metadata::new()
            .title(built.title.clone())
            .authors(vec![built.author.clone()])
            .description(built.description.clone())
            .language("da-DK".into())
            .creator("marc".into())
            .creation_date(date),
    );
    doc.finish().map_err(|e| {
        let detail = match &e {
            krilla::error::KrillaError::Validation(v) => format!("{e}: {v:?}"),
            _ => e.to_string(),
        };
        AssemblyError::Pdf(detail)
    })
}
