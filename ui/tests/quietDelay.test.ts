import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { QuietDelay } from '../src/lib/quietDelay.svelte';

function press(type: 'keydown' | 'keyup', key: string, target: EventTarget = window, init: KeyboardEventInit = {}): KeyboardEvent {
  const e = new KeyboardEvent(type, { key, bubbles: true, cancelable: true, ...init });
  target.dispatchEvent(e);
  return e;
}

describe('QuietDelay', () => {
  let delay: QuietDelay;
  let unwatch: () => void;
  let keys: { key: string; armed: boolean }[];

  beforeEach(() => {
    vi.useFakeTimers();
    delay = new QuietDelay();
    keys = [];
    unwatch = delay.watch(window, (e) => keys.push({ key: e.key, armed: delay.armed }));
  });
  afterEach(() => {
    unwatch();
    document.body.innerHTML = '';
    vi.useRealTimers();
  });

  it('unlocks after the delay, and every key press or release starts it over', () => {
    delay.start(1000);
    vi.advanceTimersByTime(600);
    press('keydown', 'a');
    vi.advanceTimersByTime(600);
    expect(delay.armed).toBe(false); // 1200 ms after the start, 600 after the key
    press('keyup', 'a');
    vi.advanceTimersByTime(999);
    expect(delay.armed).toBe(false);
    vi.advanceTimersByTime(1);
    expect(delay.armed).toBe(true);
    press('keydown', 'Shift');
    expect(delay.armed).toBe(false); // locked at once, modifiers too
  });

  it('shows each key press to its handler as the quiet before it left the answers', () => {
    delay.start(1000);
    vi.advanceTimersByTime(500);
    press('keydown', 'Enter'); // too soon
    vi.advanceTimersByTime(999);
    press('keydown', 'Enter'); // 999 ms after the last key: still too soon
    vi.advanceTimersByTime(1000);
    press('keydown', 'Enter'); // a full quiet delay
    expect(keys).toEqual([
      { key: 'Enter', armed: false },
      { key: 'Enter', armed: false },
      { key: 'Enter', armed: true },
    ]);
    expect(delay.armed).toBe(false);
  });

  it('starts over when the window gets focus or comes into view, not when focus moves inside it', () => {
    const button = document.body.appendChild(document.createElement('button'));
    delay.start(1000);
    vi.advanceTimersByTime(1000);
    button.focus(); // a click focuses the button it presses
    expect(delay.armed).toBe(true);
    window.dispatchEvent(new FocusEvent('focus'));
    expect(delay.armed).toBe(false);
    vi.advanceTimersByTime(1000);
    expect(delay.armed).toBe(true);
    document.dispatchEvent(new Event('visibilitychange'));
    expect(delay.armed).toBe(false);
  });

  it('presses a focused button with Enter or Space only after a full quiet delay', () => {
    const button = document.body.appendChild(document.createElement('button'));
    const clicks = vi.fn();
    button.addEventListener('click', clicks);
    delay.start(1000);
    vi.advanceTimersByTime(300);
    const early = press('keydown', 'Enter', button);
    expect(early.defaultPrevented).toBe(true); // the browser's own press is kept back too
    expect(clicks).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1000);
    press('keydown', ' ', button, { repeat: true }); // held from before: never
    vi.advanceTimersByTime(1000);
    expect(press('keydown', ' ', button).defaultPrevented).toBe(true);
    expect(clicks).toHaveBeenCalledTimes(1);
    expect(keys).toEqual([]); // a button's key is the button's, not an answer of its own
  });

  it('stays locked with nothing to answer, and after the watch stops', () => {
    press('keydown', 'a');
    vi.advanceTimersByTime(5000);
    expect(delay.armed).toBe(false);
    delay.start(100);
    vi.advanceTimersByTime(100);
    expect(delay.armed).toBe(true);
    delay.stop();
    expect(delay.armed).toBe(false);
    unwatch();
    delay.start(100);
    press('keydown', 'a');
    expect(keys.map((k) => k.key)).toEqual(['a']); // only the one before: no longer watched
  });
});
