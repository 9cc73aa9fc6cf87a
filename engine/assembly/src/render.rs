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
use krilla::tagging::{Artifact, ArtifactType, ContentTag, SpanTag, Tag, TagGroup, TagTree};
use krilla::{Document, SerializeSettings};
use std::num::NonZeroU16;

use crate::content::{Built, ONode};
use crate::fonts::{sanitize, Fonts};
use crate::layout::{BlockKind, Op, ARTIFACT_BLOCK, PAGE_H, PAGE_W};
use crate::AssemblyError;

fn fill(gray: u8) -> Fill {
    Fill {
        paint: luma::Color::new(gray).into(),
        opacity: NormalizedF32::ONE,
        rule: Default::default(),
    }
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

pub(crate) fn render(
    built: &Built,
    fonts: &Fonts,
    created: chrono::NaiveDate,
) -> Result<Vec<u8>, AssemblyError> {
    let configuration = ConfigurationBuilder::new()
        .with_archival_validator(Archival::A2_B)
        .finish()
        .map_err(|e| AssemblyError::Pdf(format!("PDF/A-2b configuration rejected: {e:?}")))?;
    let settings = SerializeSettings {
        configuration,
        enable_tagging: true,
        ..Default::default()
    };
    // Tag tree: one group per text block (P or H1–H3) in reading order, a
    // Link group per index link; rules, boxes and footers are artifacts.
    let mut groups: Vec<Option<TagGroup>> = built
        .blocks
        .iter()
        .map(|k| {
            Some(match k {
                BlockKind::P => TagGroup::new(Tag::P),
                BlockKind::H(l) => TagGroup::new(Tag::Hn(
                    NonZeroU16::new(*l).unwrap_or(NonZeroU16::MIN),
                    None,
                )),
            })
        })
        .collect();
    enum Next {
        Block(usize),
        Link(TagGroup),
    }
    let mut order: Vec<Next> = Vec::new();
    let mut seen = vec![false; groups.len()];
    let mut doc = Document::new_with(settings);
    let page_settings = PageSettings::from_wh(PAGE_W, PAGE_H)
        .ok_or_else(|| AssemblyError::Pdf("invalid page size".into()))?;
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
                                s.start_tagged(ContentTag::Artifact(Artifact::with_kind(
                                    ArtifactType::Other,
                                )));
                                s.set_fill(Some(fill(*gray)));
                                s.draw_path(&path);
                                s.end_tagged();
                            }
                        }
                    }
                    Op::Text {
                        x,
                        y,
                        size,
                        bold,
                        white,
                        text,
                        block,
                        ..
                    } => {
                        let face = fonts.face(*bold);
                        let text = sanitize(text, face);
                        if text.is_empty() {
                            continue;
                        }
                        let glyphs = face.glyphs(&text);
                        let b = *block as usize;
                        let group = if *block == ARTIFACT_BLOCK {
                            None
                        } else {
                            groups.get_mut(b).and_then(|g| g.as_mut())
                        };
                        let id = match group {
                            Some(_) => s.start_tagged(ContentTag::Span(SpanTag::empty())),
                            None => s.start_tagged(ContentTag::Artifact(Artifact::with_kind(
                                ArtifactType::Other,
                            ))),
                        };
                        s.set_fill(Some(fill(if *white { 255 } else { 0 })));
                        s.draw_glyphs(
                            Point::from_xy(*x, *y),
                            &glyphs,
                            face.font.clone(),
                            &text,
                            *size,
                            false,
                        );
                        s.end_tagged();
                        if let Some(g) = groups
                            .get_mut(b)
                            .and_then(|g| g.as_mut())
                            .filter(|_| *block != ARTIFACT_BLOCK)
                        {
                            g.push(id);
                            if !seen[b] {
                                seen[b] = true;
                                order.push(Next::Block(b));
                            }
                        }
                    }
                    Op::Link { x, y, w, h, doc } => links.push((*x, *y, *w, *h, *doc)),
                }
            }
            s.finish();
        }
        for (x, y, w, h, d) in links {
            let Some(Some(anchor)) = built.doc_anchor.get(d) else {
                continue;
            };
            let Some(rect) = Rect::from_xywh(x, y, w, h) else {
                continue;
            };
            let target = Target::Destination(Destination::Xyz(xyz(anchor.page, anchor.y)));
            let id = page.add_tagged_annotation(Annotation::new_link(
                LinkAnnotation::new(rect, target),
                Some("Gå til akten".into()),
            ));
            let mut g = TagGroup::new(Tag::Link);
            g.push(id);
            order.push(Next::Link(g));
        }
        page.finish();
    }
    let mut tree = TagTree::new().with_lang(Some("da-DK".into()));
    for n in order {
        match n {
            Next::Block(b) => {
                if let Some(g) = groups.get_mut(b).and_then(|g| g.take()) {
                    tree.push(g);
                }
            }
            Next::Link(g) => tree.push(g),
        }
    }
    doc.set_tag_tree(tree);
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
    let mut pdf = doc.finish().map_err(|e| {
        let detail = match &e {
            krilla::error::KrillaError::Validation(v) => format!("{e}: {v:?}"),
            _ => e.to_string(),
        };
        AssemblyError::Pdf(detail)
    })?;
    drop_suspects_false(&mut pdf);
    Ok(pdf)
}

/// Poppler 22 (Debian 12) prints "Syntax Error: Suspects object is wrong
/// type (boolean)" for `/Suspects false`, which is valid but also the
/// default. We blank the key in place (same length, so xref offsets stay
/// right) to keep `pdftotext`/`pdfinfo` output free of false alarms.
fn drop_suspects_false(pdf: &mut [u8]) {
    const FROM: &[u8] = b"/MarkInfo<</Marked true/Suspects false>>";
    const TO: &[u8] = b"/MarkInfo<</Marked true>>";
    if let Some(i) = pdf.windows(FROM.len()).position(|w| w == FROM) {
        let dst = &mut pdf[i..i + FROM.len()];
        dst[..TO.len()].copy_from_slice(TO);
        dst[TO.len()..].fill(b' ');
    }
}
