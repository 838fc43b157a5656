import type { UiErrorCode } from '../shared/bridge-protocol.js';

export type Locale = 'en' | 'ru';

const en = {
  title: 'Enigma',
  subtitle: 'End-to-end encrypted group chat',
  server: 'Server address or invite',
  serverPlaceholder: 'https://192.168.1.5:7777 or enigma://…',
  username: 'Username',
  password: 'Password',
  chatKey: 'Chat key',
  generate: 'Generate',
  login: 'Log in',
  register: 'Register',
  working: 'Working…',
  send: 'Send',
  messagePlaceholder: 'Message (Enter sends, Shift+Enter for a new line)',
  online: 'Online',
  copyInvite: 'Copy invite',
  copied: 'Invite copied',
  logout: 'Log out',
  locked: '🔒 This message is encrypted with a key you do not have.',
  joined: (name: string) => `${name} joined`,
  left: (name: string) => `${name} left`,
  you: 'you',
  connected: 'Connected',
  reconnecting: 'Reconnecting…',
  connecting: 'Connecting…',
  offline: 'Offline',
  trustTitle: 'New server certificate',
  trustText: (fp: string) => `This is the first connection to this server. Check that its fingerprint matches what the operator shows:\n${fp}`,
  trust: 'Trust and connect',
  distrust: 'Cancel',
  language: 'Language',
  notice: 'Server notice',
  errors: {
    unknownUser: 'There is no user with this name.',
    wrongPassword: 'Wrong password.',
    nameTaken: 'This name is taken. Choose another or log in.',
    invalidName: 'This name is not allowed.',
    weakPassword: 'This password is too weak.',
    rateLimited: 'Too many attempts.',
    banned: 'This account is banned from this server.',
    certificateChanged: "The server's certificate changed since your last visit. This could be an attack; ask the operator for a new invite.",
    certificateRefused: 'You did not trust the server certificate.',
    unreachable: 'The server cannot be reached. Check the address and that the server is running.',
    invalidServer: 'This is not a valid server address or invite.',
    invalidKey: 'A chat key is 44 characters of url-safe base64. Generate one or paste the one from your invite.',
    sessionExpired: 'Your session expired. Log in again.',
    notLoggedIn: 'You are not logged in.',
    failed: 'Something went wrong. Try again.',
  } satisfies Record<UiErrorCode, string>,
  retryIn: (seconds: number) => `Try again in ${seconds} s.`,
};

export type Strings = typeof en;

const ru: Strings = {
  title: 'Enigma',
  subtitle: 'Групповой чат со сквозным шифрованием',
  server: 'Адрес сервера или приглашение',
  serverPlaceholder: 'https://192.168.1.5:7777 или enigma://…',
  username: 'Имя пользователя',
  password: 'Пароль',
  chatKey: 'Ключ чата',
  generate: 'Создать',
  login: 'Войти',
  register: 'Зарегистрироваться',
  working: 'Подождите…',
  send: 'Отправить',
  messagePlaceholder: 'Сообщение (Enter — отправить, Shift+Enter — новая строка)',
  online: 'В сети',
  copyInvite: 'Копировать приглашение',
  copied: 'Приглашение скопировано',
  logout: 'Выйти',
  locked: '🔒 Сообщение зашифровано ключом, которого у вас нет.',
  joined: (name) => `${name} вошёл(ла) в чат`,
  left: (name) => `${name} вышел(ла) из чата`,
  you: 'вы',
  connected: 'Подключено',
  reconnecting: 'Переподключение…',
  connecting: 'Подключение…',
  offline: 'Нет связи',
  trustTitle: 'Новый сертификат сервера',
  trustText: (fp) => `Это первое подключение к серверу. Сверьте отпечаток с тем, что показывает администратор:\n${fp}`,
  trust: 'Доверять и подключиться',
  distrust: 'Отмена',
  language: 'Язык',
  notice: 'Сообщение сервера',
  errors: {
    unknownUser: 'Пользователя с таким именем нет.',
    wrongPassword: 'Неверный пароль.',
    nameTaken: 'Это имя занято. Выберите другое или войдите.',
    invalidName: 'Такое имя недопустимо.',
    weakPassword: 'Слишком слабый пароль.',
    rateLimited: 'Слишком много попыток.',
    banned: 'Эта учётная запись заблокирована на сервере.',
    certificateChanged: 'Сертификат сервера изменился с прошлого раза. Это может быть атака; попросите у администратора новое приглашение.',
    certificateRefused: 'Вы не доверились сертификату сервера.',
    unreachable: 'Сервер недоступен. Проверьте адрес и что сервер запущен.',
    invalidServer: 'Это не адрес сервера и не приглашение.',
    invalidKey: 'Ключ чата — 44 символа url-safe base64. Создайте ключ или вставьте его из приглашения.',
    sessionExpired: 'Сеанс истёк. Войдите снова.',
    notLoggedIn: 'Вы не вошли в чат.',
    failed: 'Что-то пошло не так. Попробуйте ещё раз.',
  },
  retryIn: (seconds) => `Повторите через ${seconds} с.`,
};

export const strings: Record<Locale, Strings> = { en, ru };

export function pickLocale(preferred: readonly string[]): Locale {
  for (const tag of preferred) {
    const language = tag.toLowerCase().split(/[-_]/)[0];
    if (language === 'ru' || language === 'en') return language;
  }
  return 'en';
}
