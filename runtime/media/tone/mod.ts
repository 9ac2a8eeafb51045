/** Call-progress tones, country presets and paging chimes. @module */
export {
  PAGING_CHIMES,
  parseToneSpec,
  presetTone,
  renderTone,
  TONE_PRESETS,
  ToneGenerator,
  type ToneName,
  type ToneOptions,
  type ToneSegment,
} from "./tone.ts";
