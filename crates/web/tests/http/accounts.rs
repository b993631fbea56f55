//! Accounts and sign-in over real HTTP (issue 21, points 3 and 5): sign-in throttled per
//! account and per address with a clear 429; tokens that expire or are revoked answer 401
//! with the JSON error; a disabled person's session and token stop working at once.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use tandem_domain::Role;
use tandem_service::ManualClock;
use tandem_service::accounts::AccountChange;
use tandem_test_support::{PASSWORD, TestApp, backends};

/// A cookie-keeping client whose connections come from `ip` (any 127.x address reaches
/// the test server, so each client is a different address to it).
fn client_from(ip: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .local_address(ip.parse::<IpAddr>().unwrap())
        .build()
        .unwrap()
}

async fn sign_in(app: &TestApp, client: &reqwest::Client, email: &str, password: &str) -> reqwest::Response {
    app.sign_in_as(client, email, password).await
}

#[tokio::test]
async fn wrong_guesses_on_one_account_are_throttled_while_others_still_sign_in() {
    for backend in backends() {
        let clock = Arc::new(ManualClock::new(1_000_000));
        let app = TestApp::start_with_clock(backend, Some(clock.clone())).await;
        app.user("rita@acme.io", Role::Reviewer).await;
        app.user("sam@acme.io", Role::Reviewer).await;
        let attacker = client_from("127.0.0.2");
        let limit = app.tandem.settings.login_throttle.per_account;
        for _ in 0..limit {
            let r = sign_in(&app, &attacker, "rita@acme.io", "wrong password!").await;
            assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{backend:?}");
        }
        // Past the limit, even the right password is refused without being checked.
        let r = sign_in(&app, &attacker, "rita@acme.io", PASSWORD).await;
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS, "{backend:?}");
        // All failures at the same instant: the window (15 min) is the whole wait.
        assert_eq!(r.headers()["retry-after"], "900");
        let body = r.text().await.unwrap();
        assert!(body.contains("too many attempts; try again in 900 s"), "{body}");

        // Another account, from another address, is not held up.
        let r = sign_in(&app, &client_from("127.0.0.3"), "sam@acme.io", PASSWORD).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{backend:?}");

        // Once the window has passed, the right password works again.
        clock.advance(15 * 60 * 1000);
        let r = sign_in(&app, &client_from("127.0.0.4"), "rita@acme.io", PASSWORD).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{backend:?}");
    }
}

#[tokio::test]
async fn one_address_guessing_across_accounts_is_throttled() {
    for backend in backends() {
        let app = TestApp::start(backend).await;
        app.user("rita@acme.io", Role::Reviewer).await;
        let sprayer = client_from("127.0.0.5");
        let limit = app.tandem.settings.login_throttle.per_address;
        for i in 0..limit {
            let r = sign_in(&app, &sprayer, &format!("guess{i}@acme.io"), "wrong password!").await;
            assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        }
        let r = sign_in(&app, &sprayer, "rita@acme.io", PASSWORD).await;
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS, "{backend:?}");
        let r = sign_in(&app, &client_from("127.0.0.6"), "rita@acme.io", PASSWORD).await;
        assert_eq!(
            r.status(),
            StatusCode::SEE_OTHER,
            "rita herself, from her own address"
        );
    }
}

/// The JSON error an API call gets without a working token.
async fn assert_refused(app: &TestApp, token: &str, why: &str) {
    let (status, body) = app.get_json(token, "/api/v1/automations").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{why}: {body}");
    assert_eq!(body["error"]["status"], 401, "{why}: {body}");
    assert!(body["error"]["message"].is_string(), "{why}: {body}");
}

#[tokio::test]
async fn expired_and_revoked_tokens_answer_401_with_the_json_error() {
    for backend in backends() {
        let clock = Arc::new(ManualClock::new(1_000_000));
        let app = TestApp::start_with_clock(backend, Some(clock.clone())).await;
        let admin = app.user("ada@acme.io", Role::Admin).await;
        let (short, _) = app
            .tandem
            .create_token_expiring(&admin, "short", Some(Duration::from_secs(60)))
            .await
            .unwrap();
        let (long, row) = app
            .tandem
            .create_token_expiring(&admin, "long", Some(Duration::from_secs(90 * 86_400)))
            .await
            .unwrap();
        assert_eq!(
            app.get_json(&short, "/api/v1/automations").await.0,
            StatusCode::OK
        );
        clock.advance(60_000);
        assert_refused(&app, &short, "expired").await;
        assert_eq!(app.get_json(&long, "/api/v1/automations").await.0, StatusCode::OK);

        let actor = tandem_service::auth::Actor { user: admin.clone() };
        app.tandem.revoke_token(&actor, row.id).await.unwrap();
        assert_refused(&app, &long, "revoked").await;
    }
}

#[tokio::test]
async fn a_disabled_persons_session_and_token_stop_at_once() {
    for backend in backends() {
        let app = TestApp::start(backend).await;
        app.user("ada@acme.io", Role::Admin).await;
        let token = app.token("rita@acme.io", Role::Builder).await;
        app.login("rita@acme.io").await;
        assert_eq!(
            app.client.get(app.url("/inbox")).send().await.unwrap().status(),
            StatusCode::OK
        );
        let rita = app.tandem.member(app.workspace, "rita@acme.io").await.unwrap();
        app.tandem
            .change_account(app.workspace, rita.id, AccountChange::Disable)
            .await
            .unwrap();
        let page = app.client.get(app.url("/inbox")).send().await.unwrap();
        assert_eq!(
            page.status(),
            StatusCode::SEE_OTHER,
            "{backend:?}: back to sign-in"
        );
        assert_refused(&app, &token, "disabled").await;
        let r = sign_in(&app, &app.client, "rita@acme.io", PASSWORD).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        assert!(r.text().await.unwrap().contains("this account is disabled"));

        app.tandem
            .change_account(app.workspace, rita.id, AccountChange::Enable)
            .await
            .unwrap();
        assert_eq!(
            app.get_json(&token, "/api/v1/automations").await.0,
            StatusCode::OK
        );
        app.login("rita@acme.io").await;
    }
}

/// A separate signed-in session for `email` (its own cookies), from 127.0.0.1.
async fn session_of(app: &TestApp, email: &str) -> reqwest::Client {
    let c = client_from("127.0.0.1");
    let r = sign_in(app, &c, email, PASSWORD).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "{email} signs in");
    c
}

fn person_id(html: &str, email: &str) -> String {
    let at = html
        .find(&format!("Disable {email}"))
        .or_else(|| html.find(&format!("Enable {email}")));
    let before = &html[..at.unwrap_or_else(|| panic!("{email} has a row with actions"))];
    let from = before.rfind("action=\"/admin/people/").unwrap() + "action=\"/admin/people/".len();
    before[from..].split('"').next().unwrap().to_owned()
}

#[tokio::test]
async fn the_admin_page_is_for_admins_and_needs_the_form_token() {
    for backend in backends() {
        let app = TestApp::start(backend).await;
        app.user("ada@acme.io", Role::Admin).await;
        let rita = app.user("rita@acme.io", Role::Builder).await;
        let builder = session_of(&app, "rita@acme.io").await;
        let r = builder.get(app.url("/admin/people")).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{backend:?}");
        let page = app.page_as(&builder, "/inbox").await;
        assert!(!page.contains("/admin/people"), "no link for a builder");
        let csrf = {
            let at = page.find("name=\"csrf\" value=\"").unwrap() + 19;
            page[at..].split('"').next().unwrap().to_owned()
        };
        let r = app
            .post_form_as(
                &builder,
                &format!("/admin/people/{}", rita.id.0),
                &[("csrf", &csrf), ("action", "role"), ("role", "admin")],
            )
            .await;
        assert_eq!(
            r.status(),
            StatusCode::FORBIDDEN,
            "a builder cannot make themself admin"
        );

        app.login("ada@acme.io").await;
        let page = app.page("/admin/people").await;
        assert!(
            page.contains("rita@acme.io") && page.contains("href=\"/admin/people\""),
            "{page}"
        );
        let r = app
            .post_form(
                &format!("/admin/people/{}", rita.id.0),
                &[("csrf", "forged"), ("action", "disable")],
            )
            .await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "a forged form is refused");
        assert!(
            app.tandem
                .member(app.workspace, "rita@acme.io")
                .await
                .unwrap()
                .disabled_at
                .is_none()
        );
    }
}

#[tokio::test]
async fn an_admin_disables_re_roles_sets_passwords_removes_and_revokes_from_the_page() {
    for backend in backends() {
        let app = TestApp::start(backend).await;
        app.user("ada@acme.io", Role::Admin).await;
        let token = app.token("rita@acme.io", Role::Reviewer).await;
        let rita = session_of(&app, "rita@acme.io").await;
        app.login("ada@acme.io").await;
        let csrf = app.csrf().await;
        let page = app.page("/admin/people").await;
        let id = person_id(&page, "rita@acme.io");
        let to = format!("/admin/people/{id}");

        let r = app
            .post_form(&to, &[("csrf", &csrf), ("action", "disable")])
            .await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert_eq!(r.headers()["location"], "/admin/people?done=disabled");
        let page = app.page("/admin/people?done=disabled").await;
        assert!(page.contains("its sessions and tokens stopped working"), "{page}");
        assert_eq!(
            rita.get(app.url("/inbox")).send().await.unwrap().status(),
            StatusCode::SEE_OTHER,
            "{backend:?}: rita's session ended at once"
        );
        assert_refused(&app, &token, "disabled from the page").await;
        app.post_form(&to, &[("csrf", &csrf), ("action", "enable")]).await;
        assert_eq!(
            app.get_json(&token, "/api/v1/automations").await.0,
            StatusCode::OK
        );

        app.post_form(&to, &[("csrf", &csrf), ("action", "role"), ("role", "builder")])
            .await;
        assert_eq!(
            app.tandem
                .member(app.workspace, "rita@acme.io")
                .await
                .unwrap()
                .role,
            Role::Builder
        );
        let r = app
            .post_form(&to, &[("csrf", &csrf), ("action", "role"), ("role", "boss")])
            .await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().await.unwrap().contains("unknown role"));

        let r = app
            .post_form(
                &to,
                &[("csrf", &csrf), ("action", "password"), ("password", "short")],
            )
            .await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().await.unwrap().contains("at least 10 characters"));
        app.post_form(
            &to,
            &[
                ("csrf", &csrf),
                ("action", "password"),
                ("password", "a brand new secret"),
            ],
        )
        .await;
        let fresh = client_from("127.0.0.7");
        let r = sign_in(&app, &fresh, "rita@acme.io", "a brand new secret").await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "the new password works");

        // The admin's own row: no role or access change, even by a hand-made form.
        let me = app.tandem.member(app.workspace, "ada@acme.io").await.unwrap();
        let r = app
            .post_form(
                &format!("/admin/people/{}", me.id.0),
                &[("csrf", &csrf), ("action", "disable")],
            )
            .await;
        assert_eq!(r.status(), StatusCode::CONFLICT);
        assert!(r.text().await.unwrap().contains("ask another admin"));

        // A token revoked from the page.
        let page = app.page("/admin/people").await;
        assert!(page.contains("Revoke token 1"), "{page}");
        let r = app.post_form("/admin/tokens/1/revoke", &[("csrf", &csrf)]).await;
        assert_eq!(r.headers()["location"], "/admin/people?done=revoked");
        assert_refused(&app, &token, "revoked from the page").await;

        app.post_form(&to, &[("csrf", &csrf), ("action", "remove")]).await;
        let page = app.page("/admin/people").await;
        assert!(!page.contains("Disable rita@acme.io"), "{page}");
        assert_eq!(
            fresh.get(app.url("/inbox")).send().await.unwrap().status(),
            StatusCode::SEE_OTHER
        );
    }
}

#[tokio::test]
async fn the_admin_page_reaches_no_other_workspace_and_shows_only_fixed_notices() {
    for backend in backends() {
        let app = TestApp::start(backend).await;
        app.user("ada@acme.io", Role::Admin).await;
        let other = app.tandem.ensure_workspace("other", "Other").await.unwrap();
        let olga = app
            .tandem
            .add_user(other.id, "olga@other.io", "", Role::Admin, PASSWORD)
            .await
            .unwrap();
        let (_, their_token) = app
            .tandem
            .create_token_expiring(&olga, "theirs", None)
            .await
            .unwrap();
        app.login("ada@acme.io").await;
        let csrf = app.csrf().await;
        let r = app
            .post_form(
                &format!("/admin/people/{}", olga.id.0),
                &[("csrf", &csrf), ("action", "disable")],
            )
            .await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{backend:?}");
        let r = app
            .post_form(
                &format!("/admin/tokens/{}/revoke", their_token.id),
                &[("csrf", &csrf)],
            )
            .await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{backend:?}");
        let page = app.page("/admin/people").await;
        assert!(
            !page.contains("olga@other.io") && !page.contains("theirs"),
            "{page}"
        );
        let page = app
            .page("/admin/people?done=Your+account+is+locked,+call+555")
            .await;
        assert!(!page.contains("call 555"), "only fixed notices: {page}");
    }
}
