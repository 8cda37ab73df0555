import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ConsentModel, keyDecision } from '../src/lib/consent.svelte';
import { fake, pending } from './fixtures';

function key(k: string, init: KeyboardEventInit = {}, target?: Element): KeyboardEvent {
  const e = new KeyboardEvent('keydown', { key: k, bubbles: true, cancelable: true, ...init });
  if (target) Object.defineProperty(e, 'target', { value: target });
  return e;
}

describe('keyDecision', () => {
  it('Enter approves once and Esc denies, only when armed', () => {
    expect(keyDecision(key('Enter'), true)).toBe('approve_once');
    expect(keyDecision(key('Escape'), true)).toBe('deny');
    expect(keyDecision(key('Enter'), false)).toBeNull();
    expect(keyDecision(key('Escape'), false)).toBeNull();
    expect(keyDecision(key('a'), true)).toBeNull();
  });

  it('ignores held keys and modified keys', () => {
    expect(keyDecision(key('Enter', { repeat: true }), true)).toBeNull();
    expect(keyDecision(key('Enter', { ctrlKey: true }), true)).toBeNull();
    expect(keyDecision(key('Escape', { altKey: true }), true)).toBeNull();
  });

  it('leaves Enter on a focused button to that button', () => {
    const button = document.createElement('button');
    expect(keyDecision(key('Enter', {}, button), true)).toBeNull();
    expect(keyDecision(key('Escape', {}, button), true)).toBe('deny');
  });
});

describe('ConsentModel', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('locks answers for the security delay, then takes Enter as approve once', async () => {
    const b = fake({ pending: [pending()], securityDelayMs: 1000 });
    const model = new ConsentModel(b);
    await model.load();
    expect(model.current?.request.id).toBe(3);
    expect(model.current?.scopes).toEqual([
      { scope: 'email', description: 'See your email address', beyond_asked: false },
      { scope: 'openid', description: 'Confirm who you are', beyond_asked: false },
    ]);
    expect(model.canAnswer).toBe(false);

    model.onKey(key('Enter'));
    await model.answer('approve_always');
    expect(b.calls.some((c) => c.method === 'consentAnswer')).toBe(false);

    vi.advanceTimersByTime(999);
    expect(model.canAnswer).toBe(false);
    vi.advanceTimersByTime(1);
    expect(model.canAnswer).toBe(true);

    const e = key('Enter');
    model.onKey(e);
    expect(e.defaultPrevented).toBe(true);
    await vi.runAllTimersAsync();
    expect(b.calls.filter((c) => c.method === 'consentAnswer').map((c) => c.args)).toEqual([[3, 'approve_once']]);
    expect(model.current).toBeNull(); // "Nothing waiting"
    expect(model.loaded).toBe(true);
  });

  it('Esc denies', async () => {
    const b = fake({ pending: [pending()], securityDelayMs: 500 });
    const model = new ConsentModel(b);
    await model.load();
    vi.advanceTimersByTime(500);
    model.onKey(key('Escape'));
    await vi.runAllTimersAsync();
    expect(b.calls.find((c) => c.method === 'consentAnswer')?.args).toEqual([3, 'deny']);
    expect(b.state.activity[0].event).toBe('denied');
  });

  it('locks again when the shown request changes, not when the same one is re-read', async () => {
    const b = fake({ pending: [pending({ id: 3 }), pending({ id: 4, app: { key: '/usr/bin/gh', name: 'gh', exe: '/usr/bin/gh', sandboxed: false } })], securityDelayMs: 1000 });
    const model = new ConsentModel(b);
    await model.load();
    vi.advanceTimersByTime(1000);
    await model.load(); // e.g. `sesame:changed` for something else
    expect(model.canAnswer).toBe(true);

    await model.answer('approve_always');
    expect(model.current?.request.id).toBe(4);
    expect(model.canAnswer).toBe(false);
    model.onKey(key('Enter')); // the same key press, a moment later: ignored
    await Promise.resolve();
    expect(b.calls.filter((c) => c.method === 'consentAnswer')).toHaveLength(1);
    expect(b.state.grants).toHaveLength(1); // "always allow" stored a grant

    vi.advanceTimersByTime(1000);
    expect(model.canAnswer).toBe(true);
  });

  it('shows the broker message when an answer fails, and the next request', async () => {
    const b = fake({ pending: [pending()], securityDelayMs: 0 });
    const model = new ConsentModel(b);
    await model.load();
    vi.advanceTimersByTime(0);
    b.fail('consentAnswer', 'no_such_pending', 'that request was answered or timed out');
    await model.answer('approve_once');
    expect(model.error).toBe('that request was answered or timed out');
    expect(model.answering).toBe(false);
  });
});

describe('ConsentModel: lengths and the account choice', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  const accounts = [
    { id: 'local-aaaa', name: 'alice@example.test' },
    { id: 'local-bbbb', name: 'bob@example.test' },
  ];

  it('sends the length only with approve_for, and nothing extra otherwise', async () => {
    const b = fake({ pending: [pending({ id: 3 }), pending({ id: 4, scopes: ['openid'] })], securityDelayMs: 0 });
    const model = new ConsentModel(b);
    await model.load();
    vi.advanceTimersByTime(0);
    await model.answer('approve_for', 2);
    vi.advanceTimersByTime(0);
    await model.answer('approve_until_lock');
    const answers = b.calls.filter((c) => c.method === 'consentAnswer').map((c) => c.args);
    expect(answers).toEqual([[3, 'approve_for', { forSecs: 2 }], [4, 'approve_until_lock']]);
    expect(b.state.grants.map((g) => [g.expires_at != null, g.until_lock])).toEqual([[true, false], [false, true]]);
  });

  it('approves a choice only with an account chosen, and forgets the choice for the next request', async () => {
    const b = fake({ pending: [pending({ id: 3, account: 'local', accounts }), pending({ id: 4, account: 'local', accounts, scopes: ['openid'] })], securityDelayMs: 100 });
    const model = new ConsentModel(b);
    await model.load();
    model.choose('local-aaaa');
    expect(model.account).toBeNull(); // locked: a stray click cannot choose either
    vi.advanceTimersByTime(100);
    expect(model.needsAccount).toBe(true);
    expect(model.canAnswer && !model.canApprove).toBe(true);
    await model.answer('approve_once');
    expect(model.error).toMatch(/Choose the account/);
    expect(b.calls.some((c) => c.method === 'consentAnswer')).toBe(false);
    model.choose('local-zzzz'); // not offered
    expect(model.account).toBeNull();

    model.choose('local-bbbb');
    expect(model.canApprove).toBe(true);
    await model.answer('approve_always');
    expect(b.calls.find((c) => c.method === 'consentAnswer')?.args).toEqual([3, 'approve_always', { account: 'local-bbbb' }]);
    expect(model.current?.request.id).toBe(4);
    expect(model.account).toBeNull();
    vi.advanceTimersByTime(100);
    await model.answer('deny'); // denying needs no choice
    expect(b.calls.filter((c) => c.method === 'consentAnswer').at(-1)?.args).toEqual([4, 'deny']);
  });
});

