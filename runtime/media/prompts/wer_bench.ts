/**
 * Word error rate of flite -> pocketsphinx over 20 prompt-like sentences, at 16 kHz and after a trip
 * through 8 kHz (telephone band, upsampled back for the recognizer). Prints a table for
 * docs/prompts.md. Run by hand: `deno run --allow-all runtime/media/prompts/wer_bench.ts [voice]`.
 */
import { PromptLibrary, resampleMono } from "./mod.ts";
import { recognize, wordErrors } from "../../../drivers/stt/mod.ts";

const SENTENCES = [
  "please leave a message after the tone",
  "you have three new messages",
  "you have one new message",
  "you have no new messages",
  "press one to listen to your messages",
  "press two to change your greeting",
  "press star to return to the main menu",
  "that is not a valid choice",
  "thank you for calling goodbye",
  "please enter your password followed by the pound key",
  "the number you have dialed is not available",
  "your message has been saved",
  "message deleted",
  "to reach the operator press zero",
  "please hold while we transfer your call",
  "the mailbox is full",
  "you have twenty one saved messages",
  "the person you are calling is busy",
  "please say your name after the tone",
  "for sales press one for support press two",
];

const voice = Deno.args[0] ?? "kal16";
const dir = await Deno.makeTempDir();
try {
  const lib = new PromptLibrary(dir, { voice });
  const totals = { wide: 0, narrow: 0, words: 0 };
  let synthMs = 0;
  for (const s of SENTENCES) {
    const t0 = performance.now();
    const a = await lib.say(s);
    synthMs += performance.now() - t0;
    const wide = await recognize(a.rate16);
    const narrow = await recognize(resampleMono(a.rate8, 8000, 16000));
    const w = wordErrors(s, wide);
    const n = wordErrors(s, narrow);
    totals.wide += w.errors;
    totals.narrow += n.errors;
    totals.words += w.words;
    console.log(`${s} | 16k: ${wide} (${w.errors}) | 8k: ${narrow} (${n.errors})`);
  }
  const pct = (e: number) => (100 * e / totals.words).toFixed(1);
  console.log(
    `voice ${voice}: ${SENTENCES.length} sentences, ${totals.words} words, synthesis+cache ${
      (synthMs / SENTENCES.length).toFixed(1)
    } ms/sentence; WER 16 kHz ${totals.wide}/${totals.words} = ${pct(totals.wide)}%, ` +
      `via 8 kHz ${totals.narrow}/${totals.words} = ${pct(totals.narrow)}%`,
  );
} finally {
  await Deno.remove(dir, { recursive: true });
}
