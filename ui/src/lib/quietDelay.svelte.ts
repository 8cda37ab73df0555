// The consent window's protected confirmation. Its answers unlock only once the window has
// been quiet for a whole delay: no key pressed or released in it, no focus coming into it,
// since the delay began. So typing meant for another window, a key held down as the window
// appears, or the click that brings the window to the front cannot answer it; and Enter
// approves only after a full quiet delay, because every key press (Enter's own included)
// starts the delay over.
//
// Focus moving between the window's own buttons is not a disturbance (a click focuses the
// button it presses); only the window itself gaining focus, or becoming visible, is. A
// focused button pressed with Enter or Space counts only after a full quiet delay, like
// Enter anywhere else.

export class QuietDelay {
  /** Quiet for the whole delay: the answers are unlocked. */
  armed = $state(false);
  /** There is something to answer; disturbances restart the delay only then. */
  private active = false;
  private delayMs = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;

  /** A new request is shown: locks now, unlocks after `delayMs` of quiet. */
  start(delayMs: number): void {
    this.active = true;
    this.delayMs = Math.max(0, delayMs);
    this.restart();
  }

  /** Nothing to answer: locked until the next `start`. */
  stop(): void {
    this.active = false;
    clearTimeout(this.timer);
    this.armed = false;
  }

  /** A key or focus event: locks, and the quiet delay starts over. */
  disturb(): void {
    if (this.active) this.restart();
  }

  /**
   * Follows `win`'s keys, focus and visibility. Each key press goes to `onKey` first, while
   * the answers are still as the quiet before it left them (so Enter after a full quiet
   * delay can approve), and then starts the delay over. Returns what stops the watching.
   */
  watch(win: Window, onKey: (e: KeyboardEvent) => void = () => {}): () => void {
    const keydown = (e: KeyboardEvent) => {
      const quiet = this.armed;
      const button = pressedButton(e);
      if (button) {
        // Pressed now or not at all: the browser's own press would come after this key
        // has locked the answers again.
        e.preventDefault();
        if (quiet && !e.repeat && !modified(e)) button.click();
      } else {
        onKey(e);
      }
      this.disturb();
    };
    const disturb = () => this.disturb();
    // The window's own focus event (an element's does not bubble up to here; the check is
    // for the day a capture listener is added).
    const focus = (e: FocusEvent) => {
      if (!(e.target instanceof Node)) this.disturb();
    };
    const visibility = () => {
      if (win.document.visibilityState === 'visible') this.disturb();
    };
    win.addEventListener('keydown', keydown, true);
    win.addEventListener('keyup', disturb, true);
    win.addEventListener('focus', focus);
    win.document.addEventListener('visibilitychange', visibility);
    return () => {
      win.removeEventListener('keydown', keydown, true);
      win.removeEventListener('keyup', disturb, true);
      win.removeEventListener('focus', focus);
      win.document.removeEventListener('visibilitychange', visibility);
      this.stop();
    };
  }

  private restart(): void {
    clearTimeout(this.timer);
    this.armed = false;
    this.timer = setTimeout(() => (this.armed = true), this.delayMs);
  }
}

/** The focused button that Enter or Space would press, if `e` is such a key. */
function pressedButton(e: KeyboardEvent): HTMLButtonElement | null {
  if (e.key !== 'Enter' && e.key !== ' ') return null;
  const target = e.target;
  return target instanceof Element ? target.closest('button') : null;
}

function modified(e: KeyboardEvent): boolean {
  return e.isComposing || e.altKey || e.ctrlKey || e.metaKey || e.shiftKey;
}
