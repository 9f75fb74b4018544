// An Astarte-compatible pairing core WITHOUT Imprint's import API, as plant IT may run (Astarte
// itself): the agent and device routes of the Pairing API answer, every import route is 404
// "Page not found". Built from our own server with the core's import extension hidden, on a fixed
// 127.0.0.1 port so it can be stopped and started again at the same URL.
import { createServer } from 'node:net';
import { EmbeddedPairingCore } from '../../src/pairing/embedded-core.ts';
import { type RunningPairingServer, servePairing } from '../../src/pairing/http/server.ts';
import { makeAgentKeyPair, type PemKeyPair } from './pairing-keys.ts';

export async function freeLoopbackPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

/** The core as Astarte would be: the same Pairing API, no import extension. */
function withoutImports(core: EmbeddedPairingCore): EmbeddedPairingCore {
  return new Proxy(core, {
    get(target, prop) {
      if (prop === 'extension') return undefined;
      const v = Reflect.get(target, prop, target);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

export class AstartePeer {
  readonly url: string;
  readonly agentKeys: PemKeyPair = makeAgentKeyPair();
  #core: EmbeddedPairingCore | undefined;
  #server: RunningPairingServer | undefined;

  private constructor(
    readonly dataDir: string,
    readonly port: number,
    readonly realm: string,
  ) {
    this.url = `http://127.0.0.1:${port}`;
  }

  /** A peer with `realm`, not started yet (its URL refuses connections until start()). */
  static async create(dataDir: string, realm: string): Promise<AstartePeer> {
    const peer = new AstartePeer(dataDir, await freeLoopbackPort(), realm);
    const core = await EmbeddedPairingCore.open({ dataDir });
    await core.createRealm({ name: realm, publicKeyPem: peer.agentKeys.publicKeyPem });
    await core.close();
    return peer;
  }

  get core(): EmbeddedPairingCore | undefined {
    return this.#core;
  }

  async start(): Promise<void> {
    this.#core = await EmbeddedPairingCore.open({ dataDir: this.dataDir });
    this.#server = await servePairing({ core: withoutImports(this.#core), host: '127.0.0.1', port: this.port });
  }

  async stop(): Promise<void> {
    await this.#server?.close();
    await this.#core?.close();
    this.#server = undefined;
    this.#core = undefined;
  }
}
