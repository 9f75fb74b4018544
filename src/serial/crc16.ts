// CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection, no final xor): the frame checksum
// of the device protocol. Chosen because every firmware SDK ships it; check value "123456789" → 0x29B1.

const TABLE = (() => {
  const t = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i << 8;
    for (let b = 0; b < 8; b++) c = c & 0x8000 ? ((c << 1) ^ 0x1021) & 0xffff : (c << 1) & 0xffff;
    t[i] = c;
  }
  return t;
})();

export function crc16CcittFalse(data: string | Uint8Array): number {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
  let crc = 0xffff;
  for (const byte of bytes) crc = ((crc << 8) & 0xffff) ^ TABLE[((crc >> 8) ^ byte) & 0xff];
  return crc;
}

/** The CRC as it appears on the wire: 4 uppercase hex digits. */
export function crcHex(data: string | Uint8Array): string {
  return crc16CcittFalse(data).toString(16).toUpperCase().padStart(4, '0');
}
