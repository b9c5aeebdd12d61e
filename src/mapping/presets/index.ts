import type { Preset } from "../types.ts";
import { COLUMNS_PRESET } from "./columns.ts";
import { NARRATIVE_PRESET } from "./narrative.ts";
import { SEGMENT_PRESET } from "./segment.ts";

export const PRESETS = Object.freeze({
  columns: COLUMNS_PRESET,
  narrative: NARRATIVE_PRESET,
  segment: SEGMENT_PRESET,
}) satisfies Readonly<Record<string, Preset>>;

export type PresetName = keyof typeof PRESETS;
export const PRESET_NAMES = Object.freeze(Object.keys(PRESETS) as PresetName[]);
export const DEFAULT_PRESET: PresetName = "columns";

export function isPresetName(name: string): name is PresetName {
  return Object.hasOwn(PRESETS, name);
}
