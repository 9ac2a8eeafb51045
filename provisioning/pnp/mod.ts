/** SIP plug-and-play helpers: parse the ua-profile SUBSCRIBE, produce the NOTIFY body. */
export {
  answerPnpSubscribe,
  extractMac,
  parseUaProfileEvent,
  type PnpAnswer,
  type PnpHeader,
  pnpVendor,
  provisioningUrl,
  type UaProfileEvent,
} from "./pnp.ts";
