"use strict";
// Getting an operator's attention: a beep generated with WebAudio (no sound file), a
// browser notification when permitted, and a flashing title. The sound is muted per
// session only by the visible button, never silently: a browser that blocks audio until
// a click says so on the same button.
const attention = { muted: sessionStorage.getItem("cp-muted") === "1", ctx: null, flash: null };
window.cpSoundsPlayed = 0;

function audioContext() {
  if (!attention.ctx && window.AudioContext) attention.ctx = new AudioContext();
  return attention.ctx;
}

// Browsers let a page play sound only after a user gesture: any click unlocks it.
function unlockAudio() {
  const ctx = audioContext();
  if (ctx && ctx.state === "suspended") ctx.resume().then(renderSound);
  if (window.Notification && Notification.permission === "default") Notification.requestPermission();
}

function beep(stage) {
  if (attention.muted) return;
  const ctx = audioContext();
  if (!ctx) return;
  if (ctx.state === "suspended") ctx.resume();
  // 심각: three high tones; 경계: two lower ones.
  const [freq, count] = stage === "serious" ? [1046, 3] : [784, 2];
  for (let i = 0; i < count; i++) {
    const osc = ctx.createOscillator(), gain = ctx.createGain();
    const at = ctx.currentTime + i * 0.28;
    osc.type = "square"; osc.frequency.value = freq;
    gain.gain.setValueAtTime(0.0001, at);
    gain.gain.exponentialRampToValueAtTime(0.25, at + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, at + 0.22);
    osc.connect(gain).connect(ctx.destination);
    osc.start(at); osc.stop(at + 0.24);
  }
  if (ctx.state === "running") window.cpSoundsPlayed += 1;
  renderSound();
}

window.cpNotificationsShown = 0;
function notify(title, body, onClick) {
  if (!window.Notification || Notification.permission !== "granted") return;
  try {
    const n = new Notification(title, { body, tag: title, requireInteraction: true });
    n.onclick = () => { window.focus(); onClick(); n.close(); };
    window.cpNotificationsShown += 1;
  } catch (err) {
    console.warn("notification refused", err);  // e.g. a browser that allows them only from a service worker
  }
}

// While any 경계/심각 alert is open, the tab's title flashes.
function flashTitle(text) {
  clearInterval(attention.flash);
  attention.flash = null;
  if (!text) { document.title = "CityPulse"; return; }
  let on = false;
  attention.flash = setInterval(() => { on = !on; document.title = on ? `⚠ ${text}` : "CityPulse"; }, 1000);
}

function renderSound() {
  const b = document.getElementById("sound");
  const blocked = attention.ctx && attention.ctx.state === "suspended" && !attention.muted;
  b.textContent = attention.muted ? `✕ ${t("soundOff")}` : blocked ? `! ${t("soundBlocked")}` : `♪ ${t("soundOn")}`;
  b.dataset.state = attention.muted ? "muted" : blocked ? "blocked" : "on";
  b.setAttribute("aria-pressed", attention.muted ? "false" : "true");
}

function toggleSound() {
  attention.muted = !attention.muted;
  sessionStorage.setItem("cp-muted", attention.muted ? "1" : "0");
  unlockAudio();
  renderSound();
}
