// Realistic sample data for looking at the UI in a plain browser (`npm run dev`), where
// there is no Tauri and no broker. URL switches for screenshots and checks:
//   ?state=conflict | ?state=config_error   the app's other pages
//   ?demo=1                                  the DEMO banner
//   ?empty=1                                 no accounts, grants or activity yet
//   ?pending=0                               no request waiting (consent: "Nothing waiting")

import { FakeBackend, emptyState, type FakeState } from './fakeBackend';
import type { ActivityInfo, AppInfo, GrantInfo, PendingInfo } from './types';

const HOME = '/home/ada';
const CONFIG = `${HOME}/.config/sesame/config.toml`;

const apps: Record<string, AppInfo> = {
  msmtp: { key: '/usr/bin/msmtp', name: 'msmtp', exe: '/usr/bin/msmtp', sandboxed: false, chain: ['msmtp', 'dash -c', 'sesame token'] },
  mailSync: {
    key: `/usr/bin/python3.12 ${HOME}/bin/mail-sync.py`,
    name: 'mail-sync.py',
    exe: '/usr/bin/python3.12',
    script: `${HOME}/bin/mail-sync.py`,
    sandboxed: false,
  },
  thunderbird: {
    key: 'flatpak:org.mozilla.Thunderbird',
    name: 'Thunderbird',
    exe: '/app/lib/thunderbird/thunderbird',
    icon: 'org.mozilla.Thunderbird',
    flatpak_app: 'org.mozilla.Thunderbird',
    sandboxed: true,
  },
  gh: { key: '/usr/bin/gh', name: 'GitHub CLI', exe: '/usr/bin/gh', sandboxed: false },
  rclone: { key: '/usr/bin/rclone', name: 'rclone', exe: '/usr/bin/rclone', sandboxed: false },
  backup: {
    key: `/usr/bin/bash ${HOME}/bin/backup-photos.sh`,
    name: 'backup-photos.sh',
    exe: '/usr/bin/bash',
    script: `${HOME}/bin/backup-photos.sh`,
    sandboxed: false,
    chain: ['bash backup-photos.sh', 'sesame token'],
  },
};

const scopeWords: Record<string, string> = {
  openid: 'Confirm who you are',
  email: 'See your email address',
  profile: 'See your name and profile picture',
  offline_access: 'Stay signed in while you are away',
  'https://graph.microsoft.com/Mail.Read': 'Read your mail',
  'https://outlook.office.com/SMTP.Send': 'Send mail as you',
  'https://mail.google.com/': 'Read, send and delete all your Gmail',
  'https://www.googleapis.com/auth/drive.file': 'See and change only the Drive files it made',
  repo: 'Full control of your repositories',
  'read:org': 'Read your organisations and teams',
};

/** A small seeded generator, so the preview looks the same on every load. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function sampleState(now: number): FakeState {
  const min = 60;
  const hour = 3600;
  const day = 86400;
  const state = emptyState();
  state.overview = { ...state.overview, config_path: CONFIG, socket_path: '/run/user/1000/sesame/sesame.sock', autostart: true };
  state.providers = {
    config_path: CONFIG,
    providers: [
      { id: 'work', issuer: 'https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0', scopes: ['openid', 'email', 'offline_access', 'https://graph.microsoft.com/Mail.Read', 'https://outlook.office.com/SMTP.Send'], grant: 'authorization_code' },
      { id: 'google', issuer: 'https://accounts.google.com', scopes: ['openid', 'email', 'https://mail.google.com/', 'https://www.googleapis.com/auth/drive.file'], grant: 'authorization_code' },
      { id: 'github', issuer: 'https://github.com', scopes: ['repo', 'read:org'], grant: 'authorization_code' },
      { id: 'ci-bot', issuer: 'https://login.example.com', scopes: ['api:read', 'api:write'], grant: 'client_credentials' },
    ],
  };
  state.deviceProviders = ['work', 'github', 'google'];
  state.revocations = { github: { status: 'not_supported', hint: 'revoke Sesame at https://github.com/settings/applications' } };
  state.scopeWords = scopeWords;
  state.accounts = [
    { id: 'work-3f9a1c2e', provider: 'work', issuer: state.providers.providers[0].issuer, subject: 'AAAAAAAAAAAAAAAAAAAAAF1xQ', email: 'ada.lovelace@contoso.example', name: 'Ada Lovelace', scopes: state.providers.providers[0].scopes, status: 'active', created_at: now - 41 * day, last_refreshed_at: now - 4 * min },
    { id: 'google-8c41d07b', provider: 'google', issuer: 'https://accounts.google.com', subject: '108234567890123456789', email: 'ada@example.org', name: 'Ada L.', scopes: state.providers.providers[1].scopes, status: 'active', created_at: now - 120 * day, last_refreshed_at: now - 2 * hour },
    { id: 'github-77b0d4e1', provider: 'github', issuer: 'https://github.com', subject: '5839211', email: null, name: 'ada-l', scopes: ['repo', 'read:org'], status: 'reauth_required', created_at: now - 200 * day, last_refreshed_at: now - 9 * day },
    { id: 'ci-bot-0e5c9b12', provider: 'ci-bot', issuer: 'https://login.example.com', subject: 'ci-bot', email: null, name: 'machine account (client ci-bot)', scopes: ['api:read', 'api:write'], status: 'active', created_at: now - 12 * day, last_refreshed_at: null },
  ];
  const grant = (id: number, app: AppInfo, account: string, scopes: string[], ageDays: number, lastUsed: number | null, uses: number): GrantInfo => ({ id, app, account, scopes, created_at: now - ageDays * day, last_used_at: lastUsed === null ? null : now - lastUsed, use_count: uses, until_lock: false });
  state.grants = [
    grant(1, apps.msmtp, 'work-3f9a1c2e', ['https://outlook.office.com/SMTP.Send', 'offline_access'], 40, 12 * min, 214),
    grant(2, apps.mailSync, 'google-8c41d07b', ['https://mail.google.com/'], 33, 3 * min, 1873),
    grant(3, apps.thunderbird, 'work-3f9a1c2e', ['email', 'https://graph.microsoft.com/Mail.Read', 'https://outlook.office.com/SMTP.Send'], 20, 25 * min, 96),
    grant(4, apps.thunderbird, 'google-8c41d07b', ['email', 'https://mail.google.com/'], 20, 6 * hour, 58),
    grant(5, apps.gh, 'github-77b0d4e1', ['repo', 'read:org'], 90, 9 * day, 402),
    // Approved for 8 h, an hour and a half ago.
    { ...grant(6, apps.rclone, 'google-8c41d07b', ['https://www.googleapis.com/auth/drive.file'], 0, null, 0), created_at: now - 90 * min, expires_at: now - 90 * min + 8 * hour },
  ];
  state.activity = sampleActivity(now, state.grants);
  state.pending = [
    { id: 17, app: apps.backup, via_cli: true, pid: 48213, account: 'google-8c41d07b', scopes: ['https://www.googleapis.com/auth/drive.file', 'openid'], waiting: 2, created_at: now - 8, expires_at: now + 112, accounts: [], beyond_asked: [] } satisfies PendingInfo,
  ];
  return state;
}

function sampleActivity(now: number, grants: GrantInfo[]): ActivityInfo[] {
  const rand = random(7);
  const rows: Omit<ActivityInfo, 'id'>[] = [];
  // How busy each app is per day, roughly: mail-sync polls, msmtp sends now and then.
  const busy: Record<number, number> = { 1: 5, 2: 22, 3: 8, 4: 4, 5: 6 };
  for (let d = 13; d >= 0; d--) {
    for (const g of grants) {
      const base = busy[g.id] ?? 0;
      if (!base || (g.id === 5 && d < 9)) continue; // gh stopped when GitHub asked to sign in again
      const bursts = Math.max(0, Math.round(base * (0.4 + rand()) * (d % 7 >= 5 ? 0.4 : 1) / 3));
      for (let b = 0; b < bursts; b++) {
        const at = now - d * 86400 - Math.floor(rand() * (d === 0 ? 6 * 3600 : 86400));
        rows.push({ at, event: 'handed_out', app: g.app.key, app_name: g.app.name, account: g.account, scopes: g.scopes, detail: `grant ${g.id}`, count: 1 + Math.floor(rand() * 4) });
      }
    }
  }
  const event = (ago: number, ev: ActivityInfo['event'], app: AppInfo | null, account: string | null, scopes: string[], detail = ''): void => {
    rows.push({ at: now - ago, event: ev, app: app?.key ?? '', app_name: app?.name ?? 'unknown program', account, scopes, detail, count: 1 });
  };
  event(3 * 86400 + 600, 'remembered', apps.rclone, 'google-8c41d07b', ['https://www.googleapis.com/auth/drive.file']);
  event(2 * 86400 + 4000, 'approved', apps.backup, 'google-8c41d07b', ['https://www.googleapis.com/auth/drive.file'], 'via sesame CLI: bash backup-photos.sh → sesame token');
  event(2 * 86400 + 3990, 'handed_out', apps.backup, 'google-8c41d07b', ['https://www.googleapis.com/auth/drive.file'], 'via sesame CLI: bash backup-photos.sh → sesame token');
  event(86400 + 7200, 'denied', { key: '/usr/bin/node /tmp/npx-8812/postinstall.js', name: 'postinstall.js', exe: '/usr/bin/node', sandboxed: false }, 'github-77b0d4e1', ['repo']);
  event(5 * 86400, 'timed_out', apps.gh, 'work-3f9a1c2e', ['openid']);
  event(6 * 86400, 'revoked', apps.gh, 'work-3f9a1c2e', ['openid'], 'grant 0');
  event(4 * 3600, 'refused', null, null, [], 'pending.list from an unidentified process');
  rows.sort((a, b) => b.at - a.at);
  return rows.map((r, i) => ({ ...r, id: rows.length - i }));
}

/** The preview's backend: sample data, and sign-ins that finish by themselves. */
export function previewBackend(params: URLSearchParams): FakeBackend {
  const now = Math.floor(Date.now() / 1000);
  const state = params.get('empty') ? { ...emptyState(), providers: sampleState(now).providers, deviceProviders: ['work', 'github', 'google'] } : sampleState(now);
  if (params.get('empty')) state.overview.config_path = CONFIG;
  if (params.get('demo')) {
    state.overview.demo = true;
    state.providers.providers = [{ id: 'local', issuer: 'http://127.0.0.1:9400', scopes: ['openid', 'email', 'profile', 'offline_access'], grant: 'authorization_code' }];
    state.deviceProviders = ['local'];
  }
  if (params.get('pending') === '0') state.pending = [];
  const appState = params.get('state');
  if (appState === 'conflict') {
    state.overview.state = 'conflict';
    state.overview.message = 'Another Sesame (`sesame daemon`) already serves /run/user/1000/sesame/sesame.sock.';
  } else if (appState === 'config_error') {
    state.overview.state = 'config_error';
    state.overview.message = `${CONFIG}, line 14: provider \`work\`: unknown field \`tennant\` (did you mean \`tenant\`?)`;
  }
  return new FakeBackend(state, { autoCompleteLoginMs: 8000 });
}
