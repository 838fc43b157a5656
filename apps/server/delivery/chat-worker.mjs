// One process of SDK clients for the delivery suite, driven over IPC by the
// test. Each client logs in, records every message it is shown (in the order
// it is shown) and, when told, sends its share of numbered messages and
// records the acknowledgement of each. It does nothing to protect itself from
// faults: the SDK must.
import { ChatClient } from '@enigma/client';

/** @type {Array<{ username: string, client: ChatClient, received: Array<{ id: string, seq: number, from: string, text?: string, locked: boolean }>, accepted: Array<{ n: number, id: string, seq: number }>, states: string[], errors: string[] }>} */
const members = [];
/** `await` commands waiting for every member to have received a number of messages. */
let awaiting = [];

function settleAwaiting() {
  awaiting = awaiting.filter(({ total, resolve }) => {
    if (members.some((m) => m.received.length < total)) return true;
    resolve();
    return false;
  });
}

const send = (message) => process.send?.(message);

async function join({ url, fingerprint, chatKey, accounts }) {
  // An account may name its own server address(es): members spread over cluster nodes.
  for (const { username, password, url: own } of accounts) {
    const client = new ChatClient({ chatKey });
    const member = { username, client, received: [], accepted: [], states: [], errors: [] };
    client.on('message', ({ id, seq, from, text, locked }) => {
      member.received.push({ id, seq, from, text, locked });
      settleAwaiting();
    });
    client.on('state', (state) => member.states.push(state));
    client.on('error', (error) => member.errors.push(`${error.kind}: ${error.message}`));
    await client.connect({ url: own ?? url, fingerprint });
    const reply = await client.login(username, password);
    if (reply.type !== 'LOGIN_SUCCESSFUL') throw new Error(`${username} could not log in: ${reply.type}`);
    members.push(member);
  }
}

/** Every member writes `count` numbered messages, a few at a time, as a person (or a bot) would. */
async function chat({ count, from = 0 }) {
  await Promise.all(
    members.map(async (member) => {
      const acks = [];
      for (let n = from; n < from + count; n += 1) {
        acks.push(member.client.send(`${member.username} #${n}`).then(({ id, seq }) => member.accepted.push({ n, id, seq })));
        if (n % 10 === 9 && count > 10) await new Promise((resolve) => setTimeout(resolve, Math.random() * 40));
      }
      await Promise.all(acks);
    }),
  );
}

const progress = () => ({
  type: 'progress',
  members: members.map((m) => ({ username: m.username, accepted: m.accepted.length, received: m.received.length, state: m.client.state })),
});

process.on('message', (command) => {
  const run = async () => {
    switch (command.type) {
      case 'join':
        await join(command);
        return { type: 'joined' };
      case 'chat':
        await chat(command);
        return { type: 'chatted' };
      case 'await':
        await new Promise((resolve) => {
          awaiting.push({ total: command.total, resolve });
          settleAwaiting();
        });
        return { type: 'received' };
      case 'progress':
        return progress();
      case 'report':
        return {
          type: 'report',
          members: members.map(({ username, received, accepted, states, errors }) => ({ username, received, accepted, states, errors })),
        };
      case 'exit':
        for (const member of members) member.client.close();
        setImmediate(() => process.exit(0));
        return { type: 'bye' };
      default:
        throw new Error(`unknown command ${command.type}`);
    }
  };
  run().then(
    (reply) => send({ ...reply, request: command.request }),
    (error) => send({ type: 'failed', request: command.request, error: String(error?.stack ?? error) }),
  );
});
send({ type: 'ready' });
