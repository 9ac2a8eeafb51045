/**
 * Prompts the box speaks: a catalogue of ids with default English texts, a sentence builder for
 * numbers, dates and digit strings, text-to-speech (flite, drivers/tts) cached as audio at 8 and
 * 16 kHz, and admin overrides from uploaded WAV recordings.
 *
 * ```ts
 * const prompts = new PromptLibrary(dataDir);
 * const leave = await prompts.get("vm-leave-message"); // leave.rate8 for a PCMU call
 * const count = await prompts.say(`You have ${countWords(3, "new message")}.`);
 * ```
 *
 * @module
 */
export { DEFAULT_PROMPTS, digitPromptIds, PROMPT_ID } from "./_catalogue.ts";
export {
  countWords,
  dateTimeWords,
  type DateWordsOptions,
  digitWords,
  durationWords,
  MAX_SPOKEN,
  numberWords,
  ordinalWords,
  timeWords,
  yearWords,
} from "./_speak.ts";
export {
  measureAudio,
  type PromptAudio,
  type PromptInfo,
  PromptLibrary,
  type PromptLibraryOptions,
  type PromptRate,
  resampleMono,
  type Synthesizer,
} from "./_library.ts";
export {
  available as ttsAvailable,
  unavailableReason as ttsUnavailableReason,
} from "../../../drivers/tts/mod.ts";
