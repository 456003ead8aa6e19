// The dead-letter queue as an operator would see it, for the edge tests: an auxiliary Worker
// (vitest.config.ts) that consumes the real `stormlog-spool-dead` queue and keeps every message
// as it arrived. Tests read them through the DEAD_LETTERS service binding:
// `GET /?match=<text>` lists the messages whose JSON contains the text (a batch id).
// Plain JavaScript: Miniflare runs an auxiliary Worker's module as it is, untranspiled.
const received = [];

export default {
  async queue(batch) {
    for (const message of batch.messages) {
      received.push(message.body);
      message.ack();
    }
  },
  async fetch(request) {
    const match = new URL(request.url).searchParams.get("match") ?? "";
    return Response.json(received.filter((body) => JSON.stringify(body).includes(match)));
  },
};
