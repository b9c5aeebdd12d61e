// Micro-benchmark of validateEvent alone: `node bench/validate-micro.ts [seconds]`.
// Prints events/s for a typical valid website Purchase and for one that trips several rules.
import { sha256 } from "../src/meta/hash.ts";
import { validateEvent } from "../src/meta/validate.ts";

const seconds = Number(process.argv[2] ?? 2);
const now = Math.floor(Date.now() / 1000);
const POOL_SIZE = 1024;

/** Distinct objects shaped as JSON.parse would give them, so the benchmark does not hit one hot object. */
function purchase(i: number): Record<string, unknown> {
  return JSON.parse(
    JSON.stringify({
      event_name: "Purchase",
      event_time: now - (i % 3600),
      action_source: "website",
      event_id: `order-${i}`,
      event_source_url: `https://shop.example.com/checkout/thanks?order=${i}`,
      user_data: {
        em: [sha256(`customer${i}@example.com`)],
        ph: [sha256(`1650555${String(i).padStart(4, "0")}`)],
        fn: sha256("mary"),
        ln: sha256("smith"),
        ct: sha256("paris"),
        zp: sha256("75018"),
        country: sha256("fr"),
        external_id: [`crm-${i}`],
        client_ip_address: `203.0.113.${i % 250}`,
        client_user_agent:
          "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 Safari/605.1.15",
        fbc: `fb.1.1554763741205.AbCdEfGhIjKl${i}`,
        fbp: `fb.1.1596403881668.${1116446470 + i}`,
      },
      custom_data: {
        value: 142.52 + i,
        currency: "EUR",
        content_type: "product",
        content_ids: [`sku-${i}`, `sku-${i + 1}`],
        contents: [
          { id: `sku-${i}`, quantity: 1, item_price: 100 },
          { id: `sku-${i + 1}`, quantity: 2, item_price: 21.26 },
        ],
        num_items: 3,
      },
    }),
  );
}

function broken(i: number): Record<string, unknown> {
  const event = purchase(i);
  const userData = event.user_data as Record<string, unknown>;
  userData.em = [`customer${i}@example.com`];
  delete event.event_id;
  (event.custom_data as Record<string, unknown>).currency = "EURO";
  return event;
}

const ROUNDS = 5;

/**
 * Best of ROUNDS, by CPU time of this process: the machine is shared, and time spent descheduled
 * would otherwise count against the validator.
 */
function measure(label: string, events: readonly Record<string, unknown>[], expectValid: boolean): void {
  const options = { now };
  const check = validateEvent(events[0], options);
  if ((check.errors.length === 0) !== expectValid) throw new Error(`${label}: unexpected verdict`);
  for (let i = 0; i < 50_000; i++) validateEvent(events[i % POOL_SIZE], options); // warm-up
  const rates: number[] = [];
  let findings = 0;
  let total = 0;
  for (let round = 0; round < ROUNDS; round++) {
    let count = 0;
    const cpuStart = process.cpuUsage();
    const wallDeadline = performance.now() + (seconds * 1000) / ROUNDS;
    do {
      for (let i = 0; i < 10_000; i++) {
        const { errors, warnings } = validateEvent(events[(count + i) % POOL_SIZE], options);
        findings += errors.length + warnings.length;
      }
      count += 10_000;
    } while (performance.now() < wallDeadline);
    const cpu = process.cpuUsage(cpuStart);
    rates.push(count / ((cpu.user + cpu.system) / 1e6));
    total += count;
  }
  rates.sort((a, b) => b - a);
  const format = (rate: number) => Math.round(rate).toLocaleString("en");
  console.log(
    `${label}: best ${format(rates[0] ?? 0)} events/s per CPU-second (${(1e9 / (rates[0] ?? 1)).toFixed(0)} ns/event), ` +
      `median ${format(rates[ROUNDS >> 1] ?? 0)}; ${total.toLocaleString("en")} events, ${(findings / total).toFixed(1)} findings/event`,
  );
}

const valid = Array.from({ length: POOL_SIZE }, (_, i) => purchase(i));
const invalid = Array.from({ length: POOL_SIZE }, (_, i) => broken(i));
console.log(`node ${process.version}, ${seconds}s per run`);
measure("valid website Purchase", valid, true);
measure("Purchase with 2 errors, 1 warning", invalid, false);
