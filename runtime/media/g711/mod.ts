/** G.711 mu-law (PCMU) and A-law (PCMA) codecs. @module */
export {
  alawToLinear,
  alawToUlaw,
  createG711Codec,
  decodeAlaw,
  decodeUlaw,
  encodeAlaw,
  encodeUlaw,
  type G711Codec,
  linearToAlaw,
  linearToUlaw,
  ulawToAlaw,
  ulawToLinear,
} from "./g711.ts";
