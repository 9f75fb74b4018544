// Audible PASS / FAIL cues through WebAudio: a rising two-tone chime for PASS, three low buzzes
// for FAIL, distinct enough to tell apart on a noisy line without looking.
let ctx: AudioContext | undefined;

/** Browsers start audio only after a user gesture: call on the first key or click. */
export function unlockAudio(): void {
  try {
    ctx ??= new AudioContext();
    if (ctx.state === 'suspended') void ctx.resume();
  } catch {
    // No audio device: colour and text still carry the result.
  }
}

function tone(at: number, freq: number, duration: number, type: OscillatorType): void {
  if (!ctx) return;
  const osc = ctx.createOscillator();
  const gain = ctx.createGain();
  osc.type = type;
  osc.frequency.value = freq;
  gain.gain.setValueAtTime(0.0001, at);
  gain.gain.exponentialRampToValueAtTime(0.4, at + 0.02);
  gain.gain.exponentialRampToValueAtTime(0.0001, at + duration);
  osc.connect(gain).connect(ctx.destination);
  osc.start(at);
  osc.stop(at + duration + 0.05);
}

export function playCue(outcome: 'pass' | 'fail'): void {
  if (ctx?.state !== 'running') return;
  const t = ctx.currentTime + 0.01;
  if (outcome === 'pass') {
    tone(t, 880, 0.15, 'sine');
    tone(t + 0.17, 1320, 0.25, 'sine');
  } else {
    for (let i = 0; i < 3; i++) tone(t + i * 0.3, 180, 0.22, 'square');
  }
}
