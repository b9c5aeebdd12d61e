// The shape of one element of `data` in POST /{version}/{dataset_id}/events (spec §2–§5).
import type { ActionSource, CustomerSegmentation, DeliveryCategory, MessagingChannel } from "./vocabulary.ts";

/** A value Meta accepts as one string or a list of strings (all hash-required keys, external_id). */
export type OneOrMany = string | string[];

/** `user_data` as sent: hash-required keys hold SHA-256 hex, the others raw (spec §3.1). */
export interface UserData {
  em?: OneOrMany;
  ph?: OneOrMany;
  fn?: OneOrMany;
  ln?: OneOrMany;
  db?: OneOrMany;
  ge?: OneOrMany;
  ct?: OneOrMany;
  st?: OneOrMany;
  zp?: OneOrMany;
  country?: OneOrMany;
  external_id?: OneOrMany;
  client_ip_address?: string;
  client_user_agent?: string;
  fbc?: string;
  fbp?: string;
  subscription_id?: string;
  fb_login_id?: string | number;
  lead_id?: string | number;
  anon_id?: string;
  madid?: string;
  page_id?: string;
  page_scoped_user_id?: string;
  ctwa_clid?: string;
  ig_account_id?: string;
  ig_sid?: string;
  whatsapp_business_account_id?: string;
  instagram_business_account_id?: string;
  [key: string]: unknown;
}

export interface Content {
  id?: string;
  quantity?: number;
  item_price?: number;
  delivery_category?: DeliveryCategory;
  title?: string;
  description?: string;
  brand?: string;
  category?: string;
  [key: string]: unknown;
}

export interface StoreData {
  store_page_id?: string | number;
  brand_page_id?: string | number;
  store_code?: string;
}

export interface CustomData {
  value?: number | string;
  currency?: string;
  content_ids?: string[];
  content_type?: "product" | "product_group" | string;
  contents?: Content[];
  content_name?: string;
  content_category?: string;
  num_items?: number;
  order_id?: string;
  item_number?: string;
  predicted_ltv?: number;
  net_revenue?: number;
  search_string?: string;
  status?: string;
  delivery_category?: DeliveryCategory;
  customer_segmentation?: CustomerSegmentation;
  store_data?: StoreData;
  /** Vertical fields and custom properties are free-form (spec §4). */
  [key: string]: unknown;
}

/**
 * The 16 `extinfo` slots in Meta's order (spec §5.1). Index 0 (`a2`/`i2`) and 4 (OS version) are
 * required; missing slots are empty strings. Meta's Node SDK sends an object keyed "0".."15".
 */
export type ExtInfo = string[] | Record<string, string>;

export interface AppData {
  advertiser_tracking_enabled?: boolean | 0 | 1;
  application_tracking_enabled?: boolean | 0 | 1;
  extinfo?: ExtInfo;
  campaign_ids?: string;
  install_referrer?: string;
  installer_package?: string;
  url_schemes?: string[];
  vendor_id?: string;
  windows_attribution_id?: string;
  [key: string]: unknown;
}

export interface OriginalEventData {
  event_name?: string;
  event_time?: number;
  order_id?: string;
  event_id?: string;
}

/** AppendAttribution (beta): passed through as given (spec §5.3). */
export interface AttributionData {
  ad_id?: string;
  touchpoint_ts?: number;
  attribution_share?: number;
  attribution_value?: number;
  [key: string]: unknown;
}

export interface ServerEvent {
  event_name: string;
  event_time: number;
  user_data: UserData;
  action_source: ActionSource;
  custom_data?: CustomData;
  event_source_url?: string;
  referrer_url?: string;
  opt_out?: boolean;
  event_id?: string;
  data_processing_options?: string[];
  data_processing_options_country?: number;
  data_processing_options_state?: number;
  customer_segmentation?: CustomerSegmentation;
  messaging_channel?: MessagingChannel;
  original_event_data?: OriginalEventData;
  attribution_data?: AttributionData;
  app_data?: AppData;
  [key: string]: unknown;
}

/** Top-level parameters beside `data` (spec §1.4). */
export interface EventRequestParams {
  test_event_code?: string;
  partner_agent?: string;
  namespace_id?: string;
  upload_id?: string;
  upload_tag?: string;
  upload_source?: string;
}
