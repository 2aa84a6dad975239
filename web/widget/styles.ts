/**
 * The widget's styles, inside its shadow root: the host page's CSS cannot reach in, and these
 * cannot leak out. `--sb-color` is the business's colour (white text on it).
 */
export const CSS = `
:host { all: initial; }
* { box-sizing: border-box; }
.root { position: fixed; inset-block-end: 20px; inset-inline-end: 20px; z-index: 2147483000;
  font: 15px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "Noto Sans Arabic", sans-serif;
  color: #1c1c1c; }
.bubble { width: 60px; height: 60px; border-radius: 50%; border: 0; cursor: pointer;
  background: var(--sb-color); color: #fff; box-shadow: 0 4px 14px rgba(0,0,0,.25);
  display: grid; place-items: center; position: relative; }
.bubble svg { width: 28px; height: 28px; fill: currentColor; }
.bubble:focus-visible, button:focus-visible, textarea:focus-visible, input:focus-visible {
  outline: 3px solid #1a5fb4; outline-offset: 2px; }
.badge { position: absolute; inset-block-start: -4px; inset-inline-end: -4px; min-width: 22px;
  height: 22px; border-radius: 11px; background: #b00020; color: #fff; font-size: 12px;
  display: grid; place-items: center; padding: 0 5px; }
.panel { position: absolute; inset-block-end: 76px; inset-inline-end: 0; width: 370px;
  height: min(600px, calc(100vh - 110px)); background: #fff; border-radius: 14px;
  box-shadow: 0 8px 32px rgba(0,0,0,.28); display: flex; flex-direction: column; overflow: hidden; }
.panel[hidden], .badge[hidden] { display: none; }
header { background: var(--sb-color); color: #fff; padding: 12px 14px; display: flex;
  align-items: center; gap: 8px; }
header h2 { font-size: 16px; margin: 0; flex: 1; font-weight: 600; }
.icon { background: transparent; border: 0; color: inherit; cursor: pointer; width: 44px;
  height: 44px; border-radius: 8px; font-size: 22px; line-height: 1; }
.notice { background: #fff4ce; color: #4d3800; padding: 8px 14px; font-size: 14px; }
.notice:empty { display: none; }
.log { flex: 1; overflow-y: auto; padding: 12px; display: flex; flex-direction: column; gap: 8px;
  background: #f6f7f9; }
.msg { max-width: 85%; padding: 8px 12px; border-radius: 14px; white-space: pre-wrap;
  overflow-wrap: anywhere; }
.msg.visitor { align-self: flex-end; background: var(--sb-color); color: #fff;
  border-end-end-radius: 4px; }
.msg.business { align-self: flex-start; background: #fff; border: 1px solid #d8dbe0;
  border-end-start-radius: 4px; }
.who { display: block; font-size: 12px; font-weight: 600; margin-block-end: 2px; color: #444; }
.msg.visitor .who { color: #fff; }
.state { display: block; font-size: 12px; margin-block-start: 2px; }
.options { display: flex; flex-wrap: wrap; gap: 6px; margin-block-start: 6px; }
.options button { border: 1px solid var(--sb-color); color: var(--sb-color); background: #fff;
  border-radius: 16px; padding: 6px 12px; min-height: 36px; cursor: pointer; font: inherit; }
.error { color: #b00020; padding: 6px 14px; font-size: 14px; }
.error:empty { display: none; }
form.compose { display: flex; gap: 8px; padding: 10px; border-block-start: 1px solid #e3e5e8; }
textarea, input { font: inherit; border: 1px solid #8a8f98; border-radius: 10px; padding: 8px 10px;
  color: #1c1c1c; background: #fff; width: 100%; }
textarea { resize: none; height: 44px; flex: 1; }
.send { background: var(--sb-color); color: #fff; border: 0; border-radius: 10px; padding: 0 14px;
  min-height: 44px; cursor: pointer; font: inherit; font-weight: 600; }
details { padding: 6px 14px; border-block-start: 1px solid #e3e5e8; font-size: 14px; }
summary { cursor: pointer; padding: 6px 0; color: #1a5fb4; }
details form { display: grid; gap: 6px; padding-block: 6px; }
details label { font-size: 13px; color: #333; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden;
  clip: rect(0 0 0 0); white-space: nowrap; }
@media (max-width: 480px) {
  .root { inset-block-end: 12px; inset-inline-end: 12px; }
  .panel { position: fixed; inset: 0; width: 100vw; height: 100%; border-radius: 0; }
  /* The open panel fills the screen and has its own close button. */
  .root.open .bubble { display: none; }
}
`;
