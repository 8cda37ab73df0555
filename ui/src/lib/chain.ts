// How a program asked (the chain the broker walked: "msmtp → dash -c → sesame token") and
// why it may only be approved once (`generic`), for the consent window and the grants page.

import type { AppInfo } from './types';

/** How a request through the `sesame` CLI got here, outermost first ("msmtp → dash -c →
 *  sesame token"), or null when the program connected itself. */
export function chainText(app: AppInfo): string | null {
  const chain = app.chain ?? [];
  return chain.length > 1 ? chain.join(' → ') : null;
}

/** A piece of a sentence; `code` pieces were in backticks (program names). */
export interface Piece {
  text: string;
  code: boolean;
}

/** Why the program cannot be told apart from others, as one sentence in pieces (the
 *  broker marks program names with backticks), or null when it is a program of its own. */
export function genericReason(app: AppInfo): Piece[] | null {
  const why = app.generic?.trim();
  if (!why) return null;
  const sentence = why.endsWith('.') ? why : `${why}.`;
  const pieces = sentence.split('`').map((text, i) => ({ text, code: i % 2 === 1 }));
  const first = pieces[0];
  if (first.text) first.text = first.text[0].toUpperCase() + first.text.slice(1);
  return pieces.filter((p) => p.text !== '');
}
