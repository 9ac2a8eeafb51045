/**
 * Linux GPIO character-device lines (uAPI v2, linux/gpio.h, kernel 5.10+) through libc `open`,
 * `ioctl` and `close`: request one line with GPIO_V2_GET_LINE_IOCTL on /dev/gpiochipN, then drive an
 * output with GPIO_V2_LINE_SET_VALUES_IOCTL (or read an input, a button, with
 * GPIO_V2_LINE_GET_VALUES_IOCTL) on the line fd the kernel returns. The kernel keeps
 * the line ours until that fd is closed (or the process dies, which releases it too).
 *
 * Struct layouts (x86-64 and arm64 alike: every u64 is 8-aligned, no implicit padding):
 * - gpio_v2_line_request, 592 bytes: offsets[64] u32 @0, consumer[32] @256, config @288
 *   (gpio_v2_line_config, 272 bytes: flags u64 @0, num_attrs u32 @8, padding[5] @12,
 *   attrs[10] @32 of gpio_v2_line_config_attribute {attr {id u32, padding u32, values u64}, mask u64},
 *   24 bytes each), num_lines u32 @560, event_buffer_size u32 @564, padding[5] @568, fd s32 @588.
 * - gpio_v2_line_values, 16 bytes: bits u64 @0, mask u64 @8.
 *
 * @module
 */
import { NativeLibrary } from "../loader.ts";

/** sizeof(struct gpio_v2_line_request). */
export const LINE_REQUEST_SIZE = 592;
/** sizeof(struct gpio_v2_line_values). */
export const LINE_VALUES_SIZE = 16;

const GPIO_MAX_NAME_SIZE = 32;
const GPIO_V2_LINES_MAX = 64;
/** enum gpio_v2_line_flag. */
export const GPIO_V2_LINE_FLAG_ACTIVE_LOW = 1n << 1n;
/** enum gpio_v2_line_flag. */
export const GPIO_V2_LINE_FLAG_INPUT = 1n << 2n;
/** enum gpio_v2_line_flag. */
export const GPIO_V2_LINE_FLAG_OUTPUT = 1n << 3n;
/** enum gpio_v2_line_attr_id. */
export const GPIO_V2_LINE_ATTR_ID_OUTPUT_VALUES = 2;

/** The Linux `_IOWR(type, nr, size)` ioctl number (asm-generic/ioctl.h: dir 3 << 30, size << 16). */
export function iowr(type: number, nr: number, size: number): bigint {
  if (size < 0 || size >= 1 << 14) throw new RangeError(`ioctl argument size ${size} does not fit 14 bits`);
  return (3n << 30n) | (BigInt(size) << 16n) | (BigInt(type) << 8n) | BigInt(nr);
}

/** _IOWR(0xB4, 0x07, struct gpio_v2_line_request) = 0xC250B407. */
export const GPIO_V2_GET_LINE_IOCTL: bigint = iowr(0xb4, 0x07, LINE_REQUEST_SIZE);
/** _IOWR(0xB4, 0x0F, struct gpio_v2_line_values) = 0xC010B40F. */
export const GPIO_V2_LINE_SET_VALUES_IOCTL: bigint = iowr(0xb4, 0x0f, LINE_VALUES_SIZE);
/** _IOWR(0xB4, 0x0E, struct gpio_v2_line_values) = 0xC010B40E. */
export const GPIO_V2_LINE_GET_VALUES_IOCTL: bigint = iowr(0xb4, 0x0e, LINE_VALUES_SIZE);

/** What to request. */
export interface LineRequestOptions {
  /** Line offset on the chip. */
  offset: number;
  /** Consumer label shown by `gpioinfo` (truncated to 31 bytes). */
  consumer?: string;
  /** Initial output value (default false; outputs only). */
  initial?: boolean;
  /** Output (default) or input (a button: no output value attribute). */
  direction?: "output" | "input";
  /** Asserted = low level. */
  activeLow?: boolean;
}

/** Encode a gpio_v2_line_request for one output (or input) line. RangeError for a bad offset. */
export function encodeLineRequest(options: LineRequestOptions): Uint8Array {
  const { offset } = options;
  if (!Number.isInteger(offset) || offset < 0 || offset > 0xffff_ffff) {
    throw new RangeError(`GPIO line offset ${offset} is not an unsigned 32-bit integer`);
  }
  const buf = new Uint8Array(LINE_REQUEST_SIZE);
  const v = new DataView(buf.buffer);
  v.setUint32(0, offset, true); // offsets[0]
  const label = new TextEncoder().encode(options.consumer ?? "pbx").subarray(0, GPIO_MAX_NAME_SIZE - 1);
  buf.set(label, GPIO_V2_LINES_MAX * 4); // consumer, NUL-terminated by the zero fill
  const config = 288;
  const input = options.direction === "input";
  let flags = input ? GPIO_V2_LINE_FLAG_INPUT : GPIO_V2_LINE_FLAG_OUTPUT;
  if (options.activeLow === true) flags |= GPIO_V2_LINE_FLAG_ACTIVE_LOW;
  v.setBigUint64(config, flags, true);
  if (!input) {
    v.setUint32(config + 8, 1, true); // num_attrs
    const attr = config + 32; // attrs[0]
    v.setUint32(attr, GPIO_V2_LINE_ATTR_ID_OUTPUT_VALUES, true); // attr.id
    v.setBigUint64(attr + 8, options.initial === true ? 1n : 0n, true); // attr.values
    v.setBigUint64(attr + 16, 1n, true); // mask: line 0 of this request
  }
  v.setUint32(560, 1, true); // num_lines
  return buf;
}

/** The line fd the kernel wrote into a gpio_v2_line_request. */
export function requestFd(request: Uint8Array): number {
  return new DataView(request.buffer, request.byteOffset, request.byteLength).getInt32(588, true);
}

/** Encode gpio_v2_line_values for line 0 of a request. */
export function encodeLineValues(on: boolean): Uint8Array {
  const buf = new Uint8Array(LINE_VALUES_SIZE);
  const v = new DataView(buf.buffer);
  v.setBigUint64(0, on ? 1n : 0n, true); // bits
  v.setBigUint64(8, 1n, true); // mask
  return buf;
}

/** Line 0's logical value in a gpio_v2_line_values the kernel filled in (true = asserted). */
export function decodeLineValue(values: Uint8Array): boolean {
  const v = new DataView(values.buffer, values.byteOffset, values.byteLength);
  return (v.getBigUint64(0, true) & 1n) === 1n;
}

const SYMBOLS = {
  // int open(const char *path, int flags, ...)
  open: { parameters: ["buffer", "i32"], result: "i32" },
  // int ioctl(int fd, unsigned long request, ...): always one pointer argument here
  ioctl: { parameters: ["i32", "u64", "buffer"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  // int *__errno_location(void) (glibc)
  __errno_location: { parameters: [], result: "pointer" },
} as const satisfies Deno.ForeignLibraryInterface;

/** libc, opened on first use (env override: PBX_LIBC_PATH). */
export const libc: NativeLibrary<typeof SYMBOLS> = new NativeLibrary({
  label: "GPIO amplifier lines",
  soname: "libc.so.6",
  aptPackage: "libc6",
  envVar: "PBX_LIBC_PATH",
  symbols: SYMBOLS,
});

const O_RDWR = 0o2;
const O_CLOEXEC = 0o2000000;

const ERRNO: Record<number, string> = {
  1: "EPERM",
  2: "ENOENT",
  5: "EIO",
  13: "EACCES",
  16: "EBUSY (line already requested by another consumer)",
  19: "ENODEV",
  22: "EINVAL (no such line on the chip, or bad request)",
  25: "ENOTTY (not a GPIO character device, or a kernel without uAPI v2)",
};

function errnoText(lib: ReturnType<typeof libc.require>): string {
  const p = lib.__errno_location();
  const code = p === null ? 0 : new Deno.UnsafePointerView(p).getInt32();
  return `${ERRNO[code] ?? "errno"} ${code}`;
}

/** A parsed "gpiochipN:LINE" spec. */
export interface GpioSpec {
  chip: string;
  offset: number;
  activeLow: boolean;
}

/** Parse "gpiochip0:17" (or "gpiochip0:17:active-low"); undefined when it is not a GPIO spec. */
export function parseGpioSpec(spec: string): GpioSpec | undefined {
  const m = /^(gpiochip\d+):(\d+)(:active-low)?$/.exec(spec);
  if (m === null) return undefined;
  const offset = Number(m[2]);
  if (offset > 0xffff_ffff) return undefined;
  return { chip: m[1]!, offset, activeLow: m[3] !== undefined };
}

/** Request one line of a spec; the line fd, the device and libc. Errors name spec, device, errno. */
function requestLine(
  spec: string,
  direction: "output" | "input",
  consumer: string,
  devDir: string | undefined,
): { fd: number; device: string; lib: ReturnType<typeof libc.require> } {
  const parsed = parseGpioSpec(spec);
  if (parsed === undefined) {
    throw new RangeError(`GPIO line ${JSON.stringify(spec)} is not "gpiochipN:LINE"`);
  }
  const device = `${devDir ?? "/dev"}/${parsed.chip}`;
  try {
    Deno.statSync(device);
  } catch (e) {
    const why = e instanceof Deno.errors.NotFound ? "not found" : e instanceof Error ? e.message : String(e);
    throw new Error(`GPIO line ${spec}: ${device} ${why} (no such GPIO chip on this box)`);
  }
  const lib = libc.require();
  const chipFd = lib.open(new TextEncoder().encode(`${device}\0`), O_RDWR | O_CLOEXEC);
  if (chipFd < 0) throw new Error(`GPIO line ${spec}: cannot open ${device}: ${errnoText(lib)}`);
  try {
    const req = encodeLineRequest({
      offset: parsed.offset,
      consumer,
      activeLow: parsed.activeLow,
      direction,
    });
    if (lib.ioctl(chipFd, GPIO_V2_GET_LINE_IOCTL, req) < 0) {
      throw new Error(`GPIO line ${spec}: requesting line ${parsed.offset} failed: ${errnoText(lib)}`);
    }
    return { fd: requestFd(req), device, lib };
  } finally {
    lib.close(chipFd); // the line fd lives on without the chip fd
  }
}

/**
 * One requested output line. Construction requests the line (de-asserted); `set` drives it;
 * `close` de-asserts and releases it. Errors name the spec, the device and the errno.
 */
export class GpioLine {
  /** The spec ("gpiochip0:17"). */
  readonly spec: string;
  /** The device path ("/dev/gpiochip0"). */
  readonly device: string;
  #fd: number;
  #value = false;
  readonly #lib: ReturnType<typeof libc.require>;

  /** Request the line. Error when the chip is missing, the line busy or FFI unavailable. */
  constructor(spec: string, options: { devDir?: string; consumer?: string } = {}) {
    this.spec = spec;
    const r = requestLine(spec, "output", options.consumer ?? "pbx-amplifier", options.devDir);
    this.device = r.device;
    this.#lib = r.lib;
    this.#fd = r.fd;
  }

  /** The last value set. */
  get value(): boolean {
    return this.#value;
  }

  /** Drive the line: true = asserted. Rejects with an Error naming the errno. */
  set(on: boolean): Promise<void> {
    if (this.#fd < 0) return Promise.reject(new TypeError(`GPIO line ${this.spec} used after close()`));
    if (this.#lib.ioctl(this.#fd, GPIO_V2_LINE_SET_VALUES_IOCTL, encodeLineValues(on)) < 0) {
      return Promise.reject(
        new Error(`GPIO line ${this.spec}: setting ${on ? 1 : 0} failed: ${errnoText(this.#lib)}`),
      );
    }
    this.#value = on;
    return Promise.resolve();
  }

  /** De-assert and release the line. Idempotent. */
  async close(): Promise<void> {
    if (this.#fd < 0) return;
    if (this.#value) await this.set(false).catch(() => {});
    this.#lib.close(this.#fd);
    this.#fd = -1;
  }
}

/**
 * One requested input line (a button). Construction requests it; `read` returns its logical value
 * (true = asserted: pressed, `:active-low` for a button that pulls the line to ground); `close`
 * releases it. Errors name the spec, the device and the errno.
 */
export class GpioInput {
  /** The spec ("gpiochip0:27:active-low"). */
  readonly spec: string;
  /** The device path ("/dev/gpiochip0"). */
  readonly device: string;
  #fd: number;
  readonly #lib: ReturnType<typeof libc.require>;

  /** Request the line as an input. Error when the chip is missing, the line busy or FFI unavailable. */
  constructor(spec: string, options: { devDir?: string; consumer?: string } = {}) {
    this.spec = spec;
    const r = requestLine(spec, "input", options.consumer ?? "pbx-button", options.devDir);
    this.device = r.device;
    this.#lib = r.lib;
    this.#fd = r.fd;
  }

  /** The line's logical value now. Throws an Error naming the errno. */
  read(): boolean {
    if (this.#fd < 0) throw new TypeError(`GPIO line ${this.spec} used after close()`);
    const values = encodeLineValues(false); // bits 0, mask: line 0
    if (this.#lib.ioctl(this.#fd, GPIO_V2_LINE_GET_VALUES_IOCTL, values) < 0) {
      throw new Error(`GPIO line ${this.spec}: reading failed: ${errnoText(this.#lib)}`);
    }
    return decodeLineValue(values);
  }

  /** Release the line. Idempotent. */
  close(): void {
    if (this.#fd < 0) return;
    this.#lib.close(this.#fd);
    this.#fd = -1;
  }
}
