/**
 * A 4-channel DAC made of ALSA's `file` plugin over `null`, for paging tests through the real
 * appliance: zone PCM `zone2` puts mono audio on channel 2 of one raw 48 kHz file.
 */

/** Sample rate of the DAC file. */
export const DAC_RATE = 48000;
/** Channels of the DAC file. */
export const DAC_CHANNELS = 4;

/** The asound.conf defining `zone2` over a 4-channel raw file at `rawPath`. */
export function asoundConf(rawPath: string): string {
  return `
pcm.pbx_null4 { type null }
pcm.pbx_dac4 { type file slave { pcm "pbx_null4" } file "${rawPath}" format "raw" }
pcm.zone2 {
  type plug
  slave { pcm { type route slave { pcm "pbx_dac4" channels ${DAC_CHANNELS} } ttable.0.1 1 } rate ${DAC_RATE} }
}
`;
}

/** A DAC in a temp dir: the environment for the appliance, and the file split into channels. */
export interface Dac {
  dir: string;
  /** Pass to the appliance so ALSA finds `zone2`. */
  env: { ALSA_CONFIG_PATH: string };
  /** What the box wrote, one Int16Array per channel. */
  channels(): Promise<Int16Array[]>;
  remove(): Promise<void>;
}

/** Create the DAC's config in a new temp dir. */
export async function makeDac(prefix = "pbx-dac-"): Promise<Dac> {
  const dir = await Deno.makeTempDir({ prefix });
  const raw = `${dir}/dac.raw`;
  await Deno.writeTextFile(`${dir}/asound.conf`, asoundConf(raw));
  return {
    dir,
    env: { ALSA_CONFIG_PATH: `/usr/share/alsa/alsa.conf:${dir}/asound.conf` },
    async channels() {
      const bytes = await Deno.readFile(raw);
      const all = new Int16Array(bytes.buffer, 0, Math.floor(bytes.length / 2));
      const frames = Math.floor(all.length / DAC_CHANNELS);
      const ch = Array.from({ length: DAC_CHANNELS }, () => new Int16Array(frames));
      for (let i = 0; i < frames; i++) {
        for (let c = 0; c < DAC_CHANNELS; c++) ch[c]![i] = all[i * DAC_CHANNELS + c]!;
      }
      return ch;
    },
    remove: () => Deno.remove(dir, { recursive: true }),
  };
}
