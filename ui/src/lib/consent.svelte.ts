// The consent window's logic. Its answers unlock only after the window has been quiet for
// `security_delay_ms` (QuietDelay: no key press, no focus coming in), counted from when a
// request is shown (and again when the shown request changes), so a key press or a click
// meant for another window cannot answer it. A request that offers several accounts is approved only once the
// user has chosen one: Sesame does not guess which identity a program acts as.

import { errorMessage, type AnswerOptions, type Backend } from './backend';
import { QuietDelay } from './quietDelay.svelte';
import type { ConsentView, Decision } from './types';

function isControl(target: EventTarget | null): boolean {
  // Enter on a focused button presses that button (it may be Deny); only Enter elsewhere
  // means "approve once".
  return target instanceof Element && target.closest('button, a, input, select, textarea, [role="button"]') !== null;
}

/**
 * The decision a key press stands for, or null. Esc denies, Enter approves once. A held key
 * (auto-repeat) never answers: it began before the question was there.
 */
export function keyDecision(e: KeyboardEvent, armed: boolean): Decision | null {
  if (!armed || e.repeat || e.isComposing || e.altKey || e.ctrlKey || e.metaKey || e.shiftKey) return null;
  if (e.key === 'Escape') return 'deny';
  if (e.key === 'Enter' && !isControl(e.target)) return 'approve_once';
  return null;
}

export class ConsentModel {
  current = $state<ConsentView | null>(null);
  /** True once the first read came back (before that, show nothing rather than "nothing"). */
  loaded = $state(false);
  answering = $state(false);
  error = $state<string | null>(null);
  /** The account chosen, when the request offers several; null until the user picks. */
  account = $state<string | null>(null);
  readonly delay = new QuietDelay();

  constructor(private backend: Backend) {}

  get canAnswer(): boolean {
    return this.delay.armed && !this.answering && this.current !== null;
  }

  /** The request offers several accounts and none is chosen yet. */
  get needsAccount(): boolean {
    return (this.current?.request.accounts.length ?? 0) > 0 && this.account === null;
  }

  /** Approving needs the delay over and, for a choice, an account. */
  get canApprove(): boolean {
    return this.canAnswer && !this.needsAccount;
  }

  choose(account: string): void {
    if (!this.canAnswer || !this.current?.request.accounts.some((a) => a.id === account)) return;
    this.account = account;
    this.error = null;
  }

  /** Reads the request to show; a different one than before starts the delay over. */
  async load(): Promise<void> {
    try {
      const next = await this.backend.consentCurrent();
      const before = this.current?.request.id;
      this.current = next;
      this.loaded = true;
      if (!next) this.delay.stop();
      else if (next.request.id !== before) {
        this.error = null;
        this.account = null;
        this.delay.start(next.security_delay_ms);
      }
    } catch (e) {
      this.loaded = true;
      this.error = errorMessage(e);
    }
  }

  /** `forSecs` goes with `approve_for`. */
  async answer(decision: Decision, forSecs?: number): Promise<void> {
    const current = this.current;
    if (!current || !this.canAnswer) return;
    const approving = decision !== 'deny';
    if (approving && this.needsAccount) {
      this.error = 'Choose the account it may use first.';
      return;
    }
    const options: AnswerOptions = {};
    if (forSecs !== undefined) options.forSecs = forSecs;
    if (approving && this.account !== null) options.account = this.account;
    this.answering = true;
    this.error = null;
    try {
      if (Object.keys(options).length > 0) await this.backend.consentAnswer(current.request.id, decision, options);
      else await this.backend.consentAnswer(current.request.id, decision);
    } catch (e) {
      // e.g. it timed out meanwhile: say so, and show what waits now.
      this.error = errorMessage(e);
    } finally {
      this.answering = false;
    }
    await this.load();
  }

  onKey(e: KeyboardEvent): void {
    const decision = keyDecision(e, this.canAnswer);
    if (!decision) return;
    e.preventDefault();
    void this.answer(decision);
  }
}
