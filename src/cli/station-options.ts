// What the `station` commands share: their common options and where the agent token comes from.
import { join } from 'node:path';
import { FileSecretStore } from '../station/secret-store.ts';

export interface CommonOpts {
  data?: string;
  json?: boolean;
}

/** --agent-token, else IMPRINT_AGENT_TOKEN, else the station's secret store. */
export async function agentToken(opts: { agentToken?: string }, data: string): Promise<string | undefined> {
  return (
    opts.agentToken ??
    process.env.IMPRINT_AGENT_TOKEN ??
    (await new FileSecretStore(join(data, 'secrets.json')).get('agentToken'))
  );
}
