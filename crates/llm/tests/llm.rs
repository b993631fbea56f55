//! The adapter against a local server that speaks the chat-completions protocol.

use std::time::Duration;

use serde_json::json;
use tandem_llm::{FieldRequest, LlmClient, LlmConfig, LlmError, Meter, ScoreSource, default_max_tokens};
use tandem_test_support::FakeLlm;

fn fields() -> Vec<FieldRequest> {
    vec![
        FieldRequest {
            name: "company".into(),
            kind: "text".into(),
            multi: false,
        },
        FieldRequest {
            name: "total".into(),
            kind: "money".into(),
            multi: false,
        },
    ]
}

fn config(base_url: &str) -> LlmConfig {
    LlmConfig {
        timeout: Duration::from_secs(5),
        backoff: Duration::from_millis(1),
        ..LlmConfig::new(base_url, "test-model")
    }
}

const RECEIPT: &str = "ACME TRADING\nTOTAL 9.00";
const ANSWER: &str = r#"{"company": "ACME TRADING", "total": "9.00"}"#;

#[tokio::test]
async fn asks_through_a_json_schema_and_scores_values_by_their_token_logprobs() {
    let llm = FakeLlm::start().await;
    llm.answer(ANSWER).logprobs(true).doubt("9.00", -0.5);
    let client = LlmClient::new(config(&llm.base_url)).unwrap();
    let out = client.extract(RECEIPT, &fields()).await.unwrap();

    let req = &llm.requests()[0];
    assert_eq!(req["model"], "test-model");
    assert_eq!(req["logprobs"], true);
    assert_eq!(req["response_format"]["type"], "json_schema");
    assert_eq!(
        req["response_format"]["json_schema"]["schema"]["required"],
        json!(["company", "total"])
    );
    assert_eq!(req["messages"][1]["content"], RECEIPT);

    assert_eq!(out.fields[0].value, json!("ACME TRADING"));
    assert_eq!(out.fields[0].source, ScoreSource::Logprobs);
    assert!(out.fields[0].score > 0.95, "{:?}", out.fields[0]);
    // "9.00" with its quotes spans three 3-character tokens of the fake's tokenizer, all
    // doubted: e^(-0.5 * 3) (the doubted tokens' logprobs add up).
    let total = &out.fields[1];
    assert_eq!(total.value, json!("9.00"));
    assert!(total.score < 0.5 && total.score > 0.1, "{total:?}");
    assert_eq!(out.requests, 1);
    assert!(
        out.usage.prompt_tokens > 0 && out.usage.completion_tokens > 0,
        "{:?}",
        out.usage
    );
}

#[tokio::test]
async fn without_logprobs_the_score_is_agreement_across_samples() {
    let llm = FakeLlm::start().await;
    llm.then(&[
        ANSWER,
        r#"{"company": "acme  trading", "total": "9.00"}"#,
        r#"{"company": "ACME TRADING", "total": "19.00"}"#,
    ]);
    let client = LlmClient::new(LlmConfig {
        samples: 3,
        ..config(&llm.base_url)
    })
    .unwrap();
    let out = client.extract(RECEIPT, &fields()).await.unwrap();
    assert_eq!(out.fields[0].score, 1.0, "case and spacing do not disagree");
    assert_eq!(out.fields[0].source, ScoreSource::Agreement { samples: 3 });
    assert!((out.fields[1].score - 2.0 / 3.0).abs() < 1e-9);
    assert_eq!(out.fields[1].value, json!("9.00"));
    let reqs = llm.requests();
    assert_eq!(reqs.len(), 2, "the extra samples come from one request with n");
    assert_eq!(reqs[1]["n"], 2);
}

#[tokio::test]
async fn servers_that_ignore_n_are_asked_again() {
    let llm = FakeLlm::start().await;
    llm.ignore_n(true)
        .then(&[ANSWER, ANSWER, r#"{"company": null, "total": "9.00"}"#]);
    let client = LlmClient::new(config(&llm.base_url)).unwrap();
    let out = client.extract(RECEIPT, &fields()).await.unwrap();
    assert_eq!(llm.requests().len(), 3);
    assert_eq!(out.requests, 3);
    assert!((out.fields[0].score - 2.0 / 3.0).abs() < 1e-9);
    assert_eq!(out.fields[1].score, 1.0);
}

#[tokio::test]
async fn falls_back_to_json_object_when_the_server_refuses_json_schema() {
    let llm = FakeLlm::start().await;
    llm.answer(ANSWER).logprobs(true).reject_json_schema(true);
    let client = LlmClient::new(config(&llm.base_url)).unwrap();
    let out = client.extract(RECEIPT, &fields()).await.unwrap();
    assert_eq!(out.fields[1].value, json!("9.00"));
    client.extract(RECEIPT, &fields()).await.unwrap();
    let formats: Vec<String> = llm
        .requests()
        .iter()
        .map(|r| r["response_format"]["type"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        formats,
        ["json_schema", "json_object", "json_object"],
        "the refusal is remembered"
    );
    let system = llm.requests()[1]["messages"][0]["content"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        system.contains("\"required\""),
        "the schema goes in the prompt instead: {system}"
    );
}

#[tokio::test]
async fn retries_failures_that_may_pass_and_gives_up_on_the_others() {
    let llm = FakeLlm::start().await;
    llm.answer(ANSWER).logprobs(true).fail_next(&[503, 429]);
    let client = LlmClient::new(config(&llm.base_url)).unwrap();
    let out = client.extract(RECEIPT, &fields()).await.unwrap();
    assert_eq!(out.requests, 3, "two failures, then the answer");

    llm.fail_next(&[500, 502, 503]);
    let err = client.extract(RECEIPT, &fields()).await.unwrap_err();
    assert!(
        matches!(
            err,
            LlmError::Status {
                status: 503,
                attempts: 3,
                ..
            }
        ),
        "{err}"
    );

    llm.fail_next(&[401]);
    let err = client.extract(RECEIPT, &fields()).await.unwrap_err();
    assert!(
        matches!(
            err,
            LlmError::Status {
                status: 401,
                attempts: 1,
                ..
            }
        ),
        "a 401 will not pass by retrying: {err}"
    );
    assert!(err.to_string().contains(&llm.base_url), "{err}");
}

#[tokio::test]
async fn an_unreachable_server_is_named_in_the_error() {
    // A port that was just free: bind, read the port, close.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/v1");
    let client = LlmClient::new(LlmConfig {
        retries: 1,
        ..config(&url)
    })
    .unwrap();
    let err = client.extract(RECEIPT, &fields()).await.unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, LlmError::Unreachable { attempts: 2, .. }), "{msg}");
    assert!(
        msg.contains(&format!("http://127.0.0.1:{port}/v1/chat/completions")),
        "{msg}"
    );
    assert!(msg.contains("unreachable"), "{msg}");
}

#[tokio::test]
async fn a_slow_server_times_out() {
    let llm = FakeLlm::start().await;
    llm.answer(ANSWER).delay(Duration::from_secs(10));
    let client = LlmClient::new(LlmConfig {
        timeout: Duration::from_millis(100),
        retries: 1,
        ..config(&llm.base_url)
    })
    .unwrap();
    let err = client.extract(RECEIPT, &fields()).await.unwrap_err();
    assert!(
        matches!(err, LlmError::Timeout { attempts: 1, .. }),
        "a timeout is not asked again at once (the worker retries later): {err}"
    );
    assert!(err.to_string().contains("did not answer within"), "{err}");
    assert_eq!(llm.requests().len(), 1);
}

#[tokio::test]
async fn requests_in_flight_stay_under_the_limit() {
    let llm = FakeLlm::start().await;
    llm.answer(ANSWER).logprobs(true).delay(Duration::from_millis(20));
    let client = std::sync::Arc::new(
        LlmClient::new(LlmConfig {
            max_concurrency: 2,
            ..config(&llm.base_url)
        })
        .unwrap(),
    );
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let c = client.clone();
        tasks.push(tokio::spawn(async move { c.extract(RECEIPT, &fields()).await }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(llm.requests().len(), 8);
    assert!(llm.max_in_flight() <= 2, "{}", llm.max_in_flight());
}

#[tokio::test]
async fn an_answer_that_is_not_json_is_a_clear_error() {
    let llm = FakeLlm::start().await;
    llm.answer("The total is 9.00").logprobs(true);
    let client = LlmClient::new(config(&llm.base_url)).unwrap();
    let err = client.extract(RECEIPT, &fields()).await.unwrap_err();
    assert!(matches!(err, LlmError::BadAnswer { .. }), "{err}");
    assert!(err.to_string().contains("not a JSON object"), "{err}");
}

#[test]
fn a_bad_base_url_is_refused() {
    let err = LlmClient::new(LlmConfig::new("localhost:8080", "m")).unwrap_err();
    assert!(
        err.to_string().contains("not an http:// or https:// URL"),
        "{err}"
    );
}

#[tokio::test]
async fn a_redirect_is_an_error_and_is_not_followed() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    // The real model server, which the redirect points at: it must never be asked.
    let target = FakeLlm::start().await;
    target.answer(ANSWER);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let redirecting = format!("http://{}/v1", listener.local_addr().unwrap());
    let location = format!("{}/chat/completions", target.base_url);
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            let location = location.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 64 * 1024];
                let _ = conn.read(&mut buf).await;
                let answer = format!(
                    "HTTP/1.1 307 Temporary Redirect\r\nLocation: {location}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                );
                let _ = conn.write_all(answer.as_bytes()).await;
            });
        }
    });
    let client = LlmClient::new(LlmConfig {
        retries: 0,
        ..config(&redirecting)
    })
    .unwrap();
    let err = client.extract(RECEIPT, &fields()).await.unwrap_err();
    assert!(err.to_string().contains("307"), "{err}");
    assert!(target.requests().is_empty(), "the redirect was followed");
}

#[tokio::test]
async fn a_model_server_on_an_internal_address_is_refused_unless_allowed() {
    use std::sync::Arc;
    use tandem_llm::outbound::OutboundPolicy;
    let llm = FakeLlm::start().await;
    llm.answer(ANSWER);
    let strict = Some(Arc::new(OutboundPolicy::default()));
    let Err(err) = LlmClient::new(LlmConfig {
        outbound: strict.clone(),
        ..config(&llm.base_url)
    }) else {
        panic!("127.0.0.1 is refused");
    };
    assert!(err.to_string().contains("internal address"), "{err}");
    // A name that resolves to loopback passes the URL check and is refused when resolved.
    let by_name = LlmClient::new(LlmConfig {
        outbound: strict,
        retries: 0,
        ..config(&llm.base_url.replace("127.0.0.1", "localhost"))
    })
    .unwrap();
    let err = by_name.extract(RECEIPT, &fields()).await.unwrap_err();
    assert!(err.to_string().contains("internal address"), "{err}");
    assert!(llm.requests().is_empty());
    // Listed by the operator: allowed.
    let allowed = LlmClient::new(LlmConfig {
        outbound: Some(Arc::new(OutboundPolicy {
            allow_hosts: vec!["127.0.0.1".into()],
            allow_private: false,
        })),
        ..config(&llm.base_url)
    })
    .unwrap();
    assert!(allowed.extract(RECEIPT, &fields()).await.is_ok());
}

// --- Issue 20: what a real server (llama.cpp) does ------------------------------------

#[tokio::test]
async fn every_request_is_bounded_and_a_runaway_answer_is_stopped_named_and_not_retried() {
    let llm = FakeLlm::start().await;
    llm.answer(ANSWER).logprobs(true).run_away_when("S19537");
    let client = LlmClient::new(config(&llm.base_url)).unwrap();
    client.extract(RECEIPT, &fields()).await.unwrap();
    let limit = default_max_tokens(&fields());
    assert_eq!(llm.requests()[0]["max_tokens"], limit, "sized from the schema");
    assert!((100..1000).contains(&limit), "{limit}");

    let err = client
        .extract("ACME\nREF S19537-X\nTOTAL 9.00", &fields())
        .await
        .unwrap_err();
    assert!(matches!(err, LlmError::CutShort { .. }), "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains("kept repeating") && msg.contains("S19537-X"),
        "{msg}"
    );
    assert!(msg.contains(&format!("max_tokens ({limit})")), "{msg}");
    assert_eq!(llm.requests().len(), 2, "the same question is not asked again");

    // The limit can be set.
    let set = LlmClient::new(LlmConfig {
        max_tokens: Some(40),
        ..config(&llm.base_url)
    })
    .unwrap();
    let err = set.extract("ACME\nREF S19537-X", &fields()).await.unwrap_err();
    assert!(err.to_string().contains("max_tokens (40)"), "{err}");
    assert_eq!(llm.requests()[2]["max_tokens"], 40);
}

#[tokio::test]
async fn a_full_context_is_not_retried_and_does_not_switch_off_the_schema() {
    let llm = FakeLlm::start().await;
    llm.answer(ANSWER).logprobs(true).context_size(400);
    let client = LlmClient::new(config(&llm.base_url)).unwrap();
    let long = format!(
        "ACME TRADING\n{}TOTAL 9.00",
        "line of a long contract\n".repeat(200)
    );
    let err = client.extract(&long, &fields()).await.unwrap_err();
    assert!(matches!(err, LlmError::TooLong { .. }), "{err}");
    assert!(
        err.to_string().contains("exceeds the available context size"),
        "{err}"
    );
    assert_eq!(llm.requests().len(), 1, "not asked again");
    // The next, ordinary document still goes through the schema.
    let out = client.extract(RECEIPT, &fields()).await.unwrap();
    assert_eq!(out.fields[1].value, json!("9.00"));
    let formats: Vec<&str> = llm
        .requests()
        .iter()
        .map(|r| r["response_format"]["type"].as_str().unwrap().to_owned())
        .collect::<Vec<_>>()
        .iter()
        .map(|s| {
            if s == "json_schema" {
                "json_schema"
            } else {
                "json_object"
            }
        })
        .collect();
    assert_eq!(formats, ["json_schema", "json_schema"]);
}

#[tokio::test]
async fn a_bad_request_that_is_not_about_the_schema_keeps_the_schema() {
    let llm = FakeLlm::start().await;
    llm.answer(ANSWER).logprobs(true).fail_next(&[400]);
    let client = LlmClient::new(config(&llm.base_url)).unwrap();
    let err = client.extract(RECEIPT, &fields()).await.unwrap_err();
    assert!(matches!(err, LlmError::Status { status: 400, .. }), "{err}");
    client.extract(RECEIPT, &fields()).await.unwrap();
    assert_eq!(
        llm.requests()[1]["response_format"]["type"],
        "json_schema",
        "one unrelated 400 does not switch the version to json_object"
    );
}

#[tokio::test]
async fn logprobs_of_a_fenced_answer_still_score_it() {
    let llm = FakeLlm::start().await;
    llm.answer(ANSWER).logprobs(true).fenced(true).doubt("9.00", -0.5);
    let client = LlmClient::new(config(&llm.base_url)).unwrap();
    let out = client.extract(RECEIPT, &fields()).await.unwrap();
    assert_eq!(out.fields[1].source, ScoreSource::Logprobs);
    assert!(
        out.fields[1].score < 0.5 && out.fields[0].score > 0.95,
        "{:?}",
        out.fields
    );
    assert_eq!(llm.requests().len(), 1, "no sampling request");
}

#[tokio::test]
async fn a_failed_sample_keeps_the_first_answer_and_failures_are_metered() {
    let llm = FakeLlm::start().await;
    // No logprobs, so the client samples; the sample request fails.
    llm.answer(ANSWER).fail_request(2, 503);
    let client = LlmClient::new(LlmConfig {
        retries: 0,
        ..config(&llm.base_url)
    })
    .unwrap();
    let out = client.extract(RECEIPT, &fields()).await.unwrap();
    assert_eq!(out.fields[1].value, json!("9.00"), "the first answer is kept");
    assert_eq!(out.fields[1].source, ScoreSource::Unscored);
    assert_eq!(out.requests, 2, "the failed sample counts");

    // A failure's cost is known: the answer was made (and paid for), then refused.
    let llm = FakeLlm::start().await;
    llm.answer("The total is 9.00").logprobs(true);
    let client = LlmClient::new(config(&llm.base_url)).unwrap();
    let mut meter = Meter::default();
    let err = client
        .extract_metered(RECEIPT, &fields(), &mut meter)
        .await
        .unwrap_err();
    assert!(matches!(err, LlmError::BadAnswer { .. }), "{err}");
    assert_eq!(meter.requests, 1);
    assert!(
        meter.usage.prompt_tokens > 0 && meter.usage.completion_tokens > 0,
        "{meter:?}"
    );
    assert!(meter.latency > Duration::ZERO);
}

#[tokio::test]
async fn latency_is_time_in_requests_not_waiting_for_a_slot() {
    let llm = FakeLlm::start().await;
    llm.answer(ANSWER)
        .logprobs(true)
        .delay(Duration::from_millis(400));
    let client = std::sync::Arc::new(
        LlmClient::new(LlmConfig {
            max_concurrency: 1,
            ..config(&llm.base_url)
        })
        .unwrap(),
    );
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let c = client.clone();
        tasks.push(tokio::spawn(async move { c.extract(RECEIPT, &fields()).await }));
    }
    let started = std::time::Instant::now();
    for t in tasks {
        let out = t.await.unwrap().unwrap();
        // One 400 ms request each; the last waited 1.2 s for its turn, which is not
        // latency. (The margin is for a loaded machine.)
        assert!(
            out.latency >= Duration::from_millis(400) && out.latency < Duration::from_millis(1100),
            "{:?}",
            out.latency
        );
    }
    assert!(started.elapsed() >= Duration::from_millis(1600), "one at a time");
}

#[tokio::test]
async fn a_model_the_server_does_not_serve_is_refused() {
    let llm = FakeLlm::start().await;
    llm.answer(ANSWER)
        .logprobs(true)
        .serve_model("SmolLM2-135M-Instruct");
    let client = LlmClient::new(config(&llm.base_url)).unwrap();
    let err = client.extract(RECEIPT, &fields()).await.unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("\"SmolLM2-135M-Instruct\"") && msg.contains("\"test-model\""),
        "{msg}"
    );
    assert_eq!(
        msg.matches("\"SmolLM2-135M-Instruct\"").count(),
        1,
        "each served name once: {msg}"
    );
    assert!(llm.requests().is_empty(), "nothing asked of the wrong model");
    // The served name, and its file name as llama.cpp lists it, are accepted.
    let right = LlmClient::new(LlmConfig::new(&llm.base_url, "smollm2-135m-instruct")).unwrap();
    right.extract(RECEIPT, &fields()).await.unwrap();
    llm.serve_model("/models/SmolLM2-135M-Instruct.Q4_1.gguf");
    let file = LlmClient::new(LlmConfig::new(&llm.base_url, "SmolLM2-135M-Instruct.Q4_1")).unwrap();
    file.extract(RECEIPT, &fields()).await.unwrap();
}
