//! Input far outside what an automation learned from goes to a person, with the reason in
//! words, whatever the model's score: padded, repeated, foreign-language and binary-looking
//! inputs through the real API and worker, for a route and for a learned field.

use reqwest::StatusCode;
use serde_json::{Value, json};
use tandem_domain::Role;
use tandem_service::automations::TrainingFiles;
use tandem_test_support::{TestApp, backends};

use super::{get_json, post_json};

/// A low threshold: whatever goes to the inbox here goes for its range, not its score.
const ROUTER: &str = r#"
name = "Requests"
slug = "requests"

[[inputs]]
name = "text"

[route]
examples = "requests.jsonl"
oos_label = "oos"
threshold = 0.3
"#;

const TILL: &str = r#"
name = "Till receipts"
slug = "till"

[[inputs]]
name = "text"

[[fields]]
name = "total"
type = "money"
extractor = "learned"
threshold = 0.3

[training]
documents = "till.jsonl"
"#;

fn requests() -> String {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/data/customer-requests.train.jsonl"
    );
    std::fs::read_to_string(path).expect("sample data")
}

fn receipt(i: usize) -> (String, String) {
    let shops = ["ACME MART", "BETA STORES", "GAMMA TRADING", "DELTA FOODS"];
    let total = format!("{}.{:02}", 3 + i * 7 % 90, i * 13 % 100);
    let text = format!(
        "{}\nRECEIPT NO {}\nITEM A 1.00\nITEM B 2.50\nTOTAL: {total}\nTHANK YOU",
        shops[i % 4],
        1000 + i
    );
    (text, total)
}

fn receipts() -> String {
    (0..40)
        .map(|i| {
            let (text, total) = receipt(i);
            json!({ "id": i.to_string(), "text": text, "fields": { "total": total } }).to_string() + "\n"
        })
        .collect()
}

async fn submit(app: &TestApp, token: &str, slug: &str, texts: &[String]) -> Vec<Value> {
    let batch =
        json!({ "items": texts.iter().map(|t| json!({ "input": { "text": t } })).collect::<Vec<_>>() });
    let path = format!("/api/v1/automations/{slug}/items/batch");
    let (status, body) = post_json(app, token, &path, &batch).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    app.drain().await;
    let mut items = Vec::new();
    for item in body["items"].as_array().unwrap() {
        let id = item["id"].as_i64().unwrap();
        let (status, view) = get_json(app, token, &format!("/api/v1/items/{id}")).await;
        assert_eq!(status, StatusCode::OK, "{view}");
        items.push(view);
    }
    items
}

/// The out-of-range messages of an item.
fn range_messages(item: &Value) -> Vec<String> {
    item["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["code"] == "out_of_range")
        .map(|r| r["message"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn inputs_unlike_the_training_go_to_the_inbox_with_the_reason() {
    for backend in backends() {
        let app = TestApp::start(backend).await;
        app.apply(
            ROUTER,
            TrainingFiles {
                route_examples: Some(("requests.jsonl".into(), requests())),
                documents: None,
            },
        )
        .await;
        app.apply(
            TILL,
            TrainingFiles {
                route_examples: None,
                documents: Some(("till.jsonl".into(), receipts())),
            },
        )
        .await;
        let token = app.token("builder@acme.io", Role::Builder).await;

        let request = "what is the balance of my checking account";
        let mut padded = request.to_owned();
        for i in 0..7000 {
            padded.push_str(&format!(" word{i}"));
        }
        let texts = vec![
            request.to_owned(),
            // The 62 KB request of the issue: a real sentence, then "word0 … word6999".
            padded,
            // A short request, then 50,000 repeated letters.
            format!("book a flight to paris {}", "a".repeat(50_000)),
            // A familiar phrase over and over, short enough to pass on length.
            "transfer money now ".repeat(9),
            "necesito ayuda urgente porque perdieron mi maleta durante el vuelo de ayer".to_owned(),
            "пожалуйста переведите деньги на мой сберегательный счёт".to_owned(),
            "PK\u{3}\u{4}\u{14}\u{1}\u{8}\u{2}\u{FFFD}\u{FFFD}x\u{1}\u{2} check my balance".to_owned(),
        ];
        let items = submit(&app, &token, "requests", &texts).await;
        assert_eq!(items[0]["status"], "auto_accepted", "{}", items[0]);
        assert!(range_messages(&items[0]).is_empty());
        let expect = [
            "characters long; the longest text this automation learned from had",
            "The input has a word 50000 characters long",
            "The input repeats itself",
            "never appeared in what this automation learned from",
            "it may be another alphabet or script",
            "it looks like binary data, not text",
        ];
        for (item, words) in items[1..].iter().zip(expect) {
            assert_eq!(item["status"], "needs_review", "{item}");
            let messages = range_messages(item);
            assert!(
                messages.iter().any(|m| m.contains(words)),
                "{words}: {messages:?}"
            );
            assert!(
                messages
                    .iter()
                    .all(|m| m.ends_with("It goes to a person whatever its score."))
            );
        }
        // The padded request still scores its real sentence: it is held for its range.
        let padded = &items[1];
        assert!(padded["route"]["confidence"].as_f64().unwrap() >= 0.3, "{padded}");

        // A learned field: a receipt like the training ones is accepted; the same receipt
        // padded with a pasted log, or in another script, is not.
        let (good, _) = receipt(7);
        let log: String = (0..400).map(|i| format!("line {i} ok\n")).collect();
        let texts = vec![
            good.clone(),
            format!("{good}\n{log}"),
            "ТОВАРНЫЙ ЧЕК\nМАГАЗИН ПРОДУКТЫ\nИТОГО: 12.50\nСПАСИБО".to_owned(),
        ];
        let items = submit(&app, &token, "till", &texts).await;
        assert_eq!(items[0]["status"], "auto_accepted", "{}", items[0]);
        for item in &items[1..] {
            assert_eq!(item["status"], "needs_review", "{item}");
            assert!(!range_messages(item).is_empty(), "{item}");
        }
    }
}
