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
    case 'registrationClosed': // registration refusals: the cure is another invite link (or server)
    case 'inviteMissing':
    case 'inviteUnknown':
    case 'inviteUsed':
    case 'inviteExpired':
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

/** An `enigma://` link whose part after `#` carries an operator's registration token. */
export function carriesInvite(field: string): boolean {
  const trimmed = field.trim();
  const hash = trimmed.indexOf('#');
  return trimmed.startsWith('enigma://') && hash !== -1 && new URLSearchParams(trimmed.slice(hash + 1)).get('invite') !== null;
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
  // The app holds an invite token (from --invite or an earlier paste), or one
  // was just pasted: then registering is what Enter does.
  const [invited, setInvited] = useState(initial.invited);
  const joining = invited || carriesInvite(server);
  const primary = joining ? 'register' : 'login';

  const submit = async (op: 'login' | 'register', event?: FormEvent): Promise<void> => {
    event?.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const connected = await bridge.request<{ server: string; chatKey: string; invited: boolean }>({ op: 'connect', server, chatKey });
      setServer(connected.server);
      setChatKey(connected.chatKey);
      setInvited(connected.invited);
      const result = await bridge.request<{ username: string }>({ op, username, password });
      setPassword('');
      onLoggedIn(result.username);
    } catch (failure) {
      const refusal = failure as UiError;
      // The app has forgotten a dead invite: back to logging in, until a new link is pasted.
      if (refusal.code === 'inviteUnknown' || refusal.code === 'inviteUsed' || refusal.code === 'inviteExpired') setInvited(false);
      setError(refusal);
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
      <form onSubmit={(e) => void submit(primary, e)} aria-busy={busy} data-mode={primary}>
        <h1>{t.title}</h1>
        <p className="subtitle">{t.subtitle}</p>
        {joining && (
          <p className="invited" role="status">
            {t.invited}
          </p>
        )}
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
          <input
            name="password"
            type="password"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            autoComplete={joining ? 'new-password' : 'current-password'}
            maxLength={1024}
            required
          />
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
          {(joining ? (['register', 'login'] as const) : (['login', 'register'] as const)).map((op) =>
            op === primary ? (
              <button key={op} type="submit" name={op} disabled={busy}>
                {busy ? t.working : t[op]}
              </button>
            ) : (
              <button key={op} type="button" name={op} disabled={busy} onClick={() => void submit(op)}>
                {t[op]}
              </button>
            ),
          )}
        </div>
      </form>
    </main>
  );
}
