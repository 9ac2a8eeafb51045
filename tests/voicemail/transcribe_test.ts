/**
 * Voicemail transcription with the real recognizer: sentences synthesised by flite (the prompt
 * library, 16 kHz) are "left" as wideband messages through the deposit application, transcribed by
 * pocketsphinx (drivers/stt) and the word error rate over all of them is printed and bounded.
 * Skipped where flite or pocketsphinx is missing.
 */
import { deepStrictEqual as eq, ok } from "node:assert";
import { unavailableReason as ttsMissing } from "../../drivers/tts/mod.ts";
import { recognize, unavailableReason as sttMissing, wordErrors } from "../../drivers/stt/mod.ts";
import { PromptLibrary } from "../../runtime/media/prompts/mod.ts";
import { VirtualClock } from "../../runtime/clock/mod.ts";
import { createLogger } from "../../runtime/log/mod.ts";
import { tempStorage } from "../../runtime/storage/_testing.ts";
import { voicemailFeature } from "../../runtime/features/voicemail/mod.ts";
import { fakeLeg } from "./_fake_leg.ts";

const SENTENCES = [
  "please call me back about the meeting tomorrow",
  "the delivery will arrive on monday morning",
  "this is a message for the support team",
  "i will send you the invoice today",
  "thank you and have a good day",
];

Deno.test({
  name: "wideband voicemail is transcribed by pocketsphinx; word error rate over five sentences",
  ignore: ttsMissing() !== null || (await sttMissing()) !== null,
  async fn() {
    const storage = tempStorage();
    try {
      const lib = new PromptLibrary(storage.dataDir);
      const vm = voicemailFeature({
        db: storage.db,
        dataDir: storage.dataDir,
        clock: new VirtualClock(),
        exists: (n) => n === "201",
        prompts: lib,
        mwi: () => {},
        log: createLogger("test", { level: "error", sink: () => {} }),
        transcribe: (s) => recognize(s),
      });
      const deposit = vm.applications!.find((a) => a.name === "voicemail-deposit")!;
      for (const sentence of SENTENCES) {
        const speech = await lib.say(sentence);
        // The caller's speech with half a second of quiet either side, as a 16 kHz recording.
        const rec = new Int16Array(speech.rate16.length + 16000);
        rec.set(speech.rate16, 8000);
        const { leg } = fakeLeg({ recording: rec, rate: 16000, hangupOnRecord: true });
        await deposit.run(leg, { mailbox: "201" });
      }
      // Transcription runs after the call: wait for the transcripts (bounded by the loop, not time).
      for (let i = 0; i < 600 && vm.store.messages("201").some((m) => m.transcript === null); i++) {
        await new Promise((r) => setTimeout(r, 50));
      }
      const messages = vm.store.messages("201");
      eq(messages.length, SENTENCES.length);
      let errors = 0, words = 0;
      for (const [i, m] of messages.entries()) {
        const w = wordErrors(SENTENCES[i]!, m.transcript ?? "");
        errors += w.errors;
        words += w.words;
        console.log(`  "${SENTENCES[i]}" -> "${m.transcript}" (${w.errors}/${w.words})`);
      }
      const wer = errors / words;
      console.log(`  voicemail WER (flite kal16 -> pocketsphinx en-us, 16 kHz): ${(wer * 100).toFixed(1)}%`);
      ok(wer < 0.5, `WER ${(wer * 100).toFixed(1)}%`);
    } finally {
      storage.dispose();
    }
  },
});
