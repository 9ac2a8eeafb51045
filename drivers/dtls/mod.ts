/**
 * DTLS 1.2 for DTLS-SRTP (RFC 5763/5764) from OpenSSL 3 (libssl.so.3 / libcrypto.so.3, Debian
 * `libssl3`/`libssl3t64`) through FFI, over memory BIOs: the driver opens no socket; the caller
 * feeds received datagrams in and drains the datagrams to send.
 *
 * - {@linkcode DtlsCertificate}: a fresh self-signed ECDSA P-256 certificate, or the box's from PEM,
 *   with its SHA-256 fingerprint for SDP `a=fingerprint`.
 * - {@linkcode DtlsEndpoint}: one handshake as client or server with the use_srtp extension
 *   (SRTP_AEAD_AES_128_GCM, SRTP_AES128_CM_SHA1_80), then the SRTP keying material exported as
 *   RFC 5764 4.2 lays it out, split into our and the peer's key||salt for drivers/srtp.
 *
 * The peer's certificate is accepted during the handshake (WebRTC peers are self-signed) and must
 * be checked by the caller against the fingerprint from the peer's SDP:
 * {@linkcode DtlsEndpoint.peerFingerprint}.
 *
 * @module
 */
import { NativeHandle, NativeLibrary } from "../loader.ts";

const CRYPTO_SYMBOLS = {
  ERR_get_error: { parameters: [], result: "u64" },
  ERR_error_string_n: { parameters: ["u64", "buffer", "usize"], result: "void" },
  BIO_s_mem: { parameters: [], result: "pointer" },
  BIO_new: { parameters: ["pointer"], result: "pointer" },
  BIO_new_mem_buf: { parameters: ["buffer", "i32"], result: "pointer" },
  BIO_free: { parameters: ["pointer"], result: "i32" },
  BIO_read: { parameters: ["pointer", "buffer", "i32"], result: "i32" },
  BIO_write: { parameters: ["pointer", "buffer", "i32"], result: "i32" },
  BIO_ctrl: { parameters: ["pointer", "i32", "i64", "pointer"], result: "i64" },
  EVP_PKEY_CTX_new_from_name: { parameters: ["pointer", "buffer", "pointer"], result: "pointer" },
  EVP_PKEY_keygen_init: { parameters: ["pointer"], result: "i32" },
  EVP_PKEY_CTX_set_group_name: { parameters: ["pointer", "buffer"], result: "i32" },
  EVP_PKEY_generate: { parameters: ["pointer", "buffer"], result: "i32" },
  EVP_PKEY_CTX_free: { parameters: ["pointer"], result: "void" },
  EVP_PKEY_free: { parameters: ["pointer"], result: "void" },
  EVP_sha256: { parameters: [], result: "pointer" },
  X509_new: { parameters: [], result: "pointer" },
  X509_free: { parameters: ["pointer"], result: "void" },
  X509_set_version: { parameters: ["pointer", "i64"], result: "i32" },
  X509_get_serialNumber: { parameters: ["pointer"], result: "pointer" },
  ASN1_INTEGER_set: { parameters: ["pointer", "i64"], result: "i32" },
  X509_getm_notBefore: { parameters: ["pointer"], result: "pointer" },
  X509_getm_notAfter: { parameters: ["pointer"], result: "pointer" },
  X509_gmtime_adj: { parameters: ["pointer", "i64"], result: "pointer" },
  X509_set_pubkey: { parameters: ["pointer", "pointer"], result: "i32" },
  X509_get_subject_name: { parameters: ["pointer"], result: "pointer" },
  X509_set_issuer_name: { parameters: ["pointer", "pointer"], result: "i32" },
  X509_NAME_add_entry_by_txt: {
    parameters: ["pointer", "buffer", "i32", "buffer", "i32", "i32", "i32"],
    result: "i32",
  },
  X509_sign: { parameters: ["pointer", "pointer", "pointer"], result: "i32" },
  X509_digest: { parameters: ["pointer", "pointer", "buffer", "buffer"], result: "i32" },
  PEM_read_bio_X509: { parameters: ["pointer", "pointer", "pointer", "pointer"], result: "pointer" },
  PEM_read_bio_PrivateKey: { parameters: ["pointer", "pointer", "pointer", "pointer"], result: "pointer" },
} as const satisfies Deno.ForeignLibraryInterface;

const SSL_SYMBOLS = {
  DTLS_method: { parameters: [], result: "pointer" },
  SSL_CTX_new: { parameters: ["pointer"], result: "pointer" },
  SSL_CTX_free: { parameters: ["pointer"], result: "void" },
  SSL_CTX_use_certificate: { parameters: ["pointer", "pointer"], result: "i32" },
  SSL_CTX_use_PrivateKey: { parameters: ["pointer", "pointer"], result: "i32" },
  SSL_CTX_check_private_key: { parameters: ["pointer"], result: "i32" },
  SSL_CTX_set_verify: { parameters: ["pointer", "i32", "function"], result: "void" },
  SSL_CTX_set_tlsext_use_srtp: { parameters: ["pointer", "buffer"], result: "i32" },
  SSL_CTX_ctrl: { parameters: ["pointer", "i32", "i64", "pointer"], result: "i64" },
  SSL_new: { parameters: ["pointer"], result: "pointer" },
  SSL_free: { parameters: ["pointer"], result: "void" },
  SSL_set_bio: { parameters: ["pointer", "pointer", "pointer"], result: "void" },
  SSL_set_options: { parameters: ["pointer", "u64"], result: "u64" },
  SSL_ctrl: { parameters: ["pointer", "i32", "i64", "pointer"], result: "i64" },
  SSL_set_connect_state: { parameters: ["pointer"], result: "void" },
  SSL_set_accept_state: { parameters: ["pointer"], result: "void" },
  SSL_do_handshake: { parameters: ["pointer"], result: "i32" },
  SSL_get_error: { parameters: ["pointer", "i32"], result: "i32" },
  SSL_is_init_finished: { parameters: ["pointer"], result: "i32" },
  SSL_get_selected_srtp_profile: { parameters: ["pointer"], result: "pointer" },
  SSL_export_keying_material: {
    parameters: ["pointer", "buffer", "usize", "buffer", "usize", "pointer", "usize", "i32"],
    result: "i32",
  },
  SSL_get1_peer_certificate: { parameters: ["pointer"], result: "pointer" },
  SSL_shutdown: { parameters: ["pointer"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

/** libcrypto.so.3 (env override PBX_LIBCRYPTO_PATH). Exposed for tests. */
export const cryptoLibrary: NativeLibrary<typeof CRYPTO_SYMBOLS> = new NativeLibrary({
  label: "DTLS (libcrypto)",
  soname: "libcrypto.so.3",
  aptPackage: "libssl3",
  envVar: "PBX_LIBCRYPTO_PATH",
  symbols: CRYPTO_SYMBOLS,
});

/** libssl.so.3 (env override PBX_LIBSSL_PATH). Exposed for tests. */
export const sslLibrary: NativeLibrary<typeof SSL_SYMBOLS> = new NativeLibrary({
  label: "DTLS (libssl)",
  soname: "libssl.so.3",
  aptPackage: "libssl3",
  envVar: "PBX_LIBSSL_PATH",
  symbols: SSL_SYMBOLS,
});

type Crypto = Deno.DynamicLibrary<typeof CRYPTO_SYMBOLS>["symbols"];
type Ssl = Deno.DynamicLibrary<typeof SSL_SYMBOLS>["symbols"];

/** True when both OpenSSL libraries open. */
export function available(): boolean {
  return cryptoLibrary.available() && sslLibrary.available();
}

const enc = new TextEncoder();
const cstr = (s: string) => enc.encode(s + "\0");

function opensslError(c: Crypto, what: string): Error {
  const parts: string[] = [];
  const buf = new Uint8Array(256);
  for (let e = c.ERR_get_error(); e !== 0n; e = c.ERR_get_error()) {
    c.ERR_error_string_n(e, buf, BigInt(buf.length));
    parts.push(new TextDecoder().decode(buf.subarray(0, buf.indexOf(0))));
  }
  return new Error(`${what} failed${parts.length ? ": " + parts.join("; ") : ""}`);
}

function ptrOut(): BigUint64Array {
  return new BigUint64Array(1);
}

function readPtr(cell: BigUint64Array): Deno.PointerValue {
  return Deno.UnsafePointer.create(cell[0]!);
}

function sha256Fingerprint(c: Crypto, x509: Deno.PointerObject): string {
  const md = new Uint8Array(64);
  const len = new Uint32Array(1);
  if (c.X509_digest(x509, c.EVP_sha256(), md, new Uint8Array(len.buffer)) !== 1) {
    throw opensslError(c, "X509_digest");
  }
  return Array.from(md.subarray(0, len[0]!), (b) => b.toString(16).padStart(2, "0").toUpperCase()).join(":");
}

/** A certificate and its private key for DTLS, with its SHA-256 fingerprint. */
export class DtlsCertificate {
  /** SHA-256 fingerprint as SDP writes it after `a=fingerprint:sha-256 `, "AB:CD:...". */
  readonly fingerprint: string;
  readonly #x509: NativeHandle;
  readonly #pkey: NativeHandle;

  private constructor(x509: Deno.PointerObject, pkey: Deno.PointerObject) {
    const c = cryptoLibrary.require();
    this.#x509 = new NativeHandle(x509, (p) => c.X509_free(p), "X509 certificate");
    this.#pkey = new NativeHandle(pkey, (p) => c.EVP_PKEY_free(p), "private key");
    this.fingerprint = sha256Fingerprint(c, x509);
  }

  /** A fresh self-signed ECDSA P-256 certificate (WebRTC style), valid `days` (default 30). */
  static generate(options: { commonName?: string; days?: number } = {}): DtlsCertificate {
    const c = cryptoLibrary.require();
    const days = options.days ?? 30;
    if (!Number.isInteger(days) || days < 1 || days > 3650) {
      throw new RangeError(`days ${days} not in 1..3650`);
    }
    const kctx = c.EVP_PKEY_CTX_new_from_name(null, cstr("EC"), null);
    if (kctx === null) throw opensslError(c, "EVP_PKEY_CTX_new_from_name");
    const out = ptrOut();
    try {
      if (
        c.EVP_PKEY_keygen_init(kctx) !== 1 || c.EVP_PKEY_CTX_set_group_name(kctx, cstr("P-256")) !== 1 ||
        c.EVP_PKEY_generate(kctx, new Uint8Array(out.buffer)) !== 1
      ) throw opensslError(c, "EC key generation");
    } finally {
      c.EVP_PKEY_CTX_free(kctx);
    }
    const pkey = readPtr(out)!;
    const x = c.X509_new();
    if (x === null) {
      c.EVP_PKEY_free(pkey);
      throw opensslError(c, "X509_new");
    }
    const serial = new Uint32Array(1);
    crypto.getRandomValues(serial);
    const name = c.X509_get_subject_name(x);
    const ok = c.X509_set_version(x, 2n) === 1 &&
      c.ASN1_INTEGER_set(c.X509_get_serialNumber(x), BigInt(serial[0]! >>> 1)) === 1 &&
      c.X509_gmtime_adj(c.X509_getm_notBefore(x), -3600n) !== null &&
      c.X509_gmtime_adj(c.X509_getm_notAfter(x), BigInt(days * 86400)) !== null &&
      c.X509_set_pubkey(x, pkey) === 1 &&
      c.X509_NAME_add_entry_by_txt(name, cstr("CN"), 0x1001, cstr(options.commonName ?? "pbx"), -1, -1, 0) ===
        1 &&
      c.X509_set_issuer_name(x, name) === 1 &&
      c.X509_sign(x, pkey, c.EVP_sha256()) > 0;
    if (!ok) {
      c.X509_free(x);
      c.EVP_PKEY_free(pkey);
      throw opensslError(c, "self-signed certificate");
    }
    return new DtlsCertificate(x, pkey);
  }

  /** Load a PEM certificate and its PEM private key (e.g. the box's). Throws Error when unreadable. */
  static fromPem(certPem: string, keyPem: string): DtlsCertificate {
    const c = cryptoLibrary.require();
    const read = <T>(pem: string, fn: (bio: Deno.PointerObject) => T): T => {
      const bytes = enc.encode(pem);
      const bio = c.BIO_new_mem_buf(bytes, bytes.length);
      if (bio === null) throw opensslError(c, "BIO_new_mem_buf");
      try {
        return fn(bio);
      } finally {
        c.BIO_free(bio);
      }
    };
    const x = read(certPem, (b) => c.PEM_read_bio_X509(b, null, null, null));
    if (x === null) throw opensslError(c, "reading the PEM certificate");
    const k = read(keyPem, (b) => c.PEM_read_bio_PrivateKey(b, null, null, null));
    if (k === null) {
      c.X509_free(x);
      throw opensslError(c, "reading the PEM private key");
    }
    return new DtlsCertificate(x, k);
  }

  /** @internal native pointers for {@linkcode DtlsEndpoint}. */
  get _native(): { x509: Deno.PointerObject; pkey: Deno.PointerObject } {
    return { x509: this.#x509.ptr, pkey: this.#pkey.ptr };
  }

  /** Free the certificate and key (endpoints created from it keep their own references). */
  close(): void {
    this.#x509.close();
    this.#pkey.close();
  }
}

/** DTLS-SRTP protection profiles offered/accepted (RFC 5764 4.1.2, RFC 7714 14.2). */
export type DtlsSrtpProfile = "SRTP_AEAD_AES_128_GCM" | "SRTP_AES128_CM_SHA1_80";

/** The drivers/srtp suite each profile keys. */
export const PROFILE_SUITES: Readonly<
  Record<
    DtlsSrtpProfile,
    { suite: "AEAD_AES_128_GCM" | "AES_CM_128_HMAC_SHA1_80"; key: number; salt: number }
  >
> = Object.freeze({
  SRTP_AEAD_AES_128_GCM: { suite: "AEAD_AES_128_GCM", key: 16, salt: 12 },
  SRTP_AES128_CM_SHA1_80: { suite: "AES_CM_128_HMAC_SHA1_80", key: 16, salt: 14 },
});

/** What a finished handshake hands to drivers/srtp. */
export interface DtlsSrtpKeys {
  /** The negotiated profile. */
  profile: DtlsSrtpProfile;
  /** The drivers/srtp suite name for it. */
  suite: "AEAD_AES_128_GCM" | "AES_CM_128_HMAC_SHA1_80";
  /** Our master key||salt (protects what we send). */
  local: Uint8Array;
  /** The peer's master key||salt (unprotects what we receive). */
  remote: Uint8Array;
}

/** Options for {@linkcode DtlsEndpoint}. */
export interface DtlsEndpointOptions {
  /** Our certificate. */
  certificate: DtlsCertificate;
  /** Profiles in preference order (default GCM then AES-CM-80). */
  profiles?: readonly DtlsSrtpProfile[];
  /** Largest datagram {@linkcode DtlsEndpoint.drain} returns (default 1200). */
  mtu?: number;
}

// Accept any peer certificate in the handshake; the SDP fingerprint check follows it.
let verifyCallback: Deno.UnsafeCallback<{ parameters: ["i32", "pointer"]; result: "i32" }> | null = null;
function acceptAnyPeer(): Deno.PointerObject {
  verifyCallback ??= new Deno.UnsafeCallback({ parameters: ["i32", "pointer"], result: "i32" }, () => 1);
  return verifyCallback.pointer;
}

const SSL_ERROR_WANT_READ = 2;
const SSL_ERROR_WANT_WRITE = 3;
const SSL_VERIFY_PEER = 1;
const SSL_VERIFY_FAIL_IF_NO_PEER_CERT = 2;
const SSL_OP_NO_QUERY_MTU = 0x1000n;
const SSL_CTRL_SET_MTU = 17;
const DTLS_CTRL_GET_TIMEOUT = 73;
const DTLS_CTRL_HANDLE_TIMEOUT = 74;
const BIO_CTRL_PENDING = 10;
const BIO_C_SET_BUF_MEM_EOF_RETURN = 130;

/**
 * One DTLS 1.2 association for DTLS-SRTP. Call {@linkcode DtlsEndpoint.start} (the client sends its
 * ClientHello), then pass every received DTLS datagram to {@linkcode DtlsEndpoint.feed} and send
 * what {@linkcode DtlsEndpoint.drain} returns, until {@linkcode DtlsEndpoint.connected}.
 */
export class DtlsEndpoint {
  /** client (active) or server (passive), as SDP `a=setup` decides. */
  readonly role: "client" | "server";
  readonly #ssl: Ssl;
  readonly #c: Crypto;
  readonly #ctx: NativeHandle;
  readonly #h: NativeHandle;
  readonly #rbio: Deno.PointerObject;
  readonly #wbio: Deno.PointerObject;
  readonly #mtu: number;
  #failed: Error | null = null;

  /** Create the endpoint; throws Error when OpenSSL is missing or the certificate is unusable. */
  constructor(role: "client" | "server", options: DtlsEndpointOptions) {
    if (role !== "client" && role !== "server") throw new TypeError(`DTLS role must be "client" or "server"`);
    const profiles = options.profiles ?? ["SRTP_AEAD_AES_128_GCM", "SRTP_AES128_CM_SHA1_80"];
    if (profiles.length === 0 || profiles.some((p) => !Object.hasOwn(PROFILE_SUITES, p))) {
      throw new RangeError(`DTLS-SRTP profiles ${profiles.join(",")} not supported`);
    }
    const mtu = options.mtu ?? 1200;
    if (!Number.isInteger(mtu) || mtu < 256 || mtu > 65535) {
      throw new RangeError(`DTLS MTU ${mtu} not in 256..65535`);
    }
    const c = this.#c = cryptoLibrary.require();
    const s = this.#ssl = sslLibrary.require();
    const ctx = s.SSL_CTX_new(s.DTLS_method());
    if (ctx === null) throw opensslError(c, "SSL_CTX_new");
    this.#ctx = new NativeHandle(ctx, (p) => s.SSL_CTX_free(p), "DTLS context");
    // DTLS 1.2 only: SSL_CTX_set_min_proto_version(ctx, DTLS1_2_VERSION) is SSL_CTX_ctrl 123.
    s.SSL_CTX_ctrl(ctx, 123, 0xfefdn, null);
    const { x509, pkey } = options.certificate._native;
    if (
      s.SSL_CTX_use_certificate(ctx, x509) !== 1 || s.SSL_CTX_use_PrivateKey(ctx, pkey) !== 1 ||
      s.SSL_CTX_check_private_key(ctx) !== 1
    ) {
      this.#ctx.close();
      throw opensslError(c, "DTLS certificate");
    }
    s.SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, acceptAnyPeer());
    if (s.SSL_CTX_set_tlsext_use_srtp(ctx, cstr(profiles.join(":"))) !== 0) {
      this.#ctx.close();
      throw opensslError(c, "SSL_CTX_set_tlsext_use_srtp");
    }
    const ssl = s.SSL_new(ctx);
    if (ssl === null) {
      this.#ctx.close();
      throw opensslError(c, "SSL_new");
    }
    this.#h = new NativeHandle(ssl, (p) => s.SSL_free(p), "DTLS session");
    const rbio = c.BIO_new(c.BIO_s_mem());
    const wbio = c.BIO_new(c.BIO_s_mem());
    if (rbio === null || wbio === null) {
      this.#h.close();
      this.#ctx.close();
      throw opensslError(c, "BIO_new");
    }
    // an empty read BIO means "retry later", not EOF
    c.BIO_ctrl(rbio, BIO_C_SET_BUF_MEM_EOF_RETURN, -1n, null);
    c.BIO_ctrl(wbio, BIO_C_SET_BUF_MEM_EOF_RETURN, -1n, null);
    s.SSL_set_bio(ssl, rbio, wbio); // the SSL owns both BIOs now
    this.#rbio = rbio;
    this.#wbio = wbio;
    s.SSL_set_options(ssl, SSL_OP_NO_QUERY_MTU);
    s.SSL_ctrl(ssl, SSL_CTRL_SET_MTU, BigInt(mtu - 28), null);
    this.#mtu = mtu;
    if (role === "client") s.SSL_set_connect_state(ssl);
    else s.SSL_set_accept_state(ssl);
    this.role = role;
  }

  #step(): void {
    if (this.#failed !== null) throw this.#failed;
    const ssl = this.#h.ptr;
    if (this.#ssl.SSL_is_init_finished(ssl) === 1) return;
    const rc = this.#ssl.SSL_do_handshake(ssl);
    if (rc === 1) return;
    const err = this.#ssl.SSL_get_error(ssl, rc);
    if (err === SSL_ERROR_WANT_READ || err === SSL_ERROR_WANT_WRITE) return;
    this.#failed = opensslError(this.#c, `DTLS handshake (${this.role}, SSL error ${err})`);
    throw this.#failed;
  }

  /** Begin the handshake (the client's ClientHello is then in {@linkcode DtlsEndpoint.drain}). */
  start(): void {
    this.#step();
  }

  /** Hand one received DTLS datagram to OpenSSL and advance the handshake. Throws Error on failure. */
  feed(datagram: Uint8Array): void {
    if (datagram.length === 0) return;
    if (this.#c.BIO_write(this.#rbio, datagram, datagram.length) !== datagram.length) {
      throw opensslError(this.#c, "BIO_write");
    }
    this.#step();
  }

  /** struct timeval for DTLSv1_get_timeout (tv_sec, tv_usec: two 64-bit fields on LP64). */
  readonly #tv = new BigInt64Array(2);

  /**
   * Milliseconds until the DTLS retransmission timer (RFC 6347 4.2.4) expires: 0 when it has,
   * null when no timer runs (no flight awaits a reply: before start, or after the handshake).
   * This is `DTLSv1_get_timeout`; OpenSSL starts the timer at 1 s and doubles it per retransmission.
   */
  timeoutMs(): number | null {
    if (this.#failed !== null) return null;
    const tv = this.#tv;
    tv.fill(0n);
    const rc = Number(this.#ssl.SSL_ctrl(this.#h.ptr, DTLS_CTRL_GET_TIMEOUT, 0n, Deno.UnsafePointer.of(tv)));
    if (rc !== 1) return null;
    return Number(tv[0]!) * 1000 + Math.ceil(Number(tv[1]!) / 1000);
  }

  /**
   * Let OpenSSL retransmit its last flight when the timer has expired (`DTLSv1_handle_timeout`):
   * true when it did (the flight is then in {@linkcode DtlsEndpoint.drain}), false when the timer
   * had not expired or none runs. Throws Error when OpenSSL gives up (too many retransmissions):
   * the handshake has failed.
   */
  handleTimeout(): boolean {
    if (this.#failed !== null) throw this.#failed;
    const rc = Number(this.#ssl.SSL_ctrl(this.#h.ptr, DTLS_CTRL_HANDLE_TIMEOUT, 0n, null));
    if (rc < 0) {
      this.#failed = opensslError(this.#c, `DTLS handshake (${this.role}): retransmissions exhausted`);
      throw this.#failed;
    }
    return rc > 0;
  }

  /**
   * The datagrams to send now: OpenSSL's output cut at DTLS record boundaries and packed into
   * datagrams of at most `mtu` bytes.
   */
  drain(): Uint8Array[] {
    const pending = Number(this.#c.BIO_ctrl(this.#wbio, BIO_CTRL_PENDING, 0n, null));
    if (pending <= 0) return [];
    const all = new Uint8Array(pending);
    const n = this.#c.BIO_read(this.#wbio, all, pending);
    const data = all.subarray(0, Math.max(0, n));
    const out: Uint8Array[] = [];
    let start = 0;
    let pos = 0;
    while (pos + 13 <= data.length) {
      const recLen = 13 + ((data[pos + 11]! << 8) | data[pos + 12]!);
      if (pos + recLen - start > this.#mtu && pos > start) {
        out.push(data.slice(start, pos));
        start = pos;
      }
      pos += recLen;
    }
    if (start < data.length) out.push(data.slice(start));
    return out;
  }

  /** True once the handshake finished. */
  get connected(): boolean {
    return this.#failed === null && this.#ssl.SSL_is_init_finished(this.#h.ptr) === 1;
  }

  /** The peer certificate's SHA-256 fingerprint ("AB:CD:..."), null before the handshake has it. */
  peerFingerprint(): string | null {
    const x = this.#ssl.SSL_get1_peer_certificate(this.#h.ptr);
    if (x === null) return null;
    try {
      return sha256Fingerprint(this.#c, x);
    } finally {
      this.#c.X509_free(x);
    }
  }

  /** The negotiated profile and RFC 5764 4.2 keying material; throws Error before the handshake ends. */
  srtpKeys(): DtlsSrtpKeys {
    if (!this.connected) throw new Error("DTLS handshake not finished");
    const ssl = this.#h.ptr;
    const prof = this.#ssl.SSL_get_selected_srtp_profile(ssl);
    if (prof === null) throw new Error("peer did not negotiate use_srtp");
    const namePtr = new Deno.UnsafePointerView(prof).getPointer(0);
    const name = namePtr === null ? "" : new Deno.UnsafePointerView(namePtr).getCString();
    if (!Object.hasOwn(PROFILE_SUITES, name)) throw new Error(`unexpected SRTP profile ${name}`);
    const p = PROFILE_SUITES[name as DtlsSrtpProfile];
    const total = 2 * (p.key + p.salt);
    const km = new Uint8Array(total);
    const label = enc.encode("EXTRACTOR-dtls_srtp");
    if (
      this.#ssl.SSL_export_keying_material(
        ssl,
        km,
        BigInt(total),
        label,
        BigInt(label.length),
        null,
        0n,
        0,
      ) !== 1
    ) {
      throw opensslError(this.#c, "SSL_export_keying_material");
    }
    // client_key | server_key | client_salt | server_salt
    const keySalt = (i: number) => {
      const out = new Uint8Array(p.key + p.salt);
      out.set(km.subarray(i * p.key, (i + 1) * p.key));
      out.set(km.subarray(2 * p.key + i * p.salt, 2 * p.key + (i + 1) * p.salt), p.key);
      return out;
    };
    const client = keySalt(0);
    const server = keySalt(1);
    km.fill(0);
    const local = this.role === "client" ? client : server;
    const remote = this.role === "client" ? server : client;
    return { profile: name as DtlsSrtpProfile, suite: p.suite, local, remote };
  }

  /** Free the session (sends no close_notify); idempotent. */
  close(): void {
    this.#h.close();
    this.#ctx.close();
  }
}
