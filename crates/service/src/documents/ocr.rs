//! Reading page images with Tesseract: its TSV output gives, per word, a box in pixels and
//! a certainty from 0 to 100. Orientation and script detection (`--psm 1`) turns pages
//! scanned sideways or upside down before reading them.

use std::path::Path;

use tandem_engine::layout::Reading;

use super::tools::{self, TESSERACT};
use super::{DocumentError, Limits, PageText, WordBox};

/// Read every page of an image file (a multi-page TIFF gives several).
pub async fn read_image(path: &Path, limits: &Limits) -> Result<Vec<PageText>, DocumentError> {
    let ran = tools::run(
        TESSERACT,
        &[
            path.as_os_str(),
            "stdout".as_ref(),
            "-l".as_ref(),
            "eng".as_ref(),
            "--psm".as_ref(),
            "1".as_ref(),
            "tsv".as_ref(),
        ],
        limits.tool_deadline,
    )
    .await?;
    if !ran.success {
        return Err(DocumentError::Unreadable(format!(
            "the OCR engine could not read the image ({})",
            ran.said()
        )));
    }
    Ok(parse_tsv(&String::from_utf8_lossy(&ran.stdout)))
}

/// Tesseract's TSV: `level page_num block_num par_num line_num word_num left top width
/// height conf text`. Level 1 rows give each page's size, level 5 rows the words; a word's
/// line is its (block, paragraph, line) numbers.
pub fn parse_tsv(tsv: &str) -> Vec<PageText> {
    let mut pages: Vec<PageText> = Vec::new();
    let mut line_key = None;
    for row in tsv.lines().skip(1) {
        let cols: Vec<&str> = row.split('\t').collect();
        if cols.len() < 11 {
            continue;
        }
        let num = |i: usize| cols[i].trim().parse::<f64>().unwrap_or(0.0);
        match cols[0] {
            "1" => {
                pages.push(PageText {
                    width: num(8),
                    height: num(9),
                    reading: Reading::Ocr,
                    lines: Vec::new(),
                });
                line_key = None;
            }
            "5" => {
                let text = cols.get(11).copied().unwrap_or("").trim();
                let conf = num(10);
                if text.is_empty() || conf < 0.0 {
                    continue;
                }
                let Some(page) = pages.last_mut() else { continue };
                let key = (cols[2], cols[3], cols[4]);
                if line_key != Some(key) || page.lines.is_empty() {
                    page.lines.push(Vec::new());
                    line_key = Some(key);
                }
                let (left, top) = (num(6), num(7));
                if let Some(line) = page.lines.last_mut() {
                    line.push(WordBox {
                        text: text.to_owned(),
                        x0: left,
                        y0: top,
                        x1: left + num(8),
                        y1: top + num(9),
                        confidence: Some((conf / 100.0) as f32),
                    });
                }
            }
            _ => {}
        }
    }
    pages
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_keep_their_page_line_box_and_certainty() {
        let tsv = "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext\n\
1\t1\t0\t0\t0\t0\t0\t0\t400\t800\t-1\t\n\
4\t1\t1\t1\t1\t0\t10\t10\t100\t20\t-1\t\n\
5\t1\t1\t1\t1\t1\t10\t10\t40\t20\t95.5\tTotal\n\
5\t1\t1\t1\t1\t2\t60\t10\t50\t20\t41.0\t9.00\n\
5\t1\t1\t1\t2\t1\t10\t40\t50\t20\t90\tThanks\n\
5\t1\t1\t1\t2\t2\t70\t40\t5\t20\t-1\t \n\
1\t2\t0\t0\t0\t0\t0\t0\t400\t800\t-1\t\n\
5\t2\t1\t1\t1\t1\t10\t10\t40\t20\t88\tPage\n";
        let pages = parse_tsv(tsv);
        assert_eq!(pages.len(), 2);
        assert_eq!(pages[0].lines.len(), 2);
        let w = &pages[0].lines[0][1];
        assert_eq!((w.text.as_str(), w.x0, w.x1, w.y1), ("9.00", 60.0, 110.0, 30.0));
        assert_eq!(w.confidence, Some(0.41));
        assert_eq!(pages[0].lines[1].len(), 1, "blank words are dropped");
        assert_eq!(pages[1].lines[0][0].text, "Page");
        assert_eq!(pages[0].width, 400.0);
    }
}
