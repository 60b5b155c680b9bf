"use strict";
// The secret goes in the body of one same-origin POST, never in a URL or in storage; the
// answer is an HttpOnly session cookie, then the page reloads into the console.
document.getElementById("signin").addEventListener("submit", async (event) => {
  event.preventDefault();
  const key = document.getElementById("api-key");
  const secret = document.getElementById("api-secret");
  const error = document.getElementById("signin-error");
  error.hidden = true;
  let answer;
  try {
    answer = await fetch("/_emulator/ui/session", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ api_key: key.value, api_secret: secret.value }),
      credentials: "same-origin",
    });
  } catch (e) {
    answer = null;
  }
  secret.value = "";
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
