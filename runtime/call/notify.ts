/**
 * Out-of-dialog NOTIFYs the box sends to phones (check-sync): moved onto the events core, see
 * ./events/check_sync.ts. Kept so existing imports keep working.
 */
export { checkSyncEvent, checkSyncRequest, sendCheckSync } from "./events/check_sync.ts";
