// The subscribers of bench/subscriptions.py, in Node (the `ws` package of tests/clients):
// Python's websockets could not parse 50 000 pushes a second on this machine's two cores,
// so the client, not the server, set the latency. One process holds every socket.
//
// Reads one JSON line on stdin: { subscribers: [{ url, token }], query }. Opens each
// socket (graphql-transport-ws: connection_init, subscribe), prints `ready` when every
// subscription is sent, records each push's arrival (the latency from the dispute's
// `reportedAt`), prints `count N` (pushes so far) every 250 ms, and on a second stdin line — the JSON list of report ids the writers
// made — prints its figures as JSON and exits.

import { createRequire } from "node:module";
import { createInterface } from "node:readline";
import { performance } from "node:perf_hooks";

const require = createRequire(new URL("../tests/clients/package.json", import.meta.url));
const WebSocket = require("ws");

const lines = createInterface({ input: process.stdin });
const input = lines[Symbol.asyncIterator]();
const config = JSON.parse((await input.next()).value);

const now = () => performance.timeOrigin + performance.now();
// Per subscriber: dispute id → arrivals counted; latencies in one flat array.
const received = config.subscribers.map(() => new Map());
const latencies = [];
let closedEarly = 0;
const closeCodes = {};

function open({ url, token }, index) {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, "graphql-transport-ws");
    socket.on("open", () => {
      socket.send(JSON.stringify({ type: "connection_init", payload: { Authorization: `Bearer ${token}` } }));
    });
    socket.on("message", (data) => {
      const arrived = now();
      const message = JSON.parse(data);
      if (message.type === "connection_ack") {
        socket.send(JSON.stringify({ id: "1", type: "subscribe", payload: { query: config.query } }));
        resolve(socket);
        return;
      }
      if (message.type !== "next") return;
      const dispute = message.payload?.data?.disputeUpdated?.dispute;
      if (!dispute) return;
      const mine = received[index];
      mine.set(dispute.id, (mine.get(dispute.id) ?? 0) + 1);
      latencies.push(arrived - Date.parse(dispute.reportedAt));
    });
    socket.on("close", (code) => {
      closedEarly += 1;
      closeCodes[code] = (closeCodes[code] ?? 0) + 1;
    });
    socket.on("error", reject);
  });
}

const sockets = [];
// A few at a time, as browsers reconnecting after a deploy would.
for (let i = 0; i < config.subscribers.length; i += 50) {
  const batch = config.subscribers.slice(i, i + 50).map((s, j) => open(s, i + j));
  sockets.push(...(await Promise.all(batch)));
}
process.stdout.write("ready\n");
// How many pushes arrived so far, so the driver knows when deliveries stop.
const progress = setInterval(() => process.stdout.write(`count ${latencies.length}\n`), 250);

const sent = JSON.parse((await input.next()).value);
clearInterval(progress);
let delivered = 0;
let duplicated = 0;
for (const mine of received) {
  for (const id of sent) {
    const n = mine.get(id) ?? 0;
    if (n > 0) delivered += 1;
    if (n > 1) duplicated += n - 1;
  }
}
latencies.sort((a, b) => a - b);
const quantile = (q) => (latencies.length ? latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] : 0);
const figures = {
  delivered,
  duplicated,
  pushes: latencies.length,
  latency_p50_ms: Math.round(quantile(0.5) * 10) / 10,
  latency_p99_ms: Math.round(quantile(0.99) * 10) / 10,
  latency_max_ms: Math.round(quantile(1) * 10) / 10,
  closed_early: closedEarly,
  close_codes: closeCodes,
};
for (const socket of sockets) socket.terminate();
process.stdout.write(JSON.stringify(figures) + "\n");
process.exit(0);
