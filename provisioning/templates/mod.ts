/** Template language, shipped vendor templates, file-name routing and file generation. */
export {
  compileTemplate,
  escapeIni,
  type EscapeMode,
  escapeXml,
  type Schema,
  type Template,
  type TemplateValue,
} from "./engine.ts";
export {
  activeTemplate,
  type GeneratedFile,
  generateFile,
  type GenerateOptions,
  type GenerateRefusal,
  type Route,
  type RouteHints,
  type RouteKind,
  routeRequest,
  shippedTemplate,
  vendorFromUserAgent,
} from "./generate.ts";
export { SHIPPED_TEMPLATES, type TemplateSpec } from "./vendors.ts";
export { buildView, timeZoneFormats, utcOffsetMinutes, VIEW_SCHEMA } from "./view.ts";
export {
  MASKED_SECRET,
  type PreviewOptions,
  previewTemplate,
  type ShippedTemplateInfo,
  shippedTemplateInfo,
  TEMPLATE_KEYS,
  type TemplatePreview,
  validateTemplateSource,
} from "./custom.ts";
