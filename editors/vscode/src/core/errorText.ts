// A cell's error as the short lines a hover shows: the error, its notes,
// the members of an ExceptionGroup, and the exceptions chained to it,
// nearest first ("direct cause: …", "raised while handling: …"). The full
// text, as Python prints it, is the error's `traceback`.

import { ErrorLink, PythonError } from './protocol';
import { errorSummary, linkLabel } from './traceback';

const maxMembers = 10;

function memberLines(members: ErrorLink[] | undefined, indent: string): string[] {
  if (!members?.length) return [];
  const shown = members.slice(0, maxMembers).flatMap((member, i) => [
    `${indent}${i + 1}. ${errorSummary(member)}`,
    ...noteLines(member.notes, `${indent}   `),
    ...memberLines(member.exceptions, `${indent}   `),
  ]);
  if (members.length > maxMembers) shown.push(`${indent}… ${members.length - maxMembers} more`);
  return shown;
}

function noteLines(notes: string[] | undefined, indent: string): string[] {
  return (notes ?? []).map((note) => `${indent}note: ${note}`);
}

export function errorLines(error: PythonError): string[] {
  const lines = [errorSummary(error), ...noteLines(error.notes, '  '), ...memberLines(error.exceptions, '  ')];
  for (const link of [...(error.chain ?? [])].reverse()) {
    lines.push(`  ${linkLabel(link)}`, ...noteLines(link.notes, '    '), ...memberLines(link.exceptions, '    '));
  }
  return lines;
}
