// A certificate signing thread (signing-threads.ts): for each job, the CSR's proof of possession (verifyCsr,
// the very code the event loop runs in issue()) and the CA's signature over the TBSCertificate (signTbs).
// Jobs arrive in batches (one message per event-loop turn of the main thread) and are answered the same way.
import type { KeyObject } from 'node:crypto';
import { parentPort } from 'node:worker_threads';
import { workerInput } from '../../common/typescript-worker.ts';
import { PairingError } from '../pairing-errors.ts';
import { verifyCsr } from './csr.ts';
import type { SigningJob, SigningReply } from './signing-threads.ts';
import { signTbs } from './x509-builder.ts';

const { caKey, signHash } = workerInput<{ caKey: KeyObject; signHash: string }>();

function run(job: SigningJob & { id: number }): SigningReply {
  try {
    verifyCsr(job.csr);
    return { id: job.id, signature: signTbs(job.tbs, caKey, signHash) };
  } catch (e) {
    if (e instanceof PairingError && e.code === 'INVALID_CSR') return { id: job.id, refusal: e.message };
    // Our fault, not the device's: the request fails as CA_SIGNING_FAILED, the other jobs go on.
    return { id: job.id, failure: e instanceof Error ? e.message : String(e) };
  }
}

parentPort?.on('message', (jobs: (SigningJob & { id: number })[]) => {
  parentPort?.postMessage(jobs.map(run));
});
