//! Accounts after they are made (issue 21, point 5): a disabled or removed person's
//! sessions and tokens stop working at once, tokens expire and can be revoked, the last
//! admin stays, and every change is scoped to its workspace. Each fails on the store
//! before issue 21's accounts work (no `change_user`, no expiry, no revocation).

use std::sync::Arc;

use tandem_domain::{Role, WorkspaceId};
use tandem_store::*;

use super::{each_backend, workspace};

async fn person(store: &Arc<dyn Store>, ws: WorkspaceId, email: &str, role: Role) -> User {
    store
        .create_user(
            ws,
            &NewUser {
                email: email.into(),
                name: email.split('@').next().unwrap().into(),
                role,
                password_hash: "h".into(),
            },
            1,
        )
        .await
        .unwrap()
}

async fn session(store: &Arc<dyn Store>, u: &User, hash: &str) {
    let s = NewSession {
        workspace_id: u.workspace_id,
        user_id: u.id,
        token_hash: hash.into(),
        csrf_token: "c".into(),
        expires_at: 1_000_000,
    };
    store.create_session(&s, 10).await.unwrap();
}

#[tokio::test]
async fn disabling_stops_sessions_and_tokens_at_once_and_enabling_brings_tokens_back() {
    each_backend(|store| async move {
        let ws = workspace(&store, "acme").await;
        let _admin = person(&store, ws, "ada@acme.io", Role::Admin).await;
        let rita = person(&store, ws, "rita@acme.io", Role::Reviewer).await;
        session(&store, &rita, "rita-session").await;
        store
            .create_api_token(ws, rita.id, "ci", "rita-token", None, 10)
            .await
            .unwrap();
        assert!(store.session("rita-session", 20).await.unwrap().is_some());

        let changed = store
            .change_user(ws, rita.id, &UserChange::Disable, 30)
            .await
            .unwrap();
        assert_eq!(changed.disabled_at, Some(30));
        assert!(store.session("rita-session", 40).await.unwrap().is_none());
        assert!(store.api_token_user("rita-token", 40).await.unwrap().is_none());
        // Still listed (as disabled), and still found for sign-in, which refuses it.
        let listed = store.list_users(ws).await.unwrap();
        assert!(listed.iter().any(|u| u.id == rita.id && u.disabled_at.is_some()));

        store
            .change_user(ws, rita.id, &UserChange::Enable, 50)
            .await
            .unwrap();
        assert!(
            store.api_token_user("rita-token", 60).await.unwrap().is_some(),
            "an enabled person's unrevoked token works again"
        );
        assert!(
            store.session("rita-session", 60).await.unwrap().is_none(),
            "sessions ended by disabling stay ended"
        );
    })
    .await;
}

#[tokio::test]
async fn removal_revokes_tokens_frees_the_email_and_keeps_the_row_for_history() {
    each_backend(|store| async move {
        let ws = workspace(&store, "acme").await;
        let _admin = person(&store, ws, "ada@acme.io", Role::Admin).await;
        let rita = person(&store, ws, "rita@acme.io", Role::Builder).await;
        session(&store, &rita, "s").await;
        store
            .create_api_token(ws, rita.id, "ci", "t", None, 10)
            .await
            .unwrap();

        store
            .change_user(ws, rita.id, &UserChange::Remove, 20)
            .await
            .unwrap();
        assert!(store.session("s", 30).await.unwrap().is_none());
        assert!(store.api_token_user("t", 30).await.unwrap().is_none());
        let tokens = store.list_api_tokens(ws).await.unwrap();
        assert_eq!(tokens[0].revoked_at, Some(20));
        assert!(store.user_credentials("rita@acme.io").await.unwrap().is_none());
        assert!(store.user_by_email(ws, "rita@acme.io").await.unwrap().is_none());
        assert!(
            store
                .list_users(ws)
                .await
                .unwrap()
                .iter()
                .all(|u| u.id != rita.id)
        );
        assert_eq!(
            store.user(ws, rita.id).await.unwrap().name,
            "rita",
            "kept for history"
        );
        assert!(matches!(
            store.change_user(ws, rita.id, &UserChange::Enable, 40).await,
            Err(StoreError::NotFound(_))
        ));
        let again = person(&store, ws, "rita@acme.io", Role::Viewer).await;
        assert_ne!(again.id, rita.id);
    })
    .await;
}

#[tokio::test]
async fn role_and_password_changes_and_the_last_admin_stays() {
    each_backend(|store| async move {
        let ws = workspace(&store, "acme").await;
        let ada = person(&store, ws, "ada@acme.io", Role::Admin).await;
        let bo = person(&store, ws, "bo@acme.io", Role::Viewer).await;
        session(&store, &bo, "bo-session").await;
        store
            .create_api_token(ws, bo.id, "ci", "bo-token", None, 10)
            .await
            .unwrap();

        let bo2 = store
            .change_user(ws, bo.id, &UserChange::Role(Role::Builder), 20)
            .await
            .unwrap();
        assert_eq!(bo2.role, Role::Builder);
        assert_eq!(
            store.session("bo-session", 30).await.unwrap().unwrap().user.role,
            Role::Builder
        );

        store
            .change_user(ws, bo.id, &UserChange::Password("new-hash".into()), 40)
            .await
            .unwrap();
        assert!(
            store.session("bo-session", 50).await.unwrap().is_none(),
            "a new password ends sessions"
        );
        assert!(
            store.api_token_user("bo-token", 50).await.unwrap().is_some(),
            "but keeps tokens"
        );
        assert_eq!(
            store.user_credentials("bo@acme.io").await.unwrap().unwrap().1,
            "new-hash"
        );

        for change in [
            UserChange::Role(Role::Viewer),
            UserChange::Disable,
            UserChange::Remove,
        ] {
            assert!(
                matches!(
                    store.change_user(ws, ada.id, &change, 60).await,
                    Err(StoreError::Conflict(m)) if m.contains("only active admin")
                ),
                "{change:?} on the last admin"
            );
        }
        store
            .change_user(ws, bo.id, &UserChange::Role(Role::Admin), 70)
            .await
            .unwrap();
        store
            .change_user(ws, ada.id, &UserChange::Disable, 80)
            .await
            .unwrap();
        assert!(
            matches!(
                store.change_user(ws, bo.id, &UserChange::Remove, 90).await,
                Err(StoreError::Conflict(_))
            ),
            "a disabled admin does not count"
        );
    })
    .await;
}

#[tokio::test]
async fn tokens_expire_are_revoked_and_stay_in_their_workspace() {
    each_backend(|store| async move {
        let ws = workspace(&store, "acme").await;
        let other = workspace(&store, "other").await;
        let ada = person(&store, ws, "ada@acme.io", Role::Admin).await;
        let olga = person(&store, other, "olga@other.io", Role::Admin).await;
        let t = store
            .create_api_token(ws, ada.id, "ci", "expiring", Some(100), 10)
            .await
            .unwrap();
        assert_eq!((t.expires_at, t.user_email.as_str()), (Some(100), "ada@acme.io"));
        assert!(store.api_token_user("expiring", 99).await.unwrap().is_some());
        assert!(
            store.api_token_user("expiring", 100).await.unwrap().is_none(),
            "expired at 100"
        );

        let keep = store
            .create_api_token(ws, ada.id, "keep", "keep", None, 10)
            .await
            .unwrap();
        let theirs = store
            .create_api_token(other, olga.id, "x", "theirs", None, 10)
            .await
            .unwrap();
        assert!(matches!(
            store.revoke_api_token(ws, theirs.id, 20).await,
            Err(StoreError::NotFound(_))
        ));
        assert!(store.api_token_user("theirs", 30).await.unwrap().is_some());
        assert!(matches!(
            store.change_user(ws, olga.id, &UserChange::Disable, 20).await,
            Err(StoreError::NotFound(_))
        ));
        assert!(store.user_by_email(ws, "olga@other.io").await.unwrap().is_none());

        let revoked = store.revoke_api_token(ws, keep.id, 40).await.unwrap();
        assert_eq!(revoked.revoked_at, Some(40));
        assert_eq!(
            store.revoke_api_token(ws, keep.id, 50).await.unwrap().revoked_at,
            Some(40)
        );
        assert!(store.api_token_user("keep", 60).await.unwrap().is_none());
        let listed: Vec<(String, Option<i64>)> = store
            .list_api_tokens(ws)
            .await
            .unwrap()
            .into_iter()
            .map(|t| (t.name, t.revoked_at))
            .collect();
        assert_eq!(listed, vec![("ci".into(), None), ("keep".into(), Some(40))]);
    })
    .await;
}
