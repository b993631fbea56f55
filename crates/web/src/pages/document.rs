//! The evidence on the page: the item page shows each page of the document the item came
//! from, rendered on the server, with every field's evidence boxed and every word a target:
//! clicking words (or moving over them with the arrow keys and pressing Enter) fills the
//! field picked last, as selecting text does. Boxes are an SVG drawn over the page image
//! from the word positions kept at intake; no style or script is inline.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tandem_domain::ItemId;
use tandem_engine::layout::{Layout, Reading};
use tandem_service::view::ItemView;

use crate::AppState;
use crate::auth::PageUser;
use crate::error::PageError;

pub fn routes() -> Router<AppState> {
    Router::new().route("/items/{id}/pages/{number}", get(page_image))
}

/// `GET /items/{id}/pages/{n}`: page n's image. Kept by the browser for the session only.
async fn page_image(
    State(s): State<AppState>,
    user: PageUser,
    Path((id, number)): Path<(i64, usize)>,
) -> Result<Response, PageError> {
    let image = s.tandem.page_image(&user.actor, ItemId(id), number).await?;
    Ok((
        [
            (header::CONTENT_TYPE, image.media_type),
            (header::CACHE_CONTROL, "private, max-age=3600"),
        ],
        image.bytes,
    )
        .into_response())
}

#[derive(Debug, Clone)]
pub struct DocumentBlock {
    pub item_id: i64,
    pub file_name: String,
    pub parent: Option<i64>,
    pub attachments: Vec<(i64, String)>,
    pub notes: Vec<String>,
    /// Whether page images can be shown (the original is kept and is a PDF, PNG or JPEG).
    pub images: bool,
    pub pages: Vec<PageBlock>,
    /// One link per evidence box, for keyboard and screen-reader users.
    pub evidence: Vec<BoxView>,
}

#[derive(Debug, Clone)]
pub struct PageBlock {
    pub number: usize,
    /// The page's size in its own unit: the SVG's view box.
    pub width: String,
    pub height: String,
    /// Image size in CSS pixels at 100% (for the layout before it loads).
    pub px_width: u32,
    pub px_height: u32,
    pub reading: &'static str,
    pub words: Vec<WordView>,
    pub boxes: Vec<BoxView>,
}

#[derive(Debug, Clone)]
pub struct WordView {
    pub x: String,
    pub y: String,
    pub w: String,
    pub h: String,
    pub text: String,
}

#[derive(Debug, Clone)]
pub struct BoxView {
    pub id: String,
    pub field: String,
    pub page: usize,
    pub x: String,
    pub y: String,
    pub w: String,
    pub h: String,
}

fn num(v: f64) -> String {
    format!("{:.2}", v)
}

/// The document part of the item page, when the item came from a document with pages.
/// `layout` is the input the text is in and the positions; `hide` drops the evidence
/// (timing by hand shows the input alone).
pub fn block(view: &ItemView, layout: Option<&(String, Layout)>, hide: bool) -> Option<DocumentBlock> {
    let doc = view.document.as_ref()?;
    let mut pages: Vec<PageBlock> = Vec::new();
    let mut evidence = Vec::new();
    if let Some((input, l)) = layout {
        let text = view.input.get(input).map_or("", String::as_str);
        for (i, p) in l.pages.iter().enumerate() {
            // Pages are about 800 CSS pixels wide at 100%; CSS scales them to the pane.
            let scale = 800.0 / p.width.max(1.0);
            pages.push(PageBlock {
                number: i + 1,
                width: num(p.width),
                height: num(p.height),
                px_width: 800,
                px_height: (p.height * scale).round().clamp(1.0, 100_000.0) as u32,
                reading: match p.reading {
                    Reading::TextLayer => "text layer",
                    Reading::Ocr => "read by OCR",
                },
                words: Vec::new(),
                boxes: Vec::new(),
            });
        }
        for w in &l.words {
            let Some(page) = pages.get_mut(w.page as usize) else {
                continue;
            };
            let p = &l.pages[w.page as usize];
            page.words.push(WordView {
                x: num(f64::from(w.bbox.x0) * p.width),
                y: num(f64::from(w.bbox.y0) * p.height),
                w: num(f64::from(w.bbox.x1 - w.bbox.x0) * p.width),
                h: num(f64::from(w.bbox.y1 - w.bbox.y0) * p.height),
                text: text.get(w.start..w.end).unwrap_or("").to_owned(),
            });
        }
        if !hide {
            for f in &view.fields {
                let mut k = 0;
                for e in f.evidence.iter().filter(|e| &e.input == input) {
                    for b in &e.boxes {
                        let Some(page) = pages.get_mut(b.page as usize) else {
                            continue;
                        };
                        let p = &l.pages[b.page as usize];
                        let v = BoxView {
                            id: format!("ev-{}-{k}", f.name),
                            field: f.name.clone(),
                            page: b.page as usize + 1,
                            x: num(f64::from(b.bbox.x0) * p.width),
                            y: num(f64::from(b.bbox.y0) * p.height),
                            w: num(f64::from(b.bbox.x1 - b.bbox.x0) * p.width),
                            h: num(f64::from(b.bbox.y1 - b.bbox.y0) * p.height),
                        };
                        k += 1;
                        page.boxes.push(v.clone());
                        evidence.push(v);
                    }
                }
            }
        }
    }
    let renders = matches!(
        doc.media_type.as_str(),
        "application/pdf" | "image/png" | "image/jpeg"
    );
    Some(DocumentBlock {
        item_id: view.id.0,
        file_name: doc.file_name.clone(),
        parent: doc.parent_item.map(|p| p.0),
        attachments: doc
            .attachments
            .iter()
            .map(|a| (a.item.0, a.file_name.clone()))
            .collect(),
        notes: doc.notes.clone(),
        images: doc.original_kept && renders,
        pages,
        evidence,
    })
}
