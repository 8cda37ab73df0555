//! Approval lengths and the account choice at the broker: the question offers a provider's
//! accounts, the answer must choose one, the grant names it; grants that lapse (their time
//! up, the screen locked, the broker stopped) cover nothing and leave a `lapsed` row. The
//! e2e tests (`tests/tests/approval.rs`) do the same through the socket, the CLI and buses.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use sesame_ipc::consent::{
    AccountChoice, ActivityEvent, ActivityListParams, Answer, AppInfo, Approval, GrantEnd,
    PendingAnswerParams, PendingInfo,
};
use sesame_ipc::protocol::{AccountInfo, AccountStatus, TokenGetParams};
use sesame_ipc::{ErrorKind, Remedy};

use crate::broker::Broker;
use crate::config::Config;
use crate::db::Db;
use crate::keyring::{Keyring, MemoryStore};
use crate::policy::caller::ProcessRef;
use crate::policy::{Asker, Caller};
use crate::screen_lock::Lock;
use crate::{now_unix, ScopeSet};

fn config() -> Config {
    let base = "http://127.0.0.1:9";
    let text = format!(
        "[[provider]]\nid = \"local\"\nissuer = \"{base}\"\nclient_id = \"desktop-app\"\nscopes = [\"openid\", \"email\"]\n\
         authorization_endpoint = \"{base}/auth\"\ntoken_endpoint = \"{base}/token\"\n"
    );
    Config::parse(&text, Path::new("test.toml")).unwrap()
}

fn broker_on(db: Db) -> Arc<Broker> {
    let keyring = Keyring::new(Arc::new(MemoryStore::default()), Duration::from_secs(5));
    Broker::new(config(), db, keyring).unwrap()
}

fn account(id: &str, who: &str, created_at: i64) -> AccountInfo {
    AccountInfo {
        id: id.into(),
        provider: "local".into(),
        issuer: "http://127.0.0.1:9".into(),
        subject: who.into(),
        email: Some(format!("{who}@example.test")),
        name: None,
        scopes: ScopeSet::from(["openid", "email"]),
        status: AccountStatus::Active,
        created_at,
        last_refreshed_at: None,
    }
}

fn app(key: &str) -> AppInfo {
    AppInfo {
        key: key.into(),
        name: key.rsplit('/').next().unwrap_or(key).into(),
        exe: key.into(),
        script: None,
        icon: None,
        flatpak_app: None,
        sandboxed: false,
        content: None,
        chain: vec![],
        generic: None,
    }
}

fn user() -> Caller {
    Caller {
        app: app("/usr/bin/sesame"),
        process: ProcessRef { pid: 1, start_time: 1 },
        via_cli: true,
        management: true,
        files: None,
    }
}

fn ask(account: &str) -> TokenGetParams {
    TokenGetParams { account: account.into(), scopes: None, min_ttl: None, wait: None }
}

/// Starts `caller`'s consent for `params` and returns its question once it waits.
async fn question(
    b: &Arc<Broker>,
    caller: &Caller,
    params: TokenGetParams,
) -> (tokio::task::JoinHandle<Result<(String, Option<i64>), ErrorKind>>, PendingInfo) {
    let known: Vec<u64> = b.pending_list().iter().map(|p| p.id).collect();
    let waiting = tokio::spawn({
        let (b, caller) = (b.clone(), caller.clone());
        async move {
            let asked = b.asked(&caller, &params, now_unix()).map_err(|e| e.kind())?;
            let c = b.consent(&caller, Asker::unwatched(), &asked).await.map_err(|e| e.kind())?;
            Ok((c.account.id, c.grant))
        }
    });
    loop {
        if let Some(p) = b.pending_list().into_iter().find(|p| !known.contains(&p.id)) {
            return (waiting, p);
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn answer(
    b: &Broker,
    id: u64,
    approval: Approval,
    account: Option<&str>,
) -> Result<(), crate::BrokerError> {
    let params =
        PendingAnswerParams::new(id, Answer::Approve(approval), account.map(str::to_owned));
    b.answer_pending(&user(), &params).await
}

async fn events(b: &Broker, event: ActivityEvent) -> Vec<(String, String)> {
    let rows = b.activity_list(&ActivityListParams::default()).await.unwrap();
    rows.into_iter()
        .filter(|r| r.event == event)
        .map(|r| (r.account.unwrap_or_default(), r.detail))
        .collect()
}

#[tokio::test]
async fn a_provider_with_several_accounts_lets_the_user_choose_and_the_grant_names_it() {
    let b = broker_on(Db::open_in_memory().unwrap());
    b.remember_account(account("local-a", "alice", 10)).unwrap();
    b.remember_account(account("local-b", "bob", 20)).unwrap();
    let mail = Caller::in_process(app("/usr/bin/mail"));

    let (waiting, p) = question(&b, &mail, ask("local")).await;
    assert_eq!(p.account, "local", "the question is about the provider");
    let offered = [("local-a", "alice@example.test"), ("local-b", "bob@example.test")]
        .map(|(id, name)| AccountChoice { id: id.into(), name: name.into() });
    assert_eq!(p.accounts, offered);

    // No choice, or one not offered: refused, and the question still waits.
    let e = answer(&b, p.id, Approval::Always, None).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::BadRequest);
    assert_eq!(
        e.remedy(),
        Some(Remedy::ChooseAccount {
            pending: p.id,
            ids: vec!["local-a".into(), "local-b".into()]
        })
    );
    assert!(e.to_string().contains("local-a, local-b"), "{e}");
    let e = answer(&b, p.id, Approval::Always, Some("local-z")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::BadRequest, "{e}");
    assert_eq!(b.pending_list().len(), 1);

    answer(&b, p.id, Approval::Always, Some("local-b")).await.unwrap();
    let (got, grant) = waiting.await.unwrap().unwrap();
    assert_eq!(got, "local-b", "the token is the chosen account's");
    let grants = b.grants_list().await.unwrap();
    assert_eq!(
        (grants.len(), grants[0].account.as_str(), Some(grants[0].id)),
        (1, "local-b", grant)
    );
    let remembered = events(&b, ActivityEvent::Remembered).await;
    assert_eq!(
        remembered,
        [(
            "local-b".to_owned(),
            format!("grant {}, chosen among 2 accounts of local", grants[0].id)
        )]
    );

    // Next time by provider id: the grant's account, covered, no question.
    let asked = b.asked(&mail, &ask("local"), now_unix()).unwrap();
    assert_eq!(asked.account().map(|a| a.id.as_str()), Some("local-b"));
    assert_eq!(b.consent(&mail, Asker::unwatched(), &asked).await.unwrap().grant, grant);

    // A program that names an account is asked about that one only.
    let (waiting, p) = question(&b, &mail, ask("local-a")).await;
    assert_eq!((p.account.as_str(), p.accounts.len()), ("local-a", 0));
    let e = answer(&b, p.id, Approval::Once, Some("local-b")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::BadRequest, "{e}");
    answer(&b, p.id, Approval::Once, Some("local-a")).await.unwrap();
    assert_eq!(waiting.await.unwrap().unwrap(), ("local-a".to_owned(), None));

    // Granted both: it must name one.
    let (waiting, p) = question(&b, &mail, ask("local-a")).await;
    answer(&b, p.id, Approval::Always, None).await.unwrap();
    waiting.await.unwrap().unwrap();
    let e = b.asked(&mail, &ask("local"), now_unix()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AmbiguousAccount, "{e}");

    // Scopes asked for narrow the offer; with none asked, what all offered accounts have.
    let mut c = account("local-c", "carol", 30);
    c.scopes = ScopeSet::from(["openid", "email", "profile"]);
    b.remember_account(c).unwrap();
    let other = Caller::in_process(app("/usr/bin/other"));
    let asked = b.asked(&other, &ask("local"), now_unix()).unwrap();
    assert_eq!(
        (asked.accounts.len(), asked.scopes.clone()),
        (3, ScopeSet::from(["email", "openid"]))
    );
    let profile = TokenGetParams { scopes: Some(ScopeSet::from(["profile"])), ..ask("local") };
    let asked = b.asked(&other, &profile, now_unix()).unwrap();
    assert_eq!(asked.account().map(|a| a.id.as_str()), Some("local-c"), "the only one with it");
    let none = TokenGetParams { scopes: Some(ScopeSet::from(["admin"])), ..ask("local") };
    assert_eq!(
        b.asked(&other, &none, now_unix()).unwrap_err().kind(),
        ErrorKind::InsufficientScope
    );
}

#[tokio::test]
async fn grants_for_a_time_and_until_the_lock_lapse_and_say_so() {
    let b = broker_on(Db::open_in_memory().unwrap());
    b.remember_account(account("local-a", "alice", 10)).unwrap();
    let (timed, locked) =
        (Caller::in_process(app("/usr/bin/timed")), Caller::in_process(app("/usr/bin/locked")));

    let (waiting, p) = question(&b, &timed, ask("local-a")).await;
    answer(&b, p.id, Approval::For { secs: 3 }, None).await.unwrap();
    let (_, timed_grant) = waiting.await.unwrap().unwrap();
    let (waiting, p) = question(&b, &locked, ask("local-a")).await;
    answer(&b, p.id, Approval::UntilLock, None).await.unwrap();
    let (_, locked_grant) = waiting.await.unwrap().unwrap();
    let listed = b.grants_list().await.unwrap();
    let end = |id| listed.iter().find(|g| Some(g.id) == id).unwrap().end();
    assert!(end(timed_grant).expires_at.is_some_and(|t| t > now_unix() - 1));
    assert_eq!(end(locked_grant), GrantEnd { expires_at: None, until_lock: true });
    let remembered = events(&b, ActivityEvent::Remembered).await;
    assert!(remembered.iter().any(|(_, d)| d.ends_with(", for 3 s")), "{remembered:?}");
    assert!(
        remembered.iter().any(|(_, d)| d.ends_with(", until the screen locks")),
        "{remembered:?}"
    );

    // The sweep's timer takes the 3 s grant (real time: the wall clock decides).
    let lapsed = tokio::time::timeout(Duration::from_secs(8), async {
        loop {
            let rows = events(&b, ActivityEvent::Lapsed).await;
            if !rows.is_empty() {
                return rows;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("the timed grant lapsed within 8 s");
    assert_eq!(
        lapsed,
        [("local-a".to_owned(), format!("grant {}, its time was up", timed_grant.unwrap()))]
    );
    let asked = b.asked(&timed, &ask("local-a"), now_unix()).unwrap();
    assert!(b
        .grants
        .covering(&timed.app.key, None, "local-a", &asked.scopes, now_unix())
        .covered()
        .is_none());

    // The lock ends the until-lock grant, not an "always" one.
    let (waiting, p) = question(&b, &timed, ask("local-a")).await;
    answer(&b, p.id, Approval::Always, None).await.unwrap();
    waiting.await.unwrap().unwrap();
    b.screen_locked(Lock::Screensaver("org.gnome.ScreenSaver")).await;
    let left: Vec<String> = b.grants_list().await.unwrap().into_iter().map(|g| g.app.key).collect();
    assert_eq!(left, ["/usr/bin/timed"]);
    let lapsed = events(&b, ActivityEvent::Lapsed).await;
    assert_eq!(lapsed[0].1, format!("grant {}, the screen locked", locked_grant.unwrap()));
}

#[tokio::test]
async fn a_grant_found_lapsed_covers_nothing_before_the_sweep_and_until_lock_ends_with_the_broker()
{
    let path = std::env::temp_dir().join(format!("sesame-lapse-{}.db", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let db = Db::open(&path).unwrap();
    let a = account("local-a", "alice", 10);
    db.upsert_account(&a).unwrap();
    let s = ScopeSet::from(["openid"]);
    let past = GrantEnd { expires_at: Some(now_unix() - 1), until_lock: false };
    let past = db.insert_grant(&app("/usr/bin/old"), "local-a", &s, 1, past).unwrap();
    let lock = GrantEnd { expires_at: None, until_lock: true };
    let lock = db.insert_grant(&app("/usr/bin/lock"), "local-a", &s, 1, lock).unwrap();
    let kept = db.insert_grant(&app("/usr/bin/kept"), "local-a", &s, 1, GrantEnd::NEVER).unwrap();
    drop(db);

    // A new broker: the until-lock grant ended with the last one; the lapsed one is in the
    // table until the sweep, but covers nothing.
    let b = broker_on(Db::open(&path).unwrap());
    assert!(b.grants.covering("/usr/bin/old", None, "local-a", &s, now_unix()).covered().is_none());
    assert!(b
        .grants
        .covering("/usr/bin/lock", None, "local-a", &s, now_unix())
        .covered()
        .is_none());
    assert_eq!(
        b.grants.covering("/usr/bin/kept", None, "local-a", &s, now_unix()).covered(),
        Some(kept.id)
    );
    let listed: Vec<i64> = b.grants_list().await.unwrap().iter().map(|g| g.id).collect();
    assert_eq!(listed, [kept.id], "a lapsed grant is not listed");
    let lapsed = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            let rows = events(&b, ActivityEvent::Lapsed).await;
            if rows.len() == 2 {
                return rows;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("two lapses logged");
    let details: Vec<&str> = lapsed.iter().map(|(_, d)| d.as_str()).collect();
    assert!(
        details.contains(&format!("grant {}, the broker stopped", lock.id).as_str()),
        "{details:?}"
    );
    assert!(
        details.contains(&format!("grant {}, its time was up", past.id).as_str()),
        "{details:?}"
    );
    drop(b);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}

#[tokio::test]
async fn a_request_that_does_not_wait_fails_without_a_question_until_a_grant_covers_it() {
    let b = broker_on(Db::open_in_memory().unwrap());
    b.remember_account(account("local-a", "alice", 10)).unwrap();
    let cron = Caller::in_process(app("/usr/bin/cron-job"));
    let no_wait = TokenGetParams { wait: Some(false), ..ask("local-a") };

    let asked = b.asked(&cron, &no_wait, now_unix()).unwrap();
    let e = b.consent(&cron, Asker::unwatched(), &asked).await.err().expect("no grant: refused");
    assert_eq!((e.kind(), e.remedy()), (ErrorKind::ConsentRequired, Some(Remedy::AllowProgram)));
    assert!(e.to_string().contains("cron-job") && e.to_string().contains("local-a"), "{e}");
    assert!(b.pending_list().is_empty(), "nobody was asked");

    // Allowed once where the user could answer: the same call now passes without waiting.
    let (waiting, p) = question(&b, &cron, ask("local-a")).await;
    answer(&b, p.id, Approval::Always, None).await.unwrap();
    let (_, grant) = waiting.await.unwrap().unwrap();
    let asked = b.asked(&cron, &no_wait, now_unix()).unwrap();
    assert_eq!(b.consent(&cron, Asker::unwatched(), &asked).await.unwrap().grant, grant);
}
