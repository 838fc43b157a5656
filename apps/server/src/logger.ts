import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * Structured logs (JSON) go to stderr or a file; the operator's human lines go
 * to stdout. Anything that looks like a secret is redacted even if a caller
 * passes it by mistake: passwords, session tokens, frames, chat keys.
 */
export function createLogger(level: string, file: string | undefined): Logger {
  return pino(
    {
      level,
      base: { app: 'enigma-server' },
      redact: {
        paths: ['password', 'session', 'token', 'frame', 'key', '*.password', '*.session', '*.token', '*.frame', '*.key'],
        censor: '[redacted]',
      },
    },
    pino.destination({ dest: file ?? 2, mkdir: true, sync: false }),
  );
}
