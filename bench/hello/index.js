// The baselines of `cargo xtask bench`, on the same workerd as our Worker:
// - any path: a plain hello-world answer (the runtime's floor);
// - /d1-write: one INSERT into local D1 per request (the storage floor for webhook ingest);
// - any POST: reads the body, then one INSERT (the same floor under the webhook's own client
//   and bodies);
// - a POST under /queue-send/: reads the body, then sends it to the webhook queue (what queue
//   mode's webhook route must at least do per event); its queue handler acknowledges batches;
// - a POST under /our-batch/: a body of `{statements: [{sql, params}]}`, our webhook's own plan
//   for one event (made by the bench from the same signed bodies), committed in one D1 batch:
//   what any Worker that records an event our way must at least do (no signature check).
export default {
  async fetch(request, env) {
    const post = request.method === "POST";
    const path = new URL(request.url).pathname;
    if (post && path.startsWith("/our-batch/")) {
      const { statements } = await request.json();
      await env.DB.batch(statements.map((s) => env.DB.prepare(s.sql).bind(...s.params)));
      return new Response(JSON.stringify({ ok: true }), {
        headers: { "content-type": "application/json" },
      });
    }
    if (post && path.startsWith("/queue-send/")) {
      const body = new Uint8Array(await request.arrayBuffer());
      await env.WEBHOOK_QUEUE.send(body, { contentType: "v8" });
      return new Response(JSON.stringify({ ok: true }), {
        headers: { "content-type": "application/json" },
      });
    }
    if (post) {
      await request.arrayBuffer();
    }
    if (post || path === "/d1-write") {
      await env.DB.prepare(
        "INSERT INTO processed_events (event_id, type, processed_at) VALUES (?1, 'bench.js', ?2)",
      )
        .bind(crypto.randomUUID(), new Date().toISOString())
        .run();
    }
    return new Response(JSON.stringify({ ok: true }), {
      headers: { "content-type": "application/json" },
    });
  },
  async queue(batch) {
    batch.ackAll();
  },
};
