/**
 * The default music-on-hold class: a soft, royalty-free tone melody generated here (no recording
 * shipped): a slow arpeggio over C - Am - F - G, each note a sine with a faint octave, a short attack
 * and a long decay, at about -14 dBFS. Deterministic, so every box plays the same music.
 */

/** Note frequencies (Hz) of the arpeggio, four per chord. */
const NOTES = [
  261.63,
  329.63,
  392.0,
  523.25, // C
  220.0,
  261.63,
  329.63,
  440.0, // Am
  174.61,
  220.0,
  261.63,
  349.23, // F
  196.0,
  246.94,
  293.66,
  392.0, // G
];

/** Length of one note in seconds. */
const NOTE_SECONDS = 0.42;

/** The default melody as mono 16-bit PCM at `sampleRate` (one full loop, about 6.7 s). */
export function defaultMelody(sampleRate = 8000): Int16Array {
  if (!Number.isInteger(sampleRate) || sampleRate < 8000 || sampleRate > 48000) {
    throw new RangeError(`sample rate must be an integer from 8000 to 48000, got ${sampleRate}`);
  }
  const perNote = Math.round(NOTE_SECONDS * sampleRate);
  const out = new Int16Array(perNote * NOTES.length);
  const peak = 0.2 * 32767;
  const attack = Math.round(0.02 * sampleRate);
  for (let n = 0; n < NOTES.length; n++) {
    const f = NOTES[n]!;
    for (let i = 0; i < perNote; i++) {
      const t = i / sampleRate;
      const env = i < attack ? i / attack : Math.exp(-3 * (i - attack) / perNote);
      const v = Math.sin(2 * Math.PI * f * t) + 0.25 * Math.sin(4 * Math.PI * f * t);
      out[n * perNote + i] = Math.round(peak * env * v / 1.25);
    }
  }
  return out;
}
