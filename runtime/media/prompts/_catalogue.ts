/** The prompt catalogue: every id the box can speak, with its default English text. */
import { numberWords } from "./_speak.ts";

const BASE: Record<string, string> = {
  "vm-leave-message": "Please leave a message after the tone. When you are done, hang up or press pound.",
  "vm-unavailable": "The person you are calling is not available.",
  "vm-busy": "The person you are calling is busy.",
  "vm-you-have": "You have",
  "vm-new-messages": "new messages",
  "vm-new-message": "new message",
  "vm-saved-messages": "saved messages",
  "vm-saved-message": "saved message",
  "vm-no-messages": "You have no messages.",
  "vm-enter-mailbox": "Please enter your mailbox number followed by the pound key.",
  "vm-enter-pin": "Please enter your password followed by the pound key.",
  "vm-pin-wrong": "That password is not correct.",
  "vm-locked": "This mailbox is locked. Please try again later.",
  "vm-main-menu":
    "Press one to listen to your messages. Press two to change your greetings. Press three to change your password.",
  "vm-message-menu":
    "Press one to replay, two to save, three to delete, four to forward, five to call back the caller.",
  "vm-message-saved": "Message saved.",
  "vm-message-deleted": "Message deleted.",
  "vm-message-from": "Message from",
  "vm-received": "Received",
  "vm-mailbox-full": "The mailbox is full. Your message cannot be recorded.",
  "vm-too-long": "Your message has reached the maximum length.",
  "vm-record-greeting": "Please record your greeting after the tone, then press pound.",
  "menu-invalid": "That is not a valid choice.",
  "menu-timeout": "I did not hear a choice.",
  "menu-enter-extension": "Please enter the extension number.",
  "menu-directory": "Please enter the first three letters of the person's last name.",
  "transfer-hold": "Please hold while we transfer your call.",
  "operator": "Connecting you to the operator.",
  "goodbye": "Thank you for calling. Goodbye.",
  "park-parked-on": "Call parked on",
  "digit-star": "star",
  "digit-pound": "pound",
  "num-hundred": "hundred",
  "num-thousand": "thousand",
  "num-million": "million",
};

/** The catalogue prompts that say `digits` one by one (0-9, `*` star, `#` pound): "202" -> digit-2 digit-0 digit-2. */
export function digitPromptIds(digits: string): string[] {
  return [...digits].map((c) => c === "*" ? "digit-star" : c === "#" ? "digit-pound" : `digit-${c}`);
}

function build(): Record<string, string> {
  const out: Record<string, string> = { ...BASE };
  for (let d = 0; d <= 9; d++) out[`digit-${d}`] = numberWords(d);
  for (let n = 0; n <= 19; n++) out[`num-${n}`] = numberWords(n);
  for (let n = 20; n <= 90; n += 10) out[`num-${n}`] = numberWords(n);
  return out;
}

/** Default texts by prompt id (frozen). */
export const DEFAULT_PROMPTS: Readonly<Record<string, string>> = Object.freeze(build());

/** Prompt ids: lower-case letters, digits and dashes, 1-48 characters. */
export const PROMPT_ID = /^[a-z0-9][a-z0-9-]{0,47}$/;
