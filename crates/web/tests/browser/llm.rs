//! A builder compares two extractors in the browser and keeps the better one.

use fantoccini::Locator;
use serde_json::json;
use tandem_domain::Role;
use tandem_service::automations::TrainingFiles;
use tandem_test_support::decision::correct;
use tandem_test_support::{Browser, FakeLlm, TestApp, backends};

use super::screenshot;

#[tokio::test]
async fn a_builder_keeps_the_extractor_that_agrees_with_the_reviewers() {
    let app = TestApp::start(backends()[0]).await;
    let llm = FakeLlm::start().await;
    llm.logprobs(true)
        .answer_when("ACME", r#"{"company": "ACME Ltd"}"#)
        .answer_when("Initech", r#"{"company": "Initech"}"#);
    let definition = format!(
        r#"
name = "Receipts"
slug = "receipts"

[[fields]]
name = "company"
labels = ["Company"]
shadow_extractor = "llm"
threshold = 1.0

[llm]
base_url = "{}"
model = "test-model"
retries = 0
"#,
        llm.base_url
    );
    app.apply(&definition, TrainingFiles::default()).await;
    let admin = app.user("ada@acme.io", Role::Admin).await;
    let actor = tandem_service::auth::Actor { user: admin };
    let ids = app
        .submit_texts(
            &actor,
            "receipts",
            &["Company: ACME Ltd", "Initech\nCompany: 1 Main Street"],
        )
        .await;
    for (id, company) in ids.iter().zip(["ACME Ltd", "Initech"]) {
        let decision = correct([("company", json!(company))]);
        app.tandem.decide(&actor, *id, decision).await.unwrap();
    }

    // The item page says how the LLM's confidence was scored (issue 20), on a wide and
    // on a narrow screen.
    for width in [1280, 400] {
        let b = Browser::start(width, 900).await;
        b.sign_in(&app, "ada@acme.io").await;
        b.client
            .goto(&app.url(&format!("/items/{}", ids[0])))
            .await
            .unwrap();
        let scored = b
            .client
            .find(Locator::Css(".scored-by"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(scored, "token log-probabilities");
        screenshot(&b, &format!("item-llm-{width}.png")).await;
        b.close().await;
    }

    let b = Browser::start(1280, 900).await;
    b.sign_in(&app, "ada@acme.io").await;
    b.client
        .goto(&app.url("/automations/receipts/extractors"))
        .await
        .unwrap();
    let llm_row = b
        .client
        .find(Locator::Css("tr[data-field='company'][data-extractor='llm']"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        llm_row.contains("2 of 2") && llm_row.contains("100%"),
        "{llm_row}"
    );
    let label_row = b
        .client
        .find(Locator::Css("tr[data-extractor='label']"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(label_row.contains("1 of 2"), "{label_row}");
    screenshot(&b, "extractors.png").await;
    b.client
        .find(Locator::XPath("//button[contains(., 'Keep llm for company')]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let notice = b
        .client
        .wait()
        .for_element(Locator::Css(".notice"))
        .await
        .expect("the page after the switch")
        .text()
        .await
        .unwrap();
    assert!(notice.contains("Version 2 is active"), "{notice}");
    let (_, c) = app.tandem.active(app.workspace, "receipts").await.unwrap();
    assert_eq!(c.def.field("company").unwrap().extractor.as_str(), "llm");
    b.close().await;
}
