"use strict";
// Sign-in: the page signs a short-lived server token (an HS256 JWT, as Stream's server SDKs
// do) with the secret typed in, and sends only the API key and that token. The secret never
// leaves this page: not in a request, a URL, a cookie or storage; the field is cleared.
// SHA-256 and HMAC are computed here (crypto.subtle exists only on secure origins, and the
// emulator is often reached over plain http on another host).
const SignIn = (() => {
  const ror = (x, n) => (x >>> n) | (x << (32 - n));
  const primes = [];
  for (let n = 2; primes.length < 64; n++) if (primes.every((p) => n % p)) primes.push(n);
  const frac = (x) => ((x - Math.floor(x)) * 2 ** 32) >>> 0;
  const K = Uint32Array.from(primes, (p) => frac(Math.cbrt(p)));
  const H0 = Uint32Array.from(primes.slice(0, 8), (p) => frac(Math.sqrt(p)));

  function sha256(bytes) {
    const length = bytes.length;
    const padded = new Uint8Array(((length + 9 + 63) >> 6) << 6);
    padded.set(bytes);
    padded[length] = 0x80;
    const view = new DataView(padded.buffer);
    view.setUint32(padded.length - 8, Math.floor(length / 0x20000000));
    view.setUint32(padded.length - 4, (length * 8) >>> 0);
    const H = H0.slice();
    const W = new Uint32Array(64);
    for (let offset = 0; offset < padded.length; offset += 64) {
      for (let i = 0; i < 16; i++) W[i] = view.getUint32(offset + i * 4);
      for (let i = 16; i < 64; i++) {
        const s0 = ror(W[i - 15], 7) ^ ror(W[i - 15], 18) ^ (W[i - 15] >>> 3);
        const s1 = ror(W[i - 2], 17) ^ ror(W[i - 2], 19) ^ (W[i - 2] >>> 10);
        W[i] = W[i - 16] + s0 + W[i - 7] + s1;
      }
      let [a, b, c, d, e, f, g, h] = H;
      for (let i = 0; i < 64; i++) {
        const t1 = (h + (ror(e, 6) ^ ror(e, 11) ^ ror(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + W[i]) | 0;
        const t2 = ((ror(a, 2) ^ ror(a, 13) ^ ror(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) | 0;
        h = g; g = f; f = e; e = (d + t1) | 0; d = c; c = b; b = a; a = (t1 + t2) | 0;
      }
      [a, b, c, d, e, f, g, h].forEach((v, i) => { H[i] += v; });
    }
    const out = new Uint8Array(32);
    const outView = new DataView(out.buffer);
    H.forEach((v, i) => outView.setUint32(i * 4, v));
    return out;
  }

  function concat(a, b) {
    const out = new Uint8Array(a.length + b.length);
    out.set(a);
    out.set(b, a.length);
    return out;
  }

  function hmac(key, message) {
    let k = key.length > 64 ? sha256(key) : key;
    const block = new Uint8Array(64);
    block.set(k);
    k = block;
    const inner = concat(k.map((x) => x ^ 0x36), message);
    return sha256(concat(k.map((x) => x ^ 0x5c), sha256(inner)));
  }

  const utf8 = (text) => new TextEncoder().encode(text);
  function b64url(bytes) {
    let binary = "";
    for (const byte of bytes) binary += String.fromCharCode(byte);
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

  function serverToken(secret) {
    const now = Math.floor(Date.now() / 1000);
    const nonce = hex(crypto.getRandomValues(new Uint8Array(16)));
    const header = b64url(utf8(JSON.stringify({ alg: "HS256", typ: "JWT" })));
    const claims = b64url(utf8(JSON.stringify({ server: true, iat: now, exp: now + 120, jti: nonce })));
    const signature = b64url(hmac(utf8(secret), utf8(header + "." + claims)));
    return header + "." + claims + "." + signature;
  }

  return { sha256, hmac, hex, utf8, serverToken };
})();

document.getElementById("signin").addEventListener("submit", async (event) => {
  event.preventDefault();
  const key = document.getElementById("api-key");
  const secret = document.getElementById("api-secret");
  const error = document.getElementById("signin-error");
  error.hidden = true;
  const token = SignIn.serverToken(secret.value);
  secret.value = "";
  let answer = null;
  try {
    answer = await fetch("/_emulator/ui/session", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ api_key: key.value, token }),
      credentials: "same-origin",
    });
  } catch (e) { /* shown below */ }
  if (answer && answer.ok) {
    window.location.replace("/_emulator/ui");
    return;
  }
  let message = "sign-in failed";
  if (answer) {
    try { message = (await answer.json()).error || message; } catch (e) { /* keep it */ }
  }
  error.textContent = message;
  error.hidden = false;
});
