//! Paging links for the item lists: "Items 51–100 of 1,234", with the previous and next
//! pages as keyset positions (`after=` / `before=`), never offsets.

use tandem_service::ServiceError;
use tandem_service::inbox::ItemPage;
use tandem_store::{ItemCursor, PageFrom};

use crate::format::query_value;

/// Rows per page of the inbox and the items list.
pub const PAGE_SIZE: u32 = 50;

/// The pager under a list.
#[derive(Debug, Clone, Default)]
pub struct Pager {
    /// "Items 51–100 of 1,234", or "No items" .
    pub summary: String,
    pub prev: Option<String>,
    pub next: Option<String>,
    /// The first page, when this is not it.
    pub first: Option<String>,
}

/// Where the requested page starts, from the page address's `after` or `before`.
pub fn page_from(after: Option<&str>, before: Option<&str>) -> Result<Option<PageFrom>, ServiceError> {
    let parse = |name: &str, v: &str| {
        ItemCursor::parse(v).ok_or_else(|| {
            ServiceError::invalid(format!(
                "{name}: {v:?} is not a position in this list; start again from the first page"
            ))
        })
    };
    match (after.filter(|v| !v.is_empty()), before.filter(|v| !v.is_empty())) {
        (Some(_), Some(_)) => Err(ServiceError::invalid("give either after or before, not both")),
        (Some(a), None) => Ok(Some(PageFrom::After(parse("after", a)?))),
        (None, Some(b)) => Ok(Some(PageFrom::Before(parse("before", b)?))),
        (None, None) => Ok(None),
    }
}

/// `1234` → `1,234`.
fn thousands(n: i64) -> String {
    let digits = n.abs().to_string();
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    if n < 0 { format!("-{out}") } else { out }
}

/// The pager for `page`, whose links are `base` (a path with its filters, ending in `?`
/// or `&`) plus the position.
pub fn pager(page: &ItemPage, base: &str, paged: bool) -> Pager {
    let summary = if page.items.is_empty() {
        if page.total > 0 {
            format!("No more items here; {} in all", thousands(page.total))
        } else {
            String::new()
        }
    } else {
        format!(
            "Items {}–{} of {}",
            thousands(page.first),
            thousands(page.last()),
            thousands(page.total)
        )
    };
    let link = |key: &str, c: &ItemCursor| format!("{base}{key}={}", query_value(&c.encode()));
    Pager {
        summary,
        prev: page.prev.as_ref().map(|c| link("before", c)),
        next: page.next.as_ref().map(|c| link("after", c)),
        first: (paged && page.first != 1).then(|| base.trim_end_matches(['?', '&']).to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_read_with_separators_and_positions_parse_back() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_234), "1,234");
        assert_eq!(thousands(1_234_567), "1,234,567");
        let c = ItemCursor {
            created_at: 1_795_770_000_000,
            id: tandem_domain::ItemId(42),
            priority: 3,
            due_at: None,
        };
        assert_eq!(
            page_from(Some(&c.encode()), None).unwrap(),
            Some(PageFrom::After(c))
        );
        assert!(page_from(Some("12.x"), None).is_err());
        assert!(page_from(Some(&c.encode()), Some(&c.encode())).is_err());
        assert_eq!(page_from(Some(""), None).unwrap(), None);
    }
}
