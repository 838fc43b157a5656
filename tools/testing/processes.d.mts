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
