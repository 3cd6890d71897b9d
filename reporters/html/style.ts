// The report's stylesheet, inlined into every page (no external fonts or files: the report must open offline).
export const REPORT_CSS = `
:root { --ok:#2e7d32; --fail:#c62828; --image:#7e57c2; --boot:#1e88e5; --teardown:#78909c; --muted:#5f6b76; --line:#dde3e8; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; margin: 0; color: #1c2430; background: #f6f8fa; }
main { max-width: 1200px; margin: 0 auto; padding: 20px 24px 48px; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 28px 0 10px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
h3 { font-size: 14px; margin: 14px 0 6px; }
.meta { color: var(--muted); font-size: 13px; }
.badge { display: inline-block; padding: 1px 10px; border-radius: 10px; color: #fff; font-weight: 600; font-size: 13px; vertical-align: middle; margin-left: 8px; }
.badge.passed { background: var(--ok); } .badge.failed, .badge.error, .badge.aborted, .badge.invalid, .badge.running { background: var(--fail); }
.counts span { margin-right: 14px; }
.counts .n-failed { color: var(--fail); font-weight: 600; } .counts .n-passed { color: var(--ok); font-weight: 600; }
section.run { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 16px 20px; margin-bottom: 24px; }
.timeline { margin-top: 6px; }
.row { display: flex; align-items: center; height: 26px; }
.row-label { width: 120px; flex: none; font-weight: 600; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; padding-right: 8px; }
.track { position: relative; flex: 1; height: 18px; background: #eef2f5; border-radius: 3px; }
.row.axis { height: 20px; } .row.axis .track { background: none; }
.tick { position: absolute; top: 2px; font-size: 11px; color: var(--muted); transform: translateX(-50%); border-left: 1px solid #c5ced6; padding-left: 2px; }
.tick:first-child { transform: none; }
.bar { position: absolute; top: 2px; height: 14px; min-width: 2px; border-radius: 2px; }
.bar.image { background: var(--image); } .bar.boot { background: var(--boot); } .bar.teardown { background: var(--teardown); }
.bar.boot.failed { background: repeating-linear-gradient(45deg, var(--fail) 0 6px, #e57373 6px 12px); }
.bar.step.ok { background: var(--ok); } .bar.step.failed, .bar.step.running { background: var(--fail); } .bar.step.skipped { background: #bdbdbd; }
.bar.step { top: 0; height: 18px; outline: 1px solid #fff; }
.ready-mark { position: absolute; top: -3px; height: 24px; width: 2px; background: #00c853; }
.legend { font-size: 12px; color: var(--muted); margin: 6px 0 0 120px; }
.key { display: inline-block; width: 12px; height: 10px; margin: 0 4px 0 12px; border-radius: 2px; vertical-align: baseline; }
.key:first-child { margin-left: 0; }
.key.image { background: var(--image); } .key.boot { background: var(--boot); } .key.ready { background: #00c853; width: 3px; }
.key.step.ok { background: var(--ok); } .key.step.failed { background: var(--fail); } .key.teardown { background: var(--teardown); }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: #f0f3f6; font-weight: 600; }
td.num { text-align: right; white-space: nowrap; }
tr.step.failed td { background: #fdecea; }
td.status.passed { color: var(--ok); font-weight: 600; } td.status.failed, td.status.running { color: var(--fail); font-weight: 600; }
tr.detail td { background: #fff8f7; padding: 4px 8px 12px 32px; }
code { font: 12px/1.4 ui-monospace, "DejaVu Sans Mono", monospace; background: #f0f3f6; padding: 1px 4px; border-radius: 3px; word-break: break-all; }
pre { font: 12px/1.4 ui-monospace, "DejaVu Sans Mono", monospace; background: #1e252d; color: #e6edf3; padding: 10px 12px; border-radius: 6px; overflow-x: auto; white-space: pre-wrap; word-break: break-all; margin: 4px 0 8px; max-height: 480px; overflow-y: auto; }
.error-line { color: var(--fail); font-weight: 600; }
.hint code { background: #e8f5e9; }
details summary { cursor: pointer; font-weight: 600; margin: 8px 0 4px; }
`;
