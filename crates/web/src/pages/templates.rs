//! The pages' data, shaped for their templates: every string already formatted, so the
//! templates only lay out and escape.

use askama::Template;

/// What the navigation bar shows on every signed-in page.
#[derive(Debug, Clone)]
pub struct Nav {
    pub user_name: String,
    pub role: String,
    pub csrf: String,
    pub open_count: i64,
    /// Which section is current: inbox, items, automations, deliveries.
    pub section: &'static str,
}

#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage {
    pub error: Option<String>,
    pub email: String,
    /// Where to go after signing in (a path on this site).
    pub next: String,
    /// The form token, also in the `tandem_login` cookie.
    pub csrf: String,
}

#[derive(Debug, Clone)]
pub struct CountLink {
    pub key: String,
    pub label: String,
    pub count: i64,
    pub selected: bool,
}

#[derive(Debug, Clone)]
pub struct InboxRow {
    pub id: i64,
    pub automation: String,
    pub preview: String,
    pub reasons: Vec<String>,
    pub confidence: String,
    pub age: String,
    pub created: String,
    pub status: String,
    pub priority: String,
    /// "due in 25 min" / "overdue by 2 h"; empty without an SLA.
    pub due: String,
    pub overdue: bool,
    /// Who else is working on it right now.
    pub held_by: Option<String>,
    /// The viewer holds it.
    pub mine: bool,
}

#[derive(Template)]
#[template(path = "inbox.html")]
pub struct InboxPage {
    pub nav: Nav,
    pub automations: Vec<CountLink>,
    pub reasons: Vec<CountLink>,
    pub rows: Vec<InboxRow>,
    pub automation: String,
    pub reason: String,
    /// oldest, newest, priority or due.
    pub order: String,
    pub overdue: bool,
    pub overdue_count: i64,
    pub can_decide: bool,
    pub oldest: String,
    pub notice: Option<String>,
    /// (slug, name) of automations with open items whose card this reviewer has not read.
    pub unread_cards: Vec<(String, String)>,
    pub pager: super::paging::Pager,
}

#[derive(Debug, Clone)]
pub struct SegmentView {
    pub text: String,
    /// Space-separated names of the fields whose evidence covers this piece.
    pub fields: String,
}

#[derive(Debug, Clone)]
pub struct InputBlock {
    pub name: String,
    pub segments: Vec<SegmentView>,
}

#[derive(Debug, Clone)]
pub struct FieldRow {
    pub name: String,
    pub kind: String,
    pub value: String,
    /// The value as it goes into the edit box (one per line for multi-valued fields).
    pub edit: String,
    pub confidence: String,
    pub low: bool,
    pub found: bool,
    pub required: bool,
    pub multi: bool,
    pub reasons: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct RouteRow {
    pub label: String,
    pub confidence: String,
}

#[derive(Debug, Clone)]
pub struct RouteBlock {
    pub label: String,
    pub confidence: String,
    pub low: bool,
    pub top: Vec<RouteRow>,
    pub labels: Vec<String>,
    pub reasons: Vec<String>,
    /// What weighed most in the model's choice, in words.
    pub because: Vec<String>,
    /// The rule that decided, narrowed or flagged the route.
    pub rule: Option<String>,
}

#[derive(Debug, Clone)]
pub struct HistoryRow {
    pub when: String,
    pub who: String,
    pub what: String,
    pub detail: String,
}

#[derive(Debug, Clone)]
pub struct DeliveryRow {
    pub destination: String,
    pub status: String,
    pub attempts: i64,
    pub error: String,
    pub key: String,
}

#[derive(Template)]
#[template(path = "item.html")]
pub struct ItemPage {
    pub nav: Nav,
    pub id: i64,
    pub automation: String,
    pub automation_slug: String,
    pub status: String,
    pub status_code: String,
    pub open: bool,
    pub can_decide: bool,
    /// Accepted automatically: "this looks wrong" can send it back.
    pub can_report: bool,
    /// It has an accepted result and the person may propose it as an edge case.
    pub can_add_case: bool,
    /// Someone else is working on it (a sentence for people).
    pub held: Option<String>,
    /// The rejection reason a refused decision carried, typed again into its box.
    pub typed_reason: String,
    /// What a refused decision carried when the form cannot be shown again (someone else
    /// decided or holds the item): label and value, so nothing typed is lost.
    pub unsent: Vec<(String, String)>,
    pub version: String,
    pub created: String,
    pub reasons: Vec<String>,
    pub inputs: Vec<InputBlock>,
    pub fields: Vec<FieldRow>,
    pub route: Option<RouteBlock>,
    pub history: Vec<HistoryRow>,
    pub deliveries: Vec<DeliveryRow>,
    /// Decided items most like this one, most similar first.
    pub similar: Vec<SimilarRow>,
    pub result: String,
    pub error: Option<String>,
    pub error_details: Vec<String>,
    pub next_id: Option<i64>,
    /// The LLM's cost and the shadow extractors' answers, when the automation has them.
    pub llm: Option<super::llm::ItemLlmBlock>,
    /// By-hand mode: the automation's answers hidden, the time kept.
    pub by_hand: bool,
    pub hand: super::by_hand::HandBlock,
    pub notice: Option<String>,
    /// The document the item came from: its pages with the evidence boxed.
    pub document: Option<super::document::DocumentBlock>,
}

#[derive(Debug, Clone)]
pub struct SimilarRow {
    pub id: i64,
    pub similarity: String,
    pub status: String,
    pub status_code: String,
    pub preview: String,
    /// How it was decided, in words: the corrections or the reason.
    pub how: String,
    pub who: String,
    pub when: String,
}

#[derive(Template)]
#[template(path = "items.html")]
pub struct ItemsPage {
    pub nav: Nav,
    pub rows: Vec<InboxRow>,
    pub status: String,
    pub statuses: Vec<(String, String)>,
    pub pager: super::paging::Pager,
}

#[derive(Debug, Clone)]
pub struct AutomationRow {
    pub slug: String,
    pub name: String,
    pub version: String,
    pub versions: usize,
    pub updated: String,
    pub description: String,
    pub fields: String,
    pub routes: String,
    pub destinations: String,
    pub open: i64,
}

#[derive(Template)]
#[template(path = "automations.html")]
pub struct AutomationsPage {
    pub nav: Nav,
    pub rows: Vec<AutomationRow>,
}

#[derive(Debug, Clone)]
pub struct DeliveryListRow {
    pub id: i64,
    pub item_id: i64,
    pub destination: String,
    pub status: String,
    pub attempts: i64,
    pub error: String,
    pub when: String,
    pub failed: bool,
}

#[derive(Template)]
#[template(path = "deliveries.html")]
pub struct DeliveriesPage {
    pub nav: Nav,
    pub rows: Vec<DeliveryListRow>,
    pub status: String,
    pub failed_count: usize,
    pub notifications: Vec<NotificationListRow>,
}

/// A digest or escalation sent to people, as the deliveries page lists it.
pub struct NotificationListRow {
    pub kind: String,
    pub channel: String,
    pub items: String,
    /// sent, retrying or failed.
    pub status: String,
    pub attempts: i64,
    pub error: String,
    pub when: String,
    /// "next attempt 14:05" while retrying.
    pub next: String,
}

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub status: u16,
    pub message: String,
    pub details: Vec<String>,
}
