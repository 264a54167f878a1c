// What to tell the user when the server dies or cannot start.

import { ServerExit } from './serverConnection';
import { ServerLoss } from './serverSupervisor';

export function describeExit(exit: ServerExit): string {
  if (exit.signal) return `killed by ${exit.signal}`;
  return `exit status ${exit.code ?? 'unknown'}`;
}

/** One sentence naming the lost sessions, or undefined when nothing was lost and it was expected. */
export function describeLoss(loss: ServerLoss): string | undefined {
  if (loss.exit.expected && loss.lostSessions.length === 0) return undefined;
  const how = loss.exit.expected ? 'The subcell server was stopped' : `The subcell server stopped unexpectedly (${describeExit(loss.exit)})`;
  const names = loss.lostSessions.map((s) => s.name ?? s.session);
  const lost = names.length
    ? ` Lost sessions: ${names.join(', ')}; their variables are gone and they start fresh on the next run.`
    : ' No session was open.';
  const next = loss.restarting ? ' It was restarted.' : loss.exit.expected ? '' : ' It starts again on the next run.';
  return `${how}.${lost}${next}`;
}

/**
 * The error shown when the server cannot start: why, and where the setting
 * goes. `remoteName` is set when this window's extensions run on another
 * machine (Remote-SSH, WSL, a container, code-server): the path must exist
 * there, and that machine's Remote settings take precedence over User settings.
 */
export function describeStartFailure(message: string, remoteName?: string): string {
  const why = message.split('\n')[0].replace(/\.$/, '');
  const where = remoteName
    ? `; the path is looked up on the machine that runs this window's extensions (${remoteName}), and its Remote settings, when they set it, win over User settings`
    : '';
  return `subcell: ${why}. Set "subcell.serverPath" to the subcell binary in your User settings${where}.`;
}
