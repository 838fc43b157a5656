import { useCallback, useEffect, useMemo, useState, type ReactElement } from 'react';
import type { AppSnapshot, ChatLine, ConnectionState, HostEvent } from '../shared/bridge-protocol.js';
import { Bridge } from './bridge.js';
import { ChatView } from './ChatView.js';
import { pickLocale, strings, type Locale } from './i18n.js';
import { LoginView } from './LoginView.js';
import { appendToTimeline, type TimelineItem } from './timeline.js';

export function App(): ReactElement {
  const [bridgeLost, setBridgeLost] = useState(false);
  const bridge = useMemo(() => new Bridge(() => setBridgeLost(true)), []);
  const [snapshot, setSnapshot] = useState<AppSnapshot | undefined>();
  const [locale, setLocale] = useState<Locale>(() => pickLocale(navigator.languages));
  const [timeline, setTimeline] = useState<TimelineItem[]>([]);
  const [online, setOnline] = useState<string[]>([]);
  const [state, setState] = useState<ConnectionState>('offline');
  const [loggedIn, setLoggedIn] = useState(false);
  const [username, setUsername] = useState('');
  const [untrusted, setUntrusted] = useState<string | undefined>();
  const [expired, setExpired] = useState(false);
  const [unread, setUnread] = useState(0);
  const t = strings[locale];

  useEffect(() => {
    void bridge.ready.then(
      async () => {
        const initial = await bridge.request<AppSnapshot>({ op: 'state' });
        setSnapshot(initial);
        setLocale((current) => (navigator.languages.length > 0 ? current : pickLocale([initial.locale])));
        setTimeline(initial.messages.map((line) => ({ kind: 'message', line })));
        setOnline(initial.online);
        setState(initial.state);
        setLoggedIn(initial.loggedIn);
        setUsername(initial.username);
      },
      () => undefined,
    ); // no bridge: the constructor's onClosed shows why
    return bridge.onEvent((event: HostEvent) => {
      switch (event.event) {
        case 'message':
          setTimeline((items) => appendToTimeline(items, { kind: 'message', line: event.line }));
          if (!event.line.own && !document.hasFocus()) {
            setUnread((n) => n + 1);
            notify(event.line, t.locked);
          }
          break;
        case 'joined':
        case 'left':
          setTimeline((items) => appendToTimeline(items, { kind: event.event, username: event.presence.username, ts: event.presence.ts }));
          break;
        case 'notice':
          setTimeline((items) => appendToTimeline(items, { kind: 'notice', text: event.text, noticeKind: event.noticeKind, ts: event.ts }));
          break;
        case 'pruned':
          setTimeline((items) => appendToTimeline(items, { kind: 'pruned', missed: event.missed, ts: event.ts }));
          break;
        case 'online':
          setOnline(event.online);
          break;
        case 'state':
          setState(event.state);
          break;
        case 'untrusted':
          setUntrusted(event.fingerprint);
          break;
        case 'loggedOut':
          setLoggedIn(false);
          setExpired(true);
          break;
      }
    });
  }, [bridge, t.locked]);

  // Unread count in the window title while the window is not focused.
  useEffect(() => {
    const clear = (): void => setUnread(0);
    window.addEventListener('focus', clear);
    return () => window.removeEventListener('focus', clear);
  }, []);
  useEffect(() => {
    document.title = unread > 0 ? `(${unread}) ${t.title}` : t.title;
    document.documentElement.lang = locale;
  }, [unread, t.title, locale]);

  const answerTrust = useCallback(
    (accept: boolean) => {
      if (untrusted !== undefined) void bridge.request({ op: 'trust', fingerprint: untrusted, accept });
      setUntrusted(undefined);
    },
    [bridge, untrusted],
  );

  // The bridge is the app's own Node side, not the chat server: say so.
  if (bridgeLost) return <main className="fatal">{t.appLost}</main>;
  if (snapshot === undefined) return <main className="loading">{t.connecting}</main>;

  return (
    <>
      <header className="topbar">
        <span className="brand">🔐 {t.title}</span>
        <label className="language">
          {t.language}{' '}
          <select value={locale} onChange={(e) => setLocale(e.target.value as Locale)} aria-label={t.language}>
            <option value="en">English</option>
            <option value="ru">Русский</option>
          </select>
        </label>
      </header>
      {untrusted !== undefined && (
        <div className="dialog" role="dialog" aria-label={t.trustTitle}>
          <h2>{t.trustTitle}</h2>
          <pre className="fingerprint">{t.trustText(untrusted)}</pre>
          <button onClick={() => answerTrust(true)}>{t.trust}</button> <button onClick={() => answerTrust(false)}>{t.distrust}</button>
        </div>
      )}
      {loggedIn ? (
        <ChatView
          bridge={bridge}
          t={t}
          locale={locale}
          username={username}
          online={online}
          state={state}
          timeline={timeline}
          onLogout={() => {
            // The login view comes back filled in: server, chat key and name stay.
            void bridge
              .request({ op: 'logout' })
              .then(() => bridge.request<AppSnapshot>({ op: 'state' }))
              .then((latest) => {
                setSnapshot(latest);
                setLoggedIn(false);
                setTimeline([]);
              });
          }}
        />
      ) : (
        <LoginView
          bridge={bridge}
          t={t}
          initial={snapshot}
          expired={expired}
          onLoggedIn={(name) => {
            setUsername(name);
            setLoggedIn(true);
            setExpired(false);
          }}
        />
      )}
    </>
  );
}

function notify(line: ChatLine, lockedText: string): void {
  if (!('Notification' in window)) return;
  const show = (): void => void new Notification(line.from, { body: line.text ?? lockedText });
  if (Notification.permission === 'granted') show();
  else if (Notification.permission !== 'denied') void Notification.requestPermission().then((p) => p === 'granted' && show());
}
