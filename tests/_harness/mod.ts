/**
 * Shared helpers for end-to-end tests: the appliance as a child process, sipp scenarios, baresip
 * phones, free ports and WAV/correlation checks. See README.md in this folder.
 *
 * @module
 */
export {
  type Api,
  api,
  type Appliance,
  login,
  startAppliance,
  type StartApplianceOptions,
  TEST_ADMIN_PASSWORD,
} from "./appliance.ts";
export {
  type Baresip,
  type BaresipEvent,
  type BaresipOptions,
  codecFormat,
  startBaresip,
} from "./baresip.ts";
export {
  APPLIANCE_RTP_BAND,
  freePort,
  freePorts,
  freeUdpPort,
  PEER_MEDIA_BAND,
  pickPortRange,
  udpBindable,
} from "./ports.ts";
export { hasBinary, LoggedProcess, type LoggedProcessOptions } from "./process.ts";
export {
  describeSipp,
  runSipp,
  SIPP_SCENARIO_DIR,
  type SippOptions,
  type SippResult,
  type SippRun,
  startSipp,
} from "./sipp.ts";
export {
  correlate,
  type CorrelateOptions,
  encodeWav,
  makeTestSignal,
  makeTestWav,
  parseWav,
  type Pcm,
  readWav,
  rms,
  type TestSignalOptions,
  toMono,
  toneLevel,
  writeWav,
} from "./wav.ts";
export { dtmfTones, pcapG711, type PcapRtp, readPcapRtp, writePcapG711 } from "./pcap.ts";
export { hasAiosmtpd, type ParsedMail, parseMime, PYTHON, type SmtpSink, startSmtpSink } from "./smtp.ts";
