/**
 * N-party audio mixer (conferences, paging with talkback): each participant hears everyone but
 * themselves. The sum of all frames is computed once per round in 32-bit and each participant's
 * mix is that total minus their own frame, saturated to 16 bits, so a round costs O(N x frame)
 * rather than O(N^2 x frame).
 */

/** Options for Mixer. */
export interface MixerOptions {
  /** Samples per frame (e.g. 160 for 20 ms at 8 kHz). */
  frameSize: number;
}

/** See module doc. A round: put() each participant's frame, then mixFor() each, then nextRound(). */
export class Mixer<Id = string> {
  readonly frameSize: number;
  #frames = new Map<Id, Int16Array | null>();
  #total: Int32Array;
  #dirty = true;

  constructor(options: MixerOptions) {
    if (!Number.isInteger(options.frameSize) || options.frameSize <= 0) {
      throw new RangeError(`bad mixer frame size: ${options.frameSize}`);
    }
    this.frameSize = options.frameSize;
    this.#total = new Int32Array(options.frameSize);
  }

  /** Participants, in the order added. */
  get participants(): Id[] {
    return [...this.#frames.keys()];
  }

  /** Add a participant (silent until put). Adding twice is a no-op. */
  add(id: Id): void {
    if (!this.#frames.has(id)) this.#frames.set(id, null);
  }

  /** Remove a participant. */
  remove(id: Id): boolean {
    this.#dirty = true;
    return this.#frames.delete(id);
  }

  /** Set this round's frame of a participant (copied; shorter frames are padded with silence). */
  put(id: Id, frame: Int16Array): void {
    if (!this.#frames.has(id)) throw new RangeError(`not a mixer participant: ${String(id)}`);
    if (frame.length > this.frameSize) {
      throw new RangeError(`frame of ${frame.length} samples exceeds ${this.frameSize}`);
    }
    let own = this.#frames.get(id) ?? null;
    if (own === null) {
      own = new Int16Array(this.frameSize);
      this.#frames.set(id, own);
    }
    own.set(frame);
    own.fill(0, frame.length);
    this.#dirty = true;
  }

  /** What `id` hears this round: everyone else's frames summed and saturated. `out` is reused if given. */
  mixFor(id: Id, out: Int16Array = new Int16Array(this.frameSize)): Int16Array {
    if (!this.#frames.has(id)) throw new RangeError(`not a mixer participant: ${String(id)}`);
    if (out.length < this.frameSize) {
      throw new RangeError(`output buffer of ${out.length} samples is too small`);
    }
    const total = this.#sum();
    const own = this.#frames.get(id) ?? null;
    for (let i = 0; i < this.frameSize; i++) {
      const v = own === null ? total[i]! : total[i]! - own[i]!;
      out[i] = v > 32767 ? 32767 : v < -32768 ? -32768 : v;
    }
    return out;
  }

  /**
   * What a listener with a restricted set hears this round: the frames of `ids` only (summed and
   * saturated; ids not in the mixer or silent this round add nothing). `out` is reused if given.
   */
  mixOf(ids: Iterable<Id>, out: Int16Array = new Int16Array(this.frameSize)): Int16Array {
    if (out.length < this.frameSize) {
      throw new RangeError(`output buffer of ${out.length} samples is too small`);
    }
    const acc = new Int32Array(this.frameSize);
    for (const id of ids) {
      const f = this.#frames.get(id);
      if (f === undefined || f === null) continue;
      for (let i = 0; i < acc.length; i++) acc[i] = acc[i]! + f[i]!;
    }
    for (let i = 0; i < this.frameSize; i++) {
      const v = acc[i]!;
      out[i] = v > 32767 ? 32767 : v < -32768 ? -32768 : v;
    }
    return out;
  }

  /** The sum of every participant (for a listener who is not a participant, e.g. a recorder). */
  mixAll(out: Int16Array = new Int16Array(this.frameSize)): Int16Array {
    const total = this.#sum();
    for (let i = 0; i < this.frameSize; i++) {
      const v = total[i]!;
      out[i] = v > 32767 ? 32767 : v < -32768 ? -32768 : v;
    }
    return out;
  }

  /** Start a new round: everyone is silent until they put again. */
  nextRound(): void {
    for (const id of this.#frames.keys()) this.#frames.set(id, null);
    this.#total.fill(0);
    this.#dirty = false;
  }

  #sum(): Int32Array {
    if (this.#dirty) {
      const t = this.#total;
      t.fill(0);
      for (const f of this.#frames.values()) {
        if (f === null) continue;
        for (let i = 0; i < t.length; i++) t[i] = t[i]! + f[i]!;
      }
      this.#dirty = false;
    }
    return this.#total;
  }
}
