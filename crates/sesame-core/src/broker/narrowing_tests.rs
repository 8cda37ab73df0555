//! Refreshes at fake providers answering as real ones do (recorded shapes): GitHub's
//! answer without `scope`, django-oauth-toolkit's narrowed refresh token, and a provider
//! that ignores `scope` on refresh but names the whole grant.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sesame_ipc::protocol::{AccountInfo, AccountStatus};
use tokio::net::TcpListener;

use crate::broker::Broker;
use crate::config::Config;
use crate::db::Db;
use crate::keyring::{Keyring, MemoryStore, SecretStore};
use crate::test_http::{read_request, respond};
use crate::{ScopeSet, Secret};

const FULL: &str = "openid email profile";

/// How the fake provider answers a refresh: the `scope` it asked for (None: not sent) and
/// the scope its refresh token carries now, to (the `scope` the answer names, the scope the
/// rotated refresh token carries).
type Answer = fn(Option<&str>, &str) -> (Option<String>, String);

/// Each refresh gets `AT-n` and `RT-n`; the refresh token's scope follows `answer`. Yields
/// the `scope` each refresh asked for.
async fn provider(answer: Answer) -> (String, Arc<Mutex<Vec<Option<String>>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let asked = Arc::new(Mutex::new(Vec::new()));
    let log = asked.clone();
    tokio::spawn(async move {
        let mut grant = FULL.to_owned();
        let mut n = 0;
        while let Ok((mut s, _)) = listener.accept().await {
            let request = read_request(&mut s).await;
            let body = request.split("\r\n\r\n").nth(1).unwrap_or_default().to_owned();
            let scope = url::form_urlencoded::parse(body.as_bytes())
                .find(|(k, _)| k == "scope")
                .map(|(_, v)| v.into_owned());
            log.lock().unwrap().push(scope.clone());
            let (named, carried) = answer(scope.as_deref(), &grant);
            grant = carried;
            n += 1;
            let scope_field = named.map(|s| format!(r#","scope":"{s}""#)).unwrap_or_default();
            let body = format!(
                r#"{{"access_token":"AT-{n}","token_type":"Bearer","expires_in":3600,"refresh_token":"RT-{n}"{scope_field}}}"#
            );
            respond(&mut s, "200 OK", "application/json", &body).await;
        }
    });
    (base, asked)
}

fn s(words: &str) -> ScopeSet {
    ScopeSet::parse(words)
}

async fn broker(
    answer: Answer,
    narrowing: bool,
) -> (Arc<Broker>, AccountInfo, Arc<Mutex<Vec<Option<String>>>>) {
    let (base, asked) = provider(answer).await;
    let text = format!(
        "[[provider]]\nid = \"p\"\nissuer = \"{base}\"\nclient_id = \"c\"\nscopes = [\"openid\", \"email\", \"profile\"]\n\
         allow_scope_narrowing = {narrowing}\nrefresh_revokes_access_tokens = true\n\
         authorization_endpoint = \"{base}/auth\"\ntoken_endpoint = \"{base}/token\"\n"
    );
    let config = Config::parse(&text, Path::new("test.toml")).unwrap();
    let db = Db::open_in_memory().unwrap();
    let account = AccountInfo {
        id: "p-0001".into(),
        provider: "p".into(),
        issuer: base.clone(),
        subject: "alice".into(),
        email: None,
        name: None,
        scopes: s(FULL),
        status: AccountStatus::Active,
        created_at: 1,
        last_refreshed_at: None,
    };
    db.upsert_account(&account).unwrap();
    let store = Arc::new(MemoryStore::default());
    store.set(&account.id, &Secret::new("RT-0")).unwrap();
    let keyring = Keyring::new(store, Duration::from_secs(30));
    (Broker::new(config, db, keyring).unwrap(), account, asked)
}

/// What `token.get` does after consent: the scopes the token will carry, then a token.
async fn token(b: &Broker, account: &AccountInfo, asked: &str) -> (ScopeSet, ScopeSet) {
    let account = b.resolve_account(&account.id).unwrap();
    let carried = b.carried_scopes(&account, &s(asked));
    let token = b.token_for(&account, &carried, 0).await.unwrap();
    (carried, token.scope)
}

#[tokio::test]
async fn github_shape_no_narrowing_and_no_scope_in_the_answer_tells_the_whole_grant() {
    let (b, account, asked) = broker(|_, grant| (None, grant.to_owned()), false).await;
    let (carried, scope) = token(&b, &account, "email").await;
    assert_eq!(carried, s(FULL), "the question and the grant show what the token carries");
    assert_eq!(scope, s(FULL), "not the request copied back");
    assert_eq!(*asked.lock().unwrap(), [None], "no scope sent: the provider would ignore it");
    // Every subset shares the one token: no second refresh.
    assert_eq!(token(&b, &account, "openid").await.1, s(FULL));
    assert_eq!(asked.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_provider_that_ignores_scope_on_refresh_stops_narrowing() {
    // Configured to narrow, but the answer names the whole grant.
    let (b, account, asked) =
        broker(|_, grant| (Some(grant.to_owned()), grant.to_owned()), true).await;
    let (carried, scope) = token(&b, &account, "email").await;
    assert_eq!((carried, scope), (s("email"), s(FULL)), "the reply says what the token carries");
    assert_eq!(token(&b, &account, "openid").await, (s(FULL), s(FULL)), "no more narrowing");
    assert_eq!(*asked.lock().unwrap(), [Some("email".to_owned()), None]);
}

#[tokio::test]
async fn dot_shape_a_narrowed_refresh_token_is_noticed_and_recorded() {
    // django-oauth-toolkit: a narrowing refresh narrows the rotated refresh token too.
    let answer: Answer = |asked, grant| {
        let scope = asked.unwrap_or(grant).to_owned();
        (Some(scope.clone()), scope)
    };
    let (b, account, asked) = broker(answer, true).await;
    assert_eq!(token(&b, &account, "openid").await, (s("openid"), s("openid")));
    // The full token after it: the answer is narrow, and says so.
    let (carried, scope) = token(&b, &account, FULL).await;
    assert_eq!((carried, scope), (s(FULL), s("openid")), "the reply is the provider's word");
    let now = b.resolve_account(&account.id).unwrap();
    assert_eq!(now.scopes, s("openid"), "the account's scopes follow the provider's grant");
    assert!(b.narrowing.stopped("p"));
    assert_eq!(b.carried_scopes(&now, &s("openid")), s("openid"));
    assert_eq!(*asked.lock().unwrap(), [Some("openid".to_owned()), None]);
}

#[tokio::test]
async fn a_refresh_drops_the_accounts_tokens_of_other_scope_sets() {
    let answer: Answer = |asked, grant| (asked.map(str::to_owned), grant.to_owned());
    let (b, account, asked) = broker(answer, true).await;
    token(&b, &account, FULL).await;
    token(&b, &account, "openid").await;
    // The full-scope token may be dead at the provider (DOT revokes it): refreshed again.
    token(&b, &account, FULL).await;
    assert_eq!(*asked.lock().unwrap(), [None, Some("openid".to_owned()), None]);
}

#[tokio::test]
async fn where_the_provider_cannot_narrow_the_question_and_grant_show_the_whole_grant_marked() {
    use sesame_ipc::consent::{Answer, AppInfo, Approval, PendingAnswerParams};
    use sesame_ipc::protocol::TokenGetParams;

    use crate::policy::caller::ProcessRef;
    use crate::policy::{Asker, Caller};

    let app = |key: &str| AppInfo {
        key: key.into(),
        name: key.into(),
        exe: key.into(),
        script: None,
        icon: None,
        flatpak_app: None,
        sandboxed: false,
        content: None,
        chain: vec![],
        generic: None,
    };
    let user = Caller {
        app: app("/usr/bin/sesame"),
        process: ProcessRef { pid: 1, start_time: 1 },
        via_cli: true,
        management: true,
        files: None,
    };
    let (b, account, _) = broker(|_, grant| (None, grant.to_owned()), false).await;
    let mail = Caller::in_process(app("/usr/bin/mail"));
    let params = TokenGetParams {
        account: account.id.clone(),
        scopes: Some(s("email")),
        min_ttl: None,
        wait: None,
    };
    let waiting = tokio::spawn({
        let (b, mail) = (b.clone(), mail.clone());
        async move { b.token(&mail, Asker::unwatched(), &params).await.map(|t| t.scope) }
    });
    let question = loop {
        if let Some(p) = b.pending_list().into_iter().next() {
            break p;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    assert_eq!(question.scopes, s(FULL), "the question says what the token will carry");
    assert_eq!(question.beyond_asked, s("openid profile"), "and marks what was not asked for");
    let answer = PendingAnswerParams::new(question.id, Answer::Approve(Approval::Always), None);
    b.answer_pending(&user, &answer).await.unwrap();
    assert_eq!(waiting.await.unwrap().unwrap(), s(FULL), "the reply says the same");
    let grants = b.grants_list().await.unwrap();
    assert_eq!(grants[0].scopes, s(FULL), "the grant shows what the program really gets");
}
