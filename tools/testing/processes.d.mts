import type { ChildProcessWithoutNullStreams } from 'node:child_process';

export interface Program {
  child: ChildProcessWithoutNullStreams;
  lines: string[];
  exited: Promise<number | null>;
  readonly stderr: string;
  waitFor(pattern: RegExp, from?: number): Promise<RegExpExecArray>;
  command(line: string): void;
  stop(): Promise<void>;
}
export const serverEntry: string;
export const desktopEntry: string;
export function runProgram(entry: string, args: string[], env?: NodeJS.ProcessEnv): Program;
export function runProcess(command: string, args: string[], env?: NodeJS.ProcessEnv): Program;
export function startServerProcess(dataDir: string, extraArgs?: string[]): Promise<{ program: Program; url: string; fingerprint: string | undefined }>;
/** Runs a console command; resolves with the lines it printed once `last` matches one of them. */
export function consoleCommand(program: Program, command: string, last: RegExp): Promise<string[]>;
/** The console's retention line (`status`), parsed. */
export function retentionState(program: Program): Promise<{ line: string; prunedBefore: number; pruning: boolean }>;
/** Asks `status` until the server reports everything below `seq` deleted and no round running. */
export function untilPruned(program: Program, seq: number): Promise<void>;
