// A storage adapter for oidc-provider that keeps its state in one JSON file, for the demos
// (scripts/run.sh, scripts/demo.sh): a demo account signed in yesterday must still be
// known to the demo provider today, or the app shows "Active" for an account whose refresh
// token the provider has forgotten. The tests use the in-memory default (no IDP_STATE_DIR).
//
// Small on purpose: every change rewrites the file (a demo makes a handful per minute), and
// the write goes through a temporary file and a rename, so a killed provider leaves the
// previous state, never half of one.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const GRANTABLE = new Set(['AccessToken', 'AuthorizationCode', 'RefreshToken', 'DeviceCode',
  'BackchannelAuthenticationRequest', 'PreAuthorizedCode']);

export function createFileAdapter(dir) {
  const file = join(dir, 'state.json');
  let entries = {};
  try {
    entries = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    if (e.code !== 'ENOENT') console.error(`demo provider: ignoring unreadable ${file}: ${e.message}`);
  }
  const save = () => {
    const now = Date.now();
    for (const [k, v] of Object.entries(entries)) if (v.expiresAt && v.expiresAt <= now) delete entries[k];
    writeFileSync(`${file}.tmp`, JSON.stringify(entries), { mode: 0o600 });
    renameSync(`${file}.tmp`, file);
  };
  const get = (key) => {
    const e = entries[key];
    if (!e) return undefined;
    if (e.expiresAt && e.expiresAt <= Date.now()) {
      delete entries[key];
      return undefined;
    }
    return e.value;
  };
  const set = (key, value, expiresIn) => {
    entries[key] = { value, expiresAt: typeof expiresIn === 'number' ? Date.now() + expiresIn * 1000 : 0 };
  };

  return (model) => {
    const key = (id) => `${model}:${id}`;
    return {
      async upsert(id, payload, expiresIn) {
        set(key(id), payload, expiresIn);
        if (model === 'Session') set(`sessionUid:${payload.uid}`, id, expiresIn);
        if (payload.userCode) set(`userCode:${payload.userCode}`, id, expiresIn);
        if (GRANTABLE.has(model) && payload.grantId) {
          const members = new Set(get(`grant:${payload.grantId}`) ?? []);
          members.add(key(id));
          set(`grant:${payload.grantId}`, [...members]);
        }
        save();
      },
      async find(id) {
        return get(key(id));
      },
      async findByUid(uid) {
        const id = get(`sessionUid:${uid}`);
        return id === undefined ? undefined : get(key(id));
      },
      async findByUserCode(userCode) {
        const id = get(`userCode:${userCode}`);
        return id === undefined ? undefined : get(key(id));
      },
      async consume(id) {
        const payload = get(key(id));
        if (payload) {
          payload.consumed = Math.floor(Date.now() / 1000);
          save();
        }
      },
      async destroy(id) {
        delete entries[key(id)];
        save();
      },
      async revokeByGrantId(grantId) {
        for (const member of get(`grant:${grantId}`) ?? []) delete entries[member];
        delete entries[`grant:${grantId}`];
        save();
      },
    };
  };
}

// The keys a restarted demo provider needs to accept what it issued before: its signing key
// and its cookie key, kept beside the state.
export function loadOrCreateKeys(dir, create) {
  const file = join(dir, 'keys.json');
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    const keys = create();
    writeFileSync(file, JSON.stringify(keys), { mode: 0o600 });
    return keys;
  }
}
