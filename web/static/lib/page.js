// Start a page script: run its set-up, show what fails in the message line.
import { sayError } from "./messages.js";

/** Run the page's set-up function (sync or async); errors are shown, not thrown. */
export function startPage(fn) {
  Promise.resolve().then(fn).catch(sayError);
}
