// The baselines of `cargo xtask bench`, on the same workerd as our Worker:
// - any path: a plain hello-world answer (the runtime's floor);
// - /d1-write: one INSERT into local D1 per request (the storage floor for webhook ingest);
// - any POST: reads the body, then one INSERT (the same floor under the webhook's own client
//   and bodies).
export default {
  async fetch(request, env) {
    const post = request.method === "POST";
    if (post) {
      await request.arrayBuffer();
    }
    if (post || new URL(request.url).pathname === "/d1-write") {
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
};
