// A TCP proxy that stands between test clients and the server and breaks
// their connections on purpose: cut one (a dropped Wi-Fi), freeze one (a
// laptop asleep: nothing flows, nobody is told), or refuse everyone for a
// while (the client's network is gone). It forwards bytes untouched, so TLS
// and certificate pinning work through it.
import net from 'node:net';

/**
 * @param {number} targetPort the server's port on 127.0.0.1 (it may restart on the same port)
 */
export async function startFaultProxy(targetPort) {
  /** @type {Set<{ client: net.Socket, upstream: net.Socket, frozen: boolean }>} */
  const links = new Set();
  let refusing = false;

  const server = net.createServer((client) => {
    if (refusing) {
      client.destroy();
      return;
    }
    const upstream = net.connect(targetPort, '127.0.0.1');
    const link = { client, upstream, frozen: false };
    links.add(link);
    const close = () => {
      links.delete(link);
      client.destroy();
      upstream.destroy();
    };
    client.on('data', (chunk) => link.frozen || upstream.write(chunk));
    upstream.on('data', (chunk) => link.frozen || client.write(chunk));
    client.on('close', close).on('error', close);
    upstream.on('close', close).on('error', close);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));

  return {
    port: /** @type {net.AddressInfo} */ (server.address()).port,
    /** Open connections through the proxy (frozen ones included). */
    get connections() {
      return links.size;
    },
    /** Cuts one connection at random (or none when there is none); returns whether it cut one. */
    dropRandom(random = Math.random) {
      const all = [...links].filter((link) => !link.frozen);
      if (all.length === 0) return false;
      const link = all[Math.floor(random() * all.length)];
      link.client.destroy();
      link.upstream.destroy();
      return true;
    },
    /** Silently stops every open connection: bytes are swallowed, nobody is told. Later connections flow. */
    freezeAll() {
      for (const link of links) link.frozen = true;
    },
    /** Cuts everything and refuses new connections until `restore()`. */
    goOffline() {
      refusing = true;
      for (const link of links) {
        link.client.destroy();
        link.upstream.destroy();
      }
    },
    restore() {
      refusing = false;
    },
    async close() {
      for (const link of links) {
        link.client.destroy();
        link.upstream.destroy();
      }
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
