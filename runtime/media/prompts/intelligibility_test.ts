/**
 * A prompt made by the text-to-speech path is intelligible: run it back through pocketsphinx (skipped
 * with a message when it is not installed); duration and energy are checked always.
 */
import { ok as assert } from "node:assert";
import { countWords, measureAudio, PromptLibrary, ttsAvailable, ttsUnavailableReason } from "./mod.ts";
import { recognize, unavailableReason as sttUnavailable } from "../../../drivers/stt/mod.ts";

const sttReason = await sttUnavailable();
if (!ttsAvailable()) console.warn(`skipping TTS checks: ${ttsUnavailableReason()}`);
if (sttReason !== null) console.warn(`skipping recognition: ${sttReason}`);

const SENTENCES: [string, string[]][] = [
  [`You have ${countWords(3, "new message")}.`, ["three", "new", "messages"]],
  ["Please leave a message after the tone.", ["leave", "message", "tone"]],
  ["Thank you for calling. Goodbye.", ["thank", "calling", "goodbye"]],
];

Deno.test({
  name: "synthesised prompts have speech-like duration and energy, and the recognizer hears the key words",
  ignore: !ttsAvailable(),
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      const lib = new PromptLibrary(dir);
      for (const [text, words] of SENTENCES) {
        const a = await lib.say(text);
        const m = measureAudio(a.rate16, 16000);
        const expect = text.split(" ").length * 250; // roughly four words a second
        assert(m.durationMs > expect / 2.5 && m.durationMs < expect * 2.5, `${text}: ${m.durationMs} ms`);
        assert(m.rmsDbfs > -35, `${text}: ${m.rmsDbfs} dBFS`);
        assert(m.activeMs > m.durationMs / 3, `${text}: active ${m.activeMs} ms`);
        if (sttReason !== null) continue;
        const heard = await recognize(a.rate16);
        for (const w of words) {
          assert(heard.split(" ").includes(w), `"${w}" not heard in "${heard}" (${text})`);
        }
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
