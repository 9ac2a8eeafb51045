/**
 * SIP dialogs (RFC 3261 section 12): dialog state, in-dialog request construction with route sets,
 * and CSeq ordering checks.
 *
 * @module
 */
export { Dialog, dialogKey, type DialogRequestOptions, type DialogState, type ViaAddress } from "./dialog.ts";
