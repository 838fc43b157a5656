export function findTmux(): string | undefined;
export function tmuxOrSkip(what: string): string | undefined;
export interface Terminal {
  screen(): string;
  type(line: string): void;
  waitFor(pattern: RegExp, timeoutMs: number, what?: string): Promise<RegExpExecArray>;
  close(): void;
}
export function openTerminal(tmux: string, shellCommand: string, options: { cwd: string; env: NodeJS.ProcessEnv }): Terminal;
