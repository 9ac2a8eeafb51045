/**
 * Persistent state of the appliance in one SQLite file (node:sqlite, WAL, synchronous=FULL).
 * Open it once with `openStorage({dataDir})` and use the typed stores it carries.
 *
 * @example
 * ```ts
 * const storage = openStorage({ dataDir: "/var/lib/pbx" });
 * storage.extensions.create({ number: "201", name: "Reception", password: "s3cret-pass" }, "pbx.local");
 * storage.close();
 * ```
 */
export { openStorage, type Storage, type StorageOptions } from "./storage.ts";
export { ConflictError, NotFoundError } from "./errors.ts";
export {
  type DigestAlgorithm,
  type Extension,
  type ExtensionPatch,
  type ExtensionQuery,
  type ExtensionStore,
  type NewExtension,
  validateExtensionNumber,
} from "./extensions.ts";
export { type Binding, type BindingTransport, type LocationStore } from "./location.ts";
export {
  type CdrQuery,
  type CdrRecord,
  type CdrRow,
  type CdrStore,
  cdrToCsv,
  type Disposition,
  DISPOSITIONS,
  type HangupBy,
} from "./cdr.ts";
export {
  hashPassword,
  MIN_WEB_PASSWORD,
  type NewUser,
  normalizeUsername,
  PBKDF2_MIN_ITERATIONS,
  type Role,
  type User,
  type UserStore,
  validateWebPassword,
  verifyPassword,
} from "./users.ts";
export { type Session, type SessionKind, type SessionStore } from "./sessions.ts";
export { type SettingsStore } from "./settings.ts";
export { type AuditEntry, type AuditInput, type AuditStore } from "./audit.ts";
export {
  DEVICE_VENDORS,
  type DeviceFetch,
  type DeviceLineKey,
  type DevicePatch,
  type DeviceQuery,
  type DeviceRecord,
  type DeviceStatus,
  type DeviceStore,
  type DeviceVendor,
  type NewDevice,
  normalizeMac,
} from "./devices.ts";
export {
  DISCOVERED_TTL_MS,
  type DiscoveredLimits,
  type FetchOutcome,
  MAX_DISCOVERED_DEVICES,
  normalizeNetwork,
  PROVISIONING_SECURITY_DEFAULTS,
  PROVISIONING_SECURITY_KEY,
  type ProvisioningSecurity,
  readProvisioningSecurity,
} from "./devices.ts";
export {
  MAX_PHONE_KEYS,
  PHONE_KEY_TYPES,
  type PhoneKeyCapacity,
  phoneKeyCapacity,
  phoneKeysMisfit,
} from "./phone_keys.ts";
export {
  MAX_TEMPLATE_BYTES,
  TEMPLATE_KEY_RE,
  type TemplateOverride,
  type TemplateStore,
} from "./templates.ts";
export { type ContactStore, MAX_CONTACTS, type NewContact, type PhonebookContact } from "./contacts.ts";
export {
  type NewPagingSchedule,
  type NewPagingZone,
  type PagingGroup,
  type PagingLogEntry,
  type PagingMulticast,
  type PagingSchedule,
  type PagingStore,
  type PagingZone,
  validateMulticast,
} from "./paging.ts";
export {
  createMailStore,
  type MailStatus,
  type MailStore,
  type NewOutboxMessage,
  type OutboxMessage,
  SMTP_SECURITY,
  type SmtpSecurity,
  type SmtpSettings,
  type SmtpSettingsPatch,
  type StoredAttachment,
} from "./mail_outbox.ts";
export { type Migration, MIGRATIONS } from "./migrations/mod.ts";
export { createSecretBox, type SecretBox } from "./secrets.ts";
export { BACKUP_DIRS, type FilesRestored } from "./backup_files.ts";
export {
  applyStagedRestore,
  type DatabaseInfo,
  inspectDatabase,
  type RestoreOutcome,
  stagedRestorePath,
} from "./restore.ts";
