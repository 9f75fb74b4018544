// The point of a device certificate: a TLS server (an MQTT broker) that trusts the pairing CA accepts it as a
// client certificate, sees the forced CN, and refuses it once the CRL lists it.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import tls from 'node:tls';
import { CertificateAuthority } from '../../src/pairing/ca/certificate-authority.ts';
import { makeCsr, openssl, tempDir } from '../helpers/ca-csr.ts';

const CN = 'test/AJInS0w3VpWpuOqkXhgZdA';

interface Outcome {
  authorized: boolean;
  error?: string;
  peerCn?: string;
}

/** A TLS server on 127.0.0.1 requiring client certificates from `caPem` (and checking `crlPem` if given). */
async function withServer(
  server: { key: string; cert: string },
  caPem: string,
  crlPem: string | undefined,
  fn: (port: number, outcomes: Outcome[]) => Promise<void>,
): Promise<void> {
  const outcomes: Outcome[] = [];
  const srv = tls.createServer(
    { key: server.key, cert: server.cert, ca: caPem, crl: crlPem, requestCert: true, rejectUnauthorized: false },
    (socket) => {
      const peer = socket.getPeerCertificate();
      outcomes.push({
        authorized: socket.authorized,
        error: socket.authorizationError ? String(socket.authorizationError) : undefined,
        peerCn: peer?.subject?.CN as string | undefined,
      });
      socket.end('bye');
    },
  );
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  try {
    await fn((srv.address() as AddressInfo).port, outcomes);
  } finally {
    await new Promise<void>((resolve) => srv.close(() => resolve()));
  }
}

function connect(port: number, serverCert: string, client: { key: string; cert: string }): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host: '127.0.0.1',
      port,
      ca: serverCert,
      key: client.key,
      cert: client.cert,
      checkServerIdentity: () => undefined, // the test server's name does not matter here
      timeout: 10_000,
    });
    socket.on('data', () => {});
    socket.on('end', () => resolve());
    socket.on('close', () => resolve());
    socket.on('timeout', () => {
      socket.destroy();
      reject(new Error('TLS connection timed out'));
    });
    socket.on('error', reject);
  });
}

describe('device certificates in a real TLS handshake', () => {
  const tmp = tempDir();
  let ca: CertificateAuthority;
  let server: { key: string; cert: string };
  let device: { key: string; cert: string; serialHex: string };
  let rsaDevice: { key: string; cert: string };

  before(() => {
    ca = CertificateAuthority.loadOrCreate(`${tmp.dir}/ca`);
    const s = openssl(
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=broker',
        '-keyout',
        'broker.key',
        '-out',
        'broker.pem',
      ],
      { cwd: tmp.dir },
    );
    assert.equal(s.status, 0, s.stderr);
    server = { key: readFileSync(`${tmp.dir}/broker.key`, 'utf8'), cert: readFileSync(`${tmp.dir}/broker.pem`, 'utf8') };
    const ec = makeCsr('ec-p256', '/CN=whatever-the-device-says');
    const issued = ca.issue({ csrPem: ec.csrPem, commonName: CN, serialHex: '5eed' });
    device = { key: ec.keyPem, cert: issued.pem, serialHex: issued.serialHex };
    const rsa = makeCsr('rsa-2048');
    rsaDevice = { key: rsa.keyPem, cert: ca.issue({ csrPem: rsa.csrPem, commonName: CN, serialHex: '5eee' }).pem };
  });
  after(() => tmp.cleanup());

  it('a broker trusting the pairing CA authorizes the device and sees CN=<realm>/<device id>', async () => {
    await withServer(server, ca.certificatePem, undefined, async (port, outcomes) => {
      await connect(port, server.cert, device);
      await connect(port, server.cert, rsaDevice);
      assert.deepEqual(outcomes, [
        { authorized: true, error: undefined, peerCn: CN },
        { authorized: true, error: undefined, peerCn: CN },
      ]);
    });
  });

  it('a broker checking the CRL refuses the revoked certificate', async () => {
    const crl = ca.crl([{ serialHex: device.serialHex, revokedAt: new Date(), reason: 'superseded' }], { crlNumber: 1n });
    await withServer(server, ca.certificatePem, crl.pem, async (port, outcomes) => {
      await connect(port, server.cert, device);
      await connect(port, server.cert, rsaDevice);
      assert.equal(outcomes[0].authorized, false);
      assert.match(outcomes[0].error ?? '', /CERT_REVOKED/);
      assert.equal(outcomes[1].authorized, true, 'the other certificate is still good');
    });
  });

  it('a broker trusting another CA does not authorize the device', async () => {
    const other = CertificateAuthority.loadOrCreate(`${tmp.dir}/other-ca`);
    await withServer(server, other.certificatePem, undefined, async (port, outcomes) => {
      await connect(port, server.cert, device);
      assert.equal(outcomes[0].authorized, false);
    });
  });
});
