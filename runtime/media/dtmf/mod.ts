/** DTMF: RFC 4733 event mapping, tone generation, in-band detection. @module */
export {
  digitToEvent,
  DTMF_COLS,
  DTMF_ROWS,
  DtmfDetector,
  type DtmfDetectorOptions,
  dtmfFrequencies,
  type DtmfToneOptions,
  eventToDigit,
  generateDtmf,
  goertzelPower,
} from "./dtmf.ts";
