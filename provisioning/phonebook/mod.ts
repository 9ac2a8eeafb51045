/** Phone book exports for phones (Yealink, Cisco, Polycom, Grandstream XML) and JSON. */
export {
  PHONEBOOK_FORMATS,
  type PhonebookFormat,
  type RenderedPhonebook,
  renderPhonebook,
} from "./export.ts";
