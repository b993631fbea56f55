//! Reading PDFs with poppler: `pdfinfo` checks the file (corrupt, encrypted, how many
//! pages), `pdftotext -bbox-layout` gives the text layer with a box per word, and pages
//! without text (scans) are rendered at 300 dpi by `pdftoppm` and read by OCR.

use std::path::Path;

use tandem_engine::layout::Reading;

use super::tools::{self, PDFINFO, PDFTOPPM, PDFTOTEXT};
use super::{DocumentError, Limits, PageText, WordBox, ocr};

/// Resolution scans are rendered at for OCR: Tesseract reads best at about 300 dpi.
const OCR_DPI: u32 = 300;

pub async fn read(path: &Path, dir: &Path, limits: &Limits) -> Result<Vec<PageText>, DocumentError> {
    let pages = check(path, limits).await?;
    let ran = tools::run(
        PDFTOTEXT,
        &[
            "-bbox-layout".as_ref(),
            "-enc".as_ref(),
            "UTF-8".as_ref(),
            path.as_os_str(),
            "-".as_ref(),
        ],
        limits.tool_deadline,
    )
    .await?;
    if !ran.success {
        return Err(DocumentError::Unreadable(format!(
            "the PDF's text could not be read ({})",
            ran.said()
        )));
    }
    let mut read = parse_bbox(&String::from_utf8_lossy(&ran.stdout));
    if read.len() != pages {
        return Err(DocumentError::Unreadable(format!(
            "the PDF says it has {pages} pages but {} could be read",
            read.len()
        )));
    }
    for (i, page) in read.iter_mut().enumerate() {
        if page.lines.iter().any(|l| !l.is_empty()) {
            continue;
        }
        // No text layer on this page: a scan or a photo. Render it and read it by OCR.
        let n = (i + 1).to_string();
        let root = dir.join(format!("page-{n}"));
        let rendered = tools::run(
            PDFTOPPM,
            &[
                "-r".as_ref(),
                OCR_DPI.to_string().as_ref(),
                "-gray".as_ref(),
                "-png".as_ref(),
                "-singlefile".as_ref(),
                "-f".as_ref(),
                n.as_ref(),
                "-l".as_ref(),
                n.as_ref(),
                path.as_os_str(),
                root.as_os_str(),
            ],
            limits.tool_deadline,
        )
        .await?;
        if !rendered.success {
            return Err(DocumentError::Unreadable(format!(
                "page {n} could not be rendered for OCR ({})",
                rendered.said()
            )));
        }
        let image = root.with_extension("png");
        let mut ocr = ocr::read_image(&image, limits).await?;
        let _ = std::fs::remove_file(&image);
        if let Some(mut scanned) = ocr.pop() {
            // Boxes in pixels at OCR_DPI; the page keeps its size in pixels so they stay
            // fractions of the same page.
            scanned.reading = Reading::Ocr;
            *page = scanned;
        }
    }
    Ok(read)
}

/// How many pages; refuses encrypted, corrupt and over-long PDFs with the reason.
pub(super) async fn check(path: &Path, limits: &Limits) -> Result<usize, DocumentError> {
    let ran = tools::run(PDFINFO, &[path.as_os_str()], limits.tool_deadline).await?;
    let out = String::from_utf8_lossy(&ran.stdout);
    if !ran.success {
        let said = ran.said();
        if said.contains("password") {
            return Err(DocumentError::Encrypted);
        }
        return Err(DocumentError::Unreadable(format!("not a readable PDF ({said})")));
    }
    let field = |name: &str| {
        out.lines()
            .find_map(|l| l.strip_prefix(name))
            .map(|v| v.trim().to_owned())
    };
    let pages: usize = field("Pages:")
        .and_then(|p| p.parse().ok())
        .ok_or_else(|| DocumentError::Unreadable("not a readable PDF (no page count)".into()))?;
    if pages == 0 {
        return Err(DocumentError::Unreadable("the PDF has no pages".into()));
    }
    if pages > limits.max_pages {
        return Err(DocumentError::TooManyPages {
            pages,
            max: limits.max_pages,
        });
    }
    Ok(pages)
}

/// pdftotext's `-bbox-layout` XHTML: `<page width height>` holding `<line>`s holding
/// `<word xMin yMin xMax yMax>text</word>`, one element per line of output.
pub fn parse_bbox(xhtml: &str) -> Vec<PageText> {
    let mut pages: Vec<PageText> = Vec::new();
    for raw in xhtml.lines() {
        let l = raw.trim_start();
        if l.starts_with("<page ") {
            pages.push(PageText {
                width: attr(l, "width").unwrap_or(0.0),
                height: attr(l, "height").unwrap_or(0.0),
                reading: Reading::TextLayer,
                lines: Vec::new(),
            });
        } else if l.starts_with("<line") {
            if let Some(p) = pages.last_mut() {
                p.lines.push(Vec::new());
            }
        } else if let Some(rest) = l.strip_prefix("<word ") {
            let Some(p) = pages.last_mut() else { continue };
            let Some((attrs, tail)) = rest.split_once('>') else {
                continue;
            };
            let text = unescape(tail.strip_suffix("</word>").unwrap_or(tail));
            let word = WordBox {
                text,
                x0: attr(attrs, "xMin").unwrap_or(0.0),
                y0: attr(attrs, "yMin").unwrap_or(0.0),
                x1: attr(attrs, "xMax").unwrap_or(0.0),
                y1: attr(attrs, "yMax").unwrap_or(0.0),
                confidence: None,
            };
            match p.lines.last_mut() {
                Some(line) => line.push(word),
                None => p.lines.push(vec![word]),
            }
        }
    }
    pages
}

fn attr(tag: &str, name: &str) -> Option<f64> {
    let at = tag.find(&format!("{name}=\""))? + name.len() + 2;
    let end = tag[at..].find('"')? + at;
    tag[at..end].parse().ok()
}

/// The five XML entities poppler writes, and numeric references.
fn unescape(s: &str) -> String {
    if !s.contains('&') {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let Some(semi) = rest.find(';').filter(|&j| j <= 10) else {
            out.push('&');
            rest = &rest[1..];
            continue;
        };
        let entity = &rest[1..semi];
        let ch = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            e => e
                .strip_prefix("#x")
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .or_else(|| e.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32),
        };
        match ch {
            Some(c) => {
                out.push(c);
                rest = &rest[semi + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_lines_and_pages_from_poppler_xhtml() {
        let x = r#"<doc>
  <page width="612.000000" height="792.000000">
    <flow>
      <block xMin="1" yMin="2" xMax="3" yMax="4">
        <line xMin="1" yMin="2" xMax="3" yMax="4">
          <word xMin="72.000000" yMin="70.5" xMax="120.25" yMax="82.0">Fish&amp;Chips</word>
          <word xMin="125" yMin="70.5" xMax="160" yMax="82">&lt;b&gt;&#233;</word>
        </line>
        <line xMin="1" yMin="2" xMax="3" yMax="4">
          <word xMin="72" yMin="90" xMax="100" yMax="100">9.00</word>
        </line>
      </block>
    </flow>
  </page>
  <page width="612.000000" height="792.000000">
  </page>
</doc>"#;
        let pages = parse_bbox(x);
        assert_eq!(pages.len(), 2);
        assert_eq!(pages[0].lines.len(), 2);
        assert_eq!(pages[0].lines[0][0].text, "Fish&Chips");
        assert_eq!(pages[0].lines[0][1].text, "<b>é");
        assert_eq!(pages[0].lines[0][0].x1, 120.25);
        assert!(pages[1].lines.is_empty());
        assert_eq!(pages[0].width, 612.0);
    }

    #[test]
    fn a_stray_ampersand_is_kept() {
        assert_eq!(unescape("A & B &amp; C &bogus"), "A & B & C &bogus");
    }
}
