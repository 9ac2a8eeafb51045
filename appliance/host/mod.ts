/**
 * The box's OS settings: network (systemd-networkd), hostname, time zone and NTP (timesyncd),
 * reboot and service restart, with a confirm-or-revert window for network changes. Mode "none"
 * (PBX_HOST unset, every dev machine) touches nothing. See docs/host.md.
 */
export {
  atomicWrite,
  denoHostView,
  HostControl,
  type HostControlOptions,
  type HostMode,
  type HostStartReport,
  type HostState,
  NOT_APPLIED_REASON,
  type PendingNetwork,
} from "./host_control.ts";
export {
  FALLBACK_MATCH,
  type HostAddress,
  type HostInterface,
  NETWORK_FILE,
  type NetworkConfig,
  parseIpAddr,
  parseTimesyncd,
  pickLanInterface,
  renderNetworkFile,
  renderTimesyncd,
  staticAddressProblem,
  type TimeConfig,
  TIMESYNCD_FILE,
} from "./render.ts";
export { type CommandResult, type CommandRunner, commandRunner } from "./runner.ts";
export { askHelper, helperRequest, helperRunner } from "./helper.ts";
