// The virtual board page: draws pushed board state, sends key and hook commands.
"use strict";

const $ = (id) => document.getElementById(id);
const GLYPH_STAND_IN = "▪";     // a CGRAM cell's text, so each row keeps one character per cell

// ---- drawing ---------------------------------------------------------------------------------

// A CGRAM bitmap (8 rows of 5 bits, bit 4 leftmost) as an SVG mask of its lit dots.
function glyphUrl(bits) {
  let rects = "";
  bits.forEach((row, y) => {
    for (let x = 0; x < 5; x++) {
      if (row & (16 >> x)) rects += `<rect x='${x}' y='${y}' width='.86' height='.86'/>`;
    }
  });
  const svg = `<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 5 8'>${rects}</svg>`;
  return `url("data:image/svg+xml,${encodeURIComponent(svg)}")`;
}

// The glass as the board file makes it: cols x rows cells (20x4, 40x4 ...), a softkey under
// each quarter; a wide panel gets smaller dots so that the phone still fits the window.
function ensureCells(cols, rows) {
  const lcd = $("lcd");
  if (lcd.dataset.size !== `${cols}x${rows}`) {
    lcd.dataset.size = `${cols}x${rows}`;
    lcd.setAttribute("aria-label", `LCD, ${cols} by ${rows} characters`);
    const bezel = lcd.closest(".bezel");
    bezel.style.setProperty("--dot", cols > 20 ? "3px" : "4px");
    bezel.style.setProperty("--key-cells", String(Math.floor(cols / 4)));
    document.body.classList.toggle("wide-lcd", cols > 20);
    while (lcd.children.length < rows) {
      const row = document.createElement("div");
      row.className = "row";
      row.id = "lcd-row-" + lcd.children.length;
      lcd.appendChild(row);
    }
    while (lcd.children.length > rows) lcd.lastElementChild.remove();
  }
  for (let r = 0; r < rows; r++) {
    const row = $("lcd-row-" + r);
    if (row.children.length === cols) continue;
    row.replaceChildren(...Array.from({ length: cols }, () => {
      const cell = document.createElement("span");
      cell.className = "cell";
      cell.textContent = " ";
      return cell;
    }));
  }
}

function drawLcd(s) {
  const lcd = $("lcd");
  lcd.classList.toggle("dim", !s.backlight);
  lcd.classList.toggle("off", !s.display_on);
  // The same curve as the PNG render: 0.5 is the sweet spot, lower fades the dots.
  const c = s.contrast === null ? 0.5 : Math.max(0, Math.min(1, s.contrast));
  lcd.style.setProperty("--ink-alpha", Math.min(1, 0.35 + 1.3 * c).toFixed(2));
  lcd.style.setProperty("--ghost-alpha", (0.07 + Math.max(0, c - 0.5) * 0.6).toFixed(2));
  ensureCells(s.cols, s.rows.length);
  const urls = s.glyphs.map(glyphUrl);
  s.rows.forEach((text, r) => {
    const cells = $("lcd-row-" + r).children;
    [...text].forEach((ch, i) => {
      const cell = cells[i];
      if (!cell) return;
      const code = ch.codePointAt(0);
      if (code < 8) {
        if (cell.dataset.glyph !== String(code)) cell.dataset.glyph = code;
        cell.style.setProperty("--glyph", urls[code]);
        ch = GLYPH_STAND_IN;
      } else if (cell.dataset.glyph !== undefined) {
        delete cell.dataset.glyph;
        cell.style.removeProperty("--glyph");
      }
      if (cell.textContent !== ch) cell.textContent = ch;
    });
  });
}

function draw(s) {
  if (s.error) { console.warn("board page:", s.error); return; }
  drawLcd(s);
  for (const [name, lit] of Object.entries(s.leds)) {
    const led = $("led-" + name);
    if (led) led.classList.toggle("lit", lit);
  }
  const hook = $("hook");
  hook.dataset.state = s.hook;
  $("hook-state").textContent = s.hook === "off" ? "Off hook" : "On hook";
  const held = new Set(s.keys_down);
  document.querySelectorAll("button[data-key]").forEach((b) =>
    b.classList.toggle("held", held.has(b.dataset.key)));
}

// ---- the connection --------------------------------------------------------------------------

let ws = null;
let retryMs = 250;

function setLink(up) {
  const link = $("link");
  link.className = up ? "up" : "down";
  link.textContent = up ? "connected" : "disconnected";
  document.body.classList.toggle("offline", !up);
}

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  ws = new WebSocket(`${scheme}://${location.host}/ws`);
  ws.onopen = () => { retryMs = 250; setLink(true); };
  ws.onmessage = (e) => draw(JSON.parse(e.data));
  ws.onclose = () => {
    setLink(false);
    releaseAll();
    setTimeout(connect, retryMs);
    retryMs = Math.min(retryMs * 2, 3000);
  };
}

function send(obj) {
  if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(obj));
}

// ---- keys ------------------------------------------------------------------------------------
// A key is down for as long as the pointer or keyboard key is; the server stretches presses
// too short for the keypad's debounce, so a quick click still counts.

const down = new Set();

function press(key) {
  if (down.has(key)) return;
  down.add(key);
  document.querySelector(`button[data-key="${CSS.escape(key)}"]`)?.classList.add("pressed");
  send({ press: key });
}

function release(key) {
  if (!down.delete(key)) return;
  document.querySelector(`button[data-key="${CSS.escape(key)}"]`)?.classList.remove("pressed");
  send({ release: key });
}

function releaseAll() { [...down].forEach(release); }

document.querySelectorAll("button[data-key]").forEach((b) => {
  const key = b.dataset.key;
  b.addEventListener("pointerdown", (e) => {
    if (e.button !== 0) return;
    e.preventDefault();                        // no focus ring, no text selection
    b.setPointerCapture(e.pointerId);
    press(key);
  });
  b.addEventListener("pointerup", () => release(key));
  b.addEventListener("pointercancel", () => release(key));
  b.addEventListener("lostpointercapture", () => release(key));
});
$("hook").addEventListener("pointerdown", (e) => e.preventDefault());   // keep focus off it
$("hook").addEventListener("click", () => send({ hook: "toggle" }));

const KEYMAP = {
  ArrowUp: "up", ArrowDown: "down", ArrowLeft: "left", ArrowRight: "right",
  Enter: "ok", Backspace: "back", Escape: "back",
  F1: "soft1", F2: "soft2", F3: "soft3", F4: "soft4", "+": "volup", "-": "voldown",
};
const byCode = new Map();                   // physical key -> phone key it pressed
const keyFor = (e) => (/^[0-9*#]$/.test(e.key) ? e.key : KEYMAP[e.key]);

document.addEventListener("keydown", (e) => {
  if (e.ctrlKey || e.altKey || e.metaKey) return;
  if (e.key === " ") {
    e.preventDefault();                        // not a click on the focused button
    if (!e.repeat) send({ hook: "toggle" });
    return;
  }
  const key = keyFor(e);
  if (!key) return;
  e.preventDefault();
  if (!e.repeat) { byCode.set(e.code, key); press(key); }
});
document.addEventListener("keyup", (e) => {
  if (e.key === " ") { e.preventDefault(); return; }
  // By physical key: Shift released first turns "+" into "=" on the way up.
  const key = byCode.get(e.code);
  if (key) { byCode.delete(e.code); release(key); }
});
// A key held while the window loses focus never sees its keyup.
window.addEventListener("blur", () => { byCode.clear(); releaseAll(); });

setLink(false);
$("link").textContent = "connecting…";
connect();
