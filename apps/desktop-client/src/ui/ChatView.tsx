import { useEffect, useRef, useState, type KeyboardEvent, type ReactElement } from 'react';
import type { ConnectionState, UiError } from '../shared/bridge-protocol.js';
import type { Bridge } from './bridge.js';
import type { Locale, Strings } from './i18n.js';
import { describeError } from './LoginView.js';
import type { TimelineItem } from './timeline.js';

interface Props {
  bridge: Bridge;
  t: Strings;
  locale: Locale;
  username: string;
  online: string[];
  state: ConnectionState;
  timeline: TimelineItem[];
  onLogout(): void;
}

export function ChatView({ bridge, t, locale, username, online, state, timeline, onLogout }: Props): ReactElement {
  const [draft, setDraft] = useState('');
  const [error, setError] = useState<UiError | undefined>();
  const [copied, setCopied] = useState(false);
  const bottom = useRef<HTMLDivElement>(null);
  const time = new Intl.DateTimeFormat(locale, { hour: '2-digit', minute: '2-digit' });

  useEffect(() => {
    bottom.current?.scrollIntoView({ block: 'end' });
  }, [timeline.length]);

  const send = (): void => {
    const text = draft;
    if (text.trim() === '') return;
    setDraft('');
    setError(undefined);
    bridge.request({ op: 'send', text }).catch((failure: UiError) => {
      setError(failure);
      setDraft(text); // lose nothing: the text comes back to the input
    });
  };

  const onKeyDown = (event: KeyboardEvent<HTMLTextAreaElement>): void => {
    if (event.key === 'Enter' && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      send();
    }
  };

  const copyInvite = async (): Promise<void> => {
    const invite = await bridge.request<string>({ op: 'invite' });
    await navigator.clipboard.writeText(invite).catch(() => window.prompt(t.copyInvite, invite));
    setCopied(true);
  };

  return (
    <main className="chat">
      <aside className="sidebar">
        <p className={`connection ${state}`} data-state={state} role="status">
          ● {t[state]}
        </p>
        <h2>
          {t.online} ({online.length})
        </h2>
        <ul className="online" aria-label={t.online}>
          {online.map((name) => (
            <li key={name}>
              {name}
              {name === username ? ` (${t.you})` : ''}
            </li>
          ))}
        </ul>
        <button onClick={() => void copyInvite()}>{copied ? t.copied : t.copyInvite}</button>
        <button onClick={onLogout}>{t.logout}</button>
      </aside>
      <section className="timeline" aria-live="polite">
        {timeline.map((item, index) => {
          if (item.kind === 'message') {
            const { line } = item;
            return (
              <article key={line.id} className={`message${line.own ? ' own' : ''}${line.locked ? ' locked' : ''}`} data-seq={line.seq}>
                <header>
                  <span className="from">{line.from}</span> <time dateTime={new Date(line.ts).toISOString()}>{time.format(line.ts)}</time>
                </header>
                <p className="text">{line.locked ? t.locked : line.text}</p>
              </article>
            );
          }
          if (item.kind === 'pruned') {
            return (
              <p key={`r${index}`} className="event pruned">
                {item.missed ? t.prunedMissed : t.pruned}
              </p>
            );
          }
          if (item.kind === 'notice') {
            return (
              <p key={`n${index}`} className="event notice">
                {t.notice}: {item.text}
              </p>
            );
          }
          return (
            <p key={`p${index}`} className={`event ${item.kind}`}>
              {item.kind === 'joined' ? t.joined(item.username) : t.left(item.username)} · {time.format(item.ts)}
            </p>
          );
        })}
        <div ref={bottom} />
      </section>
      <footer className="composer">
        {error !== undefined && (
          <p className="error" role="alert" data-error={error.code}>
            {describeError(error, t)}
          </p>
        )}
        <textarea name="message" value={draft} onChange={(e) => setDraft(e.target.value)} onKeyDown={onKeyDown} placeholder={t.messagePlaceholder} rows={2} />
        <button name="send" onClick={send}>
          {t.send}
        </button>
      </footer>
    </main>
  );
}
