// The mapping room's public face: rows in, draft Meta events out.
export { COERCIONS, type Coercion, type CoercionName } from "./coercions.ts";
export { compileMapping, MappingConfigError } from "./compile.ts";
export { compileRowKey, deriveEventId, RowKeyError, rowKey } from "./event-id.ts";
export { META_FIELDS, type MetaFieldSpec, metaField, ROUTING_FIELD } from "./meta-fields.ts";
export { DEFAULT_PRESET, isPresetName, PRESET_NAMES, PRESETS, type PresetName } from "./presets/index.ts";
export { SEGMENT_EVENT_NAMES, segmentEventName } from "./presets/segment.ts";
export { toUnixSeconds } from "./timestamps.ts";
export type {
  CompiledField,
  CompiledMapping,
  DraftEvent,
  FieldSource,
  MappingConfig,
  MappingContext,
  MapResult,
  Preset,
  Row,
} from "./types.ts";
