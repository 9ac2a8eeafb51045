/**
 * libsrtp2 (Debian libsrtp2-1, soname libsrtp2.so.1; Yocto `libsrtp`) through FFI: one SRTP
 * session per direction, protect/unprotect of RTP and RTCP in place in caller-provided buffers.
 *
 * The surface is deliberately small and audited:
 * - symbols bound: `srtp_init`, `srtp_create`, `srtp_dealloc`, `srtp_protect`, `srtp_unprotect`,
 *   `srtp_protect_rtcp`, `srtp_unprotect_rtcp`, `srtp_get_version_string` and the four
 *   `srtp_crypto_policy_set_*` helpers for the supported suites (libsrtp fills the crypto policy
 *   structs itself; this file only lays out `srtp_policy_t`, 128 bytes on 64-bit Linux, 2.x ABI);
 * - the master key is copied into a native-visible buffer only for `srtp_create` and zeroed right
 *   after (libsrtp derives its session keys and keeps no pointer to it);
 * - every protect call checks that the buffer has room for the trailer libsrtp appends, so libsrtp
 *   never writes past the caller's buffer;
 * - the per-packet path allocates nothing: the length in/out cell is one preallocated Int32Array
 *   per session, and {@linkcode SrtpSession.tryUnprotectRtp} reports drops as a negative status so
 *   a flood of forged packets does not allocate Error objects.
 *
 * @module
 */
import { NativeHandle, NativeLibrary } from "../loader.ts";

const SYMBOLS = {
  srtp_init: { parameters: [], result: "i32" },
  srtp_get_version_string: { parameters: [], result: "pointer" },
  srtp_create: { parameters: ["buffer", "buffer"], result: "i32" },
  srtp_dealloc: { parameters: ["pointer"], result: "i32" },
  srtp_protect: { parameters: ["pointer", "buffer", "buffer"], result: "i32" },
  srtp_unprotect: { parameters: ["pointer", "buffer", "buffer"], result: "i32" },
  srtp_protect_rtcp: { parameters: ["pointer", "buffer", "buffer"], result: "i32" },
  srtp_unprotect_rtcp: { parameters: ["pointer", "buffer", "buffer"], result: "i32" },
  srtp_crypto_policy_set_rtp_default: { parameters: ["pointer"], result: "void" },
  srtp_crypto_policy_set_rtcp_default: { parameters: ["pointer"], result: "void" },
  srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32: { parameters: ["pointer"], result: "void" },
  srtp_crypto_policy_set_aes_gcm_128_16_auth: { parameters: ["pointer"], result: "void" },
  srtp_crypto_policy_set_aes_gcm_256_16_auth: { parameters: ["pointer"], result: "void" },
} as const satisfies Deno.ForeignLibraryInterface;

/** The raw libsrtp2 symbols this driver binds. */
export type SrtpLib = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

/** The lazily opened library (env override: PBX_LIBSRTP_PATH). Exposed for tests. */
export const library: NativeLibrary<typeof SYMBOLS> = new NativeLibrary({
  label: "SRTP",
  soname: "libsrtp2.so.1",
  aptPackage: "libsrtp2-1",
  envVar: "PBX_LIBSRTP_PATH",
  symbols: SYMBOLS,
});

/** The SRTP crypto suites supported (RFC 4568 names; RFC 7714 for the AEAD ones). */
export type SrtpSuite =
  | "AES_CM_128_HMAC_SHA1_80"
  | "AES_CM_128_HMAC_SHA1_32"
  | "AEAD_AES_128_GCM"
  | "AEAD_AES_256_GCM";

/** Sizes per suite: master key and salt in bytes, and the trailer each protect call appends. */
export interface SrtpSuiteInfo {
  /** Master key length in bytes. */
  readonly keyLength: number;
  /** Master salt length in bytes. */
  readonly saltLength: number;
  /** Bytes `protectRtp` adds (the authentication tag). */
  readonly rtpOverhead: number;
  /** Bytes `protectRtcp` adds (E flag + SRTCP index, then the tag). */
  readonly rtcpOverhead: number;
}

/** Per-suite sizes. SRTCP keeps an 80-bit tag for the _32 suite (RFC 4568 6.2.1, RFC 3711 5.2). */
export const SRTP_SUITES: Readonly<Record<SrtpSuite, SrtpSuiteInfo>> = Object.freeze({
  AES_CM_128_HMAC_SHA1_80: { keyLength: 16, saltLength: 14, rtpOverhead: 10, rtcpOverhead: 14 },
  AES_CM_128_HMAC_SHA1_32: { keyLength: 16, saltLength: 14, rtpOverhead: 4, rtcpOverhead: 14 },
  AEAD_AES_128_GCM: { keyLength: 16, saltLength: 12, rtpOverhead: 16, rtcpOverhead: 20 },
  AEAD_AES_256_GCM: { keyLength: 32, saltLength: 12, rtpOverhead: 16, rtcpOverhead: 20 },
});

/** True when `name` is a suite this driver supports. */
export function isSrtpSuite(name: string): name is SrtpSuite {
  return Object.hasOwn(SRTP_SUITES, name);
}

/** libsrtp2 `srtp_err_status_t` values by name (srtp.h). */
export const SRTP_STATUS = Object.freeze(
  {
    ok: 0,
    fail: 1,
    bad_param: 2,
    alloc_fail: 3,
    dealloc_fail: 4,
    init_fail: 5,
    terminus: 6,
    auth_fail: 7,
    cipher_fail: 8,
    replay_fail: 9,
    replay_old: 10,
    algo_fail: 11,
    no_such_op: 12,
    no_ctx: 13,
    cant_check: 14,
    key_expired: 15,
    socket_err: 16,
    signal_err: 17,
    nonce_bad: 18,
    read_fail: 19,
    write_fail: 20,
    parse_err: 21,
    encode_err: 22,
    semaphore_err: 23,
    pfkey_err: 24,
    bad_mki: 25,
    pkt_idx_old: 26,
    pkt_idx_adv: 27,
  } as const,
);

/** A libsrtp2 status name such as "auth_fail" or "replay_fail". */
export type SrtpStatusName = keyof typeof SRTP_STATUS;

const STATUS_NAMES: readonly string[] = (() => {
  const names: string[] = [];
  for (const [k, v] of Object.entries(SRTP_STATUS)) names[v] = k;
  return names;
})();

/** The name of a libsrtp2 status code ("auth_fail"), or "unknown_<n>". */
export function srtpStatusName(code: number): string {
  return STATUS_NAMES[code] ?? `unknown_${code}`;
}

/** A libsrtp2 call failed; `status` names the reason ("auth_fail", "replay_fail", ...). */
export class SrtpError extends Error {
  /** The libsrtp2 status name. */
  readonly status: string;
  /** The numeric `srtp_err_status_t`. */
  readonly code: number;

  /** Wrap status `code` returned by `op`. */
  constructor(op: string, code: number) {
    const status = srtpStatusName(code);
    super(`${op} failed: ${status} (${code})`);
    this.name = "SrtpError";
    this.status = status;
    this.code = code;
  }
}

let initialized = false;

/** Open libsrtp2 and run `srtp_init` once; throws Error (with the apt hint) when missing. */
export function init(): SrtpLib {
  const lib = library.require();
  if (!initialized) {
    // libsrtp's crypto kernel is process-global, and a second srtp_init in the same process answers
    // bad_param (its cipher types are already registered). Another worker of this process (the media
    // worker beside the main thread, or deno test --parallel) may have run it: the kernel is then
    // ready, so bad_param here means "already initialized".
    const rc = lib.srtp_init();
    if (rc !== 0 && rc !== SRTP_STATUS.bad_param) throw new SrtpError("srtp_init", rc);
    initialized = true;
  }
  return lib;
}

/** True when libsrtp2 can be used (opens it on first call; logs one line when missing). */
export function available(): boolean {
  return library.available();
}

/** The libsrtp2 version string, e.g. "libsrtp2 2.5.0". */
export function version(): string {
  const p = init().srtp_get_version_string();
  return p === null ? "unknown" : new Deno.UnsafePointerView(p).getCString();
}

/** Which way a session works: outbound protects what we send, inbound unprotects what we get. */
export type SrtpDirection = "outbound" | "inbound";

/** Options for {@linkcode SrtpSession}. */
export interface SrtpSessionOptions {
  /** Crypto suite. */
  suite: SrtpSuite;
  /** Master key followed by master salt (the SDES inline value decoded), per-suite length. */
  keySalt: Uint8Array;
  /** Replay window in packets (libsrtp default 128 when omitted; 64..32768). */
  replayWindow?: number;
}

// srtp_policy_t layout, libsrtp 2.x on LP64 (srtp2/srtp.h):
//   0 srtp_ssrc_t ssrc {u32 type, u32 value}
//   8 srtp_crypto_policy_t rtp (6 x 4 bytes)
//  32 srtp_crypto_policy_t rtcp
//  56 unsigned char *key      64 srtp_master_key_t **keys   72 unsigned long num_master_keys
//  80 void *deprecated_ekt    88 unsigned long window_size  96 int allow_repeat_tx
// 104 int *enc_xtn_hdr       112 int enc_xtn_hdr_count     120 srtp_policy_t *next
const POLICY_SIZE = 128;
const OFF_RTP = 8;
const OFF_RTCP = 32;
const OFF_KEY = 56;
const OFF_WINDOW = 88;
const SSRC_ANY_INBOUND = 2;
const SSRC_ANY_OUTBOUND = 3;

function setPolicies(lib: SrtpLib, suite: SrtpSuite, rtp: Deno.PointerValue, rtcp: Deno.PointerValue) {
  switch (suite) {
    case "AES_CM_128_HMAC_SHA1_80":
      lib.srtp_crypto_policy_set_rtp_default(rtp);
      lib.srtp_crypto_policy_set_rtcp_default(rtcp);
      break;
    case "AES_CM_128_HMAC_SHA1_32":
      lib.srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32(rtp);
      lib.srtp_crypto_policy_set_rtcp_default(rtcp);
      break;
    case "AEAD_AES_128_GCM":
      lib.srtp_crypto_policy_set_aes_gcm_128_16_auth(rtp);
      lib.srtp_crypto_policy_set_aes_gcm_128_16_auth(rtcp);
      break;
    case "AEAD_AES_256_GCM":
      lib.srtp_crypto_policy_set_aes_gcm_256_16_auth(rtp);
      lib.srtp_crypto_policy_set_aes_gcm_256_16_auth(rtcp);
      break;
  }
}

/**
 * One libsrtp2 session for one direction of one media stream (any SSRC). Packets are transformed
 * in place: `buf` holds the packet in its first `len` bytes and must have room for the suite's
 * overhead when protecting; the methods return the new length.
 */
export class SrtpSession {
  /** The suite this session uses. */
  readonly suite: SrtpSuite;
  /** outbound (protect) or inbound (unprotect). */
  readonly direction: SrtpDirection;
  /** Sizes for the suite (overheads a protect buffer needs). */
  readonly info: SrtpSuiteInfo;
  readonly #lib: SrtpLib;
  readonly #h: NativeHandle;
  readonly #len = new Int32Array(1);

  /** Create a session; throws Error when libsrtp2 is missing, RangeError on a bad key length. */
  constructor(direction: SrtpDirection, options: SrtpSessionOptions) {
    const { suite, keySalt } = options;
    if (direction !== "outbound" && direction !== "inbound") {
      throw new TypeError(`SRTP direction must be "outbound" or "inbound"`);
    }
    if (!isSrtpSuite(suite)) throw new RangeError(`SRTP suite ${String(suite)} not supported`);
    const info = SRTP_SUITES[suite];
    const want = info.keyLength + info.saltLength;
    if (!(keySalt instanceof Uint8Array) || keySalt.length !== want) {
      throw new RangeError(
        `${suite} needs ${want} bytes of master key+salt, got ${keySalt?.length ?? "none"}`,
      );
    }
    const window = options.replayWindow;
    if (window !== undefined && (!Number.isInteger(window) || window < 64 || window > 32768)) {
      throw new RangeError(`SRTP replay window ${window} not in 64..32768`);
    }
    const lib = this.#lib = init();
    const policy = new Uint8Array(POLICY_SIZE);
    const view = new DataView(policy.buffer);
    const base = Deno.UnsafePointer.of(policy);
    setPolicies(
      lib,
      suite,
      Deno.UnsafePointer.offset(base!, OFF_RTP),
      Deno.UnsafePointer.offset(base!, OFF_RTCP),
    );
    view.setUint32(0, direction === "outbound" ? SSRC_ANY_OUTBOUND : SSRC_ANY_INBOUND, true);
    // libsrtp reads up to SRTP_MAX_KEY_LEN bytes from key; give it a padded private copy.
    const key = new Uint8Array(64);
    key.set(keySalt);
    view.setBigUint64(OFF_KEY, BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(key))), true);
    if (window !== undefined) view.setBigUint64(OFF_WINDOW, BigInt(window), true);
    const out = new BigUint64Array(1);
    const rc = lib.srtp_create(new Uint8Array(out.buffer), policy);
    key.fill(0);
    policy.fill(0);
    if (rc !== 0) throw new SrtpError("srtp_create", rc);
    const ptr = Deno.UnsafePointer.create(out[0]!);
    if (ptr === null) throw new SrtpError("srtp_create", SRTP_STATUS.alloc_fail);
    this.#h = new NativeHandle(ptr, (p) => lib.srtp_dealloc(p), "SRTP session");
    this.suite = suite;
    this.direction = direction;
    this.info = info;
  }

  #check(want: SrtpDirection, op: string, buf: Uint8Array, len: number, room: number): void {
    if (this.direction !== want) throw new TypeError(`${op} on an ${this.direction} SRTP session`);
    if (!Number.isInteger(len) || len < 0 || len + room > buf.length) {
      throw new RangeError(`${op}: length ${len} with ${room} bytes of room exceeds buffer of ${buf.length}`);
    }
  }

  /** Protect the RTP packet in `buf[0, len)` in place; `buf` needs `info.rtpOverhead` spare bytes. */
  protectRtp(buf: Uint8Array, len: number): number {
    this.#check("outbound", "protectRtp", buf, len, this.info.rtpOverhead);
    this.#len[0] = len;
    const rc = this.#lib.srtp_protect(this.#h.ptr, buf, this.#len);
    if (rc !== 0) throw new SrtpError("srtp_protect", rc);
    return this.#len[0]!;
  }

  /** Protect the RTCP compound packet in `buf[0, len)`; `buf` needs `info.rtcpOverhead` spare bytes. */
  protectRtcp(buf: Uint8Array, len: number): number {
    this.#check("outbound", "protectRtcp", buf, len, this.info.rtcpOverhead);
    this.#len[0] = len;
    const rc = this.#lib.srtp_protect_rtcp(this.#h.ptr, buf, this.#len);
    if (rc !== 0) throw new SrtpError("srtp_protect_rtcp", rc);
    return this.#len[0]!;
  }

  /**
   * Unprotect the SRTP packet in `buf[0, len)` in place: the plain RTP length, or the negated
   * libsrtp status (-7 auth_fail, -9 replay_fail, -10 replay_old, ...) when it must be dropped.
   * Allocates nothing, for the media fast path.
   */
  tryUnprotectRtp(buf: Uint8Array, len: number): number {
    this.#check("inbound", "unprotectRtp", buf, len, 0);
    this.#len[0] = len;
    const rc = this.#lib.srtp_unprotect(this.#h.ptr, buf, this.#len);
    return rc === 0 ? this.#len[0]! : -rc;
  }

  /** Like {@linkcode SrtpSession.tryUnprotectRtp} for SRTCP. */
  tryUnprotectRtcp(buf: Uint8Array, len: number): number {
    this.#check("inbound", "unprotectRtcp", buf, len, 0);
    this.#len[0] = len;
    const rc = this.#lib.srtp_unprotect_rtcp(this.#h.ptr, buf, this.#len);
    return rc === 0 ? this.#len[0]! : -rc;
  }

  /** Unprotect SRTP in place; returns the RTP length or throws {@linkcode SrtpError}. */
  unprotectRtp(buf: Uint8Array, len: number): number {
    const n = this.tryUnprotectRtp(buf, len);
    if (n < 0) throw new SrtpError("srtp_unprotect", -n);
    return n;
  }

  /** Unprotect SRTCP in place; returns the RTCP length or throws {@linkcode SrtpError}. */
  unprotectRtcp(buf: Uint8Array, len: number): number {
    const n = this.tryUnprotectRtcp(buf, len);
    if (n < 0) throw new SrtpError("srtp_unprotect_rtcp", -n);
    return n;
  }

  /** True once closed. */
  get closed(): boolean {
    return this.#h.closed;
  }

  /** Free the native session (srtp_dealloc); idempotent. */
  close(): void {
    this.#h.close();
  }
}
