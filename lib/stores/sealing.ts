// Encryption at rest for the values a store keeps: each session's DER sealed with
// AES-256-GCM (node:crypto) under a named key, the session id as additional data, so that
// a reader of the store learns nothing of the session (its master key included) and a
// writer can neither forge a session nor move one to another id. The key's name travels in
// the value: `keys.previous` still opens what an older key sealed, so keys rotate without a
// flag day. The keys never leave the process.
//
// value = "OSCs" | 0x01 | name length (1 byte) | name | iv (12) | tag (16) | ciphertext
// additional data = everything before the iv, then the session id
import * as crypto from 'crypto';
import { optionsObject, toBuffer } from '../common/validate';

/** one key: a name (1–255 bytes of UTF-8, written in each value) and 32 secret bytes */
export interface SessionSealingKey {
  name: string;
  key: Buffer;
}

/** `keys` option of the stores: new values are sealed under `current`; `previous` still open */
export interface SessionSealingKeys {
  current: SessionSealingKey;
  previous?: readonly SessionSealingKey[];
}

const MAGIC = Buffer.from('OSCs\x01', 'latin1');
const IV = 12;
const TAG = 16;

function checkKey(k: unknown, what: string): { name: Buffer; key: Buffer } {
  const o = optionsObject(k, what) as Partial<SessionSealingKey>;
  if (typeof o.name !== 'string') throw new TypeError(`${what}.name must be a string`);
  const name = Buffer.from(o.name, 'utf8');
  if (name.length < 1 || name.length > 255) throw new RangeError(`${what}.name must be 1 to 255 bytes of UTF-8`);
  const key = toBuffer(o.key as Buffer, `${what}.key`);
  if (key.length !== 32) throw new RangeError(`${what}.key must be 32 bytes (AES-256), got ${key.length}`);
  return { name, key: Buffer.from(key) };
}

/** @internal seals and opens store values; made from a validated `keys` option */
export class SessionSealer {
  readonly #current: { name: Buffer; key: Buffer };
  readonly #byName = new Map<string, Buffer>();

  constructor(keys: SessionSealingKeys, what = 'options.keys') {
    const o = optionsObject(keys, what) as Partial<SessionSealingKeys>;
    this.#current = checkKey(o.current, `${what}.current`);
    this.#byName.set(this.#current.name.toString('hex'), this.#current.key);
    if (o.previous !== undefined) {
      if (!Array.isArray(o.previous)) throw new TypeError(`${what}.previous must be an array of keys`);
      o.previous.forEach((k, i) => {
        const c = checkKey(k, `${what}.previous[${i}]`);
        const hex = c.name.toString('hex');
        if (this.#byName.has(hex)) throw new RangeError(`${what}.previous[${i}].name is used twice`);
        this.#byName.set(hex, c.key);
      });
    }
  }

  /** the current key's name (what new values are sealed under) */
  get currentName(): string {
    return this.#current.name.toString('utf8');
  }

  seal(id: Buffer, der: Buffer): Buffer {
    const { name, key } = this.#current;
    const head = Buffer.concat([MAGIC, Buffer.from([name.length]), name]);
    const iv = crypto.randomBytes(IV);
    const c = crypto.createCipheriv('aes-256-gcm', key, iv);
    c.setAAD(Buffer.concat([head, id]));
    const body = Buffer.concat([c.update(der), c.final()]);
    return Buffer.concat([head, iv, c.getAuthTag(), body]);
  }

  /** the DER sealed in `value` for `id`, or undefined when it does not open (never throws) */
  open(id: Buffer, value: Buffer): Buffer | undefined {
    try {
      if (value.length < MAGIC.length + 1 || !value.subarray(0, MAGIC.length).equals(MAGIC)) return undefined;
      const n = value[MAGIC.length];
      const headLen = MAGIC.length + 1 + n;
      if (n < 1 || value.length < headLen + IV + TAG + 1) return undefined;
      const key = this.#byName.get(value.subarray(MAGIC.length + 1, headLen).toString('hex'));
      if (!key) return undefined;
      const iv = value.subarray(headLen, headLen + IV);
      const tag = value.subarray(headLen + IV, headLen + IV + TAG);
      const d = crypto.createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG });
      d.setAAD(Buffer.concat([value.subarray(0, headLen), id]));
      d.setAuthTag(tag);
      return Buffer.concat([d.update(value.subarray(headLen + IV + TAG)), d.final()]);
    } catch {
      return undefined;
    }
  }
}
