// The one list of the app's commands, in docs/app.md's order. `build.rs` turns it into the
// `allow-<command>` permissions the capability files use, `lib.rs` exposes it as
// `COMMANDS`, and the tests check it against `generate_handler!`, the capability files and
// the no-token scan. Included with `include!`, so it is a bare expression.
&[
    "app_overview",
    "accounts_list",
    "providers_list",
    "config_reload",
    "login_start",
    "login_device_start",
    "login_wait",
    "login_cancel",
    "account_logout",
    "grants_list",
    "grants_revoke",
    "activity_list",
    "pending_list",
    "open_consent",
    "autostart_set",
    "app_quit",
    "consent_current",
    "consent_answer",
]
