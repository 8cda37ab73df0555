// What a program's files are (the content a grant is bound to), in words: the same rules as
// the CLI's `sesame pending` / `sesame grants` (crates/sesame-cli/src/display.rs).

import type { ContentChange, ContentUpdate, FileContent, ProgramContent } from './types';

const short = (s: string | null | undefined): string => (s ? `${s.slice(0, 12)}…` : '?');

function fileWords(f: FileContent): string {
  return f.package ? `${f.package.name} ${f.package.version}` : `sha256 ${short(f.sha256)}`;
}

/** "python3.11-minimal 3.11.2-6 + sha256 1a2b3c4d5e6f…": packages by version, other files by hash. */
export function contentWords(c: ProgramContent | null | undefined): string {
  if (!c) return 'not recorded yet (bound at next use)';
  const parts = [c.exe, c.script].filter((f): f is FileContent => !!f).map(fileWords);
  if (c.flatpak) parts.push(`${c.flatpak.app} commit ${short(c.flatpak.commit)}`);
  return parts.join(' + ');
}

const PART_WORDS = { executable: 'the executable', script: 'the script', flatpak: 'the Flatpak app' } as const;

/** "the script differs", "the executable and the script differ". */
export function changeWords(change: ContentChange): string {
  const parts = change.parts.map((p) => PART_WORDS[p]);
  return `${parts.join(' and ')} ${parts.length === 1 ? 'differs' : 'differ'}`;
}

/** Why the broker moved a grant to new content, as one sentence. */
export function updateWords(u: ContentUpdate): string {
  switch (u.reason.kind) {
    case 'package_upgrade':
      return `Kept after a package upgrade: ${u.reason.packages.map((p) => `${p.package} ${p.from} → ${p.to}`).join(', ')}`;
    case 'flatpak_update':
      return `Kept after a Flatpak update of ${u.reason.app}: ${short(u.reason.from)} → ${short(u.reason.to)}`;
    case 'first_use':
      return 'Allowed before Sesame checked what programs are; bound to the program at its first use';
  }
}
