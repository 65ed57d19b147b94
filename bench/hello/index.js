// The baseline of `cargo xtask bench`: a plain JavaScript hello-world Worker on the same workerd.
export default {
  async fetch() {
    return new Response(JSON.stringify({ ok: true }), {
      headers: { "content-type": "application/json" },
    });
  },
};
