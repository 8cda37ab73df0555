// What to do about an error, in the app's words. A failed command may carry a `Remedy`
// (sesame-ipc's remedy.rs): the broker's message says what went wrong, the remedy what to do
// next, as data. The CLI says it with `sesame` commands; the app points to its own pages and
// buttons, and names a terminal command only where the app has no way to do it.

import type { Remedy } from './types';

/**
 * The remedy as the app's words, a clause to follow the message after a semicolon. The switch
 * is exhaustive: a new remedy in the generated types fails `npm run check` until it has words.
 */
export function remedyWords(r: Remedy): string {
  switch (r.do) {
    case 'sign_in':
      return r.provider
        ? `sign in to ${r.provider} with “Add account” on the Accounts page`
        : 'start a new one with “Add account” on the Accounts page';
    case 'sign_in_again':
      return `sign in to ${r.provider} again with “Sign in again” on the Accounts page`;
    case 'sign_in_in_browser':
      return `sign in to ${r.provider} with “Sign in with browser” instead`;
    case 'name_account':
      return `choose one of its accounts: ${r.ids.join(', ')}`;
    case 'choose_account':
      return 'choose the account it may use in the consent window, then approve';
    case 'list_accounts':
      return 'the Accounts page lists them, and “Add account” adds one';
    case 'answer_pending':
      return 'answer it in the consent window while the request waits';
    case 'list_pending':
      return 'the consent window shows what still waits';
    case 'list_grants':
      return 'the Apps & grants page shows what is allowed';
    case 'allow_program':
      return 'run it once where you can answer, and allow it for a time or always in the consent window';
    case 'store_secret':
      // The app cannot take a secret: the terminal is the only way.
      return `store it in a terminal with \`sesame secret set ${r.provider}\` (paste it when asked)`;
  }
}

/** The message, and what to do about it when the error says (a remedy it does not know: none). */
export function withRemedy(message: string, remedy: Remedy | null | undefined): string {
  const words = remedy ? (remedyWords(remedy) as string | undefined) : '';
  return words ? `${message}; ${words}` : message;
}
