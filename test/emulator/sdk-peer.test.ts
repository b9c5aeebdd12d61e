// Meta's own Node Business SDK as a client of the emulator: what the SDK builds, the emulator must
// accept; what the emulator answers, the SDK must surface as Meta's code and subcode.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { createRequire } from "node:module";
import { after, before, describe, it } from "node:test";
import { type RunningEmulator, startEmulator } from "../../src/emulator/index.ts";
import { DATASET, DAY_S, FBC, FBP, TOKEN } from "./fixtures.ts";

// The SDK ships no type declarations; this is the slice of it the test uses.
type Builder<Setter extends string> = { [name in Setter]: (value: unknown) => Builder<Setter> };
type UserDataBuilder = Builder<
  "setEmails" | "setPhones" | "setClientIpAddress" | "setClientUserAgent" | "setFbc" | "setFbp"
>;
type ServerEventBuilder = Builder<
  | "setEventName"
  | "setEventTime"
  | "setEventId"
  | "setUserData"
  | "setCustomData"
  | "setEventSourceUrl"
  | "setActionSource"
>;
interface SdkEventResponse {
  readonly events_received: number;
  readonly fbtrace_id: string;
}
interface SdkEventRequest {
  setEvents(events: unknown[]): SdkEventRequest;
  setTestEventCode(code: string): SdkEventRequest;
  execute(): Promise<SdkEventResponse>;
}
interface HttpService {
  executeRequest(
    url: string,
    method: string,
    headers: Record<string, string>,
    params: unknown,
  ): Promise<unknown>;
}
interface Sdk {
  FacebookAdsApi: { GRAPH: string; VERSION: string };
  UserData: new () => UserDataBuilder;
  CustomData: new () => Builder<"setValue" | "setCurrency" | "setContents">;
  Content: new () => Builder<"setId" | "setQuantity" | "setItemPrice">;
  ServerEvent: new () => ServerEventBuilder;
  EventRequest: new (token: string, pixelId: string, ...rest: unknown[]) => SdkEventRequest;
}
interface SdkRequestError extends Error {
  readonly status: number;
  readonly response: Record<string, unknown>;
}

const sdk = createRequire(import.meta.url)("facebook-nodejs-business-sdk") as Sdk;
const sha256 = (value: string) => createHash("sha256").update(value).digest("hex");
const nowSeconds = () => Math.floor(Date.now() / 1000);

function sdkPurchase(eventId: string, eventTime: number) {
  const userData = new sdk.UserData()
    .setEmails(["  Joe.Smith@Example.com "])
    .setPhones(["+1 (650) 555-1212"])
    .setClientIpAddress("203.0.113.7")
    .setClientUserAgent("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7)")
    .setFbc(FBC)
    .setFbp(FBP);
  const customData = new sdk.CustomData()
    .setValue(142.52)
    .setCurrency("usd")
    .setContents([new sdk.Content().setId("sku-1").setQuantity(2).setItemPrice(71.26)]);
  return new sdk.ServerEvent()
    .setEventName("Purchase")
    .setEventTime(eventTime)
    .setEventId(eventId)
    .setUserData(userData)
    .setCustomData(customData)
    .setEventSourceUrl("https://www.example.com/checkout")
    .setActionSource("website");
}

describe("Meta's Node Business SDK against the emulator", () => {
  let emu: RunningEmulator;
  const graph = Object.getOwnPropertyDescriptor(sdk.FacebookAdsApi, "GRAPH");

  before(async () => {
    emu = await startEmulator({ port: 0 });
    // The SDK's default path (AdsPixel.createEvent → api.call → axios) builds its URL from the
    // static FacebookAdsApi.GRAPH getter, which is configurable: point it at the emulator.
    Object.defineProperty(sdk.FacebookAdsApi, "GRAPH", { get: () => emu.url, configurable: true });
  });

  after(async () => {
    if (graph) Object.defineProperty(sdk.FacebookAdsApi, "GRAPH", graph);
    await emu.close();
  });

  it("accepts an SDK-built Purchase and answers with events_received", async () => {
    const response = await new sdk.EventRequest(TOKEN, DATASET)
      .setEvents([sdkPurchase("sdk-1", nowSeconds())])
      .execute();
    assert.equal(response.events_received, 1);
    assert.match(response.fbtrace_id, /^[A-Za-z0-9_-]{11,27}$/);

    const [received] = emu.store.events(DATASET, { test: false });
    const event = received?.event as {
      user_data: Record<string, unknown>;
      custom_data: Record<string, unknown>;
    };
    // The SDK normalizes (trim, lowercase; digits only) and hashes; the emulator keeps what was sent.
    assert.deepEqual(event.user_data.em, [sha256("joe.smith@example.com")]);
    assert.deepEqual(event.user_data.ph, [sha256("16505551212")]);
    assert.equal(event.user_data.fbc, FBC);
    assert.equal(event.custom_data.currency, "USD"); // the Node SDK uppercases (spec §4)
    assert.deepEqual(received?.warnings, []);
    const [logged] = emu.store.requests().slice(-1);
    assert.equal(logged?.version, sdk.FacebookAdsApi.VERSION);
    assert.equal(logged?.status, 200);
  });

  it("routes SDK requests with a test_event_code to the test store", async () => {
    const request = new sdk.EventRequest(TOKEN, DATASET).setEvents([sdkPurchase("sdk-test", nowSeconds())]);
    await request.setTestEventCode("TEST12345").execute();
    const test = emu.store.events(DATASET, { test: true });
    assert.equal(test.length, 1);
    assert.equal(test[0]?.testEventCode, "TEST12345");
  });

  it("surfaces a too-old event as Meta's 100/2804003 through FacebookRequestError", async () => {
    const old = sdkPurchase("sdk-old", nowSeconds() - 8 * DAY_S);
    const failure = await new sdk.EventRequest(TOKEN, DATASET)
      .setEvents([old])
      .execute()
      .then(
        () => assert.fail("the emulator accepted an 8-day-old event"),
        (error: SdkRequestError) => error,
      );
    assert.equal(failure.name, "FacebookRequestError");
    assert.equal(failure.status, 400);
    assert.equal(failure.response.code, 100);
    assert.equal(failure.response.error_subcode, 2804003);
    assert.equal(failure.response.error_user_title, "Event Timestamp Too Old");
    assert.equal(failure.message, "Invalid parameter");
  });

  it("surfaces a wrong token as 100/33 and a dataset the token cannot reach the same way", async () => {
    const failure = await new sdk.EventRequest("other-token", DATASET)
      .setEvents([sdkPurchase("sdk-2", nowSeconds())])
      .execute()
      .then(
        () => assert.fail("accepted a token without access"),
        (error: SdkRequestError) => error,
      );
    assert.equal(failure.response.code, 100);
    assert.equal(failure.response.error_subcode, 33);
    assert.equal(failure.response.type, "GraphMethodException");
  });

  it("works through the SDK's supported HttpServiceInterface override, appsecret_proof included", async () => {
    const secured = await startEmulator({ port: 0, appSecret: "sdk-app-secret" });
    const calls: string[] = [];
    const service: HttpService = {
      async executeRequest(url, method, headers, params) {
        const target = url
          .replace(/^https:\/\/graph\.facebook\.com/, secured.url)
          .replace(emu.url, secured.url);
        calls.push(method);
        const response = await fetch(target, { method, headers, body: JSON.stringify(params) });
        return response.json();
      },
    };
    try {
      const request = new sdk.EventRequest(
        TOKEN,
        DATASET,
        [sdkPurchase("sdk-3", nowSeconds())],
        null,
        null,
        null,
        null,
        null,
        null,
        false,
        service,
        "sdk-app-secret",
      );
      const body = (await request.execute()) as unknown as { events_received: number };
      assert.equal(body.events_received, 1);
      assert.deepEqual(calls, ["POST"]);
      assert.equal(secured.store.events().length, 1);

      const unsigned = new sdk.EventRequest(
        TOKEN,
        DATASET,
        [sdkPurchase("sdk-4", nowSeconds())],
        null,
        null,
        null,
        null,
        null,
        null,
        false,
        service,
      );
      const refused = (await unsigned.execute()) as unknown as { error: { message: string; code: number } };
      assert.equal(refused.error.code, 100);
      assert.equal(refused.error.message, "API calls from the server require an appsecret_proof argument");
    } finally {
      await secured.close();
    }
  });
});
