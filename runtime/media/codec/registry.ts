/**
 * The codec registry: what the box can offer in SDP and instantiate by name.
 *
 * @module
 */
import type { CodecFactory, CodecOptions } from "./types.ts";
import {
  createOpusFactory,
  g722Factory,
  g726Factory,
  g729Factory,
  pcmaFactory,
  pcmuFactory,
} from "./codecs.ts";

/** A set of codec factories in preference order. */
export class CodecRegistry {
  readonly #factories: CodecFactory[] = [];

  /** Add a factory (after those already registered); replaces one with the same name and rate. */
  register(factory: CodecFactory): void {
    const i = this.#factories.findIndex((f) => same(f, factory.name, factory.rtpClockRate));
    if (i >= 0) this.#factories[i] = factory;
    else this.#factories.push(factory);
  }

  /** Factories whose library loaded, in preference order: exactly what SDP should advertise. */
  available(): CodecFactory[] {
    return this.#factories.filter((f) => f.available());
  }

  /** Every registered factory, loaded or not. */
  all(): CodecFactory[] {
    return [...this.#factories];
  }

  /** The available factory for an SDP encoding name (case-insensitive) and clock rate. */
  get(name: string, clockRate: number): CodecFactory | undefined {
    const f = this.#factories.find((x) => same(x, name, clockRate));
    return f !== undefined && f.available() ? f : undefined;
  }
}

function same(f: CodecFactory, name: string, clockRate: number): boolean {
  return f.name.toLowerCase() === name.toLowerCase() && f.rtpClockRate === clockRate;
}

/** Options for {@linkcode defaultRegistry}. */
export interface DefaultRegistryOptions {
  /** Opus defaults (internal rate 8000/16000/48000, complexity, bitrate...). */
  opus?: CodecOptions;
}

/**
 * Every codec the box knows, in preference order: opus, G722, PCMU, PCMA, G729, G726-32.
 * Native ones appear in `available()` only when their library loads.
 */
export function defaultRegistry(options: DefaultRegistryOptions = {}): CodecRegistry {
  const r = new CodecRegistry();
  r.register(createOpusFactory(options.opus ?? {}));
  r.register(g722Factory);
  r.register(pcmuFactory);
  r.register(pcmaFactory);
  r.register(g729Factory);
  r.register(g726Factory);
  return r;
}
