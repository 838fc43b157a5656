import { useState, type FormEvent, type ReactElement } from 'react';
import type { AppSnapshot, UiError } from '../shared/bridge-protocol.js';
import type { Bridge } from './bridge.js';
import type { Strings } from './i18n.js';

type Field = 'server' | 'username' | 'password' | 'chatKey' | 'form';

/** Which field an error belongs next to. */
function fieldOf(error: UiError): Field {
  switch (error.code) {
    case 'unknownUser':
    case 'nameTaken':
    case 'invalidName':
    case 'banned':
      return 'username';
    case 'wrongPassword':
    case 'weakPassword':
      return 'password';
    case 'invalidKey':
      return 'chatKey';
    case 'certificateChanged':
    case 'certificateRefused':
    case 'unreachable':
    case 'invalidServer':
      return 'server';
    default:
      return 'form';
  }
}

export function describeError(error: UiError, t: Strings): string {
  const base = t.errors[error.code];
  // The server's reason (e.g. why a password is weak) completes the sentence.
  const sentence = error.detail !== undefined && error.detail !== '' ? `${base.replace(/\.$/, '')}: ${error.detail}.` : base;
  const retry = error.retryAfterMs !== undefined ? ` ${t.retryIn(Math.ceil(error.retryAfterMs / 1000))}` : '';
  return `${sentence}${retry}`;
}

interface Props {
  bridge: Bridge;
  t: Strings;
  initial: AppSnapshot;
  expired: boolean;
  onLoggedIn(username: string): void;
}

export function LoginView({ bridge, t, initial, expired, onLoggedIn }: Props): ReactElement {
  const [server, setServer] = useState(initial.server);
  const [username, setUsername] = useState(initial.username);
  const [password, setPassword] = useState('');
  const [chatKey, setChatKey] = useState(initial.chatKey);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<UiError | undefined>(expired ? { code: 'sessionExpired' } : undefined);

  const submit = async (op: 'login' | 'register', event?: FormEvent): Promise<void> => {
    event?.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const connected = await bridge.request<{ server: string; chatKey: string }>({ op: 'connect', server, chatKey });
      setServer(connected.server);
      setChatKey(connected.chatKey);
      const result = await bridge.request<{ username: string }>({ op, username, password });
      setPassword('');
      onLoggedIn(result.username);
    } catch (failure) {
      setError(failure as UiError);
    } finally {
      setBusy(false);
    }
  };

  const errorFor = (field: Field): ReactElement | null =>
    error !== undefined && fieldOf(error) === field ? (
      <p className="error" role="alert" data-error={error.code}>
        {describeError(error, t)}
      </p>
    ) : null;

  return (
    <main className="login">
      <form onSubmit={(e) => void submit('login', e)} aria-busy={busy}>
        <h1>{t.title}</h1>
        <p className="subtitle">{t.subtitle}</p>
        <label>
          {t.server}
          <input name="server" value={server} placeholder={t.serverPlaceholder} onChange={(e) => setServer(e.target.value)} autoComplete="url" required />
        </label>
        {errorFor('server')}
        <label>
          {t.username}
          <input name="username" value={username} onChange={(e) => setUsername(e.target.value)} autoComplete="username" maxLength={64} required />
        </label>
        {errorFor('username')}
        <label>
          {t.password}
          <input name="password" type="password" value={password} onChange={(e) => setPassword(e.target.value)} autoComplete="current-password" maxLength={1024} required />
        </label>
        {errorFor('password')}
        <label>
          {t.chatKey}
          <span className="row">
            <input name="chatKey" value={chatKey} onChange={(e) => setChatKey(e.target.value)} spellCheck={false} autoComplete="off" />
            <button type="button" onClick={() => void bridge.request<string>({ op: 'generateKey' }).then(setChatKey)}>
              {t.generate}
            </button>
          </span>
        </label>
        {errorFor('chatKey')}
        {errorFor('form')}
        <div className="actions">
          <button type="submit" name="login" disabled={busy}>
            {busy ? t.working : t.login}
          </button>
          <button type="button" name="register" disabled={busy} onClick={() => void submit('register')}>
            {t.register}
          </button>
        </div>
      </form>
    </main>
  );
}
