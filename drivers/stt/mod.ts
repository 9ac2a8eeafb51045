/**
 * Offline speech recognition with pocketsphinx (Debian `pocketsphinx` + `pocketsphinx-en-us`), run
 * as the Debian tool `pocketsphinx_continuous` rather than through FFI: the 0.8 API needs a
 * config object built from argv and a decoder struct walk per utterance, while the tool does the
 * same in one short process per recording (about 1 s for a sentence here), which suits the
 * callers (prompt checks, voicemail transcription) that run once per file, off the call path.
 *
 * Input is 16 kHz mono 16-bit PCM: the shipped en-us model is wideband; measured on 8 kHz audio it
 * recognised almost nothing (docs/prompts.md), so callers upsample telephone audio first and should
 * expect a worse result from it.
 *
 * @module
 */

/** Default tool name (env override: PBX_POCKETSPHINX). */
export const TOOL = "pocketsphinx_continuous";
/** The only accepted input rate. */
export const RATE = 16000;

function tool(): string {
  try {
    return Deno.env.get("PBX_POCKETSPHINX") || TOOL;
  } catch {
    return TOOL;
  }
}

/** Why recognition is unavailable (one line naming the packages), or null when the tool runs. */
export async function unavailableReason(): Promise<string | null> {
  try {
    const out = await new Deno.Command(tool(), { args: ["-h"], stdout: "null", stderr: "null" }).output();
    void out;
    return null;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      return `${tool()} not found: speech recognition disabled (apt install pocketsphinx pocketsphinx-en-us)`;
    }
    if (err instanceof Deno.errors.NotCapable || err instanceof Deno.errors.PermissionDenied) {
      return `running ${tool()} not permitted (--allow-run): speech recognition disabled`;
    }
    return `${tool()} failed to start: ${err instanceof Error ? err.message : String(err)}`;
  }
}

function wav16(samples: Int16Array): Uint8Array {
  const out = new Uint8Array(44 + samples.length * 2);
  const v = new DataView(out.buffer);
  const put = (off: number, s: string) => {
    for (let i = 0; i < 4; i++) out[off + i] = s.charCodeAt(i);
  };
  put(0, "RIFF");
  v.setUint32(4, 36 + samples.length * 2, true);
  put(8, "WAVE");
  put(12, "fmt ");
  v.setUint32(16, 16, true);
  v.setUint16(20, 1, true);
  v.setUint16(22, 1, true);
  v.setUint32(24, RATE, true);
  v.setUint32(28, RATE * 2, true);
  v.setUint16(32, 2, true);
  v.setUint16(34, 16, true);
  put(36, "data");
  v.setUint32(40, samples.length * 2, true);
  for (let i = 0; i < samples.length; i++) v.setInt16(44 + i * 2, samples[i]!, true);
  return out;
}

/** Options for {@linkcode recognize}. */
export interface RecognizeOptions {
  /** Sample rate of `samples`; must be 16000 (default). */
  sampleRate?: number;
}

/**
 * Recognise English speech in mono PCM. Resolves to the lower-case words found (utterances joined
 * by a space; "" for silence). Throws RangeError on a wrong rate, Error naming the packages when
 * the tool is missing, and Error with its stderr tail when it fails.
 */
export async function recognize(samples: Int16Array, options: RecognizeOptions = {}): Promise<string> {
  const rate = options.sampleRate ?? RATE;
  if (rate !== RATE) {
    throw new RangeError(`recognizer needs ${RATE} Hz audio, got ${rate} Hz (resample first)`);
  }
  const dir = await Deno.makeTempDir({ prefix: "pbx-stt-" });
  try {
    const file = `${dir}/in.wav`;
    await Deno.writeFile(file, wav16(samples));
    let out: Deno.CommandOutput;
    try {
      out = await new Deno.Command(tool(), {
        args: ["-infile", file, "-logfn", "/dev/null"],
        stdout: "piped",
        stderr: "piped",
      }).output();
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) {
        throw new Error(`${tool()} not found: apt install pocketsphinx pocketsphinx-en-us`);
      }
      throw err;
    }
    if (!out.success) {
      const tail = new TextDecoder().decode(out.stderr).trim().split("\n").slice(-3).join(" | ");
      throw new Error(`${tool()} exited with ${out.code}: ${tail}`);
    }
    return new TextDecoder().decode(out.stdout).split("\n").map((l) => l.trim()).filter((l) => l !== "")
      .join(" ");
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/** Word error rate of `hypothesis` against `reference` (Levenshtein over words / reference words). */
export function wordErrors(reference: string, hypothesis: string): { errors: number; words: number } {
  const norm = (s: string) =>
    s.toLowerCase().replace(/[^a-z0-9' ]+/g, " ").split(/\s+/).filter((w) => w !== "");
  const r = norm(reference);
  const h = norm(hypothesis);
  let prev = Array.from({ length: h.length + 1 }, (_, j) => j);
  for (let i = 1; i <= r.length; i++) {
    const cur = [i];
    for (let j = 1; j <= h.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (r[i - 1] === h[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return { errors: prev[h.length]!, words: r.length };
}
