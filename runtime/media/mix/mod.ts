/** N-party mixer. @module */
export { Mixer, type MixerOptions } from "./mixer.ts";
